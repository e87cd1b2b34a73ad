package reports

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

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

// TestAnsweredWithin: the shares among calls whose fate is known, a call
// still waiting over a threshold counted as not within it, the unknown one
// and the answered one without a time left out.
func TestAnsweredWithin(t *testing.T) {
	evs, now := queueFixture(t)
	orders := map[string][]events.Envelope{"in order": evs, "reversed": slices.Clone(evs)}
	slices.Reverse(orders["reversed"])
	// Every event twice under new ids: a replay by a re-sending IVR must
	// not count a call's fate twice.
	twice := slices.Clone(evs)
	for _, e := range evs {
		e.ID += "-again"
		twice = append(twice, e)
	}
	orders["twice"] = twice
	for name, evs := range orders {
		t.Run(name, func(t *testing.T) {
			a := NewAggregator(Options{Now: func() time.Time { return now }})
			applyAll(t, a, evs)
			st := mustStats(t, a, t0, t0.Add(time.Hour), Hour)
			q := st.Totals.QueueStats
			wantCounts := []int64{5, 1, 1, 1, 1}
			gotCounts := []int64{q.OperatorAnswered, q.QueueAbandoned, q.QueueEnded, q.QueueUnknown, q.Waiting}
			if !slices.Equal(gotCounts, wantCounts) {
				t.Errorf("answered, abandoned, ended, unknown, waiting = %v, want %v", gotCounts, wantCounts)
			}
			// 10 s: a (8 s) of a, b, c, d, e, f and the waiting h (13 s);
			// 15 s: a, b of the six decided; 20 s: a, b, c of six.
			for _, w := range []struct {
				key    string
				of     int64
				within float64
			}{{"10s", 7, 0.1429}, {"15s", 6, 0.3333}, {"20s", 6, 0.5}} {
				if got := share(q.AnsweredWithin, w.key); got != w.within || q.AnsweredWithinOf[w.key] != w.of {
					t.Errorf("within %s = %v of %d, want %v of %d", w.key, got, q.AnsweredWithinOf[w.key], w.within, w.of)
				}
			}
			p := q.SecondsToPerson
			if p == nil || p.Count != 4 || !within(p.P50, 12, 0.025) || !within(p.P90, 25, 0.025) || !within(p.P95, 25, 0.025) || p.Max != 25 {
				t.Errorf("seconds to person %+v, want 4 samples, p50 12, p90 25, p95 25, max 25", p)
			}
			// The hour bucket holds the same as the totals.
			if b := st.Buckets[0].QueueStats; share(b.AnsweredWithin, "15s") != 0.3333 || b.Waiting != 1 {
				t.Errorf("10:00 bucket %+v", b)
			}
			recs := map[string]CallRecord{}
			for _, r := range a.Calls(CallFilter{}) {
				recs[r.CallID] = r
			}
			for id, want := range map[string]string{"a": QueueAnswered, "e": QueueAbandoned, "f": QueueEnded, "g": QueueUnknown, "h": QueueWaiting, "i": QueueAnswered} {
				if recs[id].Queue != want {
					t.Errorf("call %s queue %q, want %q", id, recs[id].Queue, want)
				}
			}
			if !recs["e"].Callback || !recs["f"].Callback || recs["g"].Callback {
				t.Errorf("callback e=%v f=%v g=%v, want true true false", recs["e"].Callback, recs["f"].Callback, recs["g"].Callback)
			}
			if st.Totals.Callbacks != 2 {
				t.Errorf("callbacks %d, want 2 (the abandon and the call ended in the queue)", st.Totals.Callbacks)
			}
			if n := a.Active(now); n != 0 {
				t.Errorf("in the IVR now %d, want 0: handed-over calls are not in the IVR", n)
			}
			c := a.Counters()
			if c.PersonCount != 4 || c.PersonSum != 63 || c.QueueAbandoned != 1 || c.OperatorAnswered != 4 {
				t.Errorf("counters person %d/%v abandoned %d answered %d", c.PersonCount, c.PersonSum, c.QueueAbandoned, c.OperatorAnswered)
			}
		})
	}
}

// TestAnsweredWithinEmpty: no handed-over call, no share (absent, not 0),
// and a call waiting under every threshold decides none.
func TestAnsweredWithinEmpty(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	a := NewAggregator(Options{Now: func() time.Time { return now }})
	applyAll(t, a, callEvents(t, callSpec{id: "x", number: "+62811", at: t0, outcome: events.OutcomeNoInput}))
	if q := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.QueueStats; q.AnsweredWithin != nil || q.SecondsToPerson != nil {
		t.Fatalf("no handed-over call: within %v person %v, want absent", q.AnsweredWithin, q.SecondsToPerson)
	}
	applyAll(t, a, queueEvents(t, queueSpec{id: "w", typ: "fire", at: now.Add(-5 * time.Second), fate: QueueWaiting}))
	if q := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.QueueStats; q.AnsweredWithin != nil || q.Waiting != 1 {
		t.Fatalf("one call waiting 5 s: within %v waiting %d, want absent and 1", q.AnsweredWithin, q.Waiting)
	}
	now = now.Add(11 * time.Second) // 16 s since the answer: over 10 and 15 s
	q := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.QueueStats
	if share(q.AnsweredWithin, "10s") != 0 || share(q.AnsweredWithin, "15s") != 0 || q.AnsweredWithin["20s"] != nil {
		t.Fatalf("waiting 16 s: within %v, want 10s 0, 15s 0, 20s null", q.AnsweredWithin)
	}
}

