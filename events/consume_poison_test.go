package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// runConsumer runs c until the test ends and returns Run's result channel.
func runConsumer(t *testing.T, c *Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestConsumerTerminatesPoison publishes events that decode but break a
// bound — the 2,100-character call_id, a future date, forged outcome and
// type, a huge node name — between good events: none reaches
// the handler, each is terminated and counted, Run keeps going and the good
// events are handled in order.
func TestConsumerTerminatesPoison(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	ctx := context.Background()

	var (
		mu      sync.Mutex
		handled []string
	)
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "poison", DeliverAll: true},
		func(_ context.Context, e Envelope, _ Meta) error {
			mu.Lock()
			defer mu.Unlock()
			handled = append(handled, e.CallID)
			if e.CallID == "hostile-name" && e.Caller.Name != "\ufffdbell" {
				t.Errorf("caller name reached the handler as %q, want it cleaned", e.Caller.Name)
			}
			return nil
		}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, c)

	now := time.Now().UTC()
	mk := func(callID string, edit func(*Envelope)) []byte {
		e, err := New(TypeClassified, callID, "n1", Caller{Number: "+6281234567890", Presentation: PresentationAllowed},
			Classified{Outcome: OutcomeEmergency, EmergencyType: "fire", Attempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&e)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	raw := func(d string) func(*Envelope) { return func(e *Envelope) { e.Data = json.RawMessage(d) } }
	poison := [][]byte{
		mk(strings.Repeat("C", 2100), nil),
		mk("future", func(e *Envelope) { e.Time = now.Add(48 * time.Hour) }),
		mk("outcome", raw(`{"outcome":"=cmd|' /C calc'!A0"}`)),
		mk("type", raw(`{"outcome":"emergency","emergency_type":"+1+HYPERLINK(\"x\")"}`)),
		mk("node", func(e *Envelope) { e.Node = strings.Repeat("n", 5000) }),
		mk("presentation", func(e *Envelope) { e.Caller.Presentation = "<b>" }),
		[]byte(`{"id":"x","type":"call.classified","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c","data":{"attempts":1e999}}`),
	}
	publish := func(b []byte) {
		t.Helper()
		if _, err := js.Publish(ctx, TypeClassified.Subject(), b); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	publish(mk("good-1", nil))
	// The caller chooses their name: it is cleaned, not refused, or a
	// prankster could hide every call from the workers.
	publish(mk("hostile-name", func(e *Envelope) { e.Caller.Name = "\x07bell" }))
	for _, b := range poison {
		publish(b)
	}
	// A valid classified event on the verdict subject: past a subject
	// filter or permission that would have stopped a verdict.
	if _, err := js.Publish(ctx, TypeVerdict.Subject(), mk("wrong-subject", nil)); err != nil {
		t.Fatal(err)
	}
	publish(mk("good-2", nil))

	eventually(t, 30*time.Second, "the good events handled", func() bool { return c.Stats().Handled == 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := c.Stats()
	if st.Malformed != uint64(len(poison)+1) || st.Poison != st.Malformed || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d malformed = poison, none failed", st, len(poison)+1)
	}
	if !strings.Contains(st.LastPoison, "published on "+TypeVerdict.Subject()) {
		t.Fatalf("last poison %q, want the bad field of the last one", st.LastPoison)
	}
	mu.Lock()
	defer mu.Unlock()
	requireSameOrder(t, handled, []string{"good-1", "hostile-name", "good-2"})
}

// TestConsumerGivesUpAfterMaxDeliver: an event whose handler always fails
// is delivered MaxDeliver times, then terminated and counted as exhausted;
// the events behind it are handled, and Run never returns an error.
func TestConsumerGivesUpAfterMaxDeliver(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx := context.Background()

	bad, good := event(t, 1), event(t, 2)
	var (
		mu         sync.Mutex
		deliveries []uint64
	)
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "exhaust", DeliverAll: true, MaxDeliver: 3},
		func(_ context.Context, e Envelope, m Meta) error {
			if e.ID != bad.ID {
				return nil
			}
			mu.Lock()
			deliveries = append(deliveries, m.NumDelivered)
			mu.Unlock()
			return errors.New("nats: maximum control line exceeded")
		}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, c)
	for _, e := range []Envelope{bad, good} {
		if err := p.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, "the failing event given up", func() bool { return c.Stats().Exhausted == 1 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := c.Stats()
	if st.Handled != 1 || st.Failed != 2 || st.Poison != 1 || !strings.Contains(st.LastPoison, "control line") {
		t.Fatalf("stats %+v, want 1 handled, 2 failed tries, 1 poison naming the error", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deliveries) != 3 || deliveries[2] != 3 {
		t.Fatalf("deliveries %v, want 1, 2, 3", deliveries)
	}
	info, err := c.current().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxDeliver != 3 || info.NumAckPending != 0 {
		t.Fatalf("server side: max_deliver %d, ack pending %d; want 3 and 0", info.Config.MaxDeliver, info.NumAckPending)
	}
}

// TestConsumerRunAgainAfterDelete: a deleted consumer ends Run with an
// error; a second Run creates it again after the last handled event, so
// what was published meanwhile is handled and nothing is handled twice.
func TestConsumerRunAgainAfterDelete(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx := context.Background()

	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "deleted", DeliverAll: true},
		func(_ context.Context, e Envelope, _ Meta) error {
			mu.Lock()
			seen[e.ID]++
			mu.Unlock()
			return nil
		}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	var ids []string
	for i := range 3 {
		e := event(t, i)
		ids = append(ids, e.ID)
		if err := p.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "first events handled", func() bool { return c.Stats().Handled == 3 })
	if err := js.DeleteConsumer(ctx, StreamName, "deleted"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after its consumer was deleted")
		}
		t.Logf("Run after delete: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not notice its consumer was deleted")
	}
	for i := 3; i < 6; i++ {
		e := event(t, i)
		ids = append(ids, e.ID)
		if err := p.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	go func() { done <- c.Run(runCtx) }()
	eventually(t, 30*time.Second, "events published while it was down handled", func() bool { return c.Stats().Handled == 6 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if st := c.Stats(); st.Restarts != 1 {
		t.Fatalf("restarts %d, want 1", st.Restarts)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %s handled %d times, want once", id, seen[id])
		}
	}
}

// A durable consumer made before MaxDeliver existed (unbounded) takes the
// bound when a worker of this version starts on it.
func TestConsumerUpdateSetsMaxDeliver(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	ctx := context.Background()
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable: "old", AckPolicy: jetstream.AckExplicitPolicy, AckWait: DefaultAckWait, MaxAckPending: DefaultMaxAckPending,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "old"}, func(context.Context, Envelope, Meta) error { return nil }, testLog(t))
	if err != nil {
		t.Fatalf("NewConsumer over an old durable: %v", err)
	}
	info, err := c.current().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxDeliver != DefaultMaxDeliver {
		t.Fatalf("max_deliver %d, want %d", info.Config.MaxDeliver, DefaultMaxDeliver)
	}

	// A durable that reopen re-created at a start sequence is taken as it
	// is by the next process's NewConsumer (the server refuses to change
	// where a consumer starts).
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable: "reopened", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: DefaultMaxDeliver,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 42,
	}); err != nil {
		t.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		if _, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "reopened", DeliverAll: all}, func(context.Context, Envelope, Meta) error { return nil }, testLog(t)); err != nil {
			t.Fatalf("NewConsumer (DeliverAll %v) over a re-created durable: %v", all, err)
		}
	}
}
