package events

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

func TestEnsureStreamIdempotent(t *testing.T) {
	e := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, e.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg := configs.Default().NATS.Stream
	tests := []struct {
		name   string
		cfg    configs.Stream
		maxAge time.Duration
	}{
		{name: "create", cfg: cfg, maxAge: cfg.MaxAge},
		{name: "same again", cfg: cfg, maxAge: cfg.MaxAge},
		{name: "update max age", cfg: configs.Stream{MaxAge: time.Hour, Replicas: 1, Duplicates: time.Minute}, maxAge: time.Hour},
		{name: "replicas zero means one", cfg: configs.Stream{MaxAge: time.Hour, Duplicates: time.Minute}, maxAge: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EnsureStream(ctx, js, tt.cfg)
			if err != nil {
				t.Fatalf("EnsureStream: %v", err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatalf("info: %v", err)
			}
			c := info.Config
			if c.Name != StreamName || !slices.Equal(c.Subjects, []string{SubjectAllCalls, SubjectAllBlocklist, SubjectAllConsole, SubjectAllIncidents, SubjectAllOperators}) {
				t.Fatalf("stream %s on %v", c.Name, c.Subjects)
			}
			if c.Storage != jetstream.FileStorage || c.Replicas != 1 || c.MaxAge != tt.maxAge || c.Duplicates != tt.cfg.Duplicates {
				t.Fatalf("config storage=%v replicas=%d max_age=%s duplicates=%s", c.Storage, c.Replicas, c.MaxAge, c.Duplicates)
			}
		})
	}
	names := js.StreamNames(ctx)
	var n int
	for range names.Name() {
		n++
	}
	if n != 1 {
		t.Fatalf("%d streams, want 1", n)
	}
}
