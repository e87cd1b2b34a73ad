package reports

import (
	"fmt"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// TestBucketNumbersBounded: an hour of three times maxBucketNumbers
// one-off callers keeps at most maxBucketNumbers numbers, and a number
// that calls all through that hour is still a repeat caller with every
// one of its calls.
func TestBucketNumbersBounded(t *testing.T) {
	a := NewAggregator(Options{})
	const repeat = "+6281200000001"
	calls := 3 * maxBucketNumbers
	wantRepeat := int64(0)
	for i := range calls {
		number := fmt.Sprintf("+62813%08d", i)
		if i%100 == 0 {
			number = repeat
			wantRepeat++
		}
		// All within the hour of t0.
		at := t0.Add(time.Duration(i) * time.Hour / time.Duration(calls+1))
		e := ev(t, events.TypeStarted, fmt.Sprint("c", i), number, at, events.Started{Dialed: "112", Channel: fmt.Sprint("PJSIP/x-", i)})
		if _, err := a.Apply(e, uint64(i+1)); err != nil {
			t.Fatalf("apply call %d: %v", i, err)
		}
	}
	a.mu.Lock()
	b := a.buckets[t0.Unix()]
	kept := -1
	if b != nil {
		kept = len(b.numbers)
	}
	a.mu.Unlock()
	if kept < 0 || kept > maxBucketNumbers {
		t.Fatalf("the hour keeps %d numbers after %d one-off callers, want at most %d", kept, calls, maxBucketNumbers)
	}
	top := a.TopCallers(t0, t0.Add(time.Hour), 10, true)
	if len(top) != 1 || top[0].Number != repeat || top[0].Calls != wantRepeat {
		t.Fatalf("TopCallers = %+v, want only %s with %d calls", top, repeat, wantRepeat)
	}
}
