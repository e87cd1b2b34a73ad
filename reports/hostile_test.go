package reports

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siaga112/siaga112/events"
)

// One event dated in the future used to set the retention horizon (cut
// from the newest event's hour), so with 90 days of retention a single
// event 91 days ahead emptied every real hour from the dashboard. Now the
// horizon follows the receiver's clock and an event beyond the skew is
// refused as malformed.
func TestFutureEventDoesNotEmptyTheDashboard(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	a := NewAggregator(Options{Now: func() time.Time { return now }})
	for i, id := range []string{"a", "b", "c"} {
		applyAll(t, a, callEvents(t, callSpec{id: id, number: "+6281234567890", at: t0.Add(time.Duration(i) * time.Minute),
			outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	}
	before := mustStats(t, a, t0.Add(-time.Hour), now, Hour).Totals

	for _, ahead := range []time.Duration{91 * 24 * time.Hour, 365 * 24 * time.Hour, events.DefaultMaxSkew + time.Second} {
		e := ev(t, events.TypeStarted, "from-the-future", "+6289999999999", now.Add(ahead), events.Started{Dialed: "112"})
		if _, err := a.Apply(e, 100); !errors.Is(err, events.ErrMalformed) {
			t.Fatalf("event %s ahead: Apply = %v, want ErrMalformed", ahead, err)
		}
	}
	// Within the skew an event is counted and changes nothing else.
	applyAll(t, a, callEvents(t, callSpec{id: "skewed", number: "+6281234567891", at: now.Add(time.Minute),
		outcome: events.OutcomeVoice, ttc: 1}))

	after := mustStats(t, a, t0.Add(-time.Hour), now.Add(time.Hour), Hour).Totals
	if after.Calls != before.Calls+1 || after.Outcomes[string(events.OutcomeEmergency)] != 3 {
		t.Fatalf("after the future events: %d calls (%v), want %d", after.Calls, after.Outcomes, before.Calls+1)
	}
	if calls := a.Calls(CallFilter{}); len(calls) != 4 {
		t.Fatalf("%d calls in memory, want 4", len(calls))
	}

	// A clock that moves on past retention does drop old hours.
	now = t0.Add(91 * 24 * time.Hour)
	applyAll(t, a, callEvents(t, callSpec{id: "later", number: "+6281234567890", at: now, outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	if got := mustStats(t, a, t0.Add(-time.Hour), t0.Add(3*time.Hour), Hour).Totals.Calls; got != 0 {
		t.Fatalf("hours past retention still count %d calls", got)
	}
}

// Reset empties everything so a restarted worker can replay into it.
func TestAggregatorReset(t *testing.T) {
	a := NewAggregator(Options{Now: func() time.Time { return t0.Add(time.Hour) }})
	evs := callEvents(t, callSpec{id: "r", number: "+6281234567890", at: t0, outcome: events.OutcomeNoInput, ttc: 16})
	applyAll(t, a, evs)
	a.Reset()
	if st := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals; st.Calls != 0 || len(a.Calls(CallFilter{})) != 0 || a.Counters().Events != 0 {
		t.Fatalf("after Reset: %d calls, counters %+v", st.Calls, a.Counters())
	}
	applyAll(t, a, evs) // the same ids again: not duplicates after a reset
	if st := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals; st.Calls != 1 || st.Prank != 1 {
		t.Fatalf("replayed after Reset: %+v", st)
	}
}

// Forged outcomes and types (valid in shape, unknown in meaning) are summed
// under "other" in /metrics, so a publisher cannot create label sets.
func TestMetricsLabelsBounded(t *testing.T) {
	a := NewAggregator(Options{Now: func() time.Time { return t0.Add(time.Hour) }, EmergencyTypes: []string{"fire", "medical"}})
	applyAll(t, a, callEvents(t, callSpec{id: "ok", number: "+6281234567890", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	for i := range 50 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		applyAll(t, a, callEvents(t, callSpec{id: "forged-" + id, number: "+6281234567890", at: t0.Add(time.Minute),
			outcome: events.Outcome("forged_" + id), typ: "type" + id, ttc: 3}))
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&collector{agg: a, now: func() time.Time { return t0.Add(time.Hour) }})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "siaga112_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["outcome"]+"/"+labels["type"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"emergency/fire": 1, "other/other": 50}
	if len(got) != len(want) {
		t.Fatalf("label sets %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("label sets %v, want %v", got, want)
		}
	}
}

// Outcomes, types and node names in the shape Validate lets through but
// forged by the thousand are bounded per hour and in the lifetime
// counters: the excess is counted under OtherKey, nothing is lost.
func TestForgedKeysBounded(t *testing.T) {
	a := NewAggregator(Options{Now: func() time.Time { return t0.Add(time.Hour) }, RecentCalls: 3000})
	const n = 2000
	for i := range n {
		id := fmt.Sprintf("forged-%d", i)
		evs := callEvents(t, callSpec{id: id, number: "+6281234567890", at: t0.Add(time.Duration(i) * time.Millisecond),
			outcome: events.Outcome(fmt.Sprintf("o_%d", i)), typ: fmt.Sprintf("t%d", i), ttc: 3, node: fmt.Sprintf("node-%d", i)})
		applyAll(t, a, evs)
	}
	st := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals
	if st.Calls != n {
		t.Fatalf("%d calls, want %d", st.Calls, n)
	}
	if len(st.Types) > maxBucketKeys || len(st.Nodes) > maxBucketKeys || len(st.Outcomes) > maxBucketKeys+len(events.AllOutcomes)+1 {
		t.Fatalf("%d types, %d nodes, %d outcomes: not bounded", len(st.Types), len(st.Nodes), len(st.Outcomes))
	}
	var types, nodes int64
	for _, v := range st.Types {
		types += v
	}
	for _, v := range st.Nodes {
		nodes += v.Calls
	}
	if types != n || nodes != n || st.Types[OtherKey] != n-maxBucketKeys+1 || len(st.Types) != maxBucketKeys {
		t.Fatalf("types sum %d, nodes sum %d, other %d; want %d, %d, %d", types, nodes, st.Types[OtherKey], n, n, n-maxBucketKeys+1)
	}
	if c := a.Counters(); len(c.Calls) > maxCounterKeys {
		t.Fatalf("%d counter keys", len(c.Calls))
	}
}
