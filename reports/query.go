package reports

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// Queries: the statistics of a range, the calls in memory, repeat callers,
// numbers blocked now and the lifetime counters. Each takes the lock once
// and copies what it returns.

// numberSuffixes returns the digit strings a stored number may end with to
// match the filter q: q's own digits (a masked "7890" or a whole E.164
// number) and, when q reads as a whole number in another form ("0812...",
// "0062812..."), the digits of its E.164 form. Both are tried because a
// short suffix starting with 0 ("0003") would otherwise be taken for a
// national number. Nil means no number filter.
func (a *Aggregator) numberSuffixes(q string) []string {
	d := digits(q)
	if d == "" {
		return nil
	}
	out := []string{d}
	if n, err := phone.Normalize(q, a.country); err == nil && !n.IsAnonymous() {
		if e := digits(n.E164); e != d {
			out = append(out, e)
		}
	}
	return out
}

// hourStart is the start of t's local hour. It works on the zone offset, so
// zones with half-hour offsets get local hours too.
func (a *Aggregator) hourStart(t time.Time) time.Time {
	_, off := t.In(a.loc).Zone()
	d := time.Duration(off) * time.Second
	return t.Add(d).Truncate(time.Hour).Add(-d).In(a.loc)
}

// dayStart is local midnight of t's day.
func (a *Aggregator) dayStart(t time.Time) time.Time {
	l := t.In(a.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, a.loc)
}

// BucketStart returns the start of the bucket holding t.
func (a *Aggregator) BucketStart(t time.Time, size BucketSize) time.Time {
	if size == Day {
		return a.dayStart(t)
	}
	return a.hourStart(t)
}

// NextBucket returns the start of the bucket after the one starting at s.
func (a *Aggregator) NextBucket(s time.Time, size BucketSize) time.Time {
	if size == Day {
		return time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, a.loc)
	}
	return a.hourStart(s.Add(time.Hour + time.Minute))
}

// Stats returns the buckets of the given size covering [from, to): from is
// rounded down and to up to bucket edges, and every bucket is listed, empty
// or not, so charts get a continuous axis.
func (a *Aggregator) Stats(from, to time.Time, size BucketSize) (Stats, error) {
	if size != Hour && size != Day {
		return Stats{}, ErrBucket
	}
	if !to.After(from) {
		return Stats{}, fmt.Errorf("%w: to must be after from", ErrRange)
	}
	start := a.BucketStart(from, size)
	var edges []time.Time
	for s := start; s.Before(to); s = a.NextBucket(s, size) {
		if len(edges) == MaxBuckets {
			return Stats{}, fmt.Errorf("%w: more than %d %s buckets", ErrRange, MaxBuckets, size)
		}
		edges = append(edges, s)
	}
	end := a.NextBucket(edges[len(edges)-1], size)
	edges = append(edges, end)

	accs := make([]*acc, len(edges)-1)
	for i := range accs {
		accs[i] = newAcc()
	}
	total := newAcc()

	a.mu.Lock()
	for k, b := range a.buckets {
		t := time.Unix(k, 0)
		if t.Before(start) || !t.Before(end) {
			continue
		}
		i, _ := slices.BinarySearchFunc(edges, t, func(e, t time.Time) int { return e.Compare(t) })
		if i == len(edges) || !edges[i].Equal(t) {
			i-- // t is inside bucket i-1
		}
		accs[i].add(b)
		total.add(b)
	}
	// Calls still waiting count in their hour's answer shares once their
	// wait is over a threshold (queue.go).
	a.waitingInRange(a.now(), func(key int64) []*acc {
		t := time.Unix(key, 0)
		if t.Before(start) || !t.Before(end) {
			return nil
		}
		i, _ := slices.BinarySearchFunc(edges, t, func(e, t time.Time) int { return e.Compare(t) })
		if i == len(edges) || !edges[i].Equal(t) {
			i--
		}
		return []*acc{accs[i], total}
	})
	a.mu.Unlock()

	st := Stats{From: start, To: end, Bucket: size, TimeZone: a.loc.String(), Buckets: make([]Bucket, len(accs))}
	for i, c := range accs {
		st.Buckets[i] = c.result(edges[i], edges[i+1])
	}
	st.Totals = total.result(start, end)
	return st, nil
}

// acc merges hour buckets.
type acc struct {
	b   bucket
	ttc hist
}

func newAcc() *acc {
	nb := newBucket(time.Time{})
	nb.stp = newHist()
	return &acc{b: *nb, ttc: newHist()}
}

func (c *acc) add(b *bucket) {
	c.b.calls += b.calls
	c.b.prank += b.prank
	c.b.putThrough += b.putThrough
	c.b.blocked += b.blocked
	c.b.overrides += b.overrides
	c.b.callbacks += b.callbacks
	for k, v := range b.outcomes {
		c.b.outcomes[boundedKey(c.b.outcomes, k)] += v
	}
	for k, v := range b.types {
		c.b.types[boundedKey(c.b.types, k)] += v
	}
	for k, v := range b.nodes {
		n := c.b.node(k)
		n.Calls += v.Calls
		n.PutThrough += v.PutThrough
		n.Prank += v.Prank
		n.Blocked += v.Blocked
	}
	c.ttc.merge(b.ttc)
	c.b.queue.merge(b.queue)
	c.b.stp.merge(b.stp)
	c.b.stpMax = math.Max(c.b.stpMax, b.stpMax)
	c.b.cb.merge(b.cb)
}

