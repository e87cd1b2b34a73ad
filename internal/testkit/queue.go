package testkit

import (
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// QueueCall is a call handed to the operators and what came of it.
type QueueCall struct {
	ID, Type string
	// Number is the caller (default +62812000<ID>).
	Number string
	// At is call.started; the IVR answers 0.3 s later and hands the call
	// over 2 s after that.
	At time.Time
	// Fate is one of the reports' queue states: "answered" (STP seconds
	// after the IVR's answer, or -1 for an answer known only from
	// call.ended where=operator), "abandoned" (STP seconds after the
	// answer), "queue_ended", "unknown", or "waiting" (no event after the
	// hand-off).
	Fate string
	STP  float64
}

// QueueEvents returns the events the IVR publishes for q, in order.
func QueueEvents(t testing.TB, q QueueCall) []events.Envelope {
	t.Helper()
	answer := q.At.Add(300 * time.Millisecond)
	handoff := answer.Add(2 * time.Second)
	number := q.Number
	if number == "" {
		number = "+62812000" + q.ID
	}
	var out []events.Envelope
	add := func(typ events.Type, at time.Time, data any) {
		out = append(out, Event(t, typ, q.ID, number, at, data))
	}
	add(events.TypeStarted, q.At, events.Started{Dialed: "112", Channel: "PJSIP/x-" + q.ID})
	add(events.TypeAnswered, answer, events.Answered{})
	add(events.TypeClassified, handoff.Add(-100*time.Millisecond), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: q.Type, Attempts: 1, SecondsToClassify: 1.9})
	add(events.TypeTransferred, handoff, events.Transferred{EmergencyType: q.Type, Context: "siaga112-operators", Extension: q.Type, SecondsToQueue: 2})
	stpAt := answer.Add(time.Duration(q.STP * float64(time.Second)))
	end := func(where string, callback bool) {
		add(events.TypeEnded, stpAt.Add(time.Minute), events.Ended{Outcome: events.OutcomeEmergency, DurationS: q.STP + 60, HangupBy: events.HangupByCaller, Where: where, Callback: callback})
	}
	switch q.Fate {
	case "answered":
		if q.STP >= 0 {
			add(events.TypeOperatorAnswered, stpAt, events.OperatorAnswered{EmergencyType: q.Type, Extension: q.Type, Operator: "PJSIP/op201", SecondsInQueue: q.STP - 2, SecondsToPerson: q.STP})
		}
		end(events.WhereOperator, false)
	case "abandoned":
		add(events.TypeQueueAbandoned, stpAt, events.QueueAbandoned{EmergencyType: q.Type, Extension: q.Type, SecondsInQueue: q.STP - 2, SecondsSinceAnswer: q.STP, Callback: true})
		end(events.WhereQueue, true)
	case "queue_ended":
		end(events.WhereQueue, true)
	case "unknown":
		end(events.WhereUnknown, false)
	}
	return out
}

// QueueFixture is nine calls handed over between 10:00 and 10:30 (T0), the
// clock at 10:30: four answered (after 8, 12, 18 and 25 s), one abandoned,
// one ended in the queue, one unknown, one answered known only from its
// end, and one still waiting, 13 s after the IVR answered it.
func QueueFixture(t testing.TB) (evs []events.Envelope, now time.Time) {
	now = T0.Add(30 * time.Minute)
	for _, q := range []QueueCall{
		{ID: "a", Type: "fire", At: T0.Add(1 * time.Minute), Fate: "answered", STP: 8},
		{ID: "b", Type: "fire", At: T0.Add(2 * time.Minute), Fate: "answered", STP: 12},
		{ID: "c", Type: "medical", At: T0.Add(3 * time.Minute), Fate: "answered", STP: 18},
		{ID: "d", Type: "police", At: T0.Add(4 * time.Minute), Fate: "answered", STP: 25},
		{ID: "e", Type: "medical", At: T0.Add(5 * time.Minute), Fate: "abandoned", STP: 9},
		{ID: "f", Type: "fire", At: T0.Add(6 * time.Minute), Fate: "queue_ended", STP: 40},
		{ID: "g", Type: "fire", At: T0.Add(7 * time.Minute), Fate: "unknown", STP: 30},
		{ID: "h", Type: "medical", At: now.Add(-13*time.Second - 300*time.Millisecond), Fate: "waiting"},
		{ID: "i", Type: "police", At: T0.Add(8 * time.Minute), Fate: "answered", STP: -1},
	} {
		evs = append(evs, QueueEvents(t, q)...)
	}
	return evs, now
}
