package events

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestPublishConsume1000 publishes 1,000 events and reads them back through
// a durable consumer: every id arrives once, in publish order.
func TestPublishConsume1000(t *testing.T) {
	const n = 1000
	e := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, e.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))

	ctx := context.Background()
	want := make([]string, 0, n)
	for i := range n {
		ev := event(t, i)
		if err := p.Publish(ctx, ev); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
		want = append(want, ev.ID)
	}
	eventually(t, 60*time.Second, "spool drained", func() bool { return p.Stats().SpoolBytes == 0 })
	st := p.Stats()
	if st.Published+st.Replayed != n || st.Dropped != 0 {
		t.Fatalf("stats %+v: want published+replayed=%d and nothing dropped", st, n)
	}
	t.Logf("publisher stats: %+v", st)

	var (
		mu  sync.Mutex
		got []string
	)
	c, err := NewConsumer(ctx, js, ConsumerSpec{Durable: "roundtrip", Subjects: []string{SubjectAllCalls}, MaxAckPending: 64, DeliverAll: true},
		func(_ context.Context, e Envelope, m Meta) error {
			if m.Subject != e.Subject() || m.StreamSeq == 0 || m.NumDelivered != 1 {
				t.Errorf("meta %+v for %s", m, e.ID)
			}
			var menu Menu
			if err := e.DecodeData(&menu); err != nil {
				return err
			}
			mu.Lock()
			got = append(got, e.ID)
			mu.Unlock()
			return nil
		}, testLog(t))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()
	eventually(t, 60*time.Second, "1000 events consumed", func() bool { return c.Stats().Handled == n })
	// The last acks travel to the server after the handler returned.
	eventually(t, 10*time.Second, "Lag 0 once every ack arrived", func() bool {
		lag, err := c.Lag(ctx)
		return err == nil && lag == 0
	})
	stop()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	requireSameOrder(t, got, want)
	if s := c.Stats(); s.Failed != 0 || s.Malformed != 0 {
		t.Fatalf("consumer stats %+v", s)
	}
}

// TestPublishThroughOutage stops the server in the middle of a run: Publish
// keeps returning quickly (into the spool), and once the server is back on
// the same store and port every event is in the stream exactly once, in
// publish order.
func TestPublishThroughOutage(t *testing.T) {
	const (
		before = 200
		during = 200
		after  = 200
		// Generous bounds for a noisy 2-core machine under -race; the
		// configured wait on NATS is 5 ms, the rest is one fsync.
		maxOne = 200 * time.Millisecond
		maxAvg = 50 * time.Millisecond
	)
	dir := t.TempDir()
	srv := startServer(t, dir, "127.0.0.1:0")
	listen := listenOf(t, srv.ClientURL())
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	logBuf := &syncBuffer{}
	p := newPublisher(t, js, natsConfig(t), testLogTo(logBuf))
	ctx := context.Background()

	var want []string
	publish := func(phase string, count int) (worst, total time.Duration) {
		for i := range count {
			ev := event(t, len(want))
			start := time.Now()
			err := p.Publish(ctx, ev)
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: Publish %d: %v", phase, i, err)
			}
			worst, total = max(worst, d), total+d
			want = append(want, ev.ID)
		}
		return worst, total
	}

	publish("before", before)
	srv.Shutdown()
	worst, total := publish("during", during)
	avg := total / during
	t.Logf("during the outage: worst Publish %s, average %s", worst, avg)
	if worst > maxOne || avg > maxAvg {
		t.Fatalf("Publish blocked during the outage: worst %s (bound %s), average %s (bound %s)", worst, maxOne, avg, maxAvg)
	}
	if st := p.Stats(); st.Spooled < during || st.SpoolBytes == 0 || !st.Spooling || st.SpoolEvents < during ||
		st.SpoolingSince.IsZero() || st.LastError == "" {
		t.Fatalf("stats %+v: the outage's events should be in the spool, and the stats say so", st)
	}
	if !strings.Contains(logBuf.String(), "spooling events to disk") {
		t.Fatalf("no log line about spooling:\n%s", logBuf.String())
	}

	startServer(t, dir, listen)
	publish("after", after)
	eventually(t, 60*time.Second, "spool drained after the restart", func() bool { return p.Stats().SpoolBytes == 0 })
	eventually(t, 30*time.Second, "all events in the stream", func() bool { return streamMsgs(t, js) >= uint64(len(want)) })

	got := streamIDs(t, js)
	seen := make(map[string]int, len(got))
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("event %s is in the stream %d times, want exactly once", id, seen[id])
		}
	}
	requireSameOrder(t, got, want)
	st := p.Stats()
	t.Logf("publisher stats: %+v", st)
	if st.Dropped != 0 || st.Published+st.Replayed < uint64(len(want)) {
		t.Fatalf("stats %+v", st)
	}
	if st.Spooling || st.SpoolEvents != 0 || !st.SpoolingSince.IsZero() || st.SpoolFull || !st.LastDrop.IsZero() || st.LastErrorAt.IsZero() {
		t.Fatalf("stats after the drain %+v: not spooling, empty, nothing dropped, the outage's error kept", st)
	}
	if !strings.Contains(logBuf.String(), "spool drained") {
		t.Fatalf("no log line about the drained spool:\n%s", logBuf.String())
	}
}

