package reports

import (
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

// The call fixtures live in internal/testkit, shared with the web tests;
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

func applyAll(t testing.TB, a *Aggregator, evs []events.Envelope) {
	t.Helper()
	for i, e := range evs {
		if _, err := a.Apply(e, uint64(i+1)); err != nil {
			t.Fatalf("apply %s %s: %v", e.Type, e.ID, err)
		}
	}
}
