package web

import (
	"math"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
	"github.com/siaga112/siaga112/reports"
)

// The call fixtures live in internal/testkit, shared with the reports tests;
// these names keep the tests short.

// t0 is a Friday 10:00 UTC; fixtures place calls relative to it.
var t0 = testkit.T0

// ev builds an envelope with a deterministic, unique id.
func ev(t testing.TB, typ events.Type, callID, number string, at time.Time, data any) events.Envelope {
	t.Helper()
	return testkit.Event(t, typ, callID, number, at, data)
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
	return testkit.CallEvents(t, testkit.Call{ID: c.id, Number: c.number, Node: c.node, At: c.at, Outcome: c.outcome, Type: c.typ,
		TTC: c.ttc, Transfer: c.transfer, Blocked: c.blocked, Verdict: c.verdict})
}

// demoCalls is a realistic mix used by the HTTP and browser tests.
func demoCalls(t testing.TB, day time.Time) []events.Envelope {
	t.Helper()
	return testkit.DemoCalls(t, day)
}

// cbScript builds the events of dropped calls and their call-backs.
type cbScript = testkit.CallbackScript

func applyAll(t testing.TB, a *reports.Aggregator, evs []events.Envelope) {
	t.Helper()
	for i, e := range evs {
		if _, err := a.Apply(e, uint64(i+1)); err != nil {
			t.Fatalf("apply %s %s: %v", e.Type, e.ID, err)
		}
	}
}

// wita is Bontang's zone without the zone database: the board's times in
// these tests are local (t0 10:00 UTC is 18:00 WITA).
var wita = time.FixedZone("WITA", 8*3600)

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
