package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// TestFiguresThatMeanWhatTheySay: blocked counts numbers and, apart, calls
// refused; a blocked number's refused calls are prank-like for repeat
// callers; callbacks are counted from call.classified.
func TestFiguresThatMeanWhatTheySay(t *testing.T) {
	agg := reports.NewAggregator(reports.Options{})
	var evs []events.Envelope
	// One prankster: 2 silent calls, then blocked, then 3 refused calls.
	p := "+6281234500001"
	for i := range 2 {
		evs = append(evs, callEvents(t, callSpec{id: "p" + string(rune('a'+i)), number: p, at: t0.Add(time.Duration(i) * time.Minute), outcome: events.OutcomeNoInput})...)
	}
	until := t0.Add(6 * time.Hour)
	evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", t0.Add(3*time.Minute), events.BlocklistChanged{Number: p, Until: &until, Strikes: 3, Reason: "strikes"}))
	for i := range 3 {
		evs = append(evs, callEvents(t, callSpec{id: "r" + string(rune('a'+i)), number: p, at: t0.Add(time.Duration(5+i) * time.Minute), outcome: events.OutcomeBlocked, blocked: true})...)
	}
	// A caller who chose fire and dropped before the queue.
	cb := callEvents(t, callSpec{id: "cb", number: "+6281234500002", at: t0.Add(10 * time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3})
	for i, e := range cb {
		if e.Type == events.TypeClassified {
			raw, _ := json.Marshal(map[string]any{"outcome": "emergency", "emergency_type": "fire", "attempts": 1, "seconds_to_classify": 3, "callback": true})
			cb[i].Data = raw
		}
	}
	evs = append(evs, cb...)
	applyAll(t, agg, evs)

	st, err := agg.Stats(t0, t0.Add(time.Hour), reports.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals.Callbacks != 1 {
		t.Errorf("callbacks %d, want 1", st.Totals.Callbacks)
	}
	if st.Totals.Prank != 2 {
		t.Errorf("prank %d, want 2 (refused calls are not in the prank share)", st.Totals.Prank)
	}
	top := agg.TopCallers(t0, t0.Add(time.Hour), 10, true)
	if len(top) != 1 || top[0].Number != p || top[0].Calls != 5 || top[0].Prank != 5 {
		t.Errorf("repeat callers %+v, want %s with 5 calls, 5 prank-like", top, p)
	}

	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return t0.Add(30 * time.Minute) }})
	_, body, _ := get(t, ts.URL+"/?lang=en", false)
	for _, want := range []string{
		`data-testid="blocked-numbers-now">1<`,
		`data-testid="calls-refused">calls refused: 3<`,
		`data-testid="total-callback">1 to call back<`,
		`<th class="n">strikes</th>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("board lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(body), "points") {
		t.Error("the board says points; the word is strikes")
	}
}
