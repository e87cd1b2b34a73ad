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

// TestCallbackWaitsInTheQueueGauge: a caller called back and put through
// waits in the operators' queue like any caller, so the queue gauge
// (waiting now, by type, the longest wait) counts them until an operator
// answers, they hang up there, or the call ends; the call figures still
// do not count the call-back as a call.
func TestCallbackWaitsInTheQueueGauge(t *testing.T) {
	drop := t0
	put := drop.Add(40 * time.Second)
	for _, tc := range []struct {
		name string
		// then is the call-back's own call's event after its hand-off
		// ("" for none yet).
		then       events.Type
		want       int
		wantLonger float64
	}{
		{"waiting", "", 1, 20},
		{"answered", events.TypeOperatorAnswered, 0, 0},
		{"hung up in the queue", events.TypeQueueAbandoned, 0, 0},
		{"ended", events.TypeEnded, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := put.Add(20 * time.Second)
			a := NewAggregator(Options{Location: wita, EmergencyTypes: []string{"fire", "medical"}, Now: func() time.Time { return now }})
			s := &cbScript{T: t}
			s.Dropped("d1", "+6281234500040", drop)
			s.Scheduled("d1", "+6281234500040", drop.Add(5*time.Second), drop.Add(35*time.Second))
			s.Attempt("d1", "+6281234500040", put, 1, events.CallbackPutThrough, time.Time{}, "own-1")
			s.Own(events.TypeTransferred, "own-1", "d1", "+6281234500040", put)
			if tc.then != "" {
				s.Own(tc.then, "own-1", "d1", "+6281234500040", put.Add(10*time.Second))
			}
			applyAll(t, a, s.Events)
			q := a.Queue(now, false)
			if q.Waiting != tc.want || q.ByType["fire"] != tc.want {
				t.Errorf("waiting %d (fire %d), want %d", q.Waiting, q.ByType["fire"], tc.want)
			}
			switch {
			case tc.want == 0 && q.LongestWaitS != nil:
				t.Errorf("longest wait %v, want none", *q.LongestWaitS)
			case tc.want > 0 && (q.LongestWaitS == nil || *q.LongestWaitS != tc.wantLonger):
				t.Errorf("longest wait %v, want %v s (since the call-back's hand-off)", q.LongestWaitS, tc.wantLonger)
			}
			st, err := a.Stats(drop.Add(-time.Hour), now.Add(time.Hour), Hour)
			if err != nil {
				t.Fatal(err)
			}
			if st.Totals.Calls != 1 {
				t.Errorf("calls %d, want 1: a call-back is not a call", st.Totals.Calls)
			}
		})
	}
}
