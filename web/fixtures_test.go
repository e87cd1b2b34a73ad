package web

import (
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// t0 is a Friday 10:00 UTC; fixtures place calls relative to it.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

var fixtureSeq atomic.Uint64

// ev builds an envelope with a deterministic, unique id.
func ev(t testing.TB, typ events.Type, callID, number string, at time.Time, data any) events.Envelope {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatalf("marshal %s: %v", typ, err)
	}
	return events.Envelope{
		ID:      fmt.Sprintf("ev-%06d", fixtureSeq.Add(1)),
		Type:    typ,
		Version: events.Version,
		Time:    at,
		CallID:  callID,
		Node:    "asterisk-1",
		Caller:  events.Caller{Number: number, Presentation: events.PresentationAllowed},
		Data:    raw,
	}
}

// callSpec describes one scripted call for fixtures.
type callSpec struct {
	id, number string
	node       string
	at         time.Time
	outcome    events.Outcome
	typ        string
	ttc        float64 // seconds to classify
	transfer   bool
	blocked    bool
	verdict    string // "" = none
}

// callEvents returns the events the IVR would publish for c, in order.
func callEvents(t testing.TB, c callSpec) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	add := func(typ events.Type, off time.Duration, data any) {
		e := ev(t, typ, c.id, c.number, c.at.Add(off), data)
		if c.node != "" {
			e.Node = c.node
		}
		out = append(out, e)
	}
	add(events.TypeStarted, 0, events.Started{Dialed: "112", Channel: "PJSIP/x-" + c.id, Blocked: c.blocked})
	add(events.TypeAnswered, 300*time.Millisecond, events.Answered{})
	add(events.TypeMenu, time.Second, events.Menu{Attempt: 1, Result: events.MenuValid})
	ttc := time.Duration(c.ttc * float64(time.Second))
	add(events.TypeClassified, ttc, events.Classified{Outcome: c.outcome, EmergencyType: c.typ, Attempts: 1, SecondsToClassify: c.ttc})
	if c.transfer {
		add(events.TypeTransferred, ttc+time.Second, events.Transferred{EmergencyType: c.typ, BlockedOverride: c.outcome == events.OutcomeBlockedOverride})
	}
	add(events.TypeEnded, ttc+2*time.Second, events.Ended{Outcome: c.outcome, DurationS: c.ttc + 2, HangupBy: events.HangupBySystem})
	if c.verdict != "" {
		add(events.TypeVerdict, 10*time.Minute, events.Verdict{Verdict: c.verdict, By: "op1"})
	}
	return out
}

func applyAll(t testing.TB, a *reports.Aggregator, evs []events.Envelope) {
	t.Helper()
	for i, e := range evs {
		if _, err := a.Apply(e, uint64(i+1)); err != nil {
			t.Fatalf("apply %s %s: %v", e.Type, e.ID, err)
		}
	}
}

// demoCalls is a realistic mix used by the HTTP and browser tests.
func demoCalls(t testing.TB, day time.Time) []events.Envelope {
	t.Helper()
	specs := []struct {
		outcome  events.Outcome
		typ      string
		transfer bool
		blocked  bool
		verdict  string
	}{
		{events.OutcomeEmergency, "fire", true, false, ""},
		{events.OutcomeEmergency, "medical", true, false, ""},
		{events.OutcomeEmergency, "medical", true, false, ""},
		{events.OutcomeEmergency, "police", true, false, events.VerdictPrank},
		{events.OutcomeVoice, "operator", true, false, ""},
		{events.OutcomeNoInput, "", false, false, ""},
		{events.OutcomeNoInput, "", false, false, ""},
		{events.OutcomeAbandoned, "", false, false, ""},
		{events.OutcomeInvalid, "", false, false, ""},
		{events.OutcomeSilentHelp, "operator", true, false, ""},
		{events.OutcomeBlocked, "", false, true, ""},
		{events.OutcomeBlockedOverride, "disaster", true, true, ""},
		{events.OutcomeEmergency, "disaster", true, false, ""},
	}
	var out []events.Envelope
	n := 0
	for h := 0; h < 10; h++ {
		for i := 0; i <= h%4+1; i++ {
			s := specs[n%len(specs)]
			number := fmt.Sprintf("+62812345%05d", n%7)
			out = append(out, callEvents(t, callSpec{
				id: fmt.Sprintf("demo-%03d", n), number: number, at: day.Add(time.Duration(h)*time.Hour + time.Duration(i*7)*time.Minute),
				outcome: s.outcome, typ: s.typ, ttc: float64(3 + n%11), transfer: s.transfer, blocked: s.blocked, verdict: s.verdict,
				node: []string{"asterisk-1", "asterisk-2"}[n%2],
			})...)
			n++
		}
	}
	return out
}

