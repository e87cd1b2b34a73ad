package loadtest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted on purpose
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", ms(7), Latency{N: 1, P50: 7, P95: 7, P99: 7, Max: 7}},
		{"nearest rank of 100", ms(hundred...), Latency{N: 100, P50: 50, P95: 95, P99: 99, Max: 100}},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Latency{N: 10, P50: 5, P95: 10, P99: 10, Max: 10}},
		{"microseconds kept", []time.Duration{1500 * time.Microsecond}, Latency{N: 1, P50: 1.5, P95: 1.5, P99: 1.5, Max: 1.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.in); got != tc.want {
				t.Fatalf("Summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", DefaultMix().String(), false},
		{"default", DefaultMix().String(), false},
		{"fire=2, child=1", "fire=2,child=1", false},
		{"prankster=0,silent=3", "silent=3", false},
		{"fire", "", true},
		{"fire=-1", "", true},
		{"fire=x", "", true},
		{"arson=1", "", true},
		{"fire=0", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMix(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadMix) {
					t.Fatalf("err = %v, want ErrBadMix", err)
				}
				return
			}
			if err != nil || m.String() != tc.want {
				t.Fatalf("ParseMix(%q) = %q, %v; want %q", tc.in, m.String(), err, tc.want)
			}
		})
	}
}

// The picker gives each kind exactly its share of every round of
// sum-of-weights calls, spread out rather than in blocks.
func TestPickerProportions(t *testing.T) {
	m := Mix{KindFire: 3, KindChild: 1, KindPrankster: 2}
	p := newPicker(m)
	counts := map[Kind]int{}
	var first []Kind
	for i := range 600 {
		k := p.next()
		counts[k]++
		if i < 6 {
			first = append(first, k)
		}
	}
	if counts[KindFire] != 300 || counts[KindChild] != 100 || counts[KindPrankster] != 200 {
		t.Fatalf("counts %v", counts)
	}
	if first[0] != KindFire || first[1] == KindFire && first[2] == KindFire {
		t.Fatalf("first round %v is not spread out", first)
	}
}

func TestCallers(t *testing.T) {
	g := newCallers(Mix{KindPrankster: 1, KindFire: 1, KindBlockedTalker: 1}, 2, 7, false)
	seen := map[string]int{}
	presses := 0
	for range 12 {
		c := g.next()
		seen[c.Number]++
		if c.Kind == KindBlockedTalker && !slices.Contains(BlockedNumbers(), c.Number) {
			t.Fatalf("blocked talker calls from %s, not from the blocked pool %v", c.Number, BlockedNumbers())
		}
		if c.Presses9 {
			presses++
			if c.Number != PranksterNumber(0) {
				t.Fatalf("presser calls from %s", c.Number)
			}
		}
		if c.Kind == KindFire && seen[c.Number] > 1 {
			t.Fatalf("genuine number %s reused", c.Number)
		}
	}
	if seen[BlockedNumber(0)] != 2 || seen[BlockedNumber(1)] != 2 {
		t.Fatalf("blocked pool not round robin: %v", seen)
	}
	if seen[PranksterNumber(0)] != 2 || seen[PranksterNumber(1)] != 2 || presses != 2 {
		t.Fatalf("prankster pool not round robin: %v", seen)
	}
}

