package loadtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Probe watches the IVR from inside the process, keyed by call id:
//
//   - WrapFlow times the answer (flow start -> Answer returned) and each key
//     (the moment a Prompt returned with digits), and adds up the media the
//     flow plays or records between the decisive key and call.classified
//     (the connecting prompt when one is configured, and the location
//     question and recording when the flow asks it);
//   - WrapPublisher counts the events the IVR handed to the publisher;
//   - Watch follows the stream and notes when each call's events are
//     stored: a message delivered by JetStream has been stored and acked.
//
// The key -> classified latency is therefore: stored(call.classified) -
// key - media between. The stored time is taken when our consumer receives
// the message, a little after the publisher's ack, so it errs high.
//
// For the time to the queue WrapFlow also notes when Continue into the
// operators' context returned without error (Asterisk has moved the
// channel by then), the deciding key, and whether the flow recorded the
// location before it; Watch reads seconds_to_queue from call.transferred,
// the IVR's own figure, which the runner checks against the probe's.
type Probe struct {
	mu sync.Mutex
	// calls has one record per call seen, until Forget drops it (a run
	// with Options.Forget does once the call is counted, so a demo or a
	// soak holds only the calls in progress). Guarded by mu.
	calls map[string]*obs
	// cb is what the stream said of the call-backs (callback.go); guarded
	// by mu.
	cb cbTrack
	// endedIncidents holds the incident announcements the stream said
	// ended while Watch ran (stopped from the console, or run out);
	// guarded by mu.
	endedIncidents map[string]bool

	published  atomic.Int64
	publishErr atomic.Int64
	stored     atomic.Int64
	classified atomic.Int64
	lastErr    atomic.Pointer[string]
	watching   atomic.Bool
}

// obs is what the probe knows of one call; fields guarded by Probe.mu.
type obs struct {
	flowStart  time.Time
	answered   time.Time
	lastKey    time.Time
	media      time.Duration // played/recorded since lastKey, before classified
	emittedCls bool

	published int // events handed to the publisher, less those it failed
	stored    int // events seen in the stream by Watch

	outcome      events.Outcome
	typ          string
	classifiedAt time.Time // when Watch saw call.classified
	keyLatency   time.Duration
	hasKey       bool

	ended   chan struct{} // closed when Watch saw call.ended
	endedOK bool

	location  bool      // the flow recorded the location before classifying
	continued time.Time // Continue into the operators' context returned nil
	reason    string    // call.classified's reason
	// transferSecs is call.transferred's seconds_to_queue, once Watch saw it.
	transferSecs   float64
	hasTransferred bool
	// personSecs is call.operator_answered's seconds_to_person (-1 when
	// the IVR did not know it) and operator its device, once Watch saw the
	// event (byOperator).
	personSecs float64
	operator   string
	byOperator bool
	// abandoned is set when Watch saw call.queue_abandoned; where is
	// call.ended's where.
	abandoned bool
	where     string
	// callback is call.ended's callback: the call is to be called back.
	callback bool

	incidentOn    string // the incident the IVR had on when the flow started
	incidentHeard string // call.classified's incident_id
}

// NewProbe returns an empty probe.
func NewProbe() *Probe { return &Probe{calls: make(map[string]*obs), cb: newCBTrack()} }

// get returns the call's record, creating it; p.mu must be held.
func (p *Probe) get(id string) *obs {
	o := p.calls[id]
	if o == nil {
		o = &obs{ended: make(chan struct{})}
		p.calls[id] = o
	}
	return o
}

// Ended is closed once the call's call.ended event is in the stream.
func (p *Probe) Ended(id string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.get(id).ended
}

// Started reports whether the IVR began the call's flow (its StasisStart
// reached the IVR) or its call.ended is already in the stream.
func (p *Probe) Started(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.calls[id]
	return o != nil && (!o.flowStart.IsZero() || o.endedOK)
}

// Forget drops what the probe knows of a call (the demo, which runs for
// hours, forgets calls once they are counted).
func (p *Probe) Forget(id string) {
	p.mu.Lock()
	delete(p.calls, id)
	p.mu.Unlock()
}

