package blocklist

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

const testNumber = "+6281234567890"

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func testPolicy(t *testing.T) Policy {
	t.Helper()
	cfg := configs.Default().Blocklist
	cfg.Allowlist = []string{"0811-000-111"}
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

// ev builds an event for call n at t0+offset.
func ev(n int, offset time.Duration) Event {
	return Event{ID: fmt.Sprintf("ev-%d", n), CallID: fmt.Sprintf("call-%d", n), At: t0.Add(offset)}
}

func TestNewPolicyRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*configs.Blocklist)
		key    string
	}{
		{"country letters", func(c *configs.Blocklist) { c.DefaultCountry = "id" }, "blocklist.default_country"},
		{"country empty", func(c *configs.Blocklist) { c.DefaultCountry = "" }, "blocklist.default_country"},
		{"window zero", func(c *configs.Blocklist) { c.Window = 0 }, "blocklist.window"},
		{"threshold zero", func(c *configs.Blocklist) { c.Threshold = 0 }, "blocklist.threshold"},
		{"ladder empty", func(c *configs.Blocklist) { c.Ladder = nil }, "blocklist.ladder"},
		{"ladder negative", func(c *configs.Blocklist) { c.Ladder = []time.Duration{time.Hour, -1} }, "blocklist.ladder[1]"},
		{"negative points", func(c *configs.Blocklist) { c.Strikes.Invalid = -1 }, "blocklist.strikes"},
		{"negative abandoned", func(c *configs.Blocklist) { c.AbandonedWithin = -time.Second }, "blocklist.abandoned_within"},
		{"bad allowlist", func(c *configs.Blocklist) { c.Allowlist = []string{"0812", "xyz"} }, "blocklist.allowlist[0]"},
		{"anonymous allowlist", func(c *configs.Blocklist) { c.Allowlist = []string{"anonymous"} }, "blocklist.allowlist[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configs.Default().Blocklist
			tc.change(&cfg)
			_, err := NewPolicy(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("NewPolicy error = %v, want one naming %s", err, tc.key)
			}
		})
	}
}

func TestOutcomePoints(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		name        string
		outcome     events.Outcome
		sinceAnswer time.Duration
		want        Change
		points      int
	}{
		{"no_input", events.OutcomeNoInput, 20 * time.Second, ChangeStrike, 1},
		{"invalid", events.OutcomeInvalid, 30 * time.Second, ChangeStrike, 1},
		{"abandoned quickly", events.OutcomeAbandoned, 2 * time.Second, ChangeStrike, 1},
		{"abandoned exactly at limit", events.OutcomeAbandoned, 5 * time.Second, ChangeStrike, 1},
		{"abandoned just after limit", events.OutcomeAbandoned, 5*time.Second + time.Millisecond, ChangeNone, 0},
		{"abandoned unknown time", events.OutcomeAbandoned, -1, ChangeNone, 0},
		{"emergency", events.OutcomeEmergency, time.Second, ChangeNone, 0},
		{"voice", events.OutcomeVoice, time.Second, ChangeNone, 0},
		{"silent_help", events.OutcomeSilentHelp, time.Second, ChangeNone, 0},
		{"blocked", events.OutcomeBlocked, time.Second, ChangeNone, 0},
		{"blocked_override", events.OutcomeBlockedOverride, time.Second, ChangeNone, 0},
		{"failover", events.OutcomeFailover, time.Second, ChangeNone, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, d := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), tc.outcome, tc.sinceAnswer, "")
			if d.Change != tc.want || d.Points != tc.points || p.Score(r, t0) != tc.points {
				t.Fatalf("decision %+v score %d, want %v with %d points", d, p.Score(r, t0), tc.want, tc.points)
			}
		})
	}
}

