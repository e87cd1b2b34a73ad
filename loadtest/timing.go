package loadtest

import (
	"time"

	"github.com/siaga112/siaga112/flows"
)

// The times a run measures per kind of caller: to the operators' queue
// and to a person.

// queueSamples are the times to the queue of one kind of caller.
type queueSamples struct {
	answer, key []time.Duration
}

// queueTolerance is how far call.transferred's seconds_to_queue may be
// from the probe's own answer -> continue: both are read from the same
// clock around the same two calls, so only scheduling separates them.
const queueTolerance = 250 * time.Millisecond

// queueTime records the time to the queue of a call the IVR put through
// (not a failover, whose time says how long the drain or a fault took),
// and checks the IVR's own figure in call.transferred against it; st.mu
// is held.
func queueTime(o Options, st *runState, c Caller, call Call, r CallResult, stored bool) {
	if r.ContinuedAt.IsZero() {
		return
	}
	if stored && !r.HasTransferred {
		st.failLocked("call %d (%s) %s: put through but no call.transferred in the stream", c.Seq, c.Kind, call.ID())
	}
	if r.HasTransferred && !r.AnsweredAt.IsZero() {
		own := r.ContinuedAt.Sub(r.AnsweredAt)
		ivr := time.Duration(r.SecondsToQueue * float64(time.Second))
		if d := ivr - own; d > queueTolerance || d < -queueTolerance {
			st.failLocked("call %d (%s) %s: call.transferred says %.3f s to the queue, the probe measured %.3f s",
				c.Seq, c.Kind, call.ID(), ivr.Seconds(), own.Seconds())
		}
	}
	// The caller's answer when the target can tell, else the IVR's.
	start, ok := call.AnsweredAt()
	if !ok {
		start = r.AnsweredAt
	}
	if start.IsZero() {
		return
	}
	m := st.queue
	if r.LocationAsked {
		m = st.queueLoc
	}
	q := m[c.Kind]
	if q == nil {
		q = &queueSamples{}
		m[c.Kind] = q
	}
	q.answer = keepLatency(q.answer, callersTime(r.ContinuedAt.Sub(start), o.ClockScale), o.Forget)
	if decidedByKey(r.Outcome) && !r.KeyAt.IsZero() && r.Reason != flows.OverrideTalk {
		q.key = keepLatency(q.key, callersTime(r.ContinuedAt.Sub(r.KeyAt), o.ClockScale), o.Forget)
	}
}

// keepLatency appends d to s; with bounded (a run with Forget) a full list
// first drops its older half, so it never holds more than maxKeptLatencies.
func keepLatency(s []time.Duration, d time.Duration, bounded bool) []time.Duration {
	if bounded && len(s) >= maxKeptLatencies {
		s = append(s[:0], s[len(s)-maxKeptLatencies/2:]...)
	}
	return append(s, d)
}

// callersTime turns a wall-clock span into the callers' time: the sim runs
// media and the IVR's timers at scale, so dividing by it gives what a
// caller at real speed would wait. The IVR's own processing is divided
// too, so at scales below 1 the figure errs high.
func callersTime(d time.Duration, scale float64) time.Duration {
	if scale <= 0 || scale == 1 {
		return d
	}
	return time.Duration(float64(d) / scale)
}

// summarizeQueue turns the samples into the summary's figures.
func summarizeQueue(m map[Kind]*queueSamples) map[Kind]QueueTime {
	out := make(map[Kind]QueueTime, len(m))
	for k, q := range m {
		t := QueueTime{Latency: Summarize(q.answer)}
		if len(q.key) > 0 {
			l := Summarize(q.key)
			t.KeyToQueue = &l
		}
		out[k] = t
	}
	return out
}

// timeToPersonMeasured says where time_to_person is taken.
const timeToPersonMeasured = "callers' time (wall time / clock scale): call.operator_answered's seconds_to_person, " +
	"from the IVR's answer (Answer returned) to the operator's (Asterisk's Dial ANSWER as the IVR received it)"

// pastHandoff counts what happened to a call past the hand-off: the time
// to a person of one an operator answered, a hang-up in the queue, and
// where the call ended; st.mu is held.
func pastHandoff(o Options, st *runState, c Caller, r CallResult) {
	if r.OperatorAnswered && r.SecondsToPerson >= 0 {
		d := callersTime(time.Duration(r.SecondsToPerson*float64(time.Second)), o.ClockScale)
		st.person[c.Kind] = keepLatency(st.person[c.Kind], d, o.Forget)
	}
	if r.QueueAbandoned {
		st.abandoned[c.Kind]++
	}
	if r.Where != "" {
		st.where[r.Where]++
	}
}
