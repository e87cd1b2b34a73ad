package events

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConsumerMalformedAndRetry feeds a consumer junk, an event whose
// handler fails once, and good events: the junk is terminated and counted,
// the failed one is redelivered and handled, and the consumer keeps going.
func TestConsumerMalformedAndRetry(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx := context.Background()

	first, retried, last := event(t, 1), event(t, 2), event(t, 3)
	var (
		mu       sync.Mutex
		handled  []string
		failOnce = true
	)
	logBuf := &syncBuffer{}
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "malformed", MaxAckPending: 8, AckWait: 10 * time.Second, DeliverAll: true},
		func(_ context.Context, e Envelope, m Meta) error {
			mu.Lock()
			defer mu.Unlock()
			if e.ID == retried.ID && failOnce {
				failOnce = false
				return errors.New("database busy")
			}
			if e.ID == retried.ID && m.NumDelivered != 2 {
				t.Errorf("retried event delivered %d times, want 2", m.NumDelivered)
			}
			handled = append(handled, e.ID)
			return nil
		}, testLogTo(logBuf))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()

	if err := p.Publish(ctx, first); err != nil {
		t.Fatal(err)
	}
	junk := `{"id":"x","type":"call.started","caller":{"number":"+6281111111111"}` // cut short
	if _, err := js.Publish(ctx, TypeStarted.Subject(), []byte(junk)); err != nil {
		t.Fatalf("publish junk: %v", err)
	}
	for _, e := range []Envelope{retried, last} {
		if err := p.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, "three good events handled", func() bool { return c.Stats().Handled == 3 })
	stop()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}

	st := c.Stats()
	if st.Malformed != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v, want 1 malformed and 1 failed", st)
	}
	mu.Lock()
	defer mu.Unlock()
	// The failed event comes back after its nak delay, so it is handled last.
	requireSameOrder(t, handled, []string{first.ID, last.ID, retried.ID})
	logs := logBuf.String()
	if n := strings.Count(logs, "malformed event terminated"); n != 1 {
		t.Fatalf("malformed event logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "6281111111111") {
		t.Fatalf("a payload reached the log:\n%s", logs)
	}
}

// TestConsumerHandlerMalformedAndPanic: a handler can reject an event as
// malformed (terminated) and a panicking handler does not stop the consumer.
func TestConsumerHandlerMalformedAndPanic(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx := context.Background()

	reject, boom, good := event(t, 1), event(t, 2), event(t, 3)
	var panicked sync.Once
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "handler", Subjects: []string{SubjectAllCalls, SubjectAllBlocklist}, DeliverAll: true},
		func(_ context.Context, e Envelope, _ Meta) error {
			switch e.ID {
			case reject.ID:
				return errors.Join(ErrMalformed, errors.New("menu attempt out of range"))
			case boom.ID:
				var first bool
				panicked.Do(func() { first = true })
				if first {
					panic("handler bug")
				}
			}
			return nil
		}, testLog(t))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()
	for _, e := range []Envelope{reject, boom, good} {
		if err := p.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, "boom retried and good handled", func() bool { return c.Stats().Handled == 2 })
	stop()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := c.Stats(); st.Malformed != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v, want 1 malformed, 1 failed (the panic)", st)
	}
}

func TestNewConsumerErrors(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	ok := func(context.Context, Envelope, Meta) error { return nil }
	tests := []struct {
		name string
		spec ConsumerSpec
		h    Handler
	}{
		{"no durable", ConsumerSpec{}, ok},
		{"no handler", ConsumerSpec{Durable: "x"}, nil},
		{"bad durable name", ConsumerSpec{Durable: "has.dots"}, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewConsumer(context.Background(), js, tt.spec, tt.h, testLog(t)); err == nil {
				t.Fatal("NewConsumer succeeded, want error")
			}
		})
	}
}

// TestConsumerSurvivesServerRestart: a running consumer picks up again when
// the server comes back on the same store, without being restarted.
func TestConsumerSurvivesServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "127.0.0.1:0")
	listen := listenOf(t, srv.ClientURL())
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx := context.Background()

	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "restart", DeliverAll: true},
		func(_ context.Context, e Envelope, _ Meta) error {
			mu.Lock()
			seen[e.ID]++
			mu.Unlock()
			return nil
		}, testLog(t))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()

	var want []string
	for i := range 20 {
		ev := event(t, i)
		if i == 10 {
			eventually(t, 30*time.Second, "first half handled", func() bool { return c.Stats().Handled == 10 })
			srv.Shutdown()
		}
		if i == 15 {
			startServer(t, dir, listen)
		}
		if err := p.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, ev.ID)
	}
	eventually(t, 90*time.Second, "every event handled after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(want)
	})
	stop()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range want {
		if seen[id] == 0 {
			t.Fatalf("event %s never handled", id)
		}
	}
}