// TestQueueNow: waiting calls per type and the longest wait since the
// hand-off; an answer, an abandon or an end takes a call out.
func TestQueueNow(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	a := NewAggregator(Options{Now: func() time.Time { return now }})
	if q := a.Queue(now, false); q.Waiting != 0 || q.LongestWaitS != nil {
		t.Fatalf("empty queue: %+v", q)
	}
	// Handed over 70 s, 40 s and 10 s before now (2.3 s after start).
	var evs []events.Envelope
	for i, s := range []struct {
		id, typ string
		ago     time.Duration
	}{{"q1", "fire", 70 * time.Second}, {"q2", "medical", 40 * time.Second}, {"q3", "fire", 10 * time.Second}} {
		evs = append(evs, queueEvents(t, queueSpec{id: s.id, typ: s.typ, at: now.Add(-s.ago - 2300*time.Millisecond), fate: QueueWaiting})...)
		_ = i
	}
	applyAll(t, a, evs)
	steps := []struct {
		name    string
		apply   []events.Envelope
		waiting int
		fire    int
		longest float64
	}{
		{"three waiting", nil, 3, 2, 70},
		{"q1 answered", []events.Envelope{ev(t, events.TypeOperatorAnswered, "q1", "", now, events.OperatorAnswered{EmergencyType: "fire", Operator: "PJSIP/op201", SecondsInQueue: 70, SecondsToPerson: 72.3})}, 2, 1, 40},
		{"q2 abandoned", []events.Envelope{ev(t, events.TypeQueueAbandoned, "q2", "", now, events.QueueAbandoned{EmergencyType: "medical", SecondsInQueue: 40, SecondsSinceAnswer: 42.3, Callback: true})}, 1, 1, 10},
		{"q3 ended unknown", []events.Envelope{ev(t, events.TypeEnded, "q3", "", now, events.Ended{Outcome: events.OutcomeEmergency, Where: events.WhereUnknown})}, 0, 0, -1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			applyAll(t, a, s.apply)
			q := a.Queue(now, false)
			if q.Waiting != s.waiting || q.ByType["fire"] != s.fire {
				t.Errorf("waiting %d (fire %d), want %d (%d); by type %v", q.Waiting, q.ByType["fire"], s.waiting, s.fire, q.ByType)
			}
			switch {
			case s.longest < 0 && q.LongestWaitS != nil:
				t.Errorf("longest wait %v with nobody waiting, want null", *q.LongestWaitS)
			case s.longest >= 0 && (q.LongestWaitS == nil || *q.LongestWaitS != s.longest):
				t.Errorf("longest wait %v, want %v", q.LongestWaitS, s.longest)
			}
		})
	}
	// A waiting call silent for over an hour (its IVR died without a
	// word) is not shown waiting for ever.
	applyAll(t, a, queueEvents(t, queueSpec{id: "q4", typ: "police", at: now.Add(-5 * time.Second), fate: QueueWaiting}))
	if q := a.Queue(now.Add(2*time.Hour), false); q.Waiting != 0 {
		t.Errorf("a call silent for 2 h still waiting: %+v", q)
	}
}

// TestOperatorStates: the latest state per (node, device), whatever order
// the events come in.
func TestOperatorStates(t *testing.T) {
	a := NewAggregator(Options{})
	op := func(node, dev, state string, at time.Time) events.Envelope {
		e := ev(t, events.TypeOperatorState, "", "", at, events.OperatorState{Device: dev, State: state, AsteriskState: "X", Queues: []string{"siaga112-fire"}})
		e.Node = node
		return e
	}
	applyAll(t, a, []events.Envelope{
		op("asterisk-1", "PJSIP/op201", events.OperatorFree, t0),
		op("asterisk-1", "PJSIP/op201", events.OperatorBusy, t0.Add(2*time.Second)),
		op("asterisk-1", "PJSIP/op201", events.OperatorFree, t0.Add(time.Second)), // late: older than busy
		op("asterisk-2", "PJSIP/op201", events.OperatorRinging, t0),               // the same device seen by another node
		op("asterisk-1", "PJSIP/op202", events.OperatorAway, t0),
		op("asterisk-1", "PJSIP/op203", events.OperatorFree, t0),
		op("asterisk-1", "PJSIP/op204", "napping", t0), // a state this build does not know
	})
	q := a.Queue(t0.Add(time.Minute), true)
	got := q.Operators
	if got.Free != 1 || got.Busy != 1 || got.Ringing != 1 || got.Away != 1 || got.Unknown != 1 {
		t.Fatalf("operators %+v, want 1 of each", got)
	}
	if len(got.Devices) != 5 || got.Devices[0].Device != "PJSIP/op201" || got.Devices[0].State != events.OperatorBusy || got.Devices[0].Node != "asterisk-1" {
		t.Fatalf("devices %+v", got.Devices)
	}
	if q := a.Queue(t0, false); q.Operators.Devices != nil {
		t.Fatalf("devices listed when not asked: %+v", q.Operators.Devices)
	}
}