// An abandoned call counts only when the caller hung up: Asterisk ending
// the call (CLI, AMI, a restart: hangup_by system) is no sign of a prank.
func TestAbandonedHangupBy(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		name        string
		sinceAnswer time.Duration
		hangupBy    string
		want        Change
		points      int
	}{
		{"caller within 5s", 2 * time.Second, events.HangupByCaller, ChangeStrike, 1},
		{"caller at the limit", 5 * time.Second, events.HangupByCaller, ChangeStrike, 1},
		{"unknown side within 5s", 2 * time.Second, "", ChangeStrike, 1},
		{"system within 5s", 2 * time.Second, events.HangupBySystem, ChangeNone, 0},
		{"system at the limit", 5 * time.Second, events.HangupBySystem, ChangeNone, 0},
		{"caller after the limit", 6 * time.Second, events.HangupByCaller, ChangeNone, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, d := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeAbandoned, tc.sinceAnswer, tc.hangupBy)
			if d.Change != tc.want || d.Points != tc.points || p.Score(r, t0) != tc.points {
				t.Fatalf("decision %+v score %d, want %v with %d points", d, p.Score(r, t0), tc.want, tc.points)
			}
		})
	}
	// The system's hangup has no bearing on outcomes that count anyway.
	if _, d := p.ApplyOutcome(Record{Number: testNumber}, ev(2, 0), events.OutcomeNoInput, 20*time.Second, events.HangupBySystem); d.Change != ChangeStrike {
		t.Fatalf("no_input ended by the system: %+v, want a strike", d)
	}
}

func TestThresholdBlocksWithLadder(t *testing.T) {
	p := testPolicy(t)
	r := Record{Number: testNumber}
	// Each round: three silent calls a minute apart, then check the block
	// length follows the ladder 1h, 6h, 24h, 7d, 7d (the last repeats).
	wantLengths := []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 7 * 24 * time.Hour}
	start := time.Duration(0)
	n := 0
	for round, want := range wantLengths {
		var d Decision
		for i := range 3 {
			n++
			r, d = p.ApplyOutcome(r, ev(n, start+time.Duration(i)*time.Minute), events.OutcomeNoInput, 0, "")
			if i < 2 && d.Change != ChangeStrike {
				t.Fatalf("round %d strike %d: change %v, want strike", round, i, d.Change)
			}
		}
		decided := t0.Add(start + 2*time.Minute)
		if d.Change != ChangeBlock || d.Points != 3 {
			t.Fatalf("round %d: decision %+v, want block at 3 points", round, d)
		}
		if got := r.Until.Sub(decided); got != want {
			t.Fatalf("round %d: block length %s, want %s", round, got, want)
		}
		if r.Level != round+1 || r.SetBy != SetByAuto || r.Manual || len(r.Strikes) != 0 {
			t.Fatalf("round %d: record %+v", round, r)
		}
		if !strings.Contains(r.Reason, "no_input x3") {
			t.Fatalf("reason %q does not name the strikes", r.Reason)
		}
		start = r.Until.Sub(t0) + time.Minute
	}
}

func TestWindowEdge(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		name      string
		thirdAt   time.Duration
		wantBlock bool
	}{
		// The first strike is at t0. A strike exactly Window old has expired.
		{"third strike one ns before the edge", 24*time.Hour - time.Nanosecond, true},
		{"third strike exactly at the edge", 24 * time.Hour, false},
		{"third strike after the edge", 24*time.Hour + 30*time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Number: testNumber}
			r, _ = p.ApplyOutcome(r, ev(1, 0), events.OutcomeNoInput, 0, "")
			r, _ = p.ApplyOutcome(r, ev(2, time.Hour), events.OutcomeInvalid, 0, "")
			r, d := p.ApplyOutcome(r, ev(3, tc.thirdAt), events.OutcomeNoInput, 0, "")
			if got := d.Change == ChangeBlock; got != tc.wantBlock {
				t.Fatalf("decision %+v, want block %v", d, tc.wantBlock)
			}
			if !tc.wantBlock && len(r.Strikes) != 2 {
				t.Fatalf("expired strike not pruned: %+v", r.Strikes)
			}
		})
	}
}

