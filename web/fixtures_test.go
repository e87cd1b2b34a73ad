package web

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
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

// queueSpec is a call handed to the operators and what came of it
// (testkit.QueueCall).
type queueSpec struct {
	id, typ string
	number  string
	at      time.Time
	fate    string
	stp     float64
}

// queueEvents returns the events the IVR publishes for q, in order.
func queueEvents(t testing.TB, q queueSpec) []events.Envelope {
	t.Helper()
	return testkit.QueueEvents(t, testkit.QueueCall{ID: q.id, Type: q.typ, Number: q.number, At: q.at, Fate: q.fate, STP: q.stp})
}

// queueFixture is testkit.QueueFixture: nine calls handed over between
// 10:00 and 10:30, the clock at 10:30.
func queueFixture(t testing.TB) (evs []events.Envelope, now time.Time) {
	t.Helper()
	return testkit.QueueFixture(t)
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

// serveSupervisor serves srv's routes over HTTP with every request signed
// in as the supervisor testSup (CSRF token "tok"), as a browser holding
// its session cookie would be; closed at cleanup.
func serveSupervisor(t testing.TB, srv *Server) *httptest.Server {
	t.Helper()
	const cookie = "test-session"
	srv.console.sessions.byID[cookie] = &Session{Name: testSup, Role: console.RoleSupervisor, CSRF: "tok", Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(ts.CloseClientConnections)
	return ts
}
