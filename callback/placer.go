package callback

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Request is one call-back attempt as the Dialer places it.
type Request struct {
	// CallbackOf is the dropped call.
	CallbackOf string
	// Attempt counts from 1.
	Attempt int
	// Endpoint is what is dialled (callback.endpoint with the number).
	Endpoint string
	// Number is the number as dialled (shown to the operator).
	Number string
	// Caller is the dropped call's caller: the call-back's own call events
	// carry it, so they are the number's.
	Caller        events.Caller
	Outcome       events.Outcome
	EmergencyType string
	CallerID      string
	Formats       string
	RingTimeout   time.Duration
	Tag           string
}

// Outcome is how an attempt went, as the Dialer saw it.
type Outcome struct {
	// Result is one of events.CallbackResults.
	Result string
	// Cause is the hang-up cause of an unanswered attempt.
	Cause int
	// ChannelID is the call-back's channel.
	ChannelID string
	// Ring is the time from the originate to the answer or the end.
	Ring time.Duration
	// Reason says more about a failed or cancelled attempt.
	Reason string
}

// Dialer places call-backs; the ari package's IVR implements it.
type Dialer interface {
	// OperatorFree reports whether an operator of the queue a call-back of
	// this emergency type joins is free; known is false when no operator
	// state is followed for that queue.
	OperatorFree(emergencyType string) (free, known bool)
	// Place originates the call-back and runs it until the callee was put
	// through, gave no sign, or the call did not connect; it returns
	// before ctx's deadline.
	Place(ctx context.Context, req Request) Outcome
}

// WatchStore is a Store that can also be watched; *events.CallbackStore.
type WatchStore interface {
	Store
	Watch(ctx context.Context) (<-chan events.KVEntry, <-chan struct{}, error)
}

// Timing of the placer.
const (
	// scanEvery is how often due records are looked for: a call-back due
	// now is placed within it once an operator is free.
	scanEvery = 500 * time.Millisecond
	// talkMax bounds an answered attempt: the prompt twice with the wait
	// for a key after each, and the hand-off.
	talkMax = 90 * time.Second
	// leaseMargin is added to an attempt's own bound for its claim, so
	// that the claim outlives the attempt of a live placer.
	leaseMargin = 30 * time.Second
	// finishTimeout bounds writing an attempt's result.
	finishTimeout = 10 * time.Second
	// watchRetry is the wait before watching the bucket again after the
	// watch failed (NATS down).
	watchRetry = 2 * time.Second
)

// PlacerStats counts what one placer did.
type PlacerStats struct {
	// Placed attempts started by this instance.
	Placed uint64 `json:"placed"`
	// InFlight attempts running now.
	InFlight int `json:"in_flight"`
	// Waiting open call-backs seen in the bucket, not yet reached.
	Waiting int `json:"waiting"`
	// Enabled is the centre's switch as last seen.
	Enabled bool `json:"enabled"`
}

// PlacerOptions are what a Placer needs.
type PlacerOptions struct {
	Config    configs.Callback
	Store     WatchStore
	Publisher Publisher
	Dialer    Dialer
	// Blocklist is asked before each attempt; nil: nobody is blocked.
	Blocklist Blocklist
	// Country is blocklist.default_country, for national numbers.
	Country string
	// Name identifies this IVR instance in claims; unique in the cluster.
	Name string
	Log  *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

type entry struct {
	rec Record
	rev uint64
}

// Placer places the due attempts of the call-backs in the bucket from
// this IVR instance.
type Placer struct {
	b         book
	cfg       configs.Callback
	store     WatchStore
	dialer    Dialer
	blocklist Blocklist
	cc        string
	name      string
	now       func() time.Time

	mu       sync.Mutex
	records  map[string]entry // guarded by mu
	inflight map[string]bool  // guarded by mu: keys this instance places now

	enabled atomic.Bool
	slots   chan struct{}
	placed  atomic.Uint64
	wg      sync.WaitGroup
}

// NewPlacer builds a placer; nothing runs until Run.
func NewPlacer(o PlacerOptions) *Placer {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	p := &Placer{
		b:   book{store: o.Store, pub: o.Publisher, node: o.Name, log: log},
		cfg: o.Config, store: o.Store, dialer: o.Dialer, blocklist: o.Blocklist, cc: o.Country, name: o.Name, now: now,
		records: make(map[string]entry), inflight: make(map[string]bool),
		slots: make(chan struct{}, max(o.Config.MaxConcurrent, 1)),
	}
	p.enabled.Store(o.Config.Enabled)
	return p
}

// Stats returns the counters.
func (p *Placer) Stats() PlacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PlacerStats{Placed: p.placed.Load(), InFlight: len(p.inflight), Enabled: p.enabled.Load()}
	for _, e := range p.records {
		if e.rec.Open() {
			st.Waiting++
		}
	}
	return st
}

