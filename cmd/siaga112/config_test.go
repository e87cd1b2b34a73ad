package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestConfigCheckSecretsAndSources: config check shows no URL password,
// refuses a device as its file at once, and fails what serve would refuse.
func TestConfigCheckSecretsAndSources(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     []string
		notWant  []string
	}{
		{"nats url password hidden", map[string]string{"SIAGA112_NATS_URL": "nats://u:s3cr3t-pw@h:4222"},
			[]string{"config", "check"}, 0, []string{"url: nats://u:***@h:4222"}, []string{"s3cr3t-pw"}},
		{"ari urls with userinfo hidden", map[string]string{
			"SIAGA112_ARI_NODES_0_URL": "http://asterisk:aripass@pbx:8088/ari", "SIAGA112_ARI_NODES_0_WS_URL": "ws://asterisk:aripass@pbx:8088/ari/events"},
			[]string{"config", "check"}, 0, []string{"http://asterisk:***@pbx:8088/ari"}, []string{"aripass"}},
		{"invalid nats url: error hides the password", map[string]string{"SIAGA112_NATS_URL": "nats://u:s3cr3t-pw@h:99999"},
			[]string{"config", "check"}, 2, []string{"config: nats.url"}, []string{"s3cr3t-pw"}},
		{"a device as config file", nil, []string{"config", "check", "--config", "/dev/zero"}, 2,
			[]string{"/dev/zero: is not a regular file (a character device)"}, nil},
		{"allowlist number serve refuses", map[string]string{"SIAGA112_BLOCKLIST_ALLOWLIST": "112"},
			[]string{"config", "check"}, 2, []string{"blocklist.allowlist[0]"}, nil},
		{"embedded server on every interface", map[string]string{"SIAGA112_NATS_EMBEDDED_LISTEN": "0.0.0.0:4222"},
			[]string{"config", "check"}, 2, []string{"nats.embedded.listen", "loopback"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			start := time.Now()
			stdout, stderr, code, err := execute(t, tt.args...)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("config check took %s", took)
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err: %v)", code, tt.wantCode, err)
			}
			text := stdout + stderr
			if err != nil {
				text += err.Error()
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
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Fatalf("the device case needs /dev/zero: %v", err)
	}
}
