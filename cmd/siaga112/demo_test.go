package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/siaga112/siaga112/configs"
)

// warnSettings reports every risky setting except those of the parts a
// command replaces.
func TestWarnSettings(t *testing.T) {
	cfg := configs.Default() // the sample ARI password
	cfg.HTTP.Listen = "0.0.0.0:8112"
	cfg.NATS.Embedded.Listen = "0.0.0.0:4222"
	tests := []struct {
		name          string
		skip          []string
		want, notWant []string
	}{
		{"nothing skipped", nil, []string{"ari.nodes[0].password", "http.listen", "nats.embedded.listen"}, nil},
		{"sim replaces the nodes", []string{"ari.nodes"}, []string{"http.listen", "nats.embedded.listen"}, []string{"ari.nodes"}},
		{"no listener, no nodes", []string{"ari.nodes", "http."}, []string{"nats.embedded.listen"}, []string{"ari.nodes", "http.listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnSettings(slog.New(slog.NewTextHandler(&buf, nil)), cfg, tt.skip...)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("no warning about %s:\n%s", w, buf.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(buf.String(), w) {
					t.Errorf("warning about %s:\n%s", w, buf.String())
				}
			}
		})
	}
}

// TestDemoBoundedFinish: silent callers last far longer than the demo's
// finish bound, so when --duration is over the demo says how many calls it
// is finishing, the IVR puts them through to operators, and the summary
// counts them as put through, with no error and no event lost. The built-in
// ARI node (with the sample password) is replaced by the simulated
// Asterisk, so it is not warned about.
func TestDemoBoundedFinish(t *testing.T) {
	clearEnv(t)
	out, errOut, code, err := execute(t, "demo", "--duration", "1s", "--rate", "10", "--mix", "silent=1",
		"--clock-scale", "0.2", "--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id")
	if err != nil || code != 0 {
		t.Fatalf("demo: code %d, %v; stderr: %s; stdout: %s", code, err, errOut, out)
	}
	for _, want := range []string{"calls in progress (up to " + demoFinish.String() + ")", "put through to operators by the drain",
		"failover", " 0 lost; errors 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, configs.DefaultARIPassword) || strings.Contains(errOut, "ari.nodes") {
		t.Errorf("demo warned about the ARI nodes it does not use:\n%s", errOut)
	}
}