// CallResult is the probe's view of one call.
type CallResult struct {
	// Outcome and Type come from the stored call.classified ("" if none).
	Outcome events.Outcome
	Type    string
	// Classified is true once call.classified was seen in the stream.
	Classified bool
	// Ended is true once call.ended was seen in the stream.
	Ended bool
	// Answer is flow start -> Answer returned (IVR side), if answered.
	Answer    time.Duration
	HasAnswer bool
	// KeyToClassified is set for calls decided by a key.
	KeyToClassified time.Duration
	HasKey          bool
	// Published and Stored count the call's events.
	Published, Stored int
	// Reason is call.classified's reason.
	Reason string

	// AnsweredAt is when the flow's Answer returned (zero if it did not).
	AnsweredAt time.Time
	// ContinuedAt is when the flow's Continue into the operators' context
	// returned without error (zero if the call was not put through).
	ContinuedAt time.Time
	// KeyAt is when the flow received the last key before it classified
	// the call (zero if none): for a call decided by a key, the deciding
	// key.
	KeyAt time.Time
	// LocationAsked is true when the flow recorded the caller's location
	// before classifying the call.
	LocationAsked bool
	// SecondsToQueue is call.transferred's seconds_to_queue, when Watch saw
	// the event (HasTransferred).
	SecondsToQueue float64
	HasTransferred bool
	// OperatorAnswered is set when call.operator_answered is in the
	// stream; Operator is the device it names and SecondsToPerson its
	// seconds_to_person: from the IVR's answer to the operator's, as the
	// IVR measured it (-1 when the IVR did not know it).
	OperatorAnswered bool
	Operator         string
	SecondsToPerson  float64
	// QueueAbandoned is set when call.queue_abandoned is in the stream: the
	// caller hung up in the operators' queue.
	QueueAbandoned bool
	// Where is call.ended's where ("" before call.ended, or from an IVR
	// that does not say).
	Where string
	// Callback is call.ended's callback: the IVR marked the call for a
	// call-back.
	Callback bool
	// IncidentOn is the incident announcement the IVR had on when the
	// call's flow started ("" for none).
	IncidentOn string
	// IncidentHeard is call.classified's incident_id: the announcement the
	// caller heard (began to hear) before the call was decided.
	IncidentHeard string
}

// Result returns what the probe knows of a call.
func (p *Probe) Result(id string) CallResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.calls[id]
	if o == nil {
		return CallResult{}
	}
	r := CallResult{
		Outcome: o.outcome, Type: o.typ, Classified: !o.classifiedAt.IsZero(), Ended: o.endedOK,
		Published: o.published, Stored: o.stored,
		KeyToClassified: o.keyLatency, HasKey: o.hasKey, Reason: o.reason,
		AnsweredAt: o.answered, ContinuedAt: o.continued, KeyAt: o.lastKey, LocationAsked: o.location,
		SecondsToQueue: o.transferSecs, HasTransferred: o.hasTransferred,
		OperatorAnswered: o.byOperator, Operator: o.operator, SecondsToPerson: o.personSecs, QueueAbandoned: o.abandoned, Where: o.where, Callback: o.callback,
		IncidentOn: o.incidentOn, IncidentHeard: o.incidentHeard,
	}
	if !o.answered.IsZero() {
		r.Answer, r.HasAnswer = o.answered.Sub(o.flowStart), true
	}
	return r
}

// Counts are the probe's totals.
type Counts struct {
	Published, PublishErrors, Stored, Classified int64
	// LastError is the last publish error ("" if none).
	LastError string
}

// Counts returns the probe's totals.
func (p *Probe) Counts() Counts {
	c := Counts{
		Published: p.published.Load(), PublishErrors: p.publishErr.Load(),
		Stored: p.stored.Load(), Classified: p.classified.Load(),
	}
	if e := p.lastErr.Load(); e != nil {
		c.LastError = *e
	}
	return c
}

// decidedByKey lists the outcomes a key decides.
func decidedByKey(o events.Outcome) bool {
	switch o {
	case events.OutcomeEmergency, events.OutcomeSilentHelp, events.OutcomeInvalid, events.OutcomeBlockedOverride:
		return true
	}
	return false
}

// WrapFlow wraps the IVR's flow so the probe sees answers and keys.
func (p *Probe) WrapFlow(next ari.FlowRunner) ari.FlowRunner { return &probeFlow{p: p, next: next} }

// WrapPublisher wraps the IVR's publisher so the probe counts events.
func (p *Probe) WrapPublisher(next ari.Publisher) ari.Publisher {
	return &probePublisher{p: p, next: next}
}

