package reports

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

func mustStats(t *testing.T, a *Aggregator, from, to time.Time, size BucketSize) Stats {
	t.Helper()
	st, err := a.Stats(from, to, size)
	if err != nil {
		t.Fatalf("Stats(%s, %s, %s): %v", from, to, size, err)
	}
	return st
}

func TestEveryOutcome(t *testing.T) {
	tests := []struct {
		outcome    events.Outcome
		typ        string
		transfer   bool
		blocked    bool
		prank      int64
		putThrough int64
		overrides  int64
	}{
		{events.OutcomeEmergency, "fire", true, false, 0, 1, 0},
		{events.OutcomeVoice, "operator", true, false, 0, 1, 0},
		{events.OutcomeSilentHelp, "operator", true, false, 0, 1, 0},
		{events.OutcomeNoInput, "", false, false, 1, 0, 0},
		{events.OutcomeAbandoned, "", false, false, 1, 0, 0},
		{events.OutcomeInvalid, "", false, false, 1, 0, 0},
		{events.OutcomeBlocked, "", false, true, 0, 0, 0},
		{events.OutcomeBlockedOverride, "medical", true, true, 0, 1, 1},
		{events.OutcomeFailover, "operator", true, false, 0, 1, 0},
	}
	all := NewAggregator(Options{})
	var wantPrank, wantCalls int64
	for i, tc := range tests {
		t.Run(string(tc.outcome), func(t *testing.T) {
			a := NewAggregator(Options{})
			c := callSpec{id: "c-" + string(tc.outcome), number: "+6281100000001", at: t0.Add(5 * time.Minute),
				outcome: tc.outcome, typ: tc.typ, ttc: 4, transfer: tc.transfer, blocked: tc.blocked}
			evs := callEvents(t, c)
			applyAll(t, a, evs)
			applyAll(t, all, evs)
			st := mustStats(t, a, t0, t0.Add(time.Hour), Hour)
			got := st.Totals
			if got.Calls != 1 || got.Outcomes[string(tc.outcome)] != 1 || got.Outcomes[OutcomeInProgress] != 0 {
				t.Fatalf("calls=%d outcomes=%v, want 1 call with outcome %s", got.Calls, got.Outcomes, tc.outcome)
			}
			if got.Prank != tc.prank || got.PutThrough != tc.putThrough || got.Overrides != tc.overrides {
				t.Errorf("prank=%d put_through=%d overrides=%d, want %d %d %d", got.Prank, got.PutThrough, got.Overrides, tc.prank, tc.putThrough, tc.overrides)
			}
			wantBlocked := int64(0)
			if tc.blocked {
				wantBlocked = 1
			}
			if got.Blocked != wantBlocked {
				t.Errorf("blocked=%d, want %d", got.Blocked, wantBlocked)
			}
			if tc.typ != "" && got.Types[tc.typ] != 1 {
				t.Errorf("types=%v, want %s=1", got.Types, tc.typ)
			}
			if got.PrankRatio != float64(tc.prank) {
				t.Errorf("prank_ratio=%v, want %v", got.PrankRatio, float64(tc.prank))
			}
			recs := a.Calls(CallFilter{Unmasked: true})
			if len(recs) != 1 || recs[0].Outcome != string(tc.outcome) || recs[0].Transferred != tc.transfer || recs[0].Blocked != tc.blocked {
				t.Errorf("record = %+v", recs)
			}
			wantPrank += tc.prank
			wantCalls++
			_ = i
		})
	}
	got := mustStats(t, all, t0, t0.Add(time.Hour), Hour).Totals
	if got.Calls != wantCalls || got.Prank != wantPrank {
		t.Fatalf("all outcomes: calls=%d prank=%d, want %d %d", got.Calls, got.Prank, wantCalls, wantPrank)
	}
	if want := math.Round(float64(wantPrank)/float64(wantCalls)*10000) / 10000; got.PrankRatio != want {
		t.Fatalf("prank ratio %v, want %v", got.PrankRatio, want)
	}
}

func TestPrankVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		outcome  events.Outcome
		verdicts []string
		want     int64
	}{
		{"no verdict emergency", events.OutcomeEmergency, nil, 0},
		{"prank on emergency", events.OutcomeEmergency, []string{events.VerdictPrank}, 1},
		{"prank on no_input counts once", events.OutcomeNoInput, []string{events.VerdictPrank}, 1},
		{"prank twice counts once", events.OutcomeEmergency, []string{events.VerdictPrank, events.VerdictPrank}, 1},
		{"genuine clears no_input", events.OutcomeNoInput, []string{events.VerdictGenuine}, 0},
		{"prank then genuine", events.OutcomeEmergency, []string{events.VerdictPrank, events.VerdictGenuine}, 0},
		{"genuine then prank on abandoned", events.OutcomeAbandoned, []string{events.VerdictGenuine, events.VerdictPrank}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregator(Options{})
			// One other, clean call so the ratio has a denominator of 2.
			applyAll(t, a, callEvents(t, callSpec{id: "other", number: "+6281100000009", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 3, transfer: true}))
			applyAll(t, a, callEvents(t, callSpec{id: "c1", number: "+6281100000001", at: t0.Add(time.Minute), outcome: tc.outcome, ttc: 3}))
			for i, v := range tc.verdicts {
				applyAll(t, a, []events.Envelope{ev(t, events.TypeVerdict, "c1", "+6281100000001", t0.Add(time.Duration(20+i)*time.Minute), events.Verdict{Verdict: v, By: "op"})})
			}
			got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals
			if got.Prank != tc.want {
				t.Fatalf("prank = %d, want %d", got.Prank, tc.want)
			}
			if want := float64(tc.want) / 2; got.PrankRatio != want {
				t.Fatalf("prank_ratio = %v, want %v", got.PrankRatio, want)
			}
			if n := got.Nodes["asterisk-1"].Prank; n != tc.want {
				t.Fatalf("node prank = %d, want %d", n, tc.want)
			}
		})
	}
}

func TestClassifyQuantiles(t *testing.T) {
	tests := []struct {
		name        string
		samples     []float64
		median, p90 float64
	}{
		{"one to ten", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 9},
		{"single", []float64{7.5}, 7.5, 7.5},
		{"skewed", []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 40}, 2, 2},
		{"tail", []float64{3, 3, 3, 3, 3, 3, 3, 3, 30, 40}, 3, 30},
		{"sub-100ms", []float64{0.02, 0.04}, 0.05, 0.05},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregator(Options{})
			for i, s := range tc.samples {
				applyAll(t, a, callEvents(t, callSpec{id: fmt.Sprint("q", i), number: "+62811", at: t0.Add(time.Duration(i) * time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: s}))
			}
			got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals
			if got.Classified != int64(len(tc.samples)) {
				t.Fatalf("classified = %d, want %d", got.Classified, len(tc.samples))
			}
			if !within(got.ClassifyMedian, tc.median, 0.025) || !within(got.ClassifyP90, tc.p90, 0.025) {
				t.Fatalf("median=%v p90=%v, want %v %v (±2.5%%)", got.ClassifyMedian, got.ClassifyP90, tc.median, tc.p90)
			}
		})
	}
}

func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+0.006 // + rounding to 0.01
}

// TestHistogramError checks the documented bound against exact nearest-rank
// quantiles of random samples.
func TestHistogramError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		h := newHist()
		n := 1 + r.IntN(500)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = histMin * math.Exp(r.Float64()*math.Log(histMax/histMin))
			h.add(xs[i])
		}
		slices.Sort(xs)
		for _, q := range []float64{0.5, 0.9, 0.99} {
			exact := xs[int(math.Ceil(q*float64(n)))-1]
			if got := h.quantile(q); math.Abs(got-exact)/exact > (histGamma-1)/(histGamma+1)+1e-9 {
				t.Fatalf("trial %d n=%d q=%v: got %v, exact %v", trial, n, q, got, exact)
			}
		}
	}
}