func TestScoreAtWindowEdge(t *testing.T) {
	p := testPolicy(t)
	r, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
	if got := p.Score(r, t0.Add(24*time.Hour-1)); got != 1 {
		t.Fatalf("score just inside the window = %d, want 1", got)
	}
	if got := p.Score(r, t0.Add(24*time.Hour)); got != 0 {
		t.Fatalf("score at the window edge = %d, want 0", got)
	}
}

func TestBlockedAtExpiry(t *testing.T) {
	r := Record{Number: testNumber, Until: t0}
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"before", t0.Add(-time.Nanosecond), true},
		{"exactly at until", t0, false},
		{"after", t0.Add(time.Nanosecond), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Blocked(r, tc.now); got != tc.want {
				t.Fatalf("Blocked = %v, want %v", got, tc.want)
			}
		})
	}
	if Blocked(Record{Number: testNumber}, t0) {
		t.Fatal("a record without until is blocked")
	}
}

func TestIdempotent(t *testing.T) {
	p := testPolicy(t)
	r, d := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
	if d.Change != ChangeStrike {
		t.Fatalf("first apply: %v", d.Change)
	}
	t.Run("same event again", func(t *testing.T) {
		r2, d := p.ApplyOutcome(r, ev(1, 0), events.OutcomeNoInput, 0, "")
		if d.Change != ChangeNone || p.Score(r2, t0) != 1 {
			t.Fatalf("redelivery counted: %+v score %d", d, p.Score(r2, t0))
		}
	})
	t.Run("ended after classified of the same call", func(t *testing.T) {
		e := ev(1, time.Second)
		e.ID = "ended-1"
		r2, d := p.ApplyOutcome(r, e, events.OutcomeNoInput, 0, "")
		if d.Change != ChangeNone || p.Score(r2, t0) != 1 {
			t.Fatalf("second event of one call counted: %+v", d)
		}
	})
	t.Run("ended after a block consumed the strike of the same call", func(t *testing.T) {
		r2, _ := p.ApplyOutcome(r, ev(2, time.Second), events.OutcomeNoInput, 0, "")
		r2, d := p.ApplyOutcome(r2, ev(3, 2*time.Second), events.OutcomeNoInput, 0, "")
		if d.Change != ChangeBlock || len(r2.Strikes) != 0 {
			t.Fatalf("third call did not block: %+v", d)
		}
		e := ev(3, 3*time.Second)
		e.ID = "ended-3"
		if _, d := p.ApplyOutcome(r2, e, events.OutcomeNoInput, 0, ""); d.Change != ChangeNone {
			t.Fatalf("call 3 struck twice: %+v", d)
		}
	})
	t.Run("prank verdict on the same call is a separate strike", func(t *testing.T) {
		e := ev(1, time.Minute)
		e.ID = "verdict-1"
		_, d := p.ApplyVerdict(r, e, events.VerdictPrank, "op1")
		if d.Change != ChangeBlock || d.Points != 4 {
			t.Fatalf("verdict: %+v, want block with 4 points", d)
		}
	})
	t.Run("second prank verdict on one call counts once", func(t *testing.T) {
		r1, _ := p.ApplyOutcome(Record{Number: testNumber}, Event{ID: "o1", CallID: "c8", At: t0}, events.OutcomeNoInput, 0, "")
		r1.Strikes = append(r1.Strikes, Strike{EventID: "v3", CallID: "c9", At: t0, Points: 1, Reason: ReasonVerdictPrank})
		_, d := p.ApplyVerdict(r1, Event{ID: "v4", CallID: "c9", At: t0}, events.VerdictPrank, "b")
		if d.Change != ChangeNone {
			t.Fatalf("second verdict on call c9 counted: %+v", d)
		}
	})
	t.Run("genuine verdict redelivered after new strikes", func(t *testing.T) {
		g := Event{ID: "g1", CallID: "c5", At: t0.Add(time.Minute)}
		r2, d := p.ApplyVerdict(r, g, events.VerdictGenuine, "op")
		if d.Change != ChangeClear {
			t.Fatalf("genuine: %+v", d)
		}
		r2, _ = p.ApplyOutcome(r2, ev(7, 2*time.Minute), events.OutcomeNoInput, 0, "")
		r3, d := p.ApplyVerdict(r2, g, events.VerdictGenuine, "op")
		if d.Change != ChangeNone || p.Score(r3, t0.Add(3*time.Minute)) != 1 {
			t.Fatalf("redelivered genuine cleared new strikes: %+v", d)
		}
	})
}

