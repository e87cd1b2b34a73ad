package stack

import (
	"context"
	"strings"
	"testing"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
)

// TestHealthStreamNearlyFull: the jetstream check is degraded, with the
// figures and what to do, once the event stream holds more than 80 % of
// nats.stream.max_bytes, and ok below.
func TestHealthStreamNearlyFull(t *testing.T) {
	ns, _ := startJetStream(t)
	cfg := testConfig(t)
	cfg.NATS.URL = ns.ClientURL()
	cfg.NATS.Stream.MaxBytes = 1 << 20
	ctx := context.Background()
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{Name: t.Name(), RequireStream: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	s := &Stack{cfg: cfg, bus: bus}
	payload := make([]byte, 10<<10)
	publish := func(n int) {
		t.Helper()
		for range n {
			if _, err := bus.JS.Publish(ctx, events.SubjectAudit, payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(70) // about 67 % of 1 MiB
	if c := s.probeStream(ctx, nil); c.Status != health.LevelOK {
		t.Fatalf("at ~67 %%: %+v, want ok", c)
	}
	publish(20) // about 86 %
	c := s.probeStream(ctx, nil)
	if c.Status != health.LevelDegraded || !strings.Contains(c.Reason, "nearly full") || !strings.Contains(c.Reason, "nats.stream.max_bytes") {
		t.Fatalf("at ~86 %%: %+v, want degraded: nearly full, raise nats.stream.max_bytes", c)
	}
}
