package loadtest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Call-backs as the stream tells them: the probe follows callback.* and a
// call-back's own call events, and the summary counts them.
//
// A call-back's events are not a call's: callback.* carry the dropped
// call's id but come callback.delay or more after its call.ended, when the
// runner has counted that call (and, in a demo, forgotten it), and a
// call-back's own call.transferred, call.operator_answered and call.ended
// carry the call-back's channel id, which the runner never placed. Counted
// as a call's events they would be audited against calls that are over,
// reported lost when a call-back is still publishing at the end of a run,
// and, in a demo that forgets calls, kept for ever. So the probe keeps them
// out of the per-call and total event counts and tallies them here.

// callbackTimesMeasured says how the call-back times are taken.
const callbackTimesMeasured = "wall time, from the dropped call's call.ended to the call-back's answer " +
	"(its call.transferred less seconds_to_queue) and to its hand-off (call.transferred); " +
	"not divided by the clock scale, as callback.delay and the placer's waits are not scaled"

// CallbackSummary is what the stream said of the call-backs during a run.
type CallbackSummary struct {
	// Droppers is how many dropped callers (KindDropper) the run placed.
	Droppers int `json:"dropped_callers"`
	// Scheduled counts callback.scheduled: call-backs planned, for the
	// dropped callers and any other caller who asked for help and reached
	// no person (one who hung up in the queue, for one).
	Scheduled int `json:"scheduled"`
	// Attempts counts callback.attempt; the fields after it count the
	// attempts by result (events.CallbackResults).
	Attempts         int `json:"attempts"`
	PutThrough       int `json:"put_through"`
	NoResponse       int `json:"no_response"`
	NoAnswer         int `json:"no_answer"`
	Busy             int `json:"busy"`
	Failed           int `json:"failed"`
	AttemptCancelled int `json:"attempts_cancelled"`
	// Done counts callback.done: call-backs over. Cancelled is those a
	// supervisor cancelled, ReachedPerson those whose number reached an
	// operator (on the call-back or a call of its own), and DoneReasons
	// counts them all by reason.
	Done          int            `json:"done"`
	Cancelled     int            `json:"cancelled"`
	ReachedPerson int            `json:"reached_person"`
	DoneReasons   map[string]int `json:"done_reasons"`
	// DropToAnswer is the time from the dropped call's end to the
	// call-back's answer, DropToPutThrough to its hand-off to the
	// operators, of the call-backs put through (TimesMeasured).
	DropToAnswer     Latency `json:"drop_to_answer"`
	DropToPutThrough Latency `json:"drop_to_put_through"`
	TimesMeasured    string  `json:"times_measured"`
	// Pending is how many dropped callers' call-backs were neither over
	// nor put through and ended when the run stopped waiting for them
	// (Options.CallbackWait); a run that does not wait leaves it 0.
	Pending int `json:"dropped_callers_pending"`
}

// cbTrack is what the probe knows of the call-backs; guarded by Probe.mu.
type cbTrack struct {
	sum CallbackSummary
	// drops are the end times of the calls marked for call-back whose
	// call-back is not over yet, by call id.
	drops map[string]time.Time
	// answer and through are the drop -> answer and drop -> hand-off
	// times (keepLatency bounds them in a demo).
	answer, through []time.Duration
	// settled has a channel per dropped call the runner waits for
	// (Probe.CallbackSettled), closed at its end (callback.done) or when
	// a call-back put through has ended, whichever comes first.
	settled map[string]chan struct{}
	bounded bool
}

func newCBTrack() cbTrack {
	return cbTrack{drops: map[string]time.Time{}, settled: map[string]chan struct{}{}, sum: CallbackSummary{DoneReasons: map[string]int{}}}
}

// callbackOfKey marks a call-back's own call events (callback_of, set only
// on those): cheaper than decoding every call event at publish.
var callbackOfKey = []byte(`"callback_of"`)

// isCallbackEvent reports whether e is a call-back's (callback.*) or one
// of a call-back's own call events.
func isCallbackEvent(e events.Envelope) bool {
	switch e.Type {
	case events.TypeCallbackScheduled, events.TypeCallbackAttempt, events.TypeCallbackDone:
		return true
	case events.TypeTransferred, events.TypeOperatorAnswered, events.TypeQueueAbandoned, events.TypeEnded:
		return bytes.Contains(e.Data, callbackOfKey)
	}
	return false
}