type probeFlow struct {
	p    *Probe
	next ari.FlowRunner
}

func (f *probeFlow) Run(ctx context.Context, call flows.Call, in flows.Input, em flows.Emitter) flows.Result {
	now := time.Now()
	f.p.mu.Lock()
	o := f.p.get(in.CallID)
	o.flowStart = now
	if in.Incident != nil {
		o.incidentOn = in.Incident.ID
	}
	f.p.mu.Unlock()
	return f.next.Run(ctx, &probeCall{Call: call, p: f.p, o: o}, in, &probeEmitter{next: em, p: f.p, o: o})
}

// probeCall times a call's Answer, keys and media.
type probeCall struct {
	flows.Call
	p *Probe
	o *obs
}

func (c *probeCall) Answer(ctx context.Context) error {
	err := c.Call.Answer(ctx)
	if err == nil {
		now := time.Now()
		c.p.mu.Lock()
		c.o.answered = now
		c.p.mu.Unlock()
	}
	return err
}

func (c *probeCall) Prompt(ctx context.Context, spec flows.PromptSpec) (flows.PromptResult, error) {
	start := time.Now()
	res, err := c.Call.Prompt(ctx, spec)
	end := time.Now()
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.o.emittedCls {
		return res, err
	}
	if res.Digits != "" {
		// The flow has the key now; whatever it plays after this until
		// it classifies the call is media, not latency.
		c.o.lastKey, c.o.media = end, 0
	} else if !c.o.lastKey.IsZero() {
		c.o.media += end.Sub(start)
	}
	return res, err
}

func (c *probeCall) Record(ctx context.Context, spec flows.RecordSpec) (string, error) {
	start := time.Now()
	name, err := c.Call.Record(ctx, spec)
	end := time.Now()
	c.p.mu.Lock()
	if !c.o.emittedCls && !c.o.lastKey.IsZero() {
		c.o.media += end.Sub(start)
	}
	if !c.o.emittedCls {
		// The location question is the only recording the flow makes
		// before it classifies a call (voice callers are put through
		// without one).
		c.o.location = true
	}
	c.p.mu.Unlock()
	return name, err
}

func (c *probeCall) Continue(ctx context.Context, dialplanContext, extension string, priority int) error {
	err := c.Call.Continue(ctx, dialplanContext, extension, priority)
	if err == nil {
		now := time.Now()
		c.p.mu.Lock()
		c.o.continued = now
		c.p.mu.Unlock()
	}
	return err
}

type probeEmitter struct {
	next flows.Emitter
	p    *Probe
	o    *obs
}

func (e *probeEmitter) Emit(ctx context.Context, t events.Type, data any) {
	if t == events.TypeClassified {
		e.p.mu.Lock()
		e.o.emittedCls = true
		e.p.mu.Unlock()
	}
	e.next.Emit(ctx, t, data)
}

type probePublisher struct {
	p    *Probe
	next ari.Publisher
}

func (pp *probePublisher) Publish(ctx context.Context, e events.Envelope) error {
	if !isCallEvent(e) || isCallbackEvent(e) {
		// The IVR publishes the operators' device states too (operator.state,
		// no call id, on a subject of their own). Watch follows only the
		// call subjects, so counting these as published would count each of
		// them as lost; they are passed on uncounted. So are the
		// call-backs' events, tallied apart (callback.go).
		return pp.next.Publish(ctx, e)
	}
	// The call's count goes up before the event is handed over, through
	// a record held from then on: Watch may see the event stored before
	// the ack reaches us, and once it is call.ended the runner may
	// already have counted the call and dropped its record (Forget); a
	// record looked up after the ack would then be made anew and kept
	// for ever, one for every call that race hit.
	pp.p.mu.Lock()
	o := pp.p.get(e.CallID)
	o.published++
	pp.p.mu.Unlock()
	err := pp.next.Publish(ctx, e)
	if err != nil {
		pp.p.mu.Lock()
		o.published--
		pp.p.mu.Unlock()
		pp.p.publishErr.Add(1)
		msg := fmt.Sprintf("event %s of call %s lost at publish: %v", e.Type, e.CallID, err)
		pp.p.lastErr.Store(&msg)
		return err
	}
	pp.p.published.Add(1)
	return nil
}