// wita is Bontang's zone without the zone database: the board's times in
// these tests are local (t0 10:00 UTC is 18:00 WITA).
var wita = time.FixedZone("WITA", 8*3600)

// cbScript builds the events of dropped calls and their call-backs.
type cbScript struct {
	t   testing.TB
	evs []events.Envelope
}

func (s *cbScript) add(typ events.Type, id, number string, at time.Time, data any) {
	s.evs = append(s.evs, ev(s.t, typ, id, number, at, data))
}

// dropped is a caller who chose fire and hung up before the hand-off.
func (s *cbScript) dropped(id, number string, at time.Time) {
	s.add(events.TypeStarted, id, number, at, events.Started{Dialed: "112"})
	s.add(events.TypeAnswered, id, number, at.Add(300*time.Millisecond), events.Answered{})
	s.add(events.TypeClassified, id, number, at.Add(3*time.Second), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3, Callback: true})
	s.add(events.TypeEnded, id, number, at.Add(4*time.Second), events.Ended{Outcome: events.OutcomeEmergency, DurationS: 4, HangupBy: events.HangupByCaller, Callback: true, Where: events.WhereIVR})
}

func (s *cbScript) scheduled(id, number string, at, due time.Time) {
	s.add(events.TypeCallbackScheduled, id, number, at, events.CallbackScheduled{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Where: events.WhereIVR, DueAt: due, MaxAttempts: 3})
}

// attempt ends attempt n with result; next is when the next is due (zero:
// none follows); a put-through attempt's channel is own.
func (s *cbScript) attempt(id, number string, at time.Time, n int, result string, next time.Time, own string) {
	d := events.CallbackAttempt{Attempt: n, Result: result, ChannelID: own, Endpoint: "PJSIP/" + number + "@telco", RingS: 20}
	if !next.IsZero() {
		d.NextAt = &next
	}
	s.add(events.TypeCallbackAttempt, id, number, at, d)
}

func (s *cbScript) done(id, number string, at time.Time, reason string, reached bool, attempts int, by, note string) {
	s.add(events.TypeCallbackDone, id, number, at, events.CallbackDone{ReachedPerson: reached, Reason: reason, Attempts: attempts, By: by, Note: note})
}

// own publishes an event of the call-back's own call own, of the dropped
// call of, as the IVR does: its own id, the callee's number, callback_of.
func (s *cbScript) own(typ events.Type, own, of, number string, at time.Time) {
	var data any
	switch typ {
	case events.TypeTransferred:
		data = events.Transferred{EmergencyType: "fire", Extension: "fire", SecondsToQueue: 5, CallbackOf: of}
	case events.TypeOperatorAnswered:
		data = events.OperatorAnswered{EmergencyType: "fire", Extension: "fire", Operator: "PJSIP/op201", SecondsInQueue: 4, SecondsToPerson: 9, CallbackOf: of}
	case events.TypeQueueAbandoned:
		data = events.QueueAbandoned{EmergencyType: "fire", Extension: "fire", SecondsInQueue: 30, SecondsSinceAnswer: 35, Callback: true, CallbackOf: of}
	case events.TypeEnded:
		data = events.Ended{Outcome: events.OutcomeEmergency, DurationS: 60, HangupBy: events.HangupByCaller, Where: events.WhereOperator, CallbackOf: of}
	}
	s.add(typ, own, number, at, data)
}

// queueAggregator is queueFixture applied, with four operators on one
// node: one free, one busy, one ringing, one away.
func queueAggregator(t testing.TB) (*reports.Aggregator, time.Time) {
	evs, now := queueFixture(t)
	for i, st := range []string{events.OperatorFree, events.OperatorBusy, events.OperatorRinging, events.OperatorAway} {
		evs = append(evs, ev(t, events.TypeOperatorState, "", "", t0, events.OperatorState{
			Device: "PJSIP/op20" + string(rune('1'+i)), State: st, AsteriskState: "X", Queues: []string{"siaga112-fire"}}))
	}
	a := reports.NewAggregator(reports.Options{Now: func() time.Time { return now }})
	applyAll(t, a, evs)
	return a, now
}

