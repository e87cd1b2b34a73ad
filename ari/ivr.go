package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Options are what an IVR needs.
type Options struct {
	// ARI is the connection configuration (nodes, timeouts, origin).
	ARI configs.ARI
	// IVR is the call flow configuration; the session uses its operator
	// context, failover extension and drain timeout.
	IVR configs.IVR
	// Flow runs each call; *flows.Flow implements it.
	Flow FlowRunner
	// Blocklist is consulted on StasisStart; nil means nobody is blocked.
	Blocklist Blocklist
	// Publisher receives the call events; *events.Publisher implements it.
	Publisher Publisher
	// Incidents tells the incident announcement playing now (nil: none
	// ever plays). It is read on StasisStart and must not touch the
	// network (internal/stack passes the incident watch's memory).
	Incidents Incidents
	// Normalize, when set, turns the caller number Asterisk gives
	// ("0812...", "62812...") into E.164 ("+62812..."), which is what the
	// events carry and the blocklist is keyed by; ok false means it could
	// not, and the number is then used as given. internal/stack passes
	// phone.Normalize with blocklist.default_country: this package
	// takes a function so that it does not depend on the blocklist (and,
	// through it, on NATS). nil uses numbers as given.
	Normalize func(raw string) (e164 string, ok bool)
	// Followed keeps the calls followed past the hand-off across restarts
	// (follow.go); *events.FollowedStore implements it. nil: not kept, and
	// a call that ends while no IVR runs never gets its call.ended.
	Followed Followed
	// CallbackFlow runs answered call-backs (*flows.Flow); nil puts a
	// callee through without a prompt.
	CallbackFlow CallbackRunner
	// CallbackTag is shown to operators on a call-back put through
	// (callback.tag), when a request carries none.
	CallbackTag string
	// Logger receives the IVR's logs; nil discards them.
	Logger *slog.Logger
}

// Followed keeps a record of each call followed past the hand-off.
type Followed interface {
	Put(ctx context.Context, c events.FollowedCall) error
	Delete(ctx context.Context, callID string) error
	List(ctx context.Context, node string) ([]events.FollowedCall, error)
}

// Incidents reports the incident announcement playing at now.
type Incidents interface {
	Announcement(now time.Time) (flows.Announcement, bool)
}

// Stats are the IVR's counters across nodes.
type Stats struct {
	// Calls counts sessions started.
	Calls uint64 `json:"calls"`
	// ActiveCalls is the number of live sessions.
	ActiveCalls int `json:"active_calls"`
	// Orphans counts channels found in the app without a session and put
	// through to operators after a reconnect.
	Orphans uint64 `json:"orphans"`
	// Following is the number of calls handed to the operators that the
	// IVR follows until a person answers or the caller hangs up.
	Following int `json:"following"`
	// Events sums the nodes' event counters.
	Events RouterStats `json:"events"`
}

// IVR serves the Stasis application on every configured Asterisk node.
type IVR struct {
	ari       configs.ARI
	ivr       configs.IVR
	flow      FlowRunner
	blocklist Blocklist
	incidents Incidents
	pub       Publisher
	followed  Followed
	normalize func(string) (string, bool)
	log       *slog.Logger
	nodes     []*node

	callbackFlow CallbackRunner
	callbackTag  string

	// sessions counts running session goroutines. Add is only called by
	// the nodes' WebSocket readers, and Wait only after they stopped.
	sessions sync.WaitGroup
	// draining is set once shutdown began: new calls go straight to operators.
	draining atomic.Bool
	calls    atomic.Uint64
	orphans  atomic.Uint64
	// callsCtx is the parent context of every session, set by Run.
	callsCtx atomic.Pointer[context.Context]

	// followStop is closed when Run stops the nodes: the calls followed in
	// the operators' queue are let go (follow.go).
	followStop chan struct{}

	runOnce  sync.Once
	stopOnce sync.Once
	stopCh   chan struct{} // closed by Stop
	doneCh   chan struct{} // closed when Run returns
}