func TestBucketEdges(t *testing.T) {
	wita := time.FixedZone("WITA", 8*3600)
	ist := time.FixedZone("IST", 5*3600+1800)
	tests := []struct {
		name   string
		loc    *time.Location
		size   BucketSize
		calls  []time.Time
		from   time.Time
		to     time.Time
		counts []int64
	}{
		{"hour edge UTC", time.UTC, Hour,
			[]time.Time{t0.Add(-time.Nanosecond), t0, t0.Add(59*time.Minute + 59*time.Second), t0.Add(time.Hour)},
			t0.Add(-time.Hour), t0.Add(2 * time.Hour), []int64{1, 2, 1}},
		{"day edge WITA", wita, Day,
			// 15:59:59 UTC is 23:59:59 WITA; 16:00 UTC is the next local day.
			[]time.Time{time.Date(2026, 11, 27, 15, 59, 59, 0, time.UTC), time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)},
			time.Date(2026, 11, 27, 0, 0, 0, 0, wita), time.Date(2026, 11, 29, 0, 0, 0, 0, wita), []int64{2, 1}},
		{"half-hour zone hours", ist, Hour,
			// 04:29 UTC = 09:59 IST, 04:30 UTC = 10:00 IST.
			[]time.Time{time.Date(2026, 11, 27, 4, 29, 0, 0, time.UTC), time.Date(2026, 11, 27, 4, 30, 0, 0, time.UTC)},
			time.Date(2026, 11, 27, 9, 0, 0, 0, ist), time.Date(2026, 11, 27, 11, 0, 0, 0, ist), []int64{1, 1}},
		{"from rounded down, to rounded up", time.UTC, Hour,
			[]time.Time{t0.Add(10 * time.Minute), t0.Add(70 * time.Minute)},
			t0.Add(30 * time.Minute), t0.Add(61 * time.Minute), []int64{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregator(Options{Location: tc.loc})
			for i, at := range tc.calls {
				applyAll(t, a, callEvents(t, callSpec{id: fmt.Sprint("e", i), number: "+62811", at: at, outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
			}
			st := mustStats(t, a, tc.from, tc.to, tc.size)
			var got []int64
			for _, b := range st.Buckets {
				got = append(got, b.Calls)
				if !b.Start.Equal(a.BucketStart(b.Start, tc.size)) {
					t.Errorf("bucket start %s is not on a %s edge", b.Start, tc.size)
				}
			}
			if !slices.Equal(got, tc.counts) {
				t.Fatalf("bucket calls = %v, want %v (buckets from %s)", got, tc.counts, st.From)
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	evs := callEvents(t, callSpec{id: "d1", number: "+62811", at: t0, outcome: events.OutcomeNoInput, ttc: 16})
	evs = append(evs, ev(t, events.TypeVerdict, "d1", "+62811", t0.Add(time.Minute), events.Verdict{Verdict: events.VerdictPrank}))
	once := NewAggregator(Options{})
	applyAll(t, once, evs)
	twice := NewAggregator(Options{})
	applyAll(t, twice, evs)
	for i, e := range evs {
		applied, err := twice.Apply(e, uint64(i+1))
		if err != nil || applied {
			t.Fatalf("redelivered %s: applied=%v err=%v, want false nil", e.Type, applied, err)
		}
	}
	a := mustStats(t, once, t0, t0.Add(time.Hour), Hour)
	b := mustStats(t, twice, t0, t0.Add(time.Hour), Hour)
	if a.Totals.Calls != 1 || b.Totals.Calls != 1 || a.Totals.Prank != b.Totals.Prank || a.Totals.Classified != b.Totals.Classified {
		t.Fatalf("once %+v\ntwice %+v", a.Totals, b.Totals)
	}
	if c := twice.Counters(); c.Duplicates != uint64(len(evs)) || c.Events != uint64(len(evs)) {
		t.Fatalf("counters events=%d duplicates=%d, want %d each", c.Events, c.Duplicates, len(evs))
	}

	// With a tiny id window the oldest id is forgotten, as documented.
	small := NewAggregator(Options{DedupeIDs: 2})
	applyAll(t, small, evs[:3])
	if applied, _ := small.Apply(evs[0], 0); !applied {
		t.Fatal("id outside the dedupe window was still remembered")
	}
}

func TestOutOfOrderAndMalformed(t *testing.T) {
	evs := callEvents(t, callSpec{id: "o1", number: "+62811", at: t0, outcome: events.OutcomeEmergency, typ: "police", ttc: 6, transfer: true})
	slices.Reverse(evs)
	a := NewAggregator(Options{})
	applyAll(t, a, evs)
	got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals
	if got.Calls != 1 || got.Outcomes["emergency"] != 1 || got.Types["police"] != 1 || got.PutThrough != 1 {
		t.Fatalf("reversed events: %+v", got)
	}
	if rec := a.Calls(CallFilter{}); len(rec) != 1 || !rec[0].Started.Equal(t0) {
		t.Fatalf("record started %v, want %v", rec, t0)
	}

	bad := ev(t, events.TypeClassified, "o2", "+62811", t0, nil)
	bad.Data = []byte(`{"outcome": 5}`)
	noCall := ev(t, events.TypeStarted, "", "+62811", t0, events.Started{})
	for _, e := range []events.Envelope{bad, noCall} {
		if _, err := a.Apply(e, 0); !errors.Is(err, events.ErrMalformed) {
			t.Fatalf("Apply(%s) err = %v, want ErrMalformed", e.Type, err)
		}
	}
	if got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.Calls; got != 1 {
		t.Fatalf("malformed events changed calls to %d", got)
	}
}

func TestMasking(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+6281234567890", "****7890"},
		{"081234567890", "****7890"},
		{"1234", "****"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := phone.Mask(tc.in); got != tc.want {
				t.Fatalf("phone.Mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}

	a := NewAggregator(Options{})
	for i := range 3 {
		applyAll(t, a, callEvents(t, callSpec{id: fmt.Sprint("m", i), number: "+6281234567890", at: t0.Add(time.Duration(i) * time.Minute), outcome: events.OutcomeNoInput, ttc: 16}))
	}
	applyAll(t, a, callEvents(t, callSpec{id: "m9", number: "+6289999990001", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 2}))
	withheld := callEvents(t, callSpec{id: "w1", number: "", at: t0, outcome: events.OutcomeNoInput, ttc: 16})
	for i := range withheld {
		withheld[i].Caller.Presentation = events.PresentationRestricted
	}
	applyAll(t, a, withheld)
	applyAll(t, a, withheld[:0])

	for _, unmasked := range []bool{false, true} {
		t.Run(fmt.Sprint("unmasked=", unmasked), func(t *testing.T) {
			want := "****7890"
			if unmasked {
				want = "+6281234567890"
			}
			top := a.TopCallers(t0, t0.Add(time.Hour), 10, unmasked)
			if len(top) != 1 || top[0].Number != want || top[0].Calls != 3 || top[0].Prank != 3 {
				t.Fatalf("TopCallers = %+v, want one %s with 3 calls, 3 prank", top, want)
			}
			calls := a.Calls(CallFilter{Number: "7890", Unmasked: unmasked})
			if len(calls) != 3 {
				t.Fatalf("Calls(number 7890) = %d, want 3", len(calls))
			}
			for _, c := range calls {
				if c.Number != want {
					t.Fatalf("number %q, want %q", c.Number, want)
				}
			}
		})
	}
}

func TestCallsFilterAndRing(t *testing.T) {
	a := NewAggregator(Options{RecentCalls: 4})
	outcomes := []events.Outcome{events.OutcomeEmergency, events.OutcomeNoInput, events.OutcomeEmergency, events.OutcomeInvalid, events.OutcomeEmergency, events.OutcomeNoInput}
	for i, o := range outcomes {
		typ := ""
		if o == events.OutcomeEmergency {
			typ = []string{"fire", "medical"}[i%2]
		}
		applyAll(t, a, callEvents(t, callSpec{id: fmt.Sprint("r", i), number: fmt.Sprintf("+628110000%04d", i), at: t0.Add(time.Duration(i) * time.Minute), outcome: o, typ: typ, ttc: 3}))
	}
	// The two oldest calls left the ring; the hour still counts all six.
	if got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.Calls; got != 6 {
		t.Fatalf("calls = %d, want 6", got)
	}
	ids := func(rs []CallRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.CallID)
		}
		return out
	}
	tests := []struct {
		name string
		f    CallFilter
		want []string
	}{
		{"all newest first", CallFilter{}, []string{"r5", "r4", "r3", "r2"}},
		{"limit", CallFilter{Limit: 2}, []string{"r5", "r4"}},
		{"outcome", CallFilter{Outcome: "emergency"}, []string{"r4", "r2"}},
		{"type", CallFilter{Type: "fire"}, []string{"r4", "r2"}},
		{"from to", CallFilter{From: t0.Add(3 * time.Minute), To: t0.Add(5 * time.Minute)}, []string{"r4", "r3"}},
		{"number", CallFilter{Number: "0003"}, []string{"r3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(a.Calls(tc.f)); !slices.Equal(got, tc.want) {
				t.Fatalf("Calls = %v, want %v", got, tc.want)
			}
		})
	}
	// A verdict on an evicted call is not applied and is counted as orphan.
	applyAll(t, a, []events.Envelope{ev(t, events.TypeVerdict, "r0", "+6281100000000", t0.Add(time.Hour), events.Verdict{Verdict: events.VerdictPrank})})
	if c := a.Counters(); c.Orphans != 1 {
		t.Fatalf("orphans = %d, want 1", c.Orphans)
	}
	if got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.Prank; got != 3 {
		t.Fatalf("prank = %d, want 3 (orphan verdict ignored)", got)
	}
}

func TestRetention(t *testing.T) {
	// The clock moves on to the newest call: retention is cut from it.
	now := t0
	a := NewAggregator(Options{Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	applyAll(t, a, callEvents(t, callSpec{id: "old", number: "+62811", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	now = t0.Add(72 * time.Hour)
	applyAll(t, a, callEvents(t, callSpec{id: "new", number: "+62811", at: t0.Add(72 * time.Hour), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	// An event for an hour already past retention is not counted.
	applyAll(t, a, callEvents(t, callSpec{id: "late", number: "+62811", at: t0.Add(time.Hour), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3}))
	st := mustStats(t, a, t0, t0.Add(73*time.Hour), Day)
	if st.Totals.Calls != 1 {
		t.Fatalf("calls over retention = %d, want 1", st.Totals.Calls)
	}
	a.mu.Lock()
	n := len(a.buckets)
	a.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d hour buckets kept, want 1", n)
	}
}

func TestBlockedNumbers(t *testing.T) {
	a := NewAggregator(Options{})
	until := func(d time.Duration) *time.Time { u := t0.Add(d); return &u }
	blk := func(at time.Duration, number string, u *time.Time, reason string) events.Envelope {
		e := ev(t, events.TypeBlocklistChanged, "", "", t0.Add(at), events.BlocklistChanged{Number: number, Until: u, Strikes: 3, Reason: reason})
		return e
	}
	applyAll(t, a, []events.Envelope{
		blk(0, "+6281100000001", until(time.Hour), "strikes"),
		blk(time.Minute, "+6281100000002", until(6*time.Hour), "manual"),
		blk(2*time.Minute, "+6281100000003", until(time.Hour), "strikes"),
		blk(3*time.Minute, "+6281100000003", nil, "lifted"),
		blk(4*time.Minute, "+6281100000001", until(2*time.Hour), "extended"),
	})
	tests := []struct {
		name string
		now  time.Time
		want []string
	}{
		{"both", t0.Add(10 * time.Minute), []string{"+6281100000002", "+6281100000001"}},
		{"first expired", t0.Add(3 * time.Hour), []string{"+6281100000002"}},
		{"all expired", t0.Add(7 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, b := range a.Blocked(tc.now, true) {
				got = append(got, b.Number)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Blocked = %v, want %v", got, tc.want)
			}
		})
	}
	if b := a.Blocked(t0, false); len(b) != 2 || b[0].Number != "****0002" {
		t.Fatalf("masked Blocked = %+v", b)
	}
	if got := mustStats(t, a, t0, t0.Add(time.Hour), Hour).Totals.Calls; got != 0 {
		t.Fatalf("blocklist events counted as %d calls", got)
	}
}

func TestActiveAndCounters(t *testing.T) {
	a := NewAggregator(Options{})
	evs := callEvents(t, callSpec{id: "a1", number: "+62811", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 4, transfer: true})
	applyAll(t, a, evs[:2]) // started, answered
	if n := a.Active(t0.Add(time.Minute)); n != 1 {
		t.Fatalf("active = %d, want 1", n)
	}
	if n := a.Active(t0.Add(2 * time.Hour)); n != 0 {
		t.Fatalf("active after an hour of silence = %d, want 0", n)
	}
	applyAll(t, a, evs[2:])
	if n := a.Active(t0.Add(time.Minute)); n != 0 {
		t.Fatalf("active after end = %d, want 0", n)
	}
	c := a.Counters()
	if c.Calls[OutcomeType{"emergency", "fire"}] != 1 || c.ClassifyCount != 1 || c.ClassifySum != 4 {
		t.Fatalf("counters = %+v", c)
	}
	// 4 s falls in the 5 s bucket and above (cumulative), not in ≤3 s.
	if c.ClassifyBuckets[2] != 0 || c.ClassifyBuckets[3] != 1 || c.ClassifyBuckets[len(c.ClassifyBuckets)-1] != 1 {
		t.Fatalf("classify buckets = %v", c.ClassifyBuckets)
	}
}

func TestStatsErrors(t *testing.T) {
	a := NewAggregator(Options{})
	tests := []struct {
		name     string
		from, to time.Time
		size     BucketSize
		want     error
	}{
		{"bad bucket", t0, t0.Add(time.Hour), "week", ErrBucket},
		{"empty range", t0, t0, Hour, ErrRange},
		{"reversed", t0, t0.Add(-time.Hour), Hour, ErrRange},
		{"too many buckets", t0, t0.Add(200 * 24 * time.Hour), Hour, ErrRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := a.Stats(tc.from, tc.to, tc.size); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	evs := demoCalls(b, t0)
	b.ReportAllocs()
	b.ResetTimer()
	a := NewAggregator(Options{})
	for i := 0; i < b.N; i++ {
		e := evs[i%len(evs)]
		e.ID = fmt.Sprint(i)
		e.CallID = fmt.Sprint(e.CallID, "-", i/len(evs))
		if _, err := a.Apply(e, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStats30Days is one dashboard query over 30 days by day, with 90
// days of hourly buckets (20 calls an hour) in memory.
func BenchmarkStats30Days(b *testing.B) {
	a := NewAggregator(Options{})
	start := t0.Add(-90 * 24 * time.Hour)
	for h := range 90 * 24 {
		for i := range 20 {
			applyAll(b, a, callEvents(b, callSpec{id: fmt.Sprint(h, "-", i), number: fmt.Sprintf("+62811%05d", (h*20+i)%3000),
				at: start.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: float64(2 + i%9)}))
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Stats(t0.Add(-30*24*time.Hour), t0, Day); err != nil {
			b.Fatal(err)
		}
		_ = a.TopCallers(t0.Add(-30*24*time.Hour), t0, 10, false)
	}
}

// TestNumberForms: one caller presented in several forms is one caller, for
// the top callers and for the number filter, and withheld callers never
// become repeat callers.
func TestNumberForms(t *testing.T) {
	const e164 = "+6281100000001"
	forms := []string{e164, "081100000001", "6281100000001", "0062 811-0000-0001", "sip:081100000001@trunk", " +62 (811) 0000 0001 "}
	a := NewAggregator(Options{})
	for i, n := range forms {
		applyAll(t, a, callEvents(t, callSpec{id: fmt.Sprint("f", i), number: n, at: t0.Add(time.Duration(i) * time.Minute), outcome: events.OutcomeNoInput, ttc: 16}))
	}
	applyAll(t, a, callEvents(t, callSpec{id: "other", number: "081299990002", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 2}))
	// Anonymous callers, however they are presented, and a restricted
	// caller whose number the network still told us: three calls each.
	withheld := map[string]string{"anonymous": events.PresentationAllowed, "": events.PresentationAllowed,
		"Withheld": events.PresentationAllowed, "081288880003": events.PresentationRestricted}
	i := 0
	for n, pres := range withheld {
		for range 3 {
			evs := callEvents(t, callSpec{id: fmt.Sprint("w", i), number: n, at: t0.Add(time.Duration(i) * time.Second), outcome: events.OutcomeNoInput, ttc: 16})
			for j := range evs {
				evs[j].Caller.Presentation = pres
			}
			applyAll(t, a, evs)
			i++
		}
	}

	t.Run("top callers", func(t *testing.T) {
		for _, unmasked := range []bool{false, true} {
			want := []RepeatCaller{{Number: e164, Calls: int64(len(forms)), Prank: int64(len(forms))}}
			if !unmasked {
				want[0].Number = "****0001"
			}
			if got := a.TopCallers(t0, t0.Add(time.Hour), 10, unmasked); !slices.Equal(got, want) {
				t.Fatalf("TopCallers(unmasked=%v) = %+v, want %+v", unmasked, got, want)
			}
		}
	})

	t.Run("stored as E.164", func(t *testing.T) {
		// Anonymous markers leave no number; the restricted caller's number
		// is kept for the record (it is just not a repeat caller).
		got := map[string]int{}
		for _, c := range a.Calls(CallFilter{Unmasked: true}) {
			got[c.Number]++
		}
		want := map[string]int{e164: len(forms), "+6281299990002": 1, "": 9, "+6281288880003": 3}
		if !maps.Equal(got, want) {
			t.Fatalf("stored numbers %v, want %v", got, want)
		}
	})

	tests := []struct {
		name, query string
		unmasked    bool
		want        int
		wantNumber  string
	}{
		{"E.164", e164, true, len(forms), e164},
		{"national", "081100000001", true, len(forms), e164},
		{"national with separators", "0811-0000-0001", true, len(forms), e164},
		{"international without plus", "6281100000001", true, len(forms), e164},
		{"00 prefix", "0062811 0000 0001", true, len(forms), e164},
		{"without trunk prefix", "81100000001", true, len(forms), e164},
		{"last 4 digits masked", "0001", false, len(forms), "****0001"},
		{"other number", "0812 9999 0002", true, 1, "+6281299990002"},
		{"restricted caller found by admin", "081288880003", true, 3, "+6281288880003"},
		{"unknown number", "081100000009", true, 0, ""},
	}
	for _, tc := range tests {
		t.Run("filter "+tc.name, func(t *testing.T) {
			got := a.Calls(CallFilter{Number: tc.query, Unmasked: tc.unmasked})
			if len(got) != tc.want {
				t.Fatalf("Calls(number %q) = %d calls, want %d", tc.query, len(got), tc.want)
			}
			for _, c := range got {
				if c.Number != tc.wantNumber {
					t.Fatalf("call %s number %q, want %q", c.CallID, c.Number, tc.wantNumber)
				}
			}
		})
	}
}

// TestNumberCountry: national numbers are read in Options.DefaultCountry.
func TestNumberCountry(t *testing.T) {
	tests := []struct {
		country, presented, want string
	}{
		{"", "081234567890", "+6281234567890"},
		{"62", "081234567890", "+6281234567890"},
		{"44", "07700 900123", "+447700900123"},
		{"44", "+6281234567890", "+6281234567890"},
		{"62", "not-a-number", "not-a-number"},
	}
	for _, tc := range tests {
		t.Run(tc.country+" "+tc.presented, func(t *testing.T) {
			a := NewAggregator(Options{DefaultCountry: tc.country})
			applyAll(t, a, callEvents(t, callSpec{id: "c", number: tc.presented, at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 2}))
			got := a.Calls(CallFilter{Number: tc.presented, Unmasked: true})
			if len(got) != 1 || got[0].Number != tc.want {
				t.Fatalf("Calls(number %q) = %+v, want one call with %q", tc.presented, got, tc.want)
			}
		})
	}
}

// TestBlockedNumberForms: a block and its lift published in different forms
// are one number.
func TestBlockedNumberForms(t *testing.T) {
	a := NewAggregator(Options{})
	until := t0.Add(time.Hour)
	applyAll(t, a, []events.Envelope{ev(t, events.TypeBlocklistChanged, "", "", t0, events.BlocklistChanged{Number: "081100000001", Until: &until, Strikes: 3, Reason: "strikes"})})
	if b := a.Blocked(t0, true); len(b) != 1 || b[0].Number != "+6281100000001" {
		t.Fatalf("Blocked = %+v, want +6281100000001", b)
	}
	applyAll(t, a, []events.Envelope{ev(t, events.TypeBlocklistChanged, "", "", t0.Add(time.Minute), events.BlocklistChanged{Number: "+6281100000001", Reason: "lifted"})})
	if b := a.Blocked(t0, true); len(b) != 0 {
		t.Fatalf("Blocked after lift = %+v, want none", b)
	}
}

// Call-back ticks mark the call without making a new one; an incident's
// figures count who heard it, who pressed its key and who still went to
// operators; a callback on call.ended alone counts.
func TestAggregatorTicksAndIncidents(t *testing.T) {
	a := NewAggregator(Options{})
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	seq := uint64(0)
	add := func(typ events.Type, id, number string, at time.Duration, data any) {
		t.Helper()
		e, err := events.New(typ, id, "n1", events.Caller{Number: number, Presentation: events.PresentationAllowed}, data)
		if err != nil {
			t.Fatal(err)
		}
		e.Time = base.Add(at)
		seq++
		if _, err := a.Apply(e, seq); err != nil {
			t.Fatalf("apply %s: %v", typ, err)
		}
	}
	add(events.TypeStarted, "c1", "+6281200000001", 0, events.Started{})
	add(events.TypeClassified, "c1", "+6281200000001", time.Second, events.Classified{Outcome: events.OutcomeIncidentAck, IncidentID: "inc-1"})
	add(events.TypeStarted, "c2", "+6281200000002", 0, events.Started{})
	add(events.TypeClassified, "c2", "+6281200000002", time.Second, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", IncidentID: "inc-1"})
	add(events.TypeTransferred, "c2", "+6281200000002", 2*time.Second, events.Transferred{EmergencyType: "fire", SecondsToQueue: 2})
	add(events.TypeStarted, "c3", "+6281200000003", 0, events.Started{})
	add(events.TypeClassified, "c3", "+6281200000003", time.Second, events.Classified{Outcome: events.OutcomeVoice})
	add(events.TypeEnded, "c3", "+6281200000003", 2*time.Second, events.Ended{Outcome: events.OutcomeVoice, Callback: true, HangupBy: events.HangupByCaller})
	add(events.TypeHandled, "c3", "", 3*time.Second, events.Handled{Action: events.HandledCalledBack, By: "budi"})
	add(events.TypeHandled, "gone", "", 3*time.Second, events.Handled{Action: events.HandledDone, By: "budi"})

	st, ok := a.Incident("inc-1")
	if !ok || st.Heard != 2 || st.Acknowledged != 1 || st.PutThrough != 1 {
		t.Errorf("incident figures %+v (%v), want heard 2, acknowledged 1, put through 1", st, ok)
	}
	var c2, c3 CallRecord
	for _, r := range a.Calls(CallFilter{Limit: 10, Unmasked: true}) {
		switch r.CallID {
		case "c2":
			c2 = r
		case "c3":
			c3 = r
		case "gone":
			t.Error("a tick for a call no longer in memory made a call")
		}
	}
	if c2.SecondsToQueue != 2 || c2.IncidentID != "inc-1" {
		t.Errorf("c2 %+v", c2)
	}
	if !c3.Callback || c3.Handled != events.HandledCalledBack {
		t.Errorf("c3 %+v, want callback ticked called_back", c3)
	}
}

// A take marks who handles a needs-attention item: the latest take by its
// time wins whatever order the takes arrive in, a take for a call no
// longer in memory makes no call, and call.handled still closes the item.
func TestAggregatorTakes(t *testing.T) {
	a := NewAggregator(Options{})
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	add := func(typ events.Type, id string, at time.Duration, data any) {
		t.Helper()
		e, err := events.New(typ, id, "n1", events.Caller{Number: "+6281200000003", Presentation: events.PresentationAllowed}, data)
		if err != nil {
			t.Fatal(err)
		}
		e.Time = base.Add(at)
		if _, err := a.Apply(e, 0); err != nil {
			t.Fatalf("apply %s: %v", typ, err)
		}
	}
	attention := func() (CallRecord, bool) {
		for _, r := range a.Attention(time.Time{}, base.Add(time.Hour), 0, true) {
			if r.CallID == "c3" {
				return r, true
			}
		}
		return CallRecord{}, false
	}
	add(events.TypeStarted, "c3", 0, events.Started{})
	add(events.TypeClassified, "c3", time.Second, events.Classified{Outcome: events.OutcomeSilentHelp})
	add(events.TypeEnded, "c3", 2*time.Second, events.Ended{Outcome: events.OutcomeSilentHelp, HangupBy: events.HangupByCaller})
	if r, ok := attention(); !ok || r.TakenBy != "" {
		t.Fatalf("before any take: listed %v, taken by %q", ok, r.TakenBy)
	}
	for _, tc := range []struct {
		name string
		at   time.Duration
		by   string
		want string
	}{
		{"first take", 10 * time.Second, "budi", "budi"},
		{"a colleague takes it over", 20 * time.Second, "siti", "siti"},
		{"an older take arriving late changes nothing", 15 * time.Second, "ani", "siti"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			add(events.TypeTaken, "c3", tc.at, events.Taken{By: tc.by})
			r, ok := attention()
			if !ok || r.TakenBy != tc.want {
				t.Fatalf("listed %v, taken by %q; want %q", ok, r.TakenBy, tc.want)
			}
			if r.Taken != base.Add(20*time.Second) && tc.want == "siti" {
				t.Errorf("taken at %s, want %s", r.Taken, base.Add(20*time.Second))
			}
		})
	}
	before := a.Counters().Orphans
	add(events.TypeTaken, "gone", 3*time.Second, events.Taken{By: "budi"})
	if a.Counters().Orphans != before+1 {
		t.Error("a take for a call no longer in memory was not counted as an orphan")
	}
	for _, r := range a.Calls(CallFilter{Unmasked: true}) {
		if r.CallID == "gone" {
			t.Error("a take for a call no longer in memory made a call")
		}
	}
	add(events.TypeHandled, "c3", 30*time.Second, events.Handled{Action: events.HandledDone, By: "siti"})
	if _, ok := attention(); ok {
		t.Error("call.handled did not close a taken item")
	}
}