// queueSpec is a call handed to the operators and what came of it.
type queueSpec struct {
	id, typ string
	number  string    // default +62812000<id>
	at      time.Time // call.started; the IVR answers 0.3 s later
	// fate: QueueAnswered (stp seconds after the IVR's answer, or -1 for
	// an answer known only from call.ended where=operator), QueueAbandoned
	// (stp seconds after the answer), QueueEnded, QueueUnknown, or
	// QueueWaiting (no event after the hand-off).
	fate string
	stp  float64
}

// queueEvents returns the events the IVR publishes for q, in order: the
// hand-off comes 2 s after the answer.
func queueEvents(t testing.TB, q queueSpec) []events.Envelope {
	t.Helper()
	answer := q.at.Add(300 * time.Millisecond)
	handoff := answer.Add(2 * time.Second)
	number := q.number
	if number == "" {
		number = "+62812000" + q.id
	}
	var out []events.Envelope
	add := func(typ events.Type, at time.Time, data any) { out = append(out, ev(t, typ, q.id, number, at, data)) }
	add(events.TypeStarted, q.at, events.Started{Dialed: "112", Channel: "PJSIP/x-" + q.id})
	add(events.TypeAnswered, answer, events.Answered{})
	add(events.TypeClassified, handoff.Add(-100*time.Millisecond), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: q.typ, Attempts: 1, SecondsToClassify: 1.9})
	add(events.TypeTransferred, handoff, events.Transferred{EmergencyType: q.typ, Context: "siaga112-operators", Extension: q.typ, SecondsToQueue: 2})
	stpAt := answer.Add(time.Duration(q.stp * float64(time.Second)))
	end := func(where string, callback bool) {
		add(events.TypeEnded, stpAt.Add(time.Minute), events.Ended{Outcome: events.OutcomeEmergency, DurationS: q.stp + 60, HangupBy: events.HangupByCaller, Where: where, Callback: callback})
	}
	switch q.fate {
	case reports.QueueAnswered:
		if q.stp >= 0 {
			add(events.TypeOperatorAnswered, stpAt, events.OperatorAnswered{EmergencyType: q.typ, Extension: q.typ, Operator: "PJSIP/op201", SecondsInQueue: q.stp - 2, SecondsToPerson: q.stp})
		}
		end(events.WhereOperator, false)
	case reports.QueueAbandoned:
		add(events.TypeQueueAbandoned, stpAt, events.QueueAbandoned{EmergencyType: q.typ, Extension: q.typ, SecondsInQueue: q.stp - 2, SecondsSinceAnswer: q.stp, Callback: true})
		end(events.WhereQueue, true)
	case reports.QueueEnded:
		end(events.WhereQueue, true)
	case reports.QueueUnknown:
		end(events.WhereUnknown, false)
	}
	return out
}

// queueFixture: nine calls handed over between 10:00 and 10:30 (t0), the
// clock at 10:30. h is still waiting, 13 s after the IVR answered it.
func queueFixture(t testing.TB) (evs []events.Envelope, now time.Time) {
	now = t0.Add(30 * time.Minute)
	for _, q := range []queueSpec{
		{id: "a", typ: "fire", at: t0.Add(1 * time.Minute), fate: reports.QueueAnswered, stp: 8},
		{id: "b", typ: "fire", at: t0.Add(2 * time.Minute), fate: reports.QueueAnswered, stp: 12},
		{id: "c", typ: "medical", at: t0.Add(3 * time.Minute), fate: reports.QueueAnswered, stp: 18},
		{id: "d", typ: "police", at: t0.Add(4 * time.Minute), fate: reports.QueueAnswered, stp: 25},
		{id: "e", typ: "medical", at: t0.Add(5 * time.Minute), fate: reports.QueueAbandoned, stp: 9},
		{id: "f", typ: "fire", at: t0.Add(6 * time.Minute), fate: reports.QueueEnded, stp: 40},
		{id: "g", typ: "fire", at: t0.Add(7 * time.Minute), fate: reports.QueueUnknown, stp: 30},
		{id: "h", typ: "medical", at: now.Add(-13*time.Second - 300*time.Millisecond), fate: reports.QueueWaiting},
		{id: "i", typ: "police", at: t0.Add(8 * time.Minute), fate: reports.QueueAnswered, stp: -1},
	} {
		evs = append(evs, queueEvents(t, q)...)
	}
	return evs, now
}

func share(m map[string]*float64, k string) float64 {
	if m == nil || m[k] == nil {
		return math.NaN()
	}
	return *m[k]
}

// within reports whether got is want within rel (and the 0.01 rounding).
func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+0.006
}
