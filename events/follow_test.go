package events

import (
	"context"
	"sync"
	"testing"
	"time"
)

// openBus starts an embedded server through Open and closes it at the end.
func openBus(t *testing.T) *Bus {
	t.Helper()
	cfg := natsConfig(t)
	cfg.Embedded.DataDir = t.TempDir()
	cfg.Embedded.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, OpenOptions{Name: t.Name(), RequireStream: true}, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// publishRaw stores e on its subject directly, acked.
func publishRaw(t *testing.T, b *Bus, e Envelope) {
	t.Helper()
	data, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.JS.Publish(ctx, e.Subject(), data); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func TestReadAll(t *testing.T) {
	b := openBus(t)
	blocked, err := New(TypeBlocklistChanged, "", "", Caller{}, BlocklistChanged{Number: "+6281234567890", Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		publish []Envelope
		want    int // call events read
	}{
		{name: "empty stream", want: 0},
		// Only a blocklist event: the call filter matches nothing, and
		// ReadAll must say so at once rather than wait for ctx.
		{name: "only other subjects", publish: []Envelope{blocked}, want: 0},
		{name: "calls then a blocklist event", publish: []Envelope{event(t, 0), event(t, 1), event(t, 2), blocked}, want: 3},
		{name: "more calls", publish: []Envelope{event(t, 3)}, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range tt.publish {
				publishRaw(t, b, e)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var got []Envelope
			if err := b.ReadAll(ctx, nil, func(e Envelope) { got = append(got, e) }); err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if len(got) != tt.want {
				t.Fatalf("read %d call events, want %d", len(got), tt.want)
			}
			for i, e := range got {
				if e.Type != TypeMenu {
					t.Errorf("event %d has type %s: the filter let it through", i, e.Type)
				}
			}
		})
	}
}

func TestFollowSeesOnlyNewEvents(t *testing.T) {
	b := openBus(t)
	old := event(t, 0)
	publishRaw(t, b, old)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu  sync.Mutex
		got []string
	)
	if err := b.Follow(ctx, nil, func(e Envelope) {
		mu.Lock()
		got = append(got, e.ID)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	want := []string{}
	for i := 1; i <= 3; i++ {
		e := event(t, i)
		want = append(want, e.ID)
		publishRaw(t, b, e)
	}
	eventually(t, 20*time.Second, "three followed events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	mu.Lock()
	requireSameOrder(t, got, want)
	mu.Unlock()
}

func TestOpenSkipStreamLeavesStreamAlone(t *testing.T) {
	cfg := natsConfig(t)
	cfg.Embedded.DataDir = t.TempDir()
	cfg.Embedded.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, OpenOptions{Name: t.Name(), SkipStream: true}, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if _, err := b.JS.Stream(ctx, StreamName); err == nil {
		t.Fatal("SkipStream created the stream")
	}
}