func TestExpectations(t *testing.T) {
	tests := []struct {
		c       Caller
		onARI   bool
		outcome events.Outcome
		typ     string
		ok      bool
	}{
		{Caller{Kind: KindFire}, false, events.OutcomeEmergency, "fire", true},
		{Caller{Kind: KindFire}, false, events.OutcomeEmergency, "medical", false},
		{Caller{Kind: KindOperator}, false, events.OutcomeEmergency, "operator", true},
		{Caller{Kind: KindChild}, false, events.OutcomeAbandoned, "", true},
		{Caller{Kind: KindSilent}, false, events.OutcomeFailover, "", false},
		{Caller{Kind: KindPrankster}, false, events.OutcomeBlocked, "", true},
		{Caller{Kind: KindPrankster}, false, events.OutcomeBlockedOverride, "", false},
		{Caller{Kind: KindPrankster, Presses9: true}, false, events.OutcomeBlockedOverride, "", true},
		{Caller{Kind: KindPrankster, Presses9: true}, false, events.OutcomeNoInput, "", true},
		{Caller{Kind: KindPrankster, Presses9: true}, true, events.OutcomeInvalid, "", true},
		{Caller{Kind: KindGreetingKey}, false, events.OutcomeEmergency, "fire", true},
		{Caller{Kind: KindMenuListener}, false, events.OutcomeEmergency, "medical", true},
		{Caller{Kind: KindMenuListener}, false, events.OutcomeNoInput, "", false},
		{Caller{Kind: KindGreetingTalker}, false, events.OutcomeVoice, "", true},
		{Caller{Kind: KindMenu55}, false, events.OutcomeSilentHelp, "", true},
		{Caller{Kind: KindMenu55}, false, events.OutcomeInvalid, "", false},
		{Caller{Kind: KindBlockedTalker}, false, events.OutcomeBlockedOverride, "", true},
		{Caller{Kind: KindBlockedTalker}, false, events.OutcomeBlocked, "", false},
		{Caller{Kind: KindBlockedSilentHelp}, false, events.OutcomeBlockedOverride, "", true},
		{Caller{Kind: KindIncidentCaller}, false, events.OutcomeIncidentAck, "", true},
		{Caller{Kind: KindIncidentCaller}, true, events.OutcomeIncidentAck, "", true},
		{Caller{Kind: KindIncidentCaller}, false, events.OutcomeInvalid, "", false},
		{Caller{Kind: KindIncidentCaller}, false, events.OutcomeNoInput, "", false},
		{Caller{Kind: KindFire}, false, events.OutcomeIncidentAck, "", false},
		{Caller{Kind: KindDropper, Busy: true}, false, events.OutcomeEmergency, DropperType, true},
		{Caller{Kind: KindDropper, Busy: true}, false, events.OutcomeEmergency, "fire", false},
		{Caller{Kind: KindDropper, Busy: true}, false, events.OutcomeAbandoned, "", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.c.Kind)+"/"+string(tc.outcome), func(t *testing.T) {
			if got := tc.c.Expect(tc.onARI).Allows(tc.outcome, tc.typ); got != tc.ok {
				t.Fatalf("Allows = %v, want %v", got, tc.ok)
			}
			if len(tc.c.SimScript()) == 0 && tc.c.Kind != KindSilent && tc.c.Kind != KindPrankster {
				t.Fatalf("kind %s has no sim script", tc.c.Kind)
			}
		})
	}
	reasons := map[Kind]string{KindBlockedTalker: "talk", KindBlockedSilentHelp: "silent_help", KindGreetingTalker: ""}
	for k, want := range reasons {
		if got := (Caller{Kind: k}).Expect(false).Reason; got != want {
			t.Errorf("%s: reason %q, want %q", k, got, want)
		}
	}
}

// TestLocationScripts checks that a caller who chooses a type answers the
// location question only when operators are busy: a script that waited
// for a question the IVR does not ask would hold the call open.
func TestLocationScripts(t *testing.T) {
	for _, k := range Kinds {
		for _, busy := range []bool{false, true} {
			c := Caller{Kind: k, Busy: busy}
			waits := slices.ContainsFunc(c.SimScript(), func(s arisim.Step) bool { return s.String() == `WaitForPrompt("location")` })
			typ, chooses := emergencyType[k]
			want := busy && chooses && typ != "operator"
			// A dropped caller hangs up as the question begins; Run has
			// its queue reported busy, so the question always comes.
			wantWait := want || k == KindDropper
			if waits != wantWait || c.AsksLocation() != want {
				t.Errorf("%s busy %v: script waits for the location %v, AsksLocation %v, want %v", k, busy, waits, c.AsksLocation(), want)
			}
		}
	}
}

