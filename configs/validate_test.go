package configs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

func TestDefaultIsValid(t *testing.T) {
	if err := configs.Default().Validate(); err != nil {
		t.Fatalf("Default() does not validate:\n%v", err)
	}
}

func TestValidateRejectsBadValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *configs.Config)
		want   map[string]string // key -> text the message must contain
	}{
		{"bad ARI url scheme", func(c *configs.Config) { c.ARI.Nodes[0].URL = "htp://x" },
			map[string]string{"ari.nodes[0].url": `config: ari.nodes[0].url: "htp://x" is not an http(s) URL`}},
		{"ARI url without host", func(c *configs.Config) { c.ARI.Nodes[0].URL = "http:///ari" },
			map[string]string{"ari.nodes[0].url": "is not an http(s) URL"}},
		{"ARI url bad port", func(c *configs.Config) { c.ARI.Nodes[0].URL = "http://h:99999/ari" },
			map[string]string{"ari.nodes[0].url": "is not an http(s) URL"}},
		{"ws url with http scheme", func(c *configs.Config) { c.ARI.Nodes[0].WSURL = "http://h/ari/events" },
			map[string]string{"ari.nodes[0].ws_url": `"http://h/ari/events" is not a ws(s) URL`}},
		{"empty node name, user and password", func(c *configs.Config) {
			c.ARI.Nodes[0].Name, c.ARI.Nodes[0].Username, c.ARI.Nodes[0].Password = "", " ", ""
		}, map[string]string{
			"ari.nodes[0].name":     `"" must not be empty`,
			"ari.nodes[0].username": `" " must not be empty`,
			"ari.nodes[0].password": "must not be empty",
		}},
		{"duplicate node names", func(c *configs.Config) {
			c.ARI.Nodes = append(c.ARI.Nodes, c.ARI.Nodes[0])
		}, map[string]string{"ari.nodes[1].name": "is already the name of ari.nodes[0]"}},
		{"no nodes", func(c *configs.Config) { c.ARI.Nodes = nil },
			map[string]string{"ari.nodes": "at least one"}},
		{"application with space", func(c *configs.Config) { c.ARI.Application = "siaga 112" },
			map[string]string{"ari.application": "white space"}},
		{"zero and negative durations", func(c *configs.Config) {
			c.ARI.RequestTimeout = 0
			c.IVR.FirstDigitTimeout = -time.Second
		}, map[string]string{
			"ari.request_timeout":     `"0s" must be greater than zero`,
			"ivr.first_digit_timeout": `"-1s" must be greater than zero`,
		}},
		{"no ARI connections", func(c *configs.Config) { c.ARI.MaxConnections = 0 },
			map[string]string{"ari.max_connections": "must be between 1 and 1000"}},
		{"ARI connections above any sessionlimit", func(c *configs.Config) { c.ARI.MaxConnections = 5000 },
			map[string]string{"ari.max_connections": "must be between 1 and 1000"}},
		{"reconnect max below min", func(c *configs.Config) { c.ARI.ReconnectMax = 100 * time.Millisecond },
			map[string]string{"ari.reconnect_max": `"100ms" is shorter than ari.reconnect_min (250ms)`}},
		{"origin not a URL", func(c *configs.Config) { c.ARI.Origin = "" },
			map[string]string{"ari.origin": "is not an http(s) URL"}},
		{"bad nats url", func(c *configs.Config) { c.NATS.URL = "nats://a:4222,http://b" },
			map[string]string{"nats.url": "is not a comma-separated list"}},
		{"creds with nkey", func(c *configs.Config) { c.NATS.Creds, c.NATS.NKey = "/a.creds", "/a.nk" },
			map[string]string{"nats.nkey": "together with nats.creds"}},
		{"tls cert without key", func(c *configs.Config) { c.NATS.TLS.Cert = "/c.pem" },
			map[string]string{"nats.tls": "both cert and key"}},
		{"replicas out of range", func(c *configs.Config) { c.NATS.Stream.Replicas = 7 },
			map[string]string{"nats.stream.replicas": "7 must be between 1 and 5"}},
		{"replicas zero", func(c *configs.Config) { c.NATS.Stream.Replicas = 0 },
			map[string]string{"nats.stream.replicas": "must be between 1 and 5"}},
		{"duplicates beyond max age", func(c *configs.Config) { c.NATS.Stream.Duplicates = 91 * 24 * time.Hour },
			map[string]string{"nats.stream.duplicates": "longer than nats.stream.max_age"}},
		{"stream max bytes zero", func(c *configs.Config) { c.NATS.Stream.MaxBytes = 0 },
			map[string]string{"nats.stream.max_bytes": "must be at least 1048576"}},
		{"stream max bytes tiny", func(c *configs.Config) { c.NATS.Stream.MaxBytes = 4096 },
			map[string]string{"nats.stream.max_bytes": "must be at least"}},
		{"spool max bytes zero", func(c *configs.Config) { c.NATS.Spool.MaxBytes = 0 },
			map[string]string{"nats.spool.max_bytes": "0 must be greater than zero"}},
		{"empty dirs", func(c *configs.Config) { c.NATS.Spool.Dir, c.NATS.Embedded.DataDir = "", "" },
			map[string]string{"nats.spool.dir": "must not be empty", "nats.embedded.data_dir": "must not be empty"}},
		{"listen addresses", func(c *configs.Config) {
			c.NATS.Embedded.Listen = "localhost"
			c.HTTP.Listen = "127.0.0.1:http-alt"
		}, map[string]string{
			"nats.embedded.listen": `"localhost" is not a host:port listen address`,
			"http.listen":          "is not a host:port listen address",
		}},
		{"embedded server reachable from other hosts", func(c *configs.Config) { c.NATS.Embedded.Listen = "0.0.0.0:4222" },
			map[string]string{"nats.embedded.listen": `"0.0.0.0:4222" is not a loopback address`}},
		{"embedded server on a LAN address", func(c *configs.Config) { c.NATS.Embedded.Listen = "192.168.1.10:4222" },
			map[string]string{"nats.embedded.listen": "is not a loopback address"}},
		{"consumer limits", func(c *configs.Config) {
			c.NATS.Consumer.MaxAckPending = 0
			c.NATS.Consumer.AckWait = 0
		}, map[string]string{"nats.consumer.max_ack_pending": "between", "nats.consumer.ack_wait": "greater than zero"}},
		{"language", func(c *configs.Config) { c.IVR.Language = "fr" },
			map[string]string{"ivr.language": `"fr" is not one of id, en`}},
		{"sound prefix without scheme", func(c *configs.Config) { c.IVR.SoundPrefix = "siaga112/" },
			map[string]string{"ivr.sound_prefix": "media scheme"}},
		{"sound prefix with another scheme", func(c *configs.Config) { c.IVR.SoundPrefix = "recording:siaga112/" },
			map[string]string{"ivr.sound_prefix": `media scheme "sound:"`}},
		{"empty prompt", func(c *configs.Config) { c.IVR.Prompts.NoInput = "" },
			map[string]string{"ivr.prompts.no_input": "must not be empty"}},
		{"menu digit two keys", func(c *configs.Config) { c.IVR.Menu[0].Digit = "12" },
			map[string]string{"ivr.menu[0].digit": `"12" is not a single key 0-9, * or #`}},
		{"menu digit letter", func(c *configs.Config) { c.IVR.Menu[1].Digit = "A" },
			map[string]string{"ivr.menu[1].digit": "is not a single key"}},
		{"menu digits repeated", func(c *configs.Config) { c.IVR.Menu[2].Digit = "1" },
			map[string]string{"ivr.menu[2].digit": `"1" is already used by ivr.menu[0]`}},
		{"menu type and extension", func(c *configs.Config) {
			c.IVR.Menu[0].Type = ""
			c.IVR.Menu[0].Extension = "fire dept"
			c.IVR.Menu[0].Prompt = ""
		}, map[string]string{
			"ivr.menu[0].type":      "must not be empty",
			"ivr.menu[0].extension": "may only hold letters",
			"ivr.menu[0].prompt":    "must not be empty",
		}},
		{"empty menu", func(c *configs.Config) { c.IVR.Menu = nil },
			map[string]string{"ivr.menu": "at least one entry"}},
		{"menu attempts", func(c *configs.Config) { c.IVR.MenuAttempts = 11 },
			map[string]string{"ivr.menu_attempts": "11 must be between 1 and 10"}},
		{"menu attempts zero", func(c *configs.Config) { c.IVR.MenuAttempts = 0 },
			map[string]string{"ivr.menu_attempts": "must be between 1 and 10"}},
		{"silent help not DTMF", func(c *configs.Config) { c.IVR.SilentHelpDigits = "5x" },
			map[string]string{"ivr.silent_help_digits": `"5x" may only hold the keys 0-9, * and #`}},
		{"silent help too long", func(c *configs.Config) { c.IVR.SilentHelpDigits = "55555" },
			map[string]string{"ivr.silent_help_digits": "must be 1 to 4 keys"}},
		{"silent help empty", func(c *configs.Config) { c.IVR.SilentHelpDigits = "" },
			map[string]string{"ivr.silent_help_digits": "must be 1 to 4 keys"}},
		{"blocked override digit", func(c *configs.Config) { c.IVR.BlockedOverrideDigit = "99" },
			map[string]string{"ivr.blocked_override_digit": "is not a single key"}},
		{"talk detect timings checked only when enabled", func(c *configs.Config) {
			c.IVR.TalkMinDuration = 0
			c.IVR.Location.When = configs.LocationNever
			c.IVR.Location.MaxDuration = 0
		}, map[string]string{"ivr.talk_min_duration": "greater than zero"}},
		{"time zone abbreviation", func(c *configs.Config) { c.Reports.TimeZone = "WITA" },
			map[string]string{"reports.time_zone": `use "Asia/Makassar"`}},
		{"location when", func(c *configs.Config) { c.IVR.Location.When = "sometimes" },
			map[string]string{"ivr.location.when": "busy"}},
		{"menu queue", func(c *configs.Config) { c.IVR.Menu[0].Queue = "fire queue" },
			map[string]string{"ivr.menu[0].queue": "may only hold letters"}},
		{"call recording prefix", func(c *configs.Config) { c.IVR.CallRecordingPrefix = "a b" },
			map[string]string{"ivr.call_recording_prefix": "spaces"}},
		{"operator context", func(c *configs.Config) { c.IVR.OperatorContext = "ops,1" },
			map[string]string{"ivr.operator_context": "may only hold letters"}},
		{"default country", func(c *configs.Config) { c.Blocklist.DefaultCountry = "+62" },
			map[string]string{"blocklist.default_country": "is not a country calling code"}},
		{"threshold and strikes", func(c *configs.Config) {
			c.Blocklist.Threshold = 0
			c.Blocklist.Strikes.VerdictPrank = -1
		}, map[string]string{
			"blocklist.threshold":             "0 must be at least 1",
			"blocklist.strikes.verdict_prank": "-1 must not be negative",
		}},
		{"zero strikes are allowed", func(c *configs.Config) { c.Blocklist.Strikes.NoInput = 0; c.Blocklist.Window = 0 },
			map[string]string{"blocklist.window": "greater than zero"}},
		{"empty ladder", func(c *configs.Config) { c.Blocklist.Ladder = nil },
			map[string]string{"blocklist.ladder": "at least one"}},
		{"ladder going down", func(c *configs.Config) {
			c.Blocklist.Ladder = []time.Duration{time.Hour, 30 * time.Minute, 0}
		}, map[string]string{
			"blocklist.ladder[1]": `"30m" is shorter than the step before it (1h)`,
			"blocklist.ladder[2]": "greater than zero",
		}},
		{"allowlist numbers", func(c *configs.Config) {
			c.Blocklist.Allowlist = []string{"+6281234567", "0812-3456", "++62", "081234567"}
		}, map[string]string{
			"blocklist.allowlist[1]": `"0812-3456" is not a phone number`,
			"blocklist.allowlist[2]": "is not a phone number",
		}},
		{"reports", func(c *configs.Config) {
			c.Reports.RecentCalls = 0
			c.Reports.TimeZone = "Mars/Olympus"
			c.Reports.Durable = "reports.a"
			c.Reports.Retention = 0
		}, map[string]string{
			"reports.recent_calls": "between",
			"reports.time_zone":    "is not a known IANA time zone",
			"reports.durable":      "consumer name",
			"reports.retention":    "greater than zero",
		}},
		{"admin token with blanks is not echoed", func(c *configs.Config) { c.HTTP.AdminToken = "s3cret " },
			map[string]string{"http.admin_token": "config: http.admin_token: starts or ends with white space"}},
		{"health bounds", func(c *configs.Config) {
			c.Health.MaxWorkerLag, c.Health.MaxSpooling, c.Health.StreamProbe = 0, -time.Second, 0
		}, map[string]string{
			"health.max_worker_lag": "between",
			"health.max_spooling":   "greater than zero",
			"health.stream_probe":   "greater than zero",
		}},
		{"log enums", func(c *configs.Config) { c.Log.Level, c.Log.Format = "loud", "xml" },
			map[string]string{
				"log.level":  `"loud" is not one of debug, info, warn, error`,
				"log.format": `"xml" is not one of text, json`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configs.Default()
			tt.mutate(&c)
			err := c.Validate()
			wantProblems(t, err, tt.want)
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error message leaks the admin token: %v", err)
			}
		})
	}
}

