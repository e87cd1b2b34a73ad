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

// TestExpiredBlocksDropped: blocks that ran out are forgotten when the
// next block comes (a block's end is never announced), so a day of
// short blocks of one-off numbers leaves only the blocks still running.
func TestExpiredBlocksDropped(t *testing.T) {
	a := NewAggregator(Options{})
	block := func(i int, number string, at time.Time, length time.Duration) {
		t.Helper()
		until := at.Add(length)
		e := ev(t, events.TypeBlocklistChanged, "", "", at, events.BlocklistChanged{Number: number, Until: &until, Strikes: 3, Reason: "strikes"})
		if _, err := a.Apply(e, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	const long = "+6281100000001"
	block(0, long, t0, 48*time.Hour)
	const n = 1000
	for i := 1; i <= n; i++ {
		block(i, fmt.Sprintf("+62813%08d", i), t0.Add(time.Duration(i)*time.Minute), 30*time.Second)
	}
	a.mu.Lock()
	_, kept := a.blocked[long]
	held := len(a.blocked)
	a.mu.Unlock()
	if held != 2 || !kept {
		t.Fatalf("after %d short blocks a minute apart the aggregator holds %d blocked numbers (the 48 h block kept: %v), want 2: the running 48 h block and the latest", n, held, kept)
	}
}
