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
// data in an envelope carrying the call id, node and caller, and publishes
// it in the session goroutine, so one call's events reach the bus in the
// order they happened. It remembers which types were sent so the session
// can complete the sequence after a panic or failover without repeating.
type callEmitter struct {
	pub    Publisher
	callID string
	node   string
	caller events.Caller
	log    *slog.Logger

	mu   sync.Mutex
	sent map[events.Type]int // guarded by mu
}

func newCallEmitter(pub Publisher, callID, node string, caller events.Caller, log *slog.Logger) *callEmitter {
	return &callEmitter{pub: pub, callID: callID, node: node, caller: caller, log: log, sent: make(map[events.Type]int)}
}

// Emit implements flows.Emitter. The call's context is detached from
// cancellation: an event about a hangup must still be published after the
// hangup cancelled the call.
func (e *callEmitter) Emit(ctx context.Context, t events.Type, data any) {
	env, err := events.New(t, e.callID, e.node, e.caller, data)
	if err != nil {
		e.log.Error("event not built", "event", t, "error", err)
		return
	}
	e.mu.Lock()
	e.sent[t]++
	e.mu.Unlock()
	if err := e.pub.Publish(context.WithoutCancel(ctx), env); err != nil {
		e.log.Error("event lost", "event", t, "event_id", env.ID, "error", err)
	}
}

// emitted reports whether an event of type t was emitted.
func (e *callEmitter) emitted(t events.Type) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent[t] > 0
}
