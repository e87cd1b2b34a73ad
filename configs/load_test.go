package configs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func TestLoadWithoutFileGivesDefaults(t *testing.T) {
	clearEnv(t)
	got, err := configs.Load(configs.LoadOptions{Search: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, configs.Default()) {
		t.Errorf("Load with no sources differs from Default():\n%+v", got)
	}
}

func TestLoadFileSelection(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.yaml")
	second := filepath.Join(dir, "second.yaml")
	missing := filepath.Join(dir, "missing.yaml")
	for path, level := range map[string]string{first: "debug", second: "warn"} {
		if err := os.WriteFile(path, []byte("log:\n  level: "+level+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		opts      configs.LoadOptions
		wantFile  string
		wantLevel string
	}{
		{"explicit file wins over search", configs.LoadOptions{File: second, Search: []string{first}}, second, "warn"},
		{"missing search entries are skipped", configs.LoadOptions{Search: []string{missing, second, first}}, second, "warn"},
		{"first existing search entry", configs.LoadOptions{Search: []string{first, second}}, first, "debug"},
		{"nothing found means defaults", configs.LoadOptions{Search: []string{missing}}, "", "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, err := configs.ResolveFile(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if file != tt.wantFile {
				t.Errorf("ResolveFile = %q, want %q", file, tt.wantFile)
			}
			c, err := configs.Load(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Log.Level != tt.wantLevel {
				t.Errorf("log.level = %q, want %q", c.Log.Level, tt.wantLevel)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		opts    configs.LoadOptions
		notExit bool // the error also matches fs.ErrNotExist
		text    string
	}{
		{"missing --config file", configs.LoadOptions{File: filepath.Join(dir, "nope.yaml")}, true, "nope.yaml"},
		{"--config is a directory", configs.LoadOptions{File: dir}, false, "is a directory"},
		{"malformed YAML", configs.LoadOptions{File: writeConfig(t, "ari:\n  application: [unclosed\n")}, false, "siaga112.yaml"},
		{"duplicate key", configs.LoadOptions{File: writeConfig(t, "log:\n  level: info\n  level: debug\n")}, false, "already defined"},
		{"top level is a list", configs.LoadOptions{File: writeConfig(t, "- a\n- b\n")}, false, "siaga112.yaml"},
		{"--config is a device", configs.LoadOptions{File: os.DevNull}, false, "is not a regular file (a character device)"},
		{"--config is too large", configs.LoadOptions{File: writeConfig(t, "# "+strings.Repeat("x", configs.MaxFileSize)+"\n")}, false, "more than the 1048576 a config file may have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Search = []string{}
			_, err := configs.Load(tt.opts)
			if !errors.Is(err, configs.ErrFile) {
				t.Fatalf("got %v, want an error wrapping ErrFile", err)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExit {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v (%v)", !tt.notExit, tt.notExit, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
}

func TestLoadFileProblems(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{"unknown top-level key", "aari:\n  application: x\n",
			map[string]string{"aari": "config: aari: is not a known key"}},
		{"unknown nested key", "ivr:\n  prompts:\n    greting: hello\n",
			map[string]string{"ivr.prompts.greting": "is not a known key"}},
		{"unknown key inside a list entry", `
ari:
  nodes:
    - name: a
      url: http://a:8088/ari
      ws_url: ws://a:8088/ari/events
      username: u
      pasword: p
`, map[string]string{
			"ari.nodes[0].pasword":  "is not a known key",
			"ari.nodes[0].password": `"" must not be empty`,
		}},
		{"mapping expected", "ivr:\n  prompts: greeting\n",
			map[string]string{"ivr.prompts": `"greeting" is not a mapping`}},
		{"list entry is not a mapping", "ari:\n  nodes:\n    - 5\n",
			map[string]string{"ari.nodes[0]": "5 is not a mapping of keys to values"}},
		{"empty list", "ivr:\n  menu: []\n",
			map[string]string{"ivr.menu": "must have at least one entry"}},
		{"list expected", "ari:\n  nodes: asterisk-1\n",
			map[string]string{"ari.nodes": `"***" is not a list of mappings`}},
		{"unknown keys without a value", "typo:\nivr:\n  menu_atempts:\n",
			map[string]string{"typo": "is not a known key", "ivr.menu_atempts": "is not a known key"}},
		{"unknown key without a value in a list entry", `
ari:
  nodes:
    - name: a
      url: http://a:8088/ari
      ws_url: ws://a:8088/ari/events
      username: u
      password: p
      typo:
`, map[string]string{"ari.nodes[0].typo": "is not a known key"}},
		{"bad URL in file", "ari:\n  nodes:\n    - {name: a, url: 'htp://x', ws_url: 'ws://x/ari/events', username: u, password: p}\n",
			map[string]string{"ari.nodes[0].url": `config: ari.nodes[0].url: "htp://x" is not an http(s) URL`}},
		{"not a whole number", "ivr:\n  menu_attempts: lots\n",
			map[string]string{"ivr.menu_attempts": `"lots" is not a whole number`}},
		{"fraction for an integer", "ivr:\n  menu_attempts: 2.5\n",
			map[string]string{"ivr.menu_attempts": "2.5 is not a whole number"}},
		{"duration without unit", "ivr:\n  first_digit_timeout: 5\n",
			map[string]string{"ivr.first_digit_timeout": `5 is not a duration such as "5s"`}},
		{"duration nonsense", "ivr:\n  drain_timeout: soon\n",
			map[string]string{"ivr.drain_timeout": `"soon" is not a duration`}},
		{"bad duration in ladder", "blocklist:\n  ladder: [1h, often]\n",
			map[string]string{"blocklist.ladder": "is not a list of durations"}},
		{"bool expected", "ivr:\n  talk_detect: maybe\n",
			map[string]string{"ivr.talk_detect": `"maybe" is not true or false`}},
		{"value checks run on file values too", "ivr:\n  menu_attempts: 0\nlog:\n  format: xml\n",
			map[string]string{"ivr.menu_attempts": "must be between", "log.format": "is not one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadFile(t, writeConfig(t, tt.body))
			wantProblems(t, err, tt.want)
			if !reflect.DeepEqual(c, configs.Config{}) {
				t.Error("Load returned a non-zero Config with an error")
			}
		})
	}
}

func TestLoadFileValues(t *testing.T) {
	clearEnv(t)
	// Unquoted digits, a partial file and a list that replaces the default.
	c, err := loadFile(t, writeConfig(t, `
ivr:
  silent_help_digits: 55
  blocked_override_digit: 9
  menu:
    - {digit: 1, type: fire, prompt: menu-fire, extension: fire}
    - {digit: "#", type: operator, prompt: menu-operator, extension: operator}
blocklist:
  default_country: 62
  allowlist: ["+628111", "08122"]
  ladder: [30m, 2h]
nats:
  url: nats://a:4222, nats://b:4222
`))
	if err != nil {
		t.Fatal(err)
	}
	want := configs.Default()
	want.IVR.Menu = []configs.MenuEntry{
		{Digit: "1", Type: "fire", Prompt: "menu-fire", Extension: "fire"},
		{Digit: "#", Type: "operator", Prompt: "menu-operator", Extension: "operator"},
	}
	want.Blocklist.Allowlist = []string{"+628111", "08122"}
	want.Blocklist.Ladder = []time.Duration{30 * time.Minute, 2 * time.Hour}
	want.NATS.URL = "nats://a:4222, nats://b:4222"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	file := writeConfig(t, "http:\n  admin_token: from-file\nivr:\n  menu_attempts: 4\n")
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c configs.Config)
	}{
		{"scalar beats file", map[string]string{"SIAGA112_HTTP_ADMIN_TOKEN": "from-env", "SIAGA112_IVR_MENU_ATTEMPTS": "5"},
			func(t *testing.T, c configs.Config) {
				if c.HTTP.AdminToken != "from-env" || c.IVR.MenuAttempts != 5 {
					t.Errorf("admin_token=%q menu_attempts=%d", c.HTTP.AdminToken, c.IVR.MenuAttempts)
				}
			}},
		{"duration and bool", map[string]string{"SIAGA112_NATS_PUBLISH_MAX_BLOCK": "20ms", "SIAGA112_IVR_TALK_DETECT": "false"},
			func(t *testing.T, c configs.Config) {
				if c.NATS.Publish.MaxBlock != 20*time.Millisecond || c.IVR.TalkDetect {
					t.Errorf("max_block=%v talk_detect=%v", c.NATS.Publish.MaxBlock, c.IVR.TalkDetect)
				}
			}},
		{"empty value clears", map[string]string{"SIAGA112_HTTP_ADMIN_TOKEN": ""},
			func(t *testing.T, c configs.Config) {
				if c.HTTP.AdminToken != "" {
					t.Errorf("admin_token=%q, want empty", c.HTTP.AdminToken)
				}
			}},
		{"comma lists", map[string]string{"SIAGA112_BLOCKLIST_LADDER": "2h, 4h,8h", "SIAGA112_BLOCKLIST_ALLOWLIST": "+628111, 08122"},
			func(t *testing.T, c configs.Config) {
				if !reflect.DeepEqual(c.Blocklist.Ladder, []time.Duration{2 * time.Hour, 4 * time.Hour, 8 * time.Hour}) {
					t.Errorf("ladder=%v", c.Blocklist.Ladder)
				}
				if !reflect.DeepEqual(c.Blocklist.Allowlist, []string{"+628111", "08122"}) {
					t.Errorf("allowlist=%q", c.Blocklist.Allowlist)
				}
			}},
		{"JSON lists", map[string]string{"SIAGA112_BLOCKLIST_LADDER": `["1h","3h"]`, "SIAGA112_BLOCKLIST_ALLOWLIST": `["+628111"]`},
			func(t *testing.T, c configs.Config) {
				if !reflect.DeepEqual(c.Blocklist.Ladder, []time.Duration{time.Hour, 3 * time.Hour}) {
					t.Errorf("ladder=%v", c.Blocklist.Ladder)
				}
				if !reflect.DeepEqual(c.Blocklist.Allowlist, []string{"+628111"}) {
					t.Errorf("allowlist=%q", c.Blocklist.Allowlist)
				}
			}},
		{"JSON list of nodes", map[string]string{"SIAGA112_ARI_NODES": `[
			{"name":"a","url":"http://a:8088/ari","ws_url":"ws://a:8088/ari/events","username":"u","password":"p"},
			{"name":"b","url":"https://b/ari","ws_url":"wss://b/ari/events","username":"u","password":"q"}]`},
			func(t *testing.T, c configs.Config) {
				want := []configs.ARINode{
					{Name: "a", URL: "http://a:8088/ari", WSURL: "ws://a:8088/ari/events", Username: "u", Password: "p"},
					{Name: "b", URL: "https://b/ari", WSURL: "wss://b/ari/events", Username: "u", Password: "q"},
				}
				if !reflect.DeepEqual(c.ARI.Nodes, want) {
					t.Errorf("nodes=%+v", c.ARI.Nodes)
				}
			}},
		{"one field of one list entry", map[string]string{"SIAGA112_ARI_NODES_0_PASSWORD": "from-env", "SIAGA112_IVR_MENU_4_DIGIT": "*"},
			func(t *testing.T, c configs.Config) {
				if c.ARI.Nodes[0].Password != "from-env" || c.ARI.Nodes[0].Username != configs.DefaultARIUser {
					t.Errorf("node 0 = %+v", c.ARI.Nodes[0])
				}
				if c.IVR.Menu[4].Digit != "*" || c.IVR.Menu[4].Type != "operator" {
					t.Errorf("menu 4 = %+v", c.IVR.Menu[4])
				}
			}},
		{"stream max bytes", map[string]string{"SIAGA112_NATS_STREAM_MAX_BYTES": "2147483648"}, func(t *testing.T, c configs.Config) {
			if c.NATS.Stream.MaxBytes != 2<<30 {
				t.Errorf("nats.stream.max_bytes = %d", c.NATS.Stream.MaxBytes)
			}
		}},
		{"indexed field applies to a JSON list", map[string]string{
			"SIAGA112_ARI_NODES":            `[{"name":"a","url":"http://a/ari","ws_url":"ws://a/ari/events","username":"u","password":"p"}]`,
			"SIAGA112_ARI_NODES_0_PASSWORD": "secret",
		}, func(t *testing.T, c configs.Config) {
			if len(c.ARI.Nodes) != 1 || c.ARI.Nodes[0].Name != "a" || c.ARI.Nodes[0].Password != "secret" {
				t.Errorf("nodes=%+v", c.ARI.Nodes)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := loadFile(t, file)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadEnvProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"typo in a variable name", map[string]string{"SIAGA112_HTTP_ADMIN_TOKN": "x"},
			map[string]string{"SIAGA112_HTTP_ADMIN_TOKN": "is not a known setting"}},
		{"section name is not a setting", map[string]string{"SIAGA112_IVR_PROMPTS": "x"},
			map[string]string{"SIAGA112_IVR_PROMPTS": "is not a known setting"}},
		{"unknown field of a list entry", map[string]string{"SIAGA112_ARI_NODES_0_PASS": "x"},
			map[string]string{"SIAGA112_ARI_NODES_0_PASS": "is not a known setting"}},
		{"index beyond the list", map[string]string{"SIAGA112_ARI_NODES_3_PASSWORD": "x"},
			map[string]string{"ari.nodes[3].password": "is set by SIAGA112_ARI_NODES_3_PASSWORD but the list has 1 entries"}},
		{"bad integer", map[string]string{"SIAGA112_NATS_STREAM_REPLICAS": "three"},
			map[string]string{"nats.stream.replicas": `"three" is not a whole number`}},
		{"bad JSON list", map[string]string{"SIAGA112_IVR_MENU": `[{"digit":"1"`},
			map[string]string{"ivr.menu": "JSON array of objects"}},
		{"bad value caught by validation", map[string]string{"SIAGA112_ARI_NODES_0_URL": "htp://x"},
			map[string]string{"ari.nodes[0].url": `"htp://x" is not an http(s) URL`}},
		{"empty value is validated", map[string]string{"SIAGA112_ARI_ORIGIN": ""},
			map[string]string{"ari.origin": "is not an http(s) URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := configs.Load(configs.LoadOptions{Search: []string{}})
			wantProblems(t, err, tt.want)
		})
	}
}

// TestLoadErrorsHideSecrets sets secrets through the environment in ways
// that fail to load: no error text may repeat them.
func TestLoadErrorsHideSecrets(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name string
		env  map[string]string
		key  string
	}{
		{"password of a missing node", map[string]string{"SIAGA112_ARI_NODES_3_PASSWORD": secret}, "ari.nodes[3].password"},
		{"nodes list that is not JSON", map[string]string{"SIAGA112_ARI_NODES": `[{"name":"a","password":"` + secret + `"`}, "ari.nodes"},
		{"nodes list of the wrong shape", map[string]string{"SIAGA112_ARI_NODES": `["` + secret + `"]`}, "ari.nodes[0]"},
		{"admin token of the wrong type", map[string]string{"SIAGA112_HTTP_ADMIN_TOKEN": "", "SIAGA112_HTTP_LISTEN": "nowhere"}, "http.listen"},
		{"nats url with a password and a bad port", map[string]string{"SIAGA112_NATS_URL": "nats://u:" + secret + "@h:99999"}, "nats.url"},
		{"bare nats url with a password", map[string]string{"SIAGA112_NATS_URL": "u:" + secret + "@h:99999"}, "nats.url"},
		{"ari url with a password", map[string]string{"SIAGA112_ARI_NODES_0_URL": "htp://asterisk:" + secret + "@pbx/ari"}, "ari.nodes[0].url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := configs.Load(configs.LoadOptions{Search: []string{}})
			found := false
			for _, fe := range fieldErrors(t, err) {
				found = found || fe.Key == tt.key
			}
			if !found {
				t.Fatalf("no problem reported for %s:\n%v", tt.key, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret:\n%v", err)
			}
		})
	}
}

func TestLoadFlagOverrides(t *testing.T) {
	file := writeConfig(t, "log:\n  level: warn\n  format: json\n")
	newFlags := func(t *testing.T, args ...string) *pflag.FlagSet {
		t.Helper()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.String("config", "", "")
		fs.String("log-level", "", "")
		fs.String("log-format", "", "")
		fs.Int("ivr-menu-attempts", 0, "")
		fs.String("unrelated", "", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantLevel  string
		wantFormat string
		wantTries  int
	}{
		{"unset flags keep file values", nil, nil, "warn", "json", 3},
		{"flag beats file", nil, []string{"--log-level", "debug"}, "debug", "json", 3},
		{"flag beats env", map[string]string{"SIAGA112_LOG_LEVEL": "error", "SIAGA112_LOG_FORMAT": "text"},
			[]string{"--log-level=info", "--ivr-menu-attempts=2", "--unrelated=x"}, "info", "text", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := configs.Load(configs.LoadOptions{File: file, Search: []string{}, Flags: newFlags(t, tt.args...)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Log.Level != tt.wantLevel || c.Log.Format != tt.wantFormat || c.IVR.MenuAttempts != tt.wantTries {
				t.Errorf("level=%q format=%q attempts=%d, want %q %q %d",
					c.Log.Level, c.Log.Format, c.IVR.MenuAttempts, tt.wantLevel, tt.wantFormat, tt.wantTries)
			}
		})
	}

	t.Run("bad flag value is reported with the key", func(t *testing.T) {
		clearEnv(t)
		_, err := configs.Load(configs.LoadOptions{File: file, Search: []string{}, Flags: newFlags(t, "--log-level=loud")})
		wantProblems(t, err, map[string]string{"log.level": `"loud" is not one of`})
	})
}

func TestLoadReportsFileEnvAndValueProblemsTogether(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_HTTP_LISTN", ":80")
	file := writeConfig(t, "ari:\n  nodes:\n    - {name: a, url: 'htp://x', ws_url: 'ws://x/', username: u, password: p, extra: 1}\nivr:\n  menu_attempts: 0\n")
	_, err := loadFile(t, file)
	wantProblems(t, err, map[string]string{
		"SIAGA112_HTTP_LISTN": "is not a known setting",
		"ari.nodes[0].extra":  "is not a known key",
		"ari.nodes[0].url":    "is not an http(s) URL",
		"ivr.menu_attempts":   "must be between 1 and 10",
	})
}

func TestLoadLeavesGlobalViperAlone(t *testing.T) {
	clearEnv(t)
	if _, err := configs.Load(configs.LoadOptions{Search: []string{}}); err != nil {
		t.Fatal(err)
	}
	if keys := viper.AllKeys(); len(keys) != 0 {
		t.Errorf("the global viper holds %d keys after Load: %v", len(keys), keys)
	}
}
