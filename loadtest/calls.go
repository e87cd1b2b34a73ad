package loadtest

import (
	"context"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Placing one call and following it to its end.

// concurrentPlacer is a Target whose Place waits on the network: a real
// Asterisk's originate. Placed one after the other, such calls cannot be
// placed faster than Asterisk answers the originates: on Asterisk 22.10.1
// at 150 live calls on a saturated 2-core host the tool placed 4.9 calls/s
// when asked for 8, as each originate waited about 200 ms.
type concurrentPlacer interface {
	// PlacesConcurrently reports whether the runner should call Place
	// from several goroutines at once.
	PlacesConcurrently() bool
}

// place places one call and counts it as live, or counts the failure; ok
// is false when the call was not placed. A call's own context is not ctx:
// an interrupted run lets the calls in progress finish, as a real centre
// would.
func place(ctx context.Context, o Options, st *runState, c Caller) (Call, bool) {
	call, err := o.Target.Place(context.WithoutCancel(ctx), c)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		st.failLocked("call %d (%s): place: %v", c.Seq, c.Kind, err)
		return nil, false
	}
	st.live++
	st.peakLive = max(st.peakLive, st.live)
	st.ids[call.ID()] = true
	st.inFlight[call.ID()] = call
	if c.Kind == KindIncidentCaller {
		st.incidentNumbers = append(st.incidentNumbers, c.Number)
	}
	if c.Kind == KindDropper {
		st.droppersPlaced++
		if o.CallbackWait > 0 && o.Drain == nil {
			// Asked now, before the call can have ended: the call-back
			// comes callback.delay after that at the earliest.
			st.droppers[call.ID()] = dropper{c: c, settled: o.Probe.CallbackSettled(call.ID())}
		}
	}
	return call, true
}

// follow waits for one call, then for its call.ended in the stream, and
// checks and counts it.
func follow(o Options, st *runState, c Caller, call Call, onARI bool) {
	t := time.NewTimer(o.CallTimeout)
	defer t.Stop()
	select {
	case <-call.Done():
	case <-t.C:
		st.fail("call %d (%s) %s: not over after %s", c.Seq, c.Kind, call.ID(), o.CallTimeout)
	}
	// call.ended is the call's last event and the IVR publishes a call's
	// events in order, so once it is stored the others are too.
	t.Reset(o.SettleTimeout)
	stored, letGo := waitEnded(o, st, call.ID(), t.C)
	r := o.Probe.Result(call.ID())
	ans, hasAns := call.Answer()
	if !hasAns && onARI {
		ans, hasAns = r.Answer, r.HasAnswer
	}
	if f, ok := o.Target.(interface{ Forget(Call) }); ok && o.Forget {
		// The target's own records of the call (the sim's recordings).
		f.Forget(call)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.live--
	st.finished++
	delete(st.inFlight, call.ID())
	if hasAns {
		st.answers = keepLatency(st.answers, ans, o.Forget)
	}
	if r.HasKey && c.Kind != KindDropper {
		// A dropped caller's call is classified once the IVR sees the
		// hang-up at the location question, not when the key is in.
		st.keys = keepLatency(st.keys, r.KeyToClassified, o.Forget)
	}
	switch {
	case letGo:
		// Handed to the operators and let go when the IVR stopped: the
		// call goes on in Asterisk, and no call.ended comes for it.
		st.letGo++
	case !stored && st.draining && r.Published == 0:
		st.failLocked("call %d (%s) %s: the IVR stopped without publishing any event of the call", c.Seq, c.Kind, call.ID())
	case !stored:
		st.failLocked("call %d (%s) %s: call.ended not in the stream %s after the call", c.Seq, c.Kind, call.ID(), o.SettleTimeout)
	case !r.Classified:
		st.failLocked("call %d (%s) %s: no call.classified in the stream", c.Seq, c.Kind, call.ID())
	}
	if r.Classified {
		st.outcomes[r.Outcome]++
		exp := st.expect(c, r, onARI)
		switch {
		case st.draining && r.Outcome == events.OutcomeFailover:
			// The drain put it through to operators before its script
			// was over: the product's behaviour, not a fault.
			st.drained++
		case !exp.Allows(r.Outcome, r.Type):
			st.failLocked("call %d (%s) %s: outcome %s %s, want one of %v %s", c.Seq, c.Kind, call.ID(), r.Outcome, r.Type, exp.Outcomes, exp.Type)
		case exp.Reason != "" && r.Reason != exp.Reason:
			st.failLocked("call %d (%s) %s: outcome %s for reason %q, want %q", c.Seq, c.Kind, call.ID(), r.Outcome, r.Reason, exp.Reason)
		case c.Kind == KindDropper && stored && (!r.Callback || r.Where != events.WhereIVR || !r.ContinuedAt.IsZero()):
			st.failLocked("call %d (%s) %s: ended where %q with callback %v, want a drop in the IVR marked for call-back", c.Seq, c.Kind, call.ID(), r.Where, r.Callback)
		case c.Kind == KindDropper:
			// Hung up as the location question began: nothing recorded.
		case !onARI && r.Outcome == events.OutcomeEmergency && r.LocationAsked != c.AsksLocation():
			// The sim's operators are all free or all busy for the whole
			// run, so the rule can be checked call by call.
			st.failLocked("call %d (%s) %s: location asked %v with operators busy %v", c.Seq, c.Kind, call.ID(), r.LocationAsked, c.Busy)
		}
		if r.Outcome != events.OutcomeFailover {
			queueTime(o, st, c, call, r, stored)
		}
		if !r.ContinuedAt.IsZero() || r.Outcome == events.OutcomeFailover {
			st.reached++
		}
		pastHandoff(o, st, c, r)
		if st.incident != "" {
			checkIncident(st, c, call, r)
		}
	}
	if o.Forget {
		o.Probe.Forget(call.ID())
		delete(st.ids, call.ID())
	}
}