// isCallEvent reports whether e is one of a call's events: it has a call
// id and goes to the call subjects Watch and Audit read.
func isCallEvent(e events.Envelope) bool {
	return e.CallID != "" && strings.HasPrefix(e.Type.Subject(), events.SubjectPrefix)
}

// Settled reports whether every event the IVR handed to the publisher for
// the call is in the stream (as far as Watch has seen).
func (p *Probe) Settled(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.calls[id]
	return o == nil || o.stored >= o.published
}

// Watch follows the call events stored in the stream from now on until
// ctx ends. It returns once the consumer is set up; consumption goes on in
// the background and stops with ctx. Only the first call watches: a probe
// shared by several IVRs on one stream must see each event once.
func (p *Probe) Watch(ctx context.Context, bus *events.Bus) error {
	if p.watching.Swap(true) {
		return nil
	}
	if err := bus.Follow(ctx, []string{events.SubjectAllCalls}, func(e events.Envelope) {
		p.observe(e, time.Now())
	}); err != nil {
		return fmt.Errorf("loadtest: watch stream: %w", err)
	}
	// The incident events on a consumer of their own: a NATS user allowed
	// the call subjects but not these still gets its run, and then a
	// stopped announcement is judged as before (its callers' silence as
	// errors) rather than the whole probe failing.
	_ = bus.Follow(ctx, []string{events.SubjectAllIncidents}, func(e events.Envelope) {
		var inc events.Incident
		if e.Type != events.TypeIncidentEnded || e.DecodeData(&inc) != nil || inc.ID == "" {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.endedIncidents == nil {
			p.endedIncidents = make(map[string]bool)
		}
		p.endedIncidents[inc.ID] = true
	})
	return nil
}

// IncidentEnded reports whether the stream said, while Watch ran, that the
// incident announcement id ended.
func (p *Probe) IncidentEnded(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endedIncidents[id]
}

// observe notes one stored event.
func (p *Probe) observe(e events.Envelope, at time.Time) {
	if !isCallEvent(e) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if isCallbackEvent(e) {
		p.observeCallback(e)
		return
	}
	p.stored.Add(1)
	o := p.get(e.CallID)
	o.stored++
	switch e.Type {
	case events.TypeClassified:
		var c events.Classified
		if e.DecodeData(&c) != nil || !o.classifiedAt.IsZero() {
			return
		}
		p.classified.Add(1)
		o.outcome, o.typ, o.classifiedAt, o.reason = c.Outcome, c.EmergencyType, at, c.Reason
		o.incidentHeard = c.IncidentID
		if decidedByKey(c.Outcome) && !o.lastKey.IsZero() {
			o.keyLatency, o.hasKey = at.Sub(o.lastKey)-o.media, true
		}
	case events.TypeTransferred:
		var t events.Transferred
		if e.DecodeData(&t) == nil && !o.hasTransferred {
			o.transferSecs, o.hasTransferred = t.SecondsToQueue, true
		}
	case events.TypeOperatorAnswered:
		var a events.OperatorAnswered
		if e.DecodeData(&a) == nil && !o.byOperator {
			o.operator, o.personSecs, o.byOperator = a.Operator, a.SecondsToPerson, true
		}
	case events.TypeQueueAbandoned:
		o.abandoned = true
	case events.TypeEnded:
		var d events.Ended
		if e.DecodeData(&d) == nil && o.where == "" {
			o.where, o.callback = d.Where, d.Callback
			if d.Callback {
				p.cb.dropped(e)
			}
		}
		if !o.endedOK {
			o.endedOK = true
			close(o.ended)
		}
	}
}

// Audit reads the whole stream and counts, for each call id in ids, the
// distinct events stored. It is the authority on lost events: unlike Watch
// it does not depend on having been running all along.
func Audit(ctx context.Context, bus *events.Bus, ids map[string]bool) (map[string]int, error) {
	counts := make(map[string]int)
	seen := make(map[string]bool)
	err := bus.ReadAll(ctx, []string{events.SubjectAllCalls}, func(e events.Envelope) {
		// A call-back's events are not the dropped call's own (the
		// probe does not count them as published for it either).
		if ids[e.CallID] && !seen[e.ID] && !isCallbackEvent(e) {
			seen[e.ID] = true
			counts[e.CallID]++
		}
	})
	if err != nil {
		return nil, fmt.Errorf("loadtest: audit: %w", err)
	}
	return counts, nil
}