// Run watches the bucket and places due attempts until ctx ends, then
// waits for the attempts in flight (each bounded) to record their result.
func (p *Placer) Run(ctx context.Context) error {
	defer p.wg.Wait()
	for {
		err := p.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.b.log.Warn("call-backs: watch of the bucket ended; watching again", "error", err)
		t := time.NewTimer(watchRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// watch follows the bucket and scans for due records until the watch ends.
func (p *Placer) watch(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	entries, _, err := p.store.Watch(wctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(scanEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-entries:
			if !ok {
				return errors.New("watch closed")
			}
			p.apply(e)
		case <-tick.C:
			p.scan(ctx)
		}
	}
}

// apply keeps one watched entry.
func (p *Placer) apply(e events.KVEntry) {
	if e.Key == SwitchKey {
		if e.Deleted {
			p.enabled.Store(p.cfg.Enabled)
			return
		}
		var sw events.CallbackSwitch
		if err := json.Unmarshal(e.Value, &sw); err == nil {
			p.enabled.Store(sw.Enabled)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Deleted {
		delete(p.records, e.Key)
		return
	}
	r, err := decode(e.Value)
	if err != nil {
		delete(p.records, e.Key)
		return
	}
	if !r.Open() {
		// Done records are kept in the bucket for the board; the placer
		// has nothing more to do with them.
		delete(p.records, e.Key)
		return
	}
	p.records[e.Key] = entry{rec: r, rev: e.Revision}
}

// scan claims and places the due records, oldest first, while this
// instance has a free line.
func (p *Placer) scan(ctx context.Context) {
	if !p.enabled.Load() {
		return
	}
	now := p.now()
	p.mu.Lock()
	var due []string
	for k, e := range p.records {
		if !p.inflight[k] && Due(e.rec, now) {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		return cmp.Compare(p.records[a].rec.DueAt.UnixNano(), p.records[b].rec.DueAt.UnixNano())
	})
	p.mu.Unlock()
	for _, k := range due {
		if ctx.Err() != nil {
			return
		}
		select {
		case p.slots <- struct{}{}:
		default:
			return // every line of this instance is busy
		}
		if !p.claim(ctx, k) {
			<-p.slots
		}
	}
}

// claim takes one due record for this instance with a compare-and-swap on
// the revision seen, and starts its attempt; false when it did not.
func (p *Placer) claim(ctx context.Context, k string) bool {
	p.mu.Lock()
	e, ok := p.records[k]
	p.mu.Unlock()
	if !ok {
		return false
	}
	r := e.rec
	// A call-back never takes a person from a caller already waiting: it
	// is placed only while an operator of its queue is free. Where no
	// operator state is followed, nothing can be known and it is placed.
	if free, known := p.dialer.OperatorFree(r.EmergencyType); known && !free {
		return false
	}
	now := p.now()
	var out []emit
	if last := r.last(); r.State == StatePlacing && last != nil && last.Result == "" {
		// The instance that claimed the last attempt is gone (its lease
		// ran out): that attempt's end is not known.
		last.Result = events.CallbackFailed
		out = append(out, emit{events.TypeCallbackAttempt, events.CallbackAttempt{
			Attempt: last.N, Result: events.CallbackFailed, ChannelID: last.Channel,
			Reason: "the IVR instance placing it stopped before it ended (" + last.Placer + ")",
		}})
	}
	blocked := false
	if p.blocklist != nil && r.Outcome != events.OutcomeBlockedOverride {
		_, blocked = p.blocklist.Check(r.Caller.Number, now)
	}
	switch {
	case blocked:
		out = append(out, finish(&r, now, events.CallbackDone{Reason: events.DoneBlocked}))
	case r.placed() >= p.cfg.Attempts:
		out = append(out, finish(&r, now, events.CallbackDone{Reason: events.DoneAttemptsExhausted}))
	default:
		r.State, r.Placer, r.LeaseUntil = StatePlacing, p.name, now.Add(p.attemptBound()+leaseMargin)
		r.Attempts = append(r.Attempts, Attempt{N: r.placed() + 1, At: now, Placer: p.name})
	}
	_, err := p.store.Update(ctx, k, encode(r), e.rev)
	if err != nil {
		if !errors.Is(err, events.ErrRevision) {
			p.b.log.Warn("call-back not claimed", "key", k, "error", err)
		}
		return false
	}
	p.b.publish(ctx, r, out)
	if r.State != StatePlacing {
		return false
	}
	p.mu.Lock()
	p.inflight[k] = true
	p.mu.Unlock()
	p.placed.Add(1)
	p.wg.Add(1)
	go p.attempt(ctx, k, r)
	return true
}

// attemptBound bounds one attempt: the ring time and an answered call.
func (p *Placer) attemptBound() time.Duration { return p.cfg.RingTimeout + talkMax }

// attempt places one call-back and records its result.
func (p *Placer) attempt(ctx context.Context, k string, r Record) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.inflight, k)
		p.mu.Unlock()
		<-p.slots
	}()
	n := r.placed()
	endpoint := p.cfg.Dial(r.Caller.Number, p.cc)
	req := Request{
		CallbackOf: r.CallID, Attempt: n, Endpoint: endpoint, Number: numberAsDialled(p.cfg, r.Caller.Number, p.cc),
		Caller: r.Caller, Outcome: r.Outcome, EmergencyType: r.EmergencyType,
		CallerID: p.cfg.CallerID, Formats: p.cfg.Formats, RingTimeout: p.cfg.RingTimeout, Tag: p.cfg.Tag,
	}
	log := p.b.log.With("call_id", r.CallID, "attempt", n)
	log.Info("placing a call-back", "endpoint_tech", techOf(endpoint))
	actx, cancel := context.WithTimeout(ctx, p.attemptBound())
	out := p.dialer.Place(actx, req)
	cancel()
	if out.Result == "" {
		out.Result = events.CallbackFailed
	}
	log.Info("call-back attempt ended", "result", out.Result, "cause", out.Cause, "ring_s", out.Ring.Seconds())
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer fcancel()
	orphan := false
	err := p.b.change(fctx, k, func(cur *Record) (*Record, []emit) {
		ev := events.CallbackAttempt{Attempt: n, Result: out.Result, Cause: out.Cause, ChannelID: out.ChannelID,
			Endpoint: endpoint, RingS: out.Ring.Seconds(), Reason: out.Reason}
		if cur == nil || cur.CallID != r.CallID || len(cur.Attempts) < n {
			orphan = true
			return nil, nil
		}
		a := &cur.Attempts[n-1]
		a.Result, a.Cause, a.Channel = out.Result, out.Cause, out.ChannelID
		outEv := []emit{}
		mine := cur.State == StatePlacing && cur.Placer == p.name
		switch {
		case !mine:
			// Cancelled (or taken over) while it ran: only the result
			// is recorded.
		case out.Result == events.CallbackPutThrough:
			cur.State, cur.Placer, cur.LeaseUntil = StatePutThrough, "", time.Time{}
		default:
			now := p.now()
			at, done := Next(p.cfg, cur.placed(), now)
			if done {
				outEv = append(outEv, emit{events.TypeCallbackAttempt, ev})
				outEv = append(outEv, finish(cur, now, events.CallbackDone{Reason: events.DoneAttemptsExhausted}))
				return cur, outEv
			}
			cur.State, cur.DueAt, cur.Placer, cur.LeaseUntil = StateWaiting, at, "", time.Time{}
			t := at.UTC()
			ev.NextAt = &t
		}
		return cur, append([]emit{{events.TypeCallbackAttempt, ev}}, outEv...)
	})
	if orphan {
		// The record is gone or another call-back took the key: the
		// attempt is still told.
		p.b.publish(fctx, r, []emit{{events.TypeCallbackAttempt, events.CallbackAttempt{Attempt: n, Result: out.Result,
			Cause: out.Cause, ChannelID: out.ChannelID, Endpoint: endpoint, RingS: out.Ring.Seconds(), Reason: out.Reason}}})
	}
	if err != nil {
		log.Error("call-back attempt result not recorded; its claim runs out and another attempt follows", "error", err)
	}
}

// numberAsDialled is the number as callback.number_format writes it.
func numberAsDialled(cfg configs.Callback, e164, cc string) string {
	c := cfg
	c.Endpoint = configs.EndpointNumber
	return c.Dial(e164, cc)
}

// techOf is the channel technology of an endpoint, for logs (the number
// itself is not logged in full).
func techOf(endpoint string) string {
	for i := 0; i < len(endpoint); i++ {
		if endpoint[i] == '/' {
			return endpoint[:i]
		}
	}
	return endpoint
}
