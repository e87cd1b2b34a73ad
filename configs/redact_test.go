package configs_test

import (
	"testing"

	"github.com/siaga112/siaga112/configs"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:secret@h:4222", "nats://u:***@h:4222"},
		{"nats://tokensecret@h:4222", "nats://***@h:4222"},
		{"nats://a:s1@h1:4222,nats://b:s2@h2:4222", "nats://a:***@h1:4222,nats://b:***@h2:4222"},
		{"http://asterisk:p@ss@pbx:8088/ari", "http://asterisk:***@pbx:8088/ari"},
		{"ws://asterisk:secret@pbx:8088/ari/events?app=x&email=a@b", "ws://asterisk:***@pbx:8088/ari/events?app=x&email=a@b"},
		{"http://pbx:8088/ari?user=a@b", "http://pbx:8088/ari?user=a@b"},
		{"http://u:pa/ss@pbx:8088/ari", "http://u:***@pbx:8088/ari"},
		{"u:secret@h:4222", "u:***@h:4222"}, // nats.go reads a bare host:port as nats://
		{"nats://a:s1@h1, b:s2@h2", "nats://a:***@h1, b:***@h2"},
		{"http://pbx:8088/ari?api_key=asterisk:secret", "http://pbx:8088/ari?api_key=***"},
		{"ws://pbx:8088/ari/events?app=siaga112&api_key=asterisk:secret&subscribeAll=true", "ws://pbx:8088/ari/events?app=siaga112&api_key=***&subscribeAll=true"},
		{"ws://pbx/ari/events?API_KEY=a:b#x", "ws://pbx/ari/events?API_KEY=***#x"},
		{"http://pbx/ari?token=t0k", "http://pbx/ari?token=***"},
		{"http://pbx/ari?app=api_key=x", "http://pbx/ari?app=api_key=x"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := configs.RedactURL(tt.in); got != tt.want {
				t.Fatalf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`dial ws://asterisk:secret@pbx:8088/ari/events: connection refused`, `dial ws://asterisk:***@pbx:8088/ari/events: connection refused`},
		{`Get "http://u:p%40ss@pbx/ari/channels": EOF`, `Get "http://u:***@pbx/ari/channels": EOF`},
		{"nats: a:s1@h and nats://b:s2@h2", "nats: a:s1@h and nats://b:***@h2"},
		{"nats://tok@h down", "nats://***@h down"},
		{`Get "http://pbx:8088/ari/channels?api_key=asterisk:secret": EOF`, `Get "http://pbx:8088/ari/channels?api_key=***": EOF`},
		{"no url here, mail ops@example.org", "no url here, mail ops@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := configs.RedactText(tt.in)
			if got != tt.want {
				t.Fatalf("RedactText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
