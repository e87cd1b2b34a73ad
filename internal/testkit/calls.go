package testkit

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// The call fixtures below are the events the IVR and the call-back
// scheduler publish for scripted calls, shared by the reports tests (which
// check the figures) and the web tests (which check how the board shows
// them), so both read the same calls.

// T0 is a Friday 10:00 UTC; fixtures place calls relative to it.
var T0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

var fixtureSeq atomic.Uint64

// Event builds an envelope with a deterministic, unique id, from node
// asterisk-1 and a visible caller number.
func Event(t testing.TB, typ events.Type, callID, number string, at time.Time, data any) events.Envelope {
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

// Call describes one scripted call.
type Call struct {
	ID, Number string
	// Node is the Asterisk node ("" for asterisk-1).
	Node    string
	At      time.Time
	Outcome events.Outcome
	Type    string
	// TTC is the seconds to classify.
	TTC      float64
	Transfer bool
	Blocked  bool
	// Verdict is an operator's verdict given ten minutes later ("": none).
	Verdict string
}

// CallEvents returns the events the IVR would publish for c, in order.
func CallEvents(t testing.TB, c Call) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	add := func(typ events.Type, off time.Duration, data any) {
		e := Event(t, typ, c.ID, c.Number, c.At.Add(off), data)
		if c.Node != "" {
			e.Node = c.Node
		}
		out = append(out, e)
	}
	add(events.TypeStarted, 0, events.Started{Dialed: "112", Channel: "PJSIP/x-" + c.ID, Blocked: c.Blocked})
	add(events.TypeAnswered, 300*time.Millisecond, events.Answered{})
	add(events.TypeMenu, time.Second, events.Menu{Attempt: 1, Result: events.MenuValid})
	ttc := time.Duration(c.TTC * float64(time.Second))
	add(events.TypeClassified, ttc, events.Classified{Outcome: c.Outcome, EmergencyType: c.Type, Attempts: 1, SecondsToClassify: c.TTC})
	if c.Transfer {
		add(events.TypeTransferred, ttc+time.Second, events.Transferred{EmergencyType: c.Type, BlockedOverride: c.Outcome == events.OutcomeBlockedOverride})
	}
	add(events.TypeEnded, ttc+2*time.Second, events.Ended{Outcome: c.Outcome, DurationS: c.TTC + 2, HangupBy: events.HangupBySystem})
	if c.Verdict != "" {
		add(events.TypeVerdict, 10*time.Minute, events.Verdict{Verdict: c.Verdict, By: "op1"})
	}
	return out
}

// DemoCalls is a realistic mix of calls over ten hours of day, on two
// nodes.
func DemoCalls(t testing.TB, day time.Time) []events.Envelope {
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
			out = append(out, CallEvents(t, Call{
				ID: fmt.Sprintf("demo-%03d", n), Number: number, At: day.Add(time.Duration(h)*time.Hour + time.Duration(i*7)*time.Minute),
				Outcome: s.outcome, Type: s.typ, TTC: float64(3 + n%11), Transfer: s.transfer, Blocked: s.blocked, Verdict: s.verdict,
				Node: []string{"asterisk-1", "asterisk-2"}[n%2],
			})...)
			n++
		}
	}
	return out
}

// CallbackScript builds the events of dropped calls and their call-backs.
type CallbackScript struct {
	T      testing.TB
	Events []events.Envelope
}

// Add appends one event.
func (s *CallbackScript) Add(typ events.Type, id, number string, at time.Time, data any) {
	s.Events = append(s.Events, Event(s.T, typ, id, number, at, data))
}

// Dropped is a fire call whose caller hung up in the IVR after choosing:
// a call to call back.
func (s *CallbackScript) Dropped(id, number string, at time.Time) {
	s.Add(events.TypeStarted, id, number, at, events.Started{Dialed: "112"})
	s.Add(events.TypeAnswered, id, number, at.Add(300*time.Millisecond), events.Answered{})
	s.Add(events.TypeClassified, id, number, at.Add(3*time.Second), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3, Callback: true})
	s.Add(events.TypeEnded, id, number, at.Add(4*time.Second), events.Ended{Outcome: events.OutcomeEmergency, DurationS: 4, HangupBy: events.HangupByCaller, Callback: true, Where: events.WhereIVR})
}

// Scheduled is the scheduler planning id's call-back, due at due.
func (s *CallbackScript) Scheduled(id, number string, at, due time.Time) {
	s.Add(events.TypeCallbackScheduled, id, number, at, events.CallbackScheduled{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Where: events.WhereIVR, DueAt: due, MaxAttempts: 3})
}

// Attempt is attempt n of id's call-back with its result, the next attempt
// at next (zero: none) and the call-back's own channel own.
func (s *CallbackScript) Attempt(id, number string, at time.Time, n int, result string, next time.Time, own string) {
	d := events.CallbackAttempt{Attempt: n, Result: result, ChannelID: own, Endpoint: "PJSIP/" + number + "@telco", RingS: 20}
	if !next.IsZero() {
		d.NextAt = &next
	}
	s.Add(events.TypeCallbackAttempt, id, number, at, d)
}

// Done ends id's call-back for reason.
func (s *CallbackScript) Done(id, number string, at time.Time, reason string, reached bool, attempts int, by, note string) {
	s.Add(events.TypeCallbackDone, id, number, at, events.CallbackDone{ReachedPerson: reached, Reason: reason, Attempts: attempts, By: by, Note: note})
}

// Own is an event of the call-back's own call own (of the dropped call of).
func (s *CallbackScript) Own(typ events.Type, own, of, number string, at time.Time) {
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
	s.Add(typ, own, number, at, data)
}
