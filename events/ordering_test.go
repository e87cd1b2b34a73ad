package events

import (
	"context"
	"testing"
	"time"
)

// TestNewEventsQueueBehindSpool: while the spool holds events that never
// reached the stream, a new event goes behind them even though NATS is
// connected and would take it at once; otherwise it would be stored ahead
// of the backlog (a call's call.ended before its call.started). The
// replay's acks are held back by a slow link, so the backlog is still being
// replayed when the new event is published.
func TestNewEventsQueueBehindSpool(t *testing.T) {
	const backlog = replayWindow + 100 // more than one replay window
	cfg := natsConfig(t)

	// The backlog: events published while NATS was away, left in the spool.
	srv1 := startServer(t, t.TempDir(), "127.0.0.1:0")
	nc1, js1 := connect(t, srv1.ClientURL())
	srv1.Shutdown()
	eventually(t, 10*time.Second, "first publisher's NATS gone", func() bool { return !nc1.IsConnected() })
	p1, err := NewPublisher(js1, cfg, testLog(t))
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	var want []string
	for i := range backlog {
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

	// NATS is there, but slow: the replay's first window is stored at once
	// and acked a second later, so the rest of the backlog waits.
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, direct := connect(t, srv.ClientURL())
	ensureStream(t, direct)
	proxy := startLatencyProxy(t, listenOf(t, srv.ClientURL()), 0)
	nc, js := connect(t, proxy.URL())
	eventually(t, 10*time.Second, "connected", nc.IsConnected)
	proxy.setDelay(time.Second)
	p := newPublisher(t, js, cfg, testLog(t))
	late := event(t, backlog)
	if err := p.Publish(context.Background(), late); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if st := p.Stats(); st.Published != 0 || st.Spooled != 1 {
		t.Fatalf("stats %+v: the new event should have gone to the spool, behind the backlog", st)
	}
	want = append(want, late.ID)
	proxy.setDelay(0)
	eventually(t, 30*time.Second, "spool drained", func() bool { return p.Stats().SpoolBytes == 0 })
	eventually(t, 30*time.Second, "all events in the stream", func() bool { return streamMsgs(t, direct) >= uint64(len(want)) })
	requireSameOrder(t, streamIDs(t, direct), want)
}
