package events

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

func TestApplyStreamIdempotent(t *testing.T) {
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
		{name: "update max age", cfg: configs.Stream{MaxAge: time.Hour, MaxBytes: cfg.MaxBytes, Replicas: 1, Duplicates: time.Minute}, maxAge: time.Hour},
		{name: "replicas zero means one", cfg: configs.Stream{MaxAge: time.Hour, MaxBytes: cfg.MaxBytes, Duplicates: time.Minute}, maxAge: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ApplyStream(ctx, js, tt.cfg)
			if err != nil {
				t.Fatalf("ApplyStream: %v", err)
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
			if c.MaxBytes != cfg.MaxBytes || c.Discard != jetstream.DiscardOld {
				t.Fatalf("max_bytes %d discard %v, want %d and discard-old", c.MaxBytes, c.Discard, cfg.MaxBytes)
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

// TestEnsureStreamLeavesLimits: EnsureStream, which every role calls,
// creates a missing stream but never changes an existing one's limits, and
// StreamDrift names what differs.
func TestEnsureStreamLeavesLimits(t *testing.T) {
	e := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, e.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := configs.Default().NATS.Stream
	s, err := EnsureStream(ctx, js, cfg)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := s.CachedInfo().Config.MaxBytes; got != cfg.MaxBytes {
		t.Fatalf("created with max_bytes %d, want %d", got, cfg.MaxBytes)
	}
	other := cfg
	other.MaxAge = time.Hour
	other.MaxBytes = 1 << 20
	s, err = EnsureStream(ctx, js, other)
	if err != nil {
		t.Fatalf("again with other limits: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != cfg.MaxAge || info.Config.MaxBytes != cfg.MaxBytes {
		t.Fatalf("EnsureStream changed the limits to max_age %s max_bytes %d", info.Config.MaxAge, info.Config.MaxBytes)
	}
	d := StreamDrift(info.Config, other)
	if len(d) != 2 || !strings.HasPrefix(d[0], "nats.stream.max_age") || !strings.HasPrefix(d[1], "nats.stream.max_bytes") {
		t.Fatalf("drift %q", d)
	}
	if d := StreamDrift(info.Config, cfg); d != nil {
		t.Fatalf("drift against its own config: %q", d)
	}
}

// TestStreamUsageWarnsAt80Percent: above 80 % of max_bytes StreamUsage
// says the stream is nearly full, and with discard-old a full stream keeps
// taking events by dropping the oldest.
func TestStreamUsageWarnsAt80Percent(t *testing.T) {
	e := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, e.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := configs.Default().NATS.Stream
	cfg.MaxBytes = 1 << 20
	if _, err := ApplyStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 10<<10)
	publish := func(n int) {
		t.Helper()
		for range n {
			if _, err := js.Publish(ctx, SubjectAudit, payload); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
	}
	publish(70) // about 700 KB of 1 MiB: below 80 %
	if stored, limit, err := StreamUsage(ctx, js); err != nil || limit != 1<<20 || stored < 600<<10 {
		t.Fatalf("at ~67 %%: stored %d limit %d err %v", stored, limit, err)
	}
	publish(20) // about 900 KB
	if _, _, err := StreamUsage(ctx, js); !errors.Is(err, ErrStreamNearlyFull) {
		t.Fatalf("at ~86 %%: %v, want ErrStreamNearlyFull", err)
	}
	publish(100) // well past full: the oldest go, the new are stored
	stored, _, _ := StreamUsage(ctx, js)
	if stored > 1<<20 {
		t.Fatalf("stream holds %d bytes, more than max_bytes", stored)
	}
}
