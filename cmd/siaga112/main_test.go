package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/siaga112/siaga112/configs"
	"go.yaml.in/yaml/v3"
)

// clearEnv removes every SIAGA112_* variable for the duration of the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, configs.EnvPrefix+"_") {
			t.Setenv(name, val)
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "siaga112.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// execute runs the command tree in process with no config search path, as
// main would, and returns what it wrote and its exit code.
func execute(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.search = []string{}
	a.runDir = testRunDir(t)
	root := newRootCmd(a)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), exitCode(err), err
}

// testRunDirs gives each test one directory for a demo's NATS URL file,
// shared by the commands it runs, so that no test reads or writes the
// user's real one.
var testRunDirs sync.Map

func testRunDir(t *testing.T) string {
	t.Helper()
	if d, ok := testRunDirs.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	testRunDirs.Store(t.Name(), d)
	// The directory goes with the test: a second run of the same test
	// (go test -count=N) must get a new one, not the removed path.
	t.Cleanup(func() { testRunDirs.Delete(t.Name()) })
	return d
}

func TestConfigCheck(t *testing.T) {
	good := writeFile(t, "ari:\n  application: siaga112-test\nlog:\n  level: warn\n")
	bad := writeFile(t, `
ari:
  nodes:
    - {name: a, url: "htp://x", ws_url: "ws://a/ari/events", username: u, password: p}
ivr:
  menu_attempts: 0
  prompts:
    greting: hi
`)
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		// Texts the output (stdout on success, the error otherwise) must
		// and must not contain.
		want, notWant []string
	}{
		{"defaults only", nil, []string{"config", "check"}, 0,
			[]string{"file: none, built-in defaults", "application: siaga112\n", "password: '***'", "max_block: 5ms"},
			[]string{configs.DefaultARIPassword}},
		{"file, env and flag", map[string]string{"SIAGA112_HTTP_ADMIN_TOKEN": "topsecret", "SIAGA112_IVR_MENU_ATTEMPTS": "5"},
			[]string{"config", "check", "--config", good, "--log-format", "json"}, 0,
			[]string{"file: " + good, "application: siaga112-test", "admin_token: '***'", "menu_attempts: 5", "level: warn", "format: json"},
			[]string{"topsecret"}},
		{"every problem at once", nil, []string{"config", "check", "--config", bad, "--log-level=loud"}, 2,
			[]string{
				`config: ari.nodes[0].url: "htp://x" is not an http(s) URL`,
				`config: ivr.prompts.greting: is not a known key`,
				`config: ivr.menu_attempts: 0 must be between 1 and 10`,
				`config: log.level: "loud" is not one of debug, info, warn, error`,
			}, nil},
		{"unknown environment variable", map[string]string{"SIAGA112_HTTP_ADMIN_TOKN": "x"}, []string{"config", "check"}, 2,
			[]string{"config: SIAGA112_HTTP_ADMIN_TOKN: is not a known setting"}, nil},
		{"missing --config file", nil, []string{"config", "check", "--config", filepath.Join(t.TempDir(), "absent.yaml")}, 2,
			[]string{"config: cannot read file", "absent.yaml"}, nil},
		{"stray argument", nil, []string{"config", "check", "extra"}, 1,
			[]string{`unknown command "extra"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			stdout, _, code, err := execute(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err: %v)", code, tt.wantCode, err)
			}
			text := stdout
			if err != nil {
				text = err.Error()
				if stdout != "" {
					t.Errorf("failed check still printed a configuration:\n%s", stdout)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("output contains %q:\n%s", w, text)
				}
			}
		})
	}
}

// The printed configuration is valid YAML that loads back to the same
// values, apart from the hidden secrets.
func TestConfigCheckOutputLoadsBack(t *testing.T) {
	clearEnv(t)
	stdout, _, code, err := execute(t, "config", "check")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, stdout)
	}
	got, err := configs.Load(configs.LoadOptions{File: writeFile(t, stdout), Search: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := configs.Default().Redacted()
	if got.ARI.Nodes[0].Password != "***" || !reflect.DeepEqual(got.IVR.Menu[0], want.IVR.Menu[0]) || got.NATS.Stream != want.NATS.Stream {
		t.Errorf("loaded back %+v", got)
	}
}

func TestRun(t *testing.T) {
	clearEnv(t)
	good := writeFile(t, "log:\n  level: debug\n  format: json\n")
	// wantStdout, wantStderr and wantErr must be in the output and the
	// error's text (which main prints); "" means the output must be empty
	// and the error nil (strings.Contains(x, "") holds for any x).
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		wantErr    string
	}{
		{"version", []string{"version"}, 0, "siaga112 ", "", ""},
		{"config check logs at the configured level", []string{"config", "check", "--config", good}, 0, "format: json", `"msg":"configuration loaded"`, ""},
		{"config check warns on stderr", []string{"config", "check", "--config", good}, 0, "format: json", `"level":"WARN","msg":"config: ari.nodes[0].password: is the sample password`, ""},
		{"unknown command", []string{"dial"}, 1, "", "", `unknown command "dial"`},
		{"bad flag", []string{"config", "check", "--no-such-flag"}, 1, "", "", "unknown flag: --no-such-flag"},
	}
	check := func(t *testing.T, what, got, want string) {
		t.Helper()
		if want == "" && got != "" {
			t.Errorf("%s %q, want nothing", what, got)
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s %q lacks %q", what, got, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if code := exitCode(err); code != tt.wantCode {
				t.Fatalf("exit %d, want %d (err: %v)", code, tt.wantCode, err)
			}
			check(t, "stdout", out.String(), tt.wantStdout)
			check(t, "stderr", errOut.String(), tt.wantStderr)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			check(t, "error", errText, tt.wantErr)
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"invalid config", &configs.ValidationError{Errors: []configs.FieldError{{Key: "k", Msg: "m"}}}, 2},
		{"wrapped file error", errors.Join(errors.New("x"), configs.ErrFile), 2},
		{"anything else", errors.New("boom"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestVersionInfo(t *testing.T) {
	tests := []struct {
		name, ldVersion, ldCommit string
		want                      []string
	}{
		{"linker values win", "v1.2.3", "abc123", []string{"siaga112 v1.2.3 (commit abc123"}},
		{"fallback never empty", "", "", []string{"siaga112 ", "(commit "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := versionInfo(tt.ldVersion, tt.ldCommit).String()
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("%q lacks %q", s, w)
				}
			}
			if strings.Contains(s, "  ") || strings.Contains(s, "commit )") {
				t.Errorf("%q has an empty field", s)
			}
		})
	}
}