// TestARIScripts checks that every kind has its own script on a real
// Asterisk: only the callers who say and press nothing share one. The
// dropped callers have none (Run refuses them there, as the load tool
// cannot answer their call-backs).
func TestARIScripts(t *testing.T) {
	byScript := map[string][]Kind{}
	for _, k := range Kinds {
		sc := Caller{Kind: k}.ARIScript()
		if k == KindDropper {
			if sc != "" {
				t.Errorf("%s has the ARI script %q, which asterisk-conf does not define", k, sc)
			}
			continue
		}
		if sc == "" {
			t.Errorf("%s has no ARI script", k)
		}
		byScript[sc] = append(byScript[sc], k)
	}
	for sc, kinds := range byScript {
		if len(kinds) > 1 && !(sc == "silent" && slices.Equal(kinds, []Kind{KindSilent, KindPrankster})) {
			t.Errorf("kinds %v share the script %q", kinds, sc)
		}
	}
	if got := (Caller{Kind: KindPrankster, Presses9: true}).ARIScript(); got != "press-9" {
		t.Errorf("pressing prankster's script %q", got)
	}
}

func TestMixWithShare(t *testing.T) {
	tests := []struct {
		name  string
		mix   Mix
		share float64
		want  int // the incident callers' weight; -1 for an error
	}{
		{"60% of the default mix", DefaultMix(), 0.6, 193}, // 129 others * 0.6/0.4: 193.4999… in float64, 59.9% of the calls
		{"half", Mix{KindFire: 3, KindChild: 1}, 0.5, 4},
		{"tiny share still one caller", Mix{KindFire: 1}, 0.01, 1},
		{"weight already named is replaced", Mix{KindFire: 2, KindIncidentCaller: 50}, 0.5, 2},
		{"share 0", DefaultMix(), 0, -1},
		{"share 1", DefaultMix(), 1, -1},
		{"no other callers", Mix{KindIncidentCaller: 3}, 0.5, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.mix.WithShare(KindIncidentCaller, tc.share)
			if tc.want < 0 {
				if !errors.Is(err, ErrBadShare) {
					t.Fatalf("err %v, want ErrBadShare", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m[KindIncidentCaller] != tc.want {
				t.Fatalf("incident callers' weight %d, want %d (%v)", m[KindIncidentCaller], tc.want, m)
			}
			for k, w := range tc.mix {
				if k != KindIncidentCaller && m[k] != w {
					t.Fatalf("%s's weight changed from %d to %d", k, w, m[k])
				}
			}
			if tc.mix[KindIncidentCaller] == 0 && m.hasIncident() == (tc.mix.hasIncident()) {
				t.Fatal("hasIncident did not change")
			}
		})
	}
}

func TestFormatProgress(t *testing.T) {
	s := Snapshot{Placed: 60, Finished: 50, Live: 10, Total: 100, Elapsed: 5 * time.Second, Placing: 4 * time.Second, Errors: 1,
		Outcomes: map[events.Outcome]int{events.OutcomeEmergency: 40, events.OutcomeBlocked: 10}}
	got := FormatProgress(s)
	for _, want := range []string{"[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] 50/100", "live 10", "placed 15.0/s, finished 10.0/s", "emergency 40 blocked 10", "errors 1", "5s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	s.Total = 0
	if got := FormatProgress(s); strings.Contains(got, "[") || !strings.HasPrefix(got, "50 calls") {
		t.Errorf("unbounded progress %q", got)
	}
}

func TestScaleTimers(t *testing.T) {
	cfg := configs.Default()
	ScaleTimers(&cfg, 0.1)
	if cfg.IVR.FirstDigitTimeout != 500*time.Millisecond || cfg.IVR.TalkMinDuration != 100*time.Millisecond ||
		cfg.Blocklist.AbandonedWithin != 500*time.Millisecond {
		t.Fatalf("timers not scaled: %+v", cfg.IVR)
	}
	// Recording limits go to (simulated) Asterisk, whose clock is scaled.
	if cfg.IVR.Location.MaxSilence != configs.Default().IVR.Location.MaxSilence {
		t.Fatal("recording limit scaled twice")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("scaled config invalid: %v", err)
	}
}

func TestSummaryText(t *testing.T) {
	s := &Summary{Target: "sim", Placed: 3, Finished: 3, Targets: DefaultTargets(),
		Answer:   Latency{N: 3, P99: 1},
		Outcomes: map[events.Outcome]int{events.OutcomeVoice: 3}, Errors: 1, ErrorSamples: []string{"boom"}}
	s.judge()
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"3 placed", "voice 3", "target p99 < 5ms: met", "target p99 < 20ms: MISSED", "errors       1", "  - boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestSummaryTimeToQueue(t *testing.T) {
	sec := func(f float64) float64 { return f * 1e3 }
	s := &Summary{Target: "sim", Targets: DefaultTargets(), TimeToQueueMeasured: "sim answer -> continue",
		TimeToQueue: map[Kind]QueueTime{
			KindGreetingKey: {
				Latency:    Latency{N: 20, P50: sec(2.2), P95: sec(2.4), Max: sec(2.5)},
				KeyToQueue: &Latency{N: 20, P50: 12, P95: 20, Max: 31},
			},
			KindMenuListener: {Latency: Latency{N: 20, P50: sec(19), P95: sec(21), Max: sec(22)}},
		},
		TimeToQueueLocation: map[Kind]QueueTime{KindFire: {Latency: Latency{N: 3, P50: sec(30), P95: sec(31), Max: sec(31)}}},
	}
	s.judge()
	want := map[string]bool{"greeting_key_to_queue_p95": true, "greeting_key_answer_to_queue_p95": true, "menu_listener_to_queue_p95": false}
	for name, met := range want {
		if got, ok := s.Met[name]; !ok || got != met {
			t.Errorf("Met[%s] = %v (judged %v), want %v", name, got, ok, met)
		}
	}
	if _, ok := s.Met["greeting_talker_to_queue_p95"]; ok {
		t.Error("talker target judged without talkers")
	}
	fast := *s
	fast.ClockScale = 0.2
	fast.judge()
	if _, ok := fast.Met["greeting_key_to_queue_p95"]; ok {
		t.Error("time-to-queue target judged at clock scale 0.2")
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  greeting_key                     20     2.200     2.400     2.500           0.020",
		"  menu_listener                    20    19.000    21.000    22.000               -",
		"time to queue, location asked (operators busy) (s)",
		"  fire                              3    30.000    31.000    31.000               -",
		"target greeting_key, key -> queue p95 <= 3s: met",
		"target menu_listener, answer -> queue p95 <= 20s: MISSED",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, b.String())
		}
	}
}

func TestSummaryHeapJudgedOnlyWithEnoughLiveCalls(t *testing.T) {
	tests := []struct {
		name     string
		live     int
		perCall  int64
		want     string
		inMetMap bool
	}{
		{"few live calls", minLiveForHeap - 1, 200 << 10, "not judged below", false},
		{"enough, under target", minLiveForHeap, 20 << 10, "(target < 64.0 KiB: met)", true},
		{"enough, over target", 2000, 100 << 10, "(target < 64.0 KiB: MISSED)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Summary{Target: "sim", PeakLive: tt.live, HeapPerCall: tt.perCall, Targets: DefaultTargets()}
			s.judge()
			if _, ok := s.Met["heap_per_call"]; ok != tt.inMetMap {
				t.Fatalf("heap_per_call in Met = %v, want %v", ok, tt.inMetMap)
			}
			var b strings.Builder
			if err := s.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Fatalf("summary lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}
