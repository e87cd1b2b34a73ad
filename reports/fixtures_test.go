package reports

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
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

func applyAll(t testing.TB, a *Aggregator, evs []events.Envelope) {
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