// TestSpoolSurvivesReopen spools events while NATS is down, closes the
// publisher, and checks that a new publisher on the same spool directory
// delivers them.
func TestSpoolSurvivesReopen(t *testing.T) {
	const n = 50
	dir := t.TempDir()
	srv := startServer(t, dir, "127.0.0.1:0")
	listen := listenOf(t, srv.ClientURL())
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	srv.Shutdown()

	cfg := natsConfig(t)
	p1, err := NewPublisher(js, cfg, testLog(t))
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	var want []string
	for i := range n {
		ev := event(t, i)
		if err := p1.Publish(context.Background(), ev); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
		want = append(want, ev.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p1.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := p1.Stats(); st.Spooled != n || st.SpoolBytes == 0 {
		t.Fatalf("first publisher stats %+v", st)
	}
	if err := p1.Publish(context.Background(), event(t, 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}

	srv2 := startServer(t, dir, listen)
	_, js2 := connect(t, srv2.ClientURL())
	p2 := newPublisher(t, js2, cfg, testLog(t))
	eventually(t, 60*time.Second, "replay by the second publisher", func() bool {
		st := p2.Stats()
		return st.Replayed == n && st.SpoolBytes == 0
	})
	requireSameOrder(t, streamIDs(t, js2), want)
	if st := p2.Stats(); st.SpoolBytes != 0 || st.Dropped != 0 {
		t.Fatalf("second publisher stats %+v", st)
	}
}

// TestCloseFlushesSpool: Close waits for the replay when NATS is up.
func TestCloseFlushesSpool(t *testing.T) {
	const n = 30
	dir := t.TempDir()
	srv := startServer(t, dir, "127.0.0.1:0")
	listen := listenOf(t, srv.ClientURL())
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	srv.Shutdown()
	p, err := NewPublisher(js, natsConfig(t), testLog(t))
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	for i := range n {
		if err := p.Publish(context.Background(), event(t, i)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	startServer(t, dir, listen)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := p.Stats(); st.Replayed != n || st.SpoolBytes != 0 {
		t.Fatalf("Close returned before the spool was flushed: %+v", st)
	}
}

// TestSpoolFull: with NATS down and a tiny spool, events beyond the bound
// are refused with ErrSpoolFull, counted, and logged once.
func TestSpoolFull(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	srv.Shutdown()
	cfg := natsConfig(t)
	cfg.Spool.MaxBytes = 2048
	logBuf := &syncBuffer{}
	p := newPublisher(t, js, cfg, testLogTo(logBuf))

	var accepted, refused int
	for i := range 20 {
		err := p.Publish(context.Background(), event(t, i))
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrSpoolFull):
			refused++
		default:
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	st := p.Stats()
	if accepted == 0 || refused == 0 || st.Dropped != uint64(refused) || st.Spooled != uint64(accepted) {
		t.Fatalf("accepted %d refused %d stats %+v", accepted, refused, st)
	}
	if st.SpoolBytes > cfg.Spool.MaxBytes {
		t.Fatalf("spool holds %d bytes, bound %d", st.SpoolBytes, cfg.Spool.MaxBytes)
	}
	// What /healthz judges: spooling, the backlog, the bound, the drops and why.
	if !st.Spooling || st.SpoolingSince.IsZero() || st.SpoolEvents != int64(accepted) || st.SpoolMaxBytes != cfg.Spool.MaxBytes ||
		!st.SpoolFull || st.LastDrop.IsZero() || !strings.Contains(st.LastError, ErrSpoolFull.Error()) {
		t.Fatalf("stats of a full spool: %+v", st)
	}
	if c := strings.Count(logBuf.String(), "event spool is full"); c != 1 {
		t.Fatalf("spool-full logged %d times, want once:\n%s", c, logBuf.String())
	}
}

func TestPublishRejectsBadEnvelope(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	good := event(t, 1)
	noID, badType := good, good
	noID.ID = ""
	badType.Type = "call.bogus"
	tests := []struct {
		name string
		e    Envelope
	}{
		{"no id", noID},
		{"unknown type", badType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.Publish(context.Background(), tt.e); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Publish: %v, want ErrMalformed", err)
			}
		})
	}
	if err := p.Publish(context.Background(), good); err != nil {
		t.Fatalf("Publish good event: %v", err)
	}
}

// TestPublishCancelledContext: a cancelled ctx does not lose the event.
func TestPublishCancelledContext(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	p := newPublisher(t, js, natsConfig(t), testLog(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := event(t, 7)
	if err := p.Publish(ctx, ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	eventually(t, 30*time.Second, "event stored", func() bool { return streamMsgs(t, js) == 1 })
	requireSameOrder(t, streamIDs(t, js), []string{ev.ID})
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"too large", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamMessageExceedsMaximum}, true},
		{"stream missing", jetstream.ErrNoStreamResponse, false},
		{"timeout", context.DeadlineExceeded, false},
		{"other api error", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeJetStreamNotEnabled}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := permanent(tt.err); got != tt.want {
				t.Fatalf("permanent(%v) = %v", tt.err, got)
			}
		})
	}
}