// observeCallback notes one stored call-back event; p.mu is held.
func (p *Probe) observeCallback(e events.Envelope) {
	t := &p.cb
	switch e.Type {
	case events.TypeCallbackScheduled:
		t.sum.Scheduled++
	case events.TypeCallbackAttempt:
		var a events.CallbackAttempt
		if e.DecodeData(&a) != nil {
			return
		}
		t.sum.Attempts++
		switch a.Result {
		case events.CallbackPutThrough:
			t.sum.PutThrough++
		case events.CallbackNoResponse:
			t.sum.NoResponse++
		case events.CallbackNoAnswer:
			t.sum.NoAnswer++
		case events.CallbackBusy:
			t.sum.Busy++
		case events.CallbackFailed:
			t.sum.Failed++
		case events.CallbackCancelled:
			t.sum.AttemptCancelled++
		}
	case events.TypeCallbackDone:
		var d events.CallbackDone
		if e.DecodeData(&d) != nil {
			return
		}
		t.sum.Done++
		t.sum.DoneReasons[d.Reason]++
		if d.Reason == events.DoneCancelled {
			t.sum.Cancelled++
		}
		if d.ReachedPerson {
			t.sum.ReachedPerson++
		}
		delete(t.drops, e.CallID)
		t.settle(e.CallID)
	case events.TypeEnded:
		// The call-back's own call is over: with an operator, after the
		// callback.done its answer brought; without one (a load test's
		// queues have none by default), a callee who hung up in the
		// queue, whose next attempt is minutes away.
		var d events.Ended
		if e.DecodeData(&d) == nil {
			t.settle(d.CallbackOf)
		}
	case events.TypeTransferred:
		var tr events.Transferred
		if e.DecodeData(&tr) != nil || tr.CallbackOf == "" {
			return
		}
		drop, ok := t.drops[tr.CallbackOf]
		if !ok {
			return
		}
		answered := e.Time.Add(-time.Duration(tr.SecondsToQueue * float64(time.Second)))
		t.answer = keepLatency(t.answer, answered.Sub(drop), t.bounded)
		t.through = keepLatency(t.through, e.Time.Sub(drop), t.bounded)
	}
}

// dropped notes the end of a call marked for call-back; p.mu is held.
func (t *cbTrack) dropped(e events.Envelope) {
	t.drops[e.CallID] = e.Time
}

// settle closes the channel of a dropped call the runner waits for.
func (t *cbTrack) settle(id string) {
	if ch, ok := t.settled[id]; ok {
		close(ch)
		delete(t.settled, id)
	}
}

// CallbackSettled is closed once the call-back of the dropped call id is
// over, or one of its attempts was put through and that call has ended, as
// the stream says. Ask before the call can have
// been called back (the runner asks when it places the call): a call-back
// that settled before the question is not seen.
func (p *Probe) CallbackSettled(id string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.cb.settled[id]
	if !ok {
		ch = make(chan struct{})
		p.cb.settled[id] = ch
	}
	return ch
}

// boundCallbacks keeps only the latest call-back times, as a run with
// Options.Forget keeps its other latencies.
func (p *Probe) boundCallbacks() {
	p.mu.Lock()
	p.cb.bounded = true
	p.mu.Unlock()
}

// Callbacks returns the call-back figures seen so far.
func (p *Probe) Callbacks() CallbackSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.cb.sum
	s.DoneReasons = make(map[string]int, len(p.cb.sum.DoneReasons))
	for k, v := range p.cb.sum.DoneReasons {
		s.DoneReasons[k] = v
	}
	s.DropToAnswer, s.DropToPutThrough = Summarize(p.cb.answer), Summarize(p.cb.through)
	s.TimesMeasured = callbackTimesMeasured
	return s
}

// writeCallbacks prints the call-back figures (part of WriteText; the
// demo prints its own closing line from them); nothing when the run saw
// none.
func (s *Summary) writeCallbacks(w *strings.Builder) {
	c := s.Callbacks
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\ncall-backs   %d scheduled, %d attempts: put through %d, no response %d, no answer %d, busy %d, failed %d, cancelled %d\n",
		c.Scheduled, c.Attempts, c.PutThrough, c.NoResponse, c.NoAnswer, c.Busy, c.Failed, c.AttemptCancelled)
	fmt.Fprintf(w, "             %d over: reached a person %d, cancelled %d", c.Done, c.ReachedPerson, c.Cancelled)
	if c.Droppers > 0 {
		fmt.Fprintf(w, "; dropped callers %d, not yet put through %d", c.Droppers, c.Pending)
	}
	fmt.Fprintln(w)
	if c.DropToAnswer.N > 0 {
		fmt.Fprintf(w, "             drop -> answer p50 %.1f s, p95 %.1f s; drop -> put through p50 %.1f s, p95 %.1f s (n %d)\n",
			c.DropToAnswer.P50/1e3, c.DropToAnswer.P95/1e3, c.DropToPutThrough.P50/1e3, c.DropToPutThrough.P95/1e3, c.DropToPutThrough.N)
		fmt.Fprintf(w, "             (%s)\n", c.TimesMeasured)
	}
}

// dropper is a dropped caller whose call-back the run waits for.
type dropper struct {
	c       Caller
	settled <-chan struct{}
}

// waitCallbacks waits, at most Options.CallbackWait in all, until every
// dropped caller's call-back is settled (Probe.CallbackSettled), and
// counts each one that is not as an error (it stays in st.droppers:
// Pending).
func waitCallbacks(o Options, st *runState) {
	st.mu.Lock()
	waits := make(map[string]dropper, len(st.droppers))
	for id, d := range st.droppers {
		waits[id] = d
	}
	st.mu.Unlock()
	deadline := time.NewTimer(o.CallbackWait)
	defer deadline.Stop()
	for id, d := range waits {
		select {
		case <-d.settled:
			st.mu.Lock()
			delete(st.droppers, id)
			st.mu.Unlock()
			continue
		case <-deadline.C:
		}
		// The time is over: the others are only looked at.
		for id, d := range waits {
			select {
			case <-d.settled:
				st.mu.Lock()
				delete(st.droppers, id)
				st.mu.Unlock()
			default:
				st.fail("call %d (%s) %s: its call-back was neither over nor put through and ended %s after the last call ended",
					d.c.Seq, d.c.Kind, id, o.CallbackWait)
			}
		}
		return
	}
}