// New checks the options and builds an IVR; nothing connects until Run.
func New(o Options) (*IVR, error) {
	switch {
	case o.Flow == nil:
		return nil, errors.New("ari: options: Flow is required")
	case o.Publisher == nil:
		return nil, errors.New("ari: options: Publisher is required")
	case len(o.ARI.Nodes) == 0:
		return nil, errors.New("ari: options: ari.nodes is empty")
	case o.ARI.Application == "":
		return nil, errors.New("ari: options: ari.application is empty")
	case o.ARI.RequestTimeout <= 0:
		return nil, errors.New("ari: options: ari.request_timeout must be positive")
	case o.ARI.ReconnectMin <= 0 || o.ARI.ReconnectMax < o.ARI.ReconnectMin:
		return nil, errors.New("ari: options: ari.reconnect_min must be positive and not above ari.reconnect_max")
	case o.IVR.OperatorContext == "" || o.IVR.FailoverExtension == "":
		return nil, errors.New("ari: options: ivr.operator_context and ivr.failover_extension are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &IVR{
		ari: o.ARI, ivr: o.IVR, flow: o.Flow, blocklist: o.Blocklist, incidents: o.Incidents, pub: o.Publisher, normalize: o.Normalize,
		followed: o.Followed, callbackFlow: o.CallbackFlow, callbackTag: o.CallbackTag,
		log:        log.With("component", "ivr"),
		stopCh:     make(chan struct{}),
		doneCh:     make(chan struct{}),
		followStop: make(chan struct{}),
	}
	seen := make(map[string]bool)
	for _, nc := range o.ARI.Nodes {
		if nc.Name == "" || seen[nc.Name] {
			return nil, fmt.Errorf("ari: options: node name %q is empty or repeated", nc.Name)
		}
		seen[nc.Name] = true
		n, err := newNode(v, nc)
		if err != nil {
			return nil, err
		}
		v.nodes = append(v.nodes, n)
	}
	return v, nil
}

// Run connects to every node and serves calls until ctx ends or Stop is
// called, then drains: new calls go straight to operators, calls in
// progress get configs.IVR.DrainTimeout to finish, and those still running
// after that are put through to operators within HandoffTail. Run returns
// within StopTimeout, nil after a clean drain; it can be called once.
func (v *IVR) Run(ctx context.Context) error {
	started := false
	v.runOnce.Do(func() { started = true })
	if !started {
		return ErrStopped
	}
	defer close(v.doneCh)

	// nodeCtx outlives ctx on purpose: calls being drained still need
	// their events.
	nodeCtx, stopNodes := context.WithCancel(context.WithoutCancel(ctx))
	// callsCtx is the parent of every session; cancelling it with
	// ErrShutdown makes the remaining calls fail over.
	callsCtx, stopCalls := context.WithCancelCause(context.WithoutCancel(ctx))
	v.callsCtx.Store(&callsCtx)
	var readers sync.WaitGroup
	for _, n := range v.nodes {
		readers.Add(1)
		go func() {
			defer readers.Done()
			n.run(nodeCtx)
		}()
	}

	select {
	case <-ctx.Done():
	case <-v.stopCh:
	}
	v.draining.Store(true)
	v.log.Info("IVR draining", "active_calls", v.activeCalls(), "drain_timeout", v.ivr.DrainTimeout)
	drained := v.waitIdle(v.ivr.DrainTimeout)
	// The hand-off tail: one deadline for every call still in the IVR, the
	// ones the drain left and any that arrived while the nodes were being
	// stopped (those go straight to operators).
	tailEnd := time.Now().Add(HandoffTail(v.ari))
	if !drained {
		v.log.Warn("drain time over; putting remaining calls through to operators", "active_calls", v.activeCalls())
		stopCalls(ErrShutdown)
		v.waitIdle(time.Until(tailEnd))
	}
	close(v.followStop)
	stopNodes()
	readers.Wait()
	stopCalls(ErrShutdown)
	// The sweep stopped with the nodes: callers whose hand-off failed are
	// put through here instead (rescue.go).
	if !v.waitIdleRescuing(tailEnd) {
		// The service manager kills the process soon after StopTimeout;
		// a hand-off still running would be cut off then anyway. Ending
		// it here lets the sessions publish their call.ended. Asterisk
		// keeps the caller in the app, where the next start's sweep finds
		// and puts them through.
		v.log.Error("hand-off time over; ending the ARI requests still open, the next start puts these callers through",
			"active_calls", v.activeCalls(), "handoff_tail", HandoffTail(v.ari))
	}
	v.closeREST()
	v.sessions.Wait()
	v.log.Info("IVR stopped")
	return nil
}

// HandoffTail is how long Run gives the calls still in the IVR after the
// drain to be put through to operators: a session's failover stops the
// prompt, sets the failover variables and continues the channel, each
// request bounded by ari.request_timeout, and then waits at most that long
// for Asterisk to confirm; a second covers the rest.
func HandoffTail(a configs.ARI) time.Duration { return 4*a.RequestTimeout + time.Second }

// StopTimeout is the longest Run takes to return once ctx ended or Stop was
// called: ivr.drain_timeout for the calls to finish, then HandoffTail for the
// rest to be put through, after which the requests still open are ended. A
// service manager's stop timeout (systemd TimeoutStopSec, docker
// stop_grace_period) must allow this plus what the process does after the
// IVR stopped.
func StopTimeout(a configs.ARI, iv configs.IVR) time.Duration {
	return iv.DrainTimeout + HandoffTail(a)
}

// closeREST ends the nodes' REST requests still open (ones the IVR
// stopped waiting for) and closes their connections.
func (v *IVR) closeREST() {
	for _, n := range v.nodes {
		n.rest.close()
	}
}

// Stop begins the drain of Run and waits until Run returned or ctx ended.
func (v *IVR) Stop(ctx context.Context) error {
	v.stopOnce.Do(func() { close(v.stopCh) })
	select {
	case <-v.doneCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ari: stop: %w", ctx.Err())
	}
}

// waitIdle polls until no call is live or d passed; it reports idleness.
func (v *IVR) waitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for v.activeCalls() > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func (v *IVR) activeCalls() int {
	n := 0
	for _, nd := range v.nodes {
		n += nd.router.count()
	}
	return n
}

// startSession is called by a node's WebSocket reader on StasisStart. The
// session is registered in the router before its goroutine starts, so the
// channel's next events are already routed to it.
func (v *IVR) startSession(n *node, ev *ariv6.StasisStart) {
	parent := context.Background()
	if p := v.callsCtx.Load(); p != nil {
		parent = *p
	}
	s := newSession(parent, n, ev.Channel)
	if old := n.router.add(s); old != nil {
		n.log.Warn("StasisStart for a channel whose session saw no StasisEnd; that StasisEnd was lost: the old session ends and a new one serves the caller",
			"channel_id", ev.Channel.ID)
		old.displace()
	}
	v.sessions.Add(1)
	if recordsIncident(ev) {
		go s.runRecorder(v)
		return
	}
	if isCallback(ev) {
		v.startCallback(n, s, ev)
		return
	}
	v.calls.Add(1)
	go s.run(v)
}

// Health returns every node's connection state, for /healthz.
func (v *IVR) Health() []NodeHealth {
	out := make([]NodeHealth, 0, len(v.nodes))
	for _, n := range v.nodes {
		out = append(out, n.health())
	}
	return out
}

// Stats returns the IVR's counters.
func (v *IVR) Stats() Stats {
	st := Stats{Calls: v.calls.Load(), ActiveCalls: v.activeCalls(), Orphans: v.orphans.Load()}
	for _, n := range v.nodes {
		st.Following += n.router.followCount()
		e := n.router.stats()
		st.Events.Routed += e.Routed
		st.Events.Ignored += e.Ignored
		st.Events.Late += e.Late
		st.Events.Unrouted += e.Unrouted
		st.Events.InboxFull += e.InboxFull
		st.Events.Undecodable += e.Undecodable
	}
	return st
}
