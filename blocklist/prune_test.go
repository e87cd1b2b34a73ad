package blocklist

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
)

func TestForgettable(t *testing.T) {
	p := testPolicy(t)
	struck, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
	blocked := Record{Number: testNumber}
	for i := range 3 {
		blocked, _ = p.ApplyOutcome(blocked, ev(i, time.Duration(i)*time.Minute), events.OutcomeNoInput, 0, "")
	}
	if !blocked.Blocked(t0.Add(3*time.Minute)) || blocked.Level != 1 {
		t.Fatalf("three strikes did not block: %+v", blocked)
	}
	manual, _, err := p.AddManual(Record{Number: testNumber}, t0, time.Hour, "", "budi")
	if err != nil {
		t.Fatal(err)
	}
	cleared, _ := p.ApplyVerdict(struck, ev(2, time.Minute), "genuine", "sari")
	w := p.Window
	tests := []struct {
		name string
		r    Record
		at   time.Time
		want bool
	}{
		{"struck once, a window later", struck, t0.Add(w), true},
		{"struck once, inside the window", struck, t0.Add(w - time.Second), false},
		{"blocked automatically, long after", blocked, t0.Add(30 * 24 * time.Hour), false},
		{"manual block in force", manual, t0.Add(30 * time.Minute), false},
		{"manual block ended, a window after the change", manual, t0.Add(w), true},
		{"strikes cleared by a verdict, inside the window", cleared, t0.Add(w), false},
		{"strikes cleared by a verdict, a window after it", cleared, t0.Add(time.Minute + w), true},
		{"empty record", Record{Number: testNumber}, t0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Forgettable(tc.r, tc.at); got != tc.want {
				t.Fatalf("Forgettable = %v, want %v (record %+v)", got, tc.want, tc.r)
			}
		})
	}
}

// TestPrune writes records of every kind to a real bucket and sweeps it a
// window later: only the forgettable ones go, and a number forgotten can
// be struck again.
func TestPrune(t *testing.T) {
	s, stream := pruneWorld(t)
	ctx := ctxT(t)
	p := s.policy
	start := time.Now()
	strike := func(number string, n int, at time.Time) {
		t.Helper()
		for i := range n {
			e := Event{ID: fmt.Sprintf("%s-%d-%d", number, at.UnixNano(), i), CallID: fmt.Sprintf("c-%s-%d", number, i), At: at.Add(time.Duration(i) * time.Second)}
			if _, _, err := s.Update(ctx, number, func(r Record) (Record, Decision, error) {
				r, d := p.ApplyOutcome(r, e, events.OutcomeNoInput, 0, "")
				return r, d, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const (
		once     = "+6281100000001"
		twice    = "+6281100000002"
		blocked  = "+6281100000003"
		recent   = "+6281100000004"
		adminBlk = "+6281100000005"
	)
	strike(once, 1, start)
	strike(twice, 2, start)
	strike(blocked, 3, start)
	strike(recent, 1, start.Add(p.Window-time.Minute))
	s.now = func() time.Time { return start }
	if _, _, err := s.Add(ctx, adminBlk, 365*24*time.Hour, "abusive", "budi"); err != nil {
		t.Fatal(err)
	}
	// Nothing is forgettable yet.
	st, err := s.Prune(ctx, stream)
	if err != nil || st.Records != 5 || st.Forgotten != 0 {
		t.Fatalf("first sweep: %+v, %v", st, err)
	}

	s.now = func() time.Time { return start.Add(p.Window + time.Minute) }
	st, err = s.Prune(ctx, stream)
	if err != nil || st.Records != 5 || st.Forgotten != 2 {
		t.Fatalf("sweep a window later: %+v, %v; want 2 of 5 forgotten", st, err)
	}
	for number, want := range map[string]bool{once: false, twice: false, blocked: true, recent: true, adminBlk: true} {
		_, err := s.Get(ctx, number)
		if got := err == nil; got != want {
			t.Errorf("%s kept = %v, want %v (%v)", number, got, want, err)
		}
		if !want && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get = %v, want ErrNotFound", number, err)
		}
	}
	recs, err := s.List(ctx)
	if err != nil || len(recs) != 3 {
		t.Fatalf("List after the sweep: %d records, %v", len(recs), err)
	}
	// A forgotten number starts afresh.
	strike(once, 1, start.Add(p.Window+2*time.Minute))
	r, err := s.Get(ctx, once)
	if err != nil || len(r.Strikes) != 1 || r.Level != 0 {
		t.Fatalf("struck again after being forgotten: %+v, %v", r, err)
	}
}

// TestForgetKeepsNewerRevision: a record judged forgettable and written
// again before the purge keeps the newer write.
func TestForgetKeepsNewerRevision(t *testing.T) {
	s, stream := pruneWorld(t)
	ctx := ctxT(t)
	key, _ := Key(testNumber)
	write := func(id string) uint64 {
		t.Helper()
		if _, _, err := s.Update(ctx, testNumber, func(r Record) (Record, Decision, error) {
			r, d := s.policy.ApplyOutcome(r, Event{ID: id, CallID: id, At: time.Now()}, events.OutcomeNoInput, 0, "")
			return r, d, nil
		}); err != nil {
			t.Fatal(err)
		}
		e, err := s.kv.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return e.Revision()
	}
	old := write("first")
	newer := write("second")
	if err := s.forget(ctx, stream, key, old); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(ctx, testNumber)
	if err != nil || len(r.Strikes) != 2 {
		t.Fatalf("after purging the old revision: %+v, %v; want the newer record with 2 strikes", r, err)
	}
	if e, _ := s.kv.Get(ctx, key); e == nil || e.Revision() != newer {
		t.Fatalf("revision changed by the purge")
	}
	if err := s.forget(ctx, stream, key, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, testNumber); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after purging the latest revision: %v, want ErrNotFound", err)
	}
}

// pruneWorld is a store on a real bucket and the bucket's stream.
func pruneWorld(t *testing.T) (*Store, jetstream.Stream) {
	t.Helper()
	_, js := connect(t, startNATS(t))
	s := newTestStore(t, js, testPolicy(t))
	stream, err := js.Stream(ctxT(t), "KV_"+Bucket)
	if err != nil {
		t.Fatal(err)
	}
	return s, stream
}
