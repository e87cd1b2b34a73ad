package ari

import (
	"context"
	"log/slog"
	"sync"

	"github.com/siaga112/siaga112/events"
)

// Publisher sends one event to the event bus. events.Publisher implements
// it: Publish waits for the JetStream ack at most configs.Publish.MaxBlock
// and spools the event otherwise, so it never holds a call for long; it
// returns an error only when the event is lost.
type Publisher interface {
	Publish(ctx context.Context, e events.Envelope) error
}

// callEmitter is the flows.Emitter of one call: it wraps the flow's event
// data in an envelope carrying the call id, node and caller, and hands it
// to its own goroutine, which publishes the call's events one after
// another in the order they were emitted. So the call never waits for
// NATS: under load the publisher falls back to its fsynced spool, and
// measured on the call path that cost up to hundreds of milliseconds
// between StasisStart and the answer. It also remembers which types were
// emitted so the session can complete the sequence after a panic or
// failover without repeating one.
type callEmitter struct {
	pub    Publisher
	callID string
	node   string
	caller events.Caller
	log    *slog.Logger

	mu      sync.Mutex
	sent    map[events.Type]int // guarded by mu
	queue   []events.Envelope   // guarded by mu
	closing bool                // guarded by mu
	wake    chan struct{}       // buffered, 1
	done    chan struct{}       // closed when the goroutine ends
}

func newCallEmitter(pub Publisher, callID, node string, caller events.Caller, log *slog.Logger) *callEmitter {
	e := &callEmitter{
		pub: pub, callID: callID, node: node, caller: caller, log: log,
		sent: make(map[events.Type]int),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go e.loop()
	return e
}

// Emit implements flows.Emitter; it never blocks on the network.
func (e *callEmitter) Emit(_ context.Context, t events.Type, data any) {
	env, err := events.New(t, e.callID, e.node, e.caller, data)
	if err != nil {
		e.log.Error("event not built", "event", t, "error", err)
		return
	}
	e.mu.Lock()
	e.sent[t]++
	e.queue = append(e.queue, env)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// loop publishes queued events in order until close was called and the
// queue is empty. Publish runs on a background context: an event about a
// hangup must still go out after the hangup cancelled the call.
func (e *callEmitter) loop() {
	defer close(e.done)
	for {
		e.mu.Lock()
		batch := e.queue
		e.queue = nil
		closing := e.closing
		e.mu.Unlock()
		for _, env := range batch {
			if err := e.pub.Publish(context.Background(), env); err != nil {
				e.log.Error("event lost", "event", env.Type, "event_id", env.ID, "error", err)
			}
		}
		if len(batch) == 0 {
			if closing {
				return
			}
			<-e.wake
		}
	}
}

// close waits until every emitted event was handed to the publisher.
func (e *callEmitter) close() {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.done
}

// emitted reports whether an event of type t was emitted.
func (e *callEmitter) emitted(t events.Type) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent[t] > 0
}