func (c *acc) result(start, end time.Time) Bucket {
	out := Bucket{
		Start: start, End: end, Calls: c.b.calls, Prank: c.b.prank, PutThrough: c.b.putThrough,
		Blocked: c.b.blocked, Overrides: c.b.overrides, Callbacks: c.b.callbacks,
		Outcomes: make(map[string]int64, len(events.AllOutcomes)+1), Types: c.b.types,
		Nodes: make(map[string]NodeStats, len(c.b.nodes)), Classified: int64(c.ttc.n),
		ClassifyMedian: round2(c.ttc.quantile(0.5)), ClassifyP90: round2(c.ttc.quantile(0.9)),
		QueueStats: queueResult(c.b.queue, c.b.stp, c.b.stpMax),
	}
	// Every known outcome is listed, zero or not, so clients can rely on the keys.
	var known int64
	for _, o := range events.AllOutcomes {
		out.Outcomes[string(o)] = 0
	}
	for k, v := range c.b.outcomes {
		out.Outcomes[k] = v
		known += v
	}
	out.Outcomes[OutcomeInProgress] = c.b.calls - known
	for k, v := range c.b.nodes {
		out.Nodes[k] = *v
	}
	if c.b.calls > 0 {
		out.PrankRatio = math.Round(float64(c.b.prank)/float64(c.b.calls)*10000) / 10000
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Calls returns the calls in memory that match f, newest first.
func (a *Aggregator) Calls(f CallFilter) []CallRecord {
	want := a.numberSuffixes(f.Number)
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []CallRecord
	n := len(a.ring)
	for i := n - 1; i >= 0; i-- {
		cs := a.calls[a.ring[(a.ringHead+i)%n]]
		if cs == nil {
			continue
		}
		r := cs.rec
		switch {
		case !f.From.IsZero() && r.Started.Before(f.From),
			!f.To.IsZero() && !r.Started.Before(f.To),
			f.Outcome != "" && !(r.Outcome == f.Outcome || f.Outcome == OutcomeInProgress && r.Outcome == ""),
			f.Type != "" && r.EmergencyType != f.Type,
			want != nil && !hasAnySuffix(digits(r.Number), want):
			continue
		}
		r = a.withCallback(cs, f.Unmasked)
		out = append(out, r)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	// The ring is in arrival order; sort by start so a late started event
	// does not misplace a call.
	slices.SortStableFunc(out, func(x, y CallRecord) int { return y.Started.Compare(x.Started) })
	return out
}

// TopCallers returns up to n numbers that called at least twice in
// [from, to) (by whole local hours), most calls first. Withheld numbers are
// not listed. Numbers are masked unless unmasked is set.
func (a *Aggregator) TopCallers(from, to time.Time, n int, unmasked bool) []RepeatCaller {
	start, end := a.hourStart(from).Unix(), to.Unix()
	sum := map[string]*numStat{}
	a.mu.Lock()
	for k, b := range a.buckets {
		if k < start || k >= end {
			continue
		}
		for num, s := range b.numbers {
			t := sum[num]
			if t == nil {
				t = &numStat{}
				sum[num] = t
			}
			t.calls += s.calls
			t.prank += s.prank
		}
	}
	a.mu.Unlock()
	out := make([]RepeatCaller, 0, len(sum))
	for num, s := range sum {
		if s.calls >= 2 {
			out = append(out, RepeatCaller{Number: num, Calls: s.calls, Prank: s.prank})
		}
	}
	slices.SortFunc(out, func(x, y RepeatCaller) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(y.Prank, x.Prank), cmp.Compare(x.Number, y.Number))
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	if !unmasked {
		for i := range out {
			out[i].Number = phone.Mask(out[i].Number)
		}
	}
	return out
}

// Blocked returns the numbers blocked at now, the latest block first.
func (a *Aggregator) Blocked(now time.Time, unmasked bool) []BlockedNumber {
	a.mu.Lock()
	out := make([]BlockedNumber, 0, len(a.blocked))
	for _, b := range a.blocked {
		if b.Until.After(now) {
			out = append(out, b)
		}
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y BlockedNumber) int {
		return cmp.Or(y.Since.Compare(x.Since), cmp.Compare(x.Number, y.Number))
	})
	if !unmasked {
		for i := range out {
			out[i].Number = phone.Mask(out[i].Number)
		}
	}
	return out
}

// Active returns how many calls in memory are in the IVR now: started, not
// ended and not handed to the operators (a handed-over call's call.ended
// comes at the end of the whole call; Queue counts those waiting),
// ignoring calls silent for more than an hour before now.
func (a *Aggregator) Active(now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, cs := range a.calls {
		if cs.rec.Ended.IsZero() && cs.rec.Queue == "" && now.Sub(cs.last) < activeTimeout {
			n++
		}
	}
	return n
}

// Counters returns a copy of the lifetime counters.
func (a *Aggregator) Counters() Counters {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.counters
	c.Calls = make(map[OutcomeType]uint64, len(a.counters.Calls))
	for k, v := range a.counters.Calls {
		c.Calls[k] = v
	}
	c.ClassifyBuckets = slices.Clone(a.counters.ClassifyBuckets)
	c.PersonBuckets = slices.Clone(a.counters.PersonBuckets)
	c.CallbackAttempts = maps.Clone(a.counters.CallbackAttempts)
	c.CallbacksDone = maps.Clone(a.counters.CallbacksDone)
	return c
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
