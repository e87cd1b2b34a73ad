package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// wita is Bontang's zone without the zone database: the board's times in
// these tests are local (t0 10:00 UTC is 18:00 WITA).
var wita = time.FixedZone("WITA", 8*3600)

// TestUnreachedToday: unreached counts today's callers by number (a
// withheld caller each), not yesterday's, and an answer the next day does
// not reach a caller of the day before.
func TestUnreachedToday(t *testing.T) {
	now := t0.Add(10 * time.Minute) // 18:10 WITA
	a := NewAggregator(Options{Location: wita, Now: func() time.Time { return now }})
	s := &cbScript{T: t}
	s.Dropped("y1", "+6281234500020", t0.Add(-20*time.Hour)) // yesterday 22:00 WITA
	s.Add(events.TypeStarted, "y2", "+6281234500020", t0.Add(-1*time.Hour), events.Started{Dialed: "112"})
	s.Add(events.TypeOperatorAnswered, "y2", "+6281234500020", t0.Add(-1*time.Hour+20*time.Second), events.OperatorAnswered{Operator: "PJSIP/op201", SecondsToPerson: 12})
	s.Dropped("a1", "+6281234500021", t0)
	s.Dropped("a2", "+6281234500021", t0.Add(time.Minute))
	s.Dropped("w1", "", t0.Add(2*time.Minute))
	s.Dropped("w2", "", t0.Add(3*time.Minute))
	for i := range s.Events {
		if s.Events[i].CallID == "w1" || s.Events[i].CallID == "w2" {
			s.Events[i].Caller = events.Caller{Number: "anonymous", Presentation: events.PresentationRestricted}
		}
	}
	applyAll(t, a, s.Events)
	if got := a.Unreached(now); got != 3 {
		t.Errorf("unreached %d, want 3 (one number with two drops, two withheld callers)", got)
	}
	// y1 was answered the next day: still open in its own day's list.
	if got := a.Attention(t0.Add(-24*time.Hour), t0.Add(-12*time.Hour), 0, true); len(got) != 1 || got[0].CallID != "y1" {
		t.Errorf("yesterday's attention %+v, want y1 (an answer the next day is not that day's)", got)
	}
}

// TestCallbackHostile: call-back events for calls the reports do not hold
// change nothing and keep no memory; forged results and reasons stay
// bounded; a callback_of outside the id alphabet is refused.
func TestCallbackHostile(t *testing.T) {
	now := t0.Add(time.Hour)
	a := NewAggregator(Options{Location: wita, RecentCalls: 10, Now: func() time.Time { return now }})
	s := &cbScript{T: t}
	s.Dropped("c1", "+6281234500030", t0)
	for i := range 500 {
		id := fmt.Sprintf("ghost-%d", i)
		s.Scheduled(id, "+6281234500031", t0.Add(time.Second), t0.Add(time.Minute))
		s.Attempt(id, "+6281234500031", t0.Add(2*time.Second), i, "weird-"+id, time.Time{}, "own-"+id)
		s.Done(id, "+6281234500031", t0.Add(3*time.Second), "why-"+id, true, 1, strings.Repeat("x", 5000), strings.Repeat("y", 5000))
		s.Own(events.TypeOperatorAnswered, "own-"+id, id, "+6281234500031", t0.Add(4*time.Second))
	}
	for i := range 300 {
		s.Attempt("c1", "+6281234500030", t0.Add(5*time.Second), 1000+i, fmt.Sprintf("forged-%d", i), time.Time{}, "")
	}
	s.Done("c1", "+6281234500030", t0.Add(6*time.Second), "forged-reason", false, 1, strings.Repeat("é", 5000), strings.Repeat("n", 5000))
	applyAll(t, a, s.Events)

	if len(a.calls) != 1 {
		t.Errorf("%d calls in memory, want 1: call-back events made calls", len(a.calls))
	}
	c := a.Counters()
	if c.Orphans != 2000 {
		t.Errorf("orphans %d, want 2000 (every event for an unknown call)", c.Orphans)
	}
	if len(c.CallbackAttempts) != 1 || c.CallbackAttempts[OtherKey] != 1 || len(c.CallbacksDone) != 1 {
		t.Errorf("attempts %v done %v: forged values must count once under %q", c.CallbackAttempts, c.CallbacksDone, OtherKey)
	}
	r := a.Attention(t0, now, 0, true)
	if len(r) != 1 || r[0].CallbackState == nil {
		t.Fatalf("attention %+v, want c1 with its state", r)
	}
	if cb := r[0].CallbackState; len([]rune(cb.By)) > maxNote || len([]rune(cb.Note)) > maxNote {
		t.Errorf("kept a name of %d and a note of %d characters, want at most %d", len([]rune(cb.By)), len([]rune(cb.Note)), maxNote)
	}
	// A forged reason is kept as "other", which the board words as a
	// plain end (web's TestCallbackWords).
	if cb := r[0].CallbackState; cb.Status != CallbackDone || cb.Done != OtherKey {
		t.Errorf("a forged reason is kept as %q (status %q), want %q, done", cb.Done, cb.Status, OtherKey)
	}

	bad := ev(t, events.TypeOperatorAnswered, "own-x", "+6281234500030", t0.Add(time.Minute), events.OperatorAnswered{CallbackOf: "../../console"})
	if _, err := a.Apply(bad, 0); err == nil {
		t.Error("a callback_of outside the call id alphabet was applied")
	}
}