func TestInputRecordUnchanged(t *testing.T) {
	p := testPolicy(t)
	r, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
	r, _ = p.ApplyOutcome(r, ev(2, 0), events.OutcomeNoInput, 0, "")
	before := len(r.Strikes)
	_, _ = p.ApplyOutcome(r, ev(3, 0), events.OutcomeNoInput, 0, "")
	if len(r.Strikes) != before || r.Until != (time.Time{}) {
		t.Fatalf("ApplyOutcome changed its input: %+v", r)
	}
}

func TestNeverBlocked(t *testing.T) {
	p := testPolicy(t)
	tests := []struct{ name, number string }{
		{"allowlist", "+62811000111"},
		{"anonymous", Anonymous},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Number: tc.number}
			for i := range 5 {
				var d Decision
				r, d = p.ApplyOutcome(r, ev(i, time.Duration(i)*time.Second), events.OutcomeNoInput, 0, "")
				if d.Change != ChangeNone {
					t.Fatalf("strike %d: %+v", i, d)
				}
				r, d = p.ApplyVerdict(r, ev(100+i, time.Duration(i)*time.Second), events.VerdictPrank, "op")
				if d.Change != ChangeNone {
					t.Fatalf("verdict %d: %+v", i, d)
				}
			}
			if r.Blocked(t0) || len(r.Strikes) != 0 {
				t.Fatalf("record %+v", r)
			}
			if _, _, err := p.AddManual(r, t0, time.Hour, "x", "admin"); err == nil {
				t.Fatal("AddManual accepted a never-blocked number")
			}
		})
	}
	_, _, err := p.AddManual(Record{Number: "+62811000111"}, t0, time.Hour, "x", "admin")
	if !errors.Is(err, ErrAllowlisted) {
		t.Fatalf("AddManual allowlisted error = %v", err)
	}
}