// TestValidateEmbeddedListen accepts what the embedded server accepts.
func TestValidateEmbeddedListen(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:4222", "127.0.0.2:0", "[::1]:4222", "localhost:4222", ":4222"} {
		c := configs.Default()
		c.NATS.Embedded.Listen = listen
		if err := c.Validate(); err != nil {
			t.Errorf("listen %q: %v", listen, err)
		}
	}
	// With an external server the embedded one does not start.
	c := configs.Default()
	c.NATS.URL = "nats://nats:4222"
	c.NATS.Embedded.Listen = "0.0.0.0:4222"
	if err := c.Validate(); err != nil {
		t.Errorf("external nats.url with an open embedded listen: %v", err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := configs.Default()
	c.ARI.Nodes[0].URL = "htp://x"
	c.NATS.Stream.Replicas = 0
	c.IVR.MenuAttempts = 0
	c.Blocklist.Ladder = nil
	c.Log.Level = "verbose"
	err := c.Validate()
	got := fieldErrors(t, err)
	if len(got) != 5 {
		t.Fatalf("got %d problems, want 5:\n%v", len(got), err)
	}
	// One line per problem, in the order of the keys in Config.
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{
		"config: ari.nodes[0].url: ",
		"config: nats.stream.replicas: ",
		"config: ivr.menu_attempts: ",
		"config: blocklist.ladder: ",
		"config: log.level: ",
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(wantPrefixes), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("line %d is %q, want prefix %q", i, lines[i], p)
		}
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		fe   configs.FieldError
		want string
	}{
		{configs.FieldError{Key: "ari.nodes[0].url", Value: "htp://x", Msg: "is not an http(s) URL"},
			`config: ari.nodes[0].url: "htp://x" is not an http(s) URL`},
		{configs.FieldError{Key: "ivr.menu_attempts", Value: 0, Msg: "must be between 1 and 10"},
			`config: ivr.menu_attempts: 0 must be between 1 and 10`},
		{configs.FieldError{Key: "ivr.drain_timeout", Value: 90 * time.Second, Msg: "is long"},
			`config: ivr.drain_timeout: "1m30s" is long`},
		{configs.FieldError{Key: "ari.nodes[0].pasword", Msg: "is not a known key"},
			`config: ari.nodes[0].pasword: is not a known key`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.fe.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	var err error = &configs.ValidationError{Errors: []configs.FieldError{tests[0].fe}}
	if !errors.Is(err, configs.ErrInvalid) {
		t.Error("a *ValidationError does not match ErrInvalid")
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                       "0s",
		5 * time.Millisecond:    "5ms",
		250 * time.Millisecond:  "250ms",
		2 * time.Second:         "2s",
		2 * time.Minute:         "2m",
		90 * time.Second:        "1m30s",
		time.Hour:               "1h",
		90 * time.Minute:        "1h30m",
		time.Hour + time.Second: "1h0m1s",
		7 * 24 * time.Hour:      "168h",
	}
	for d, want := range tests {
		t.Run(want, func(t *testing.T) {
			got := configs.FormatDuration(d)
			if got != want {
				t.Errorf("FormatDuration(%d) = %q, want %q", d, got, want)
			}
			back, err := time.ParseDuration(got)
			if err != nil || back != d {
				t.Errorf("%q parses back as %v, %v; want %v", got, back, err, d)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *configs.Config)
		want   []string // keys warned about
	}{
		{"defaults warn about the sample password only", func(c *configs.Config) {}, []string{"ari.nodes[0].password"}},
		{"nothing to warn about", func(c *configs.Config) { c.ARI.Nodes[0].Password = "x7!kq" }, nil},
		{"open listener", func(c *configs.Config) {
			c.ARI.Nodes[0].Password = "x7!kq"
			c.HTTP.Listen = ":8112"
		}, []string{"http.listen"}},
		{"external NATS and a token", func(c *configs.Config) {
			c.ARI.Nodes[0].Password = "x7!kq"
			c.NATS.URL = "nats://nats:4222"
			c.NATS.Embedded.Listen = "0.0.0.0:4222"
			c.HTTP.Listen = "10.0.0.5:8112"
			c.HTTP.AdminToken = "tok"
		}, nil},
		{"times in UTC for an Indonesian centre", func(c *configs.Config) {
			c.ARI.Nodes[0].Password = "x7!kq"
			c.Reports.TimeZone = "UTC"
		}, []string{"reports.time_zone"}},
		{"UTC outside Indonesia", func(c *configs.Config) {
			c.ARI.Nodes[0].Password = "x7!kq"
			c.Reports.TimeZone = "UTC"
			c.Blocklist.DefaultCountry = "44"
		}, nil},
		{"localhost and IPv6 loopback", func(c *configs.Config) {
			c.ARI.Nodes[0].Password = "x7!kq"
			c.NATS.Embedded.Listen = "localhost:4222"
			c.HTTP.Listen = "[::1]:8112"
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configs.Default()
			tt.mutate(&c)
			var got []string
			for _, w := range c.Warnings() {
				got = append(got, w.Key)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("warnings for %v, want %v", got, tt.want)
			}
		})
	}
}

func TestZoneName(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC)
	for zone, want := range map[string]string{"Asia/Makassar": "2026-12-07 16:59 WITA", "Asia/Jakarta": "2026-12-07 15:59 WIB",
		"Asia/Jayapura": "2026-12-07 17:59 WIT", "UTC": "2026-12-07 08:59 UTC", "Europe/Amsterdam": "2026-12-07 09:59 CET"} {
		c := configs.Default()
		c.Reports.TimeZone = zone
		if got := configs.FormatTime(at, c.Location()); got != want {
			t.Errorf("%s: %q, want %q", zone, got, want)
		}
	}
}

func TestMemberDevices(t *testing.T) {
	for dev, ok := range map[string]bool{
		"PJSIP/op201": true, "Local/op1@operators": true, "Local/op201@ops/n": true, "SIP/201": true,
		"PJSIP": false, "op201": false, "PJSIP/op 201": false, "Local/op@ops/n/x": false, "/op201": false,
	} {
		c := configs.Default()
		c.IVR.Menu[0].Members = []string{dev}
		err := c.Validate()
		if got := err == nil; got != ok {
			t.Errorf("member %q: valid %v, want %v (%v)", dev, got, ok, err)
		}
	}
}