func TestVerdicts(t *testing.T) {
	p := testPolicy(t)
	blockedAuto := func() Record {
		r := Record{Number: testNumber}
		for i := range 3 {
			r, _ = p.ApplyOutcome(r, ev(i, time.Duration(i)*time.Minute), events.OutcomeNoInput, 0, "")
		}
		return r
	}
	t.Run("prank alone blocks", func(t *testing.T) {
		r, d := p.ApplyVerdict(Record{Number: testNumber}, ev(1, 0), events.VerdictPrank, "op")
		if d.Change != ChangeBlock || r.Until != t0.Add(time.Hour) {
			t.Fatalf("decision %+v until %v", d, r.Until)
		}
	})
	t.Run("genuine clears strikes", func(t *testing.T) {
		r, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
		r, _ = p.ApplyOutcome(r, ev(2, 0), events.OutcomeNoInput, 0, "")
		r, d := p.ApplyVerdict(r, ev(3, time.Minute), events.VerdictGenuine, "op")
		if d.Change != ChangeClear || d.Points != 2 || len(r.Strikes) != 0 {
			t.Fatalf("decision %+v record %+v", d, r)
		}
		r, d = p.ApplyOutcome(r, ev(4, 2*time.Minute), events.OutcomeNoInput, 0, "")
		if d.Change != ChangeStrike || d.Points != 1 {
			t.Fatalf("after genuine a strike should start afresh: %+v", d)
		}
	})
	t.Run("genuine lifts an automatic block and does not escalate", func(t *testing.T) {
		r := blockedAuto()
		r, d := p.ApplyVerdict(r, ev(10, 10*time.Minute), events.VerdictGenuine, "siti")
		if d.Change != ChangeLift || r.Blocked(t0.Add(10*time.Minute)) || r.Level != 0 || r.SetBy != "operator:siti" {
			t.Fatalf("decision %+v record %+v", d, r)
		}
	})
	t.Run("genuine keeps a manual block", func(t *testing.T) {
		r, _, err := p.AddManual(Record{Number: testNumber}, t0, 24*time.Hour, "abuse", "budi")
		if err != nil {
			t.Fatal(err)
		}
		r, _ = p.ApplyOutcome(r, ev(1, 0), events.OutcomeNoInput, 0, "")
		r, d := p.ApplyVerdict(r, ev(2, time.Minute), events.VerdictGenuine, "siti")
		if d.Change != ChangeClear || !r.Blocked(t0.Add(time.Hour)) || !r.Manual {
			t.Fatalf("decision %+v record %+v", d, r)
		}
	})
	t.Run("genuine on a clean record changes nothing", func(t *testing.T) {
		_, d := p.ApplyVerdict(Record{Number: testNumber}, ev(1, 0), events.VerdictGenuine, "op")
		if d.Change != ChangeNone {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("genuine after the block expired only clears", func(t *testing.T) {
		r := blockedAuto()
		r, _ = p.ApplyOutcome(r, ev(20, 3*time.Hour), events.OutcomeNoInput, 0, "")
		r, d := p.ApplyVerdict(r, ev(21, 3*time.Hour), events.VerdictGenuine, "op")
		if d.Change != ChangeClear || r.Level != 1 {
			t.Fatalf("decision %+v level %d", d, r.Level)
		}
	})
	t.Run("unknown verdict ignored", func(t *testing.T) {
		_, d := p.ApplyVerdict(Record{Number: testNumber}, ev(1, 0), "maybe", "op")
		if d.Change != ChangeNone {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("prank during a block extends it", func(t *testing.T) {
		r := blockedAuto()
		until := r.Until
		r, d := p.ApplyVerdict(r, ev(30, 30*time.Minute), events.VerdictPrank, "op")
		if d.Change != ChangeExtend || !r.Until.After(until) || r.Level != 2 {
			t.Fatalf("decision %+v record %+v", d, r)
		}
		if want := t0.Add(30*time.Minute + 6*time.Hour); !r.Until.Equal(want) {
			t.Fatalf("until %v, want %v", r.Until, want)
		}
	})
}

func TestManual(t *testing.T) {
	p := testPolicy(t)
	t.Run("add then remove", func(t *testing.T) {
		r, d, err := p.AddManual(Record{Number: testNumber}, t0, 2*time.Hour, "", "budi")
		if err != nil || d.Change != ChangeBlock || !r.Manual || r.SetBy != "admin:budi" || r.Reason == "" {
			t.Fatalf("add: %v %+v %+v", err, d, r)
		}
		if !r.Blocked(t0.Add(2*time.Hour-1)) || r.Blocked(t0.Add(2*time.Hour)) {
			t.Fatalf("manual block window wrong: until %v", r.Until)
		}
		r, d = p.RemoveManual(r, t0.Add(time.Hour), "budi")
		if d.Change != ChangeLift || r.Blocked(t0.Add(time.Hour)) || r.Manual {
			t.Fatalf("remove: %+v %+v", d, r)
		}
	})
	t.Run("add replaces an automatic block and keeps its level", func(t *testing.T) {
		r, _ := p.ApplyVerdict(Record{Number: testNumber}, ev(1, 0), events.VerdictPrank, "op")
		r, d, err := p.AddManual(r, t0.Add(time.Minute), 10*time.Minute, "short", "budi")
		if err != nil || d.Change != ChangeExtend || r.Level != 1 || !r.Until.Equal(t0.Add(11*time.Minute)) {
			t.Fatalf("%v %+v %+v", err, d, r)
		}
	})
	t.Run("zero length refused", func(t *testing.T) {
		if _, _, err := p.AddManual(Record{Number: testNumber}, t0, 0, "", "budi"); err == nil {
			t.Fatal("zero length accepted")
		}
	})
	t.Run("remove clean record changes nothing", func(t *testing.T) {
		if _, d := p.RemoveManual(Record{Number: testNumber}, t0, "budi"); d.Change != ChangeNone {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("remove clears strikes of an unblocked record", func(t *testing.T) {
		r, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeNoInput, 0, "")
		r, d := p.RemoveManual(r, t0, "budi")
		if d.Change != ChangeClear || len(r.Strikes) != 0 {
			t.Fatalf("%+v %+v", d, r)
		}
	})
	t.Run("auto escalation during a manual block keeps it manual", func(t *testing.T) {
		r, _, _ := p.AddManual(Record{Number: testNumber}, t0, time.Minute, "", "budi")
		r, d := p.ApplyVerdict(r, ev(1, 0), events.VerdictPrank, "op")
		if d.Change != ChangeExtend || !r.Manual || !r.Until.Equal(t0.Add(time.Hour)) {
			t.Fatalf("%+v %+v", d, r)
		}
	})
}

func TestSeenBounded(t *testing.T) {
	p := testPolicy(t)
	p.Threshold = 1 << 30
	r := Record{Number: testNumber}
	for i := range maxSeen + 50 {
		r, _ = p.ApplyOutcome(r, ev(i, time.Duration(i)*time.Second), events.OutcomeNoInput, 0, "")
	}
	if len(r.Seen) != maxSeen {
		t.Fatalf("seen holds %d ids, want %d", len(r.Seen), maxSeen)
	}
	r, _ = p.ApplyOutcome(r, ev(1000, 48*time.Hour), events.OutcomeNoInput, 0, "")
	if len(r.Seen) != 1 || len(r.Strikes) != 1 {
		t.Fatalf("old ids not forgotten: seen %d strikes %d", len(r.Seen), len(r.Strikes))
	}
}

func TestChangeNames(t *testing.T) {
	for c := ChangeNone; c <= ChangeClear+1; c++ {
		if c.String() == "" {
			t.Fatalf("change %d has no name", c)
		}
	}
	if !ChangeLift.BlockChanged() || ChangeStrike.BlockChanged() || ChangeNone.Changed() || !ChangeClear.Changed() {
		t.Fatal("Change predicates wrong")
	}
}

// A manual block's reason is bounded where it is set, so the
// blocklist.changed that announces it always passes the events' checks.
func TestAddManualBoundsTheReason(t *testing.T) {
	p := defaultPolicy(t)
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	r := Record{Number: "+6281234567890"}
	for _, reason := range []string{strings.Repeat("x", 329), strings.Repeat("é", 150), "two\nlines"} {
		if _, _, err := p.AddManual(r, now, time.Hour, reason, "siti"); !errors.Is(err, ErrBadReason) {
			t.Errorf("reason of %d bytes: %v, want ErrBadReason", len(reason), err)
		}
	}
	if _, _, err := p.AddManual(r, now, time.Hour, strings.Repeat("x", MaxReason), "siti"); err != nil {
		t.Errorf("a reason at the bound: %v", err)
	}
	if _, _, err := p.AddManual(r, now, time.Hour, "ok", strings.Repeat("b", 300)); !errors.Is(err, ErrBadReason) {
		t.Errorf("a 300-byte name: %v, want refused", err)
	}
}
