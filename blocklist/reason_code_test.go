package blocklist

import (
	"maps"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// TestReasonCodes: every reason the policy writes itself is stored with a
// code and the parameters a page needs to say it in another language,
// beside the English text the CLI and the API keep showing; a reason an
// admin typed has no code, so no page replaces the admin's words, and a
// typed reason also wipes the code of the decision before it.
func TestReasonCodes(t *testing.T) {
	p := testPolicy(t)
	silent := func(r Record, from, calls int) Record {
		for i := range calls {
			r, _ = p.ApplyOutcome(r, ev(from+i, time.Duration(i)*time.Minute), events.OutcomeNoInput, 0, "")
		}
		return r
	}
	blocked := silent(Record{Number: testNumber}, 1, 3)

	tests := []struct {
		name     string
		apply    func() Record
		wantText string
		wantCode string
		wantArgs map[string]string
	}{{
		name:     "three silent calls block",
		apply:    func() Record { return blocked },
		wantText: "3 strikes within 24 h (no_input x3); block 1 for 1 h",
		wantCode: CodeAutoBlock,
		wantArgs: map[string]string{ArgStrikes: "3", ArgWindow: "24h0m0s", ArgLevel: "1", ArgLength: "1h0m0s", ArgCountPrefix + ReasonNoInput: "3"},
	}, {
		name: "a wrong key and a prank verdict block",
		apply: func() Record {
			r, _ := p.ApplyOutcome(Record{Number: testNumber}, ev(1, 0), events.OutcomeInvalid, 0, "")
			r, _ = p.ApplyVerdict(r, ev(2, time.Minute), events.VerdictPrank, "budi")
			return r
		},
		wantText: "4 strikes within 24 h (invalid x1, verdict_prank x1); block 1 for 1 h",
		wantCode: CodeAutoBlock,
		wantArgs: map[string]string{ArgStrikes: "4", ArgWindow: "24h0m0s", ArgLevel: "1", ArgLength: "1h0m0s",
			ArgCountPrefix + ReasonInvalid: "1", ArgCountPrefix + ReasonVerdictPrank: "1"},
	}, {
		name: "the second block climbs the ladder",
		apply: func() Record {
			r := blocked
			for i := range 3 {
				r, _ = p.ApplyOutcome(r, ev(10+i, 2*time.Hour+time.Duration(i)*time.Minute), events.OutcomeNoInput, 0, "")
			}
			return r
		},
		wantText: "3 strikes within 24 h (no_input x3); block 2 for 6 h",
		wantCode: CodeAutoBlock,
		wantArgs: map[string]string{ArgStrikes: "3", ArgWindow: "24h0m0s", ArgLevel: "2", ArgLength: "6h0m0s", ArgCountPrefix + ReasonNoInput: "3"},
	}, {
		name: "a genuine verdict lifts",
		apply: func() Record {
			r, _ := p.ApplyVerdict(blocked, ev(9, 10*time.Minute), events.VerdictGenuine, "budi")
			return r
		},
		wantText: "lifted: verdict genuine",
		wantCode: CodeLiftGenuine,
	}, {
		name: "an admin blocks without a reason",
		apply: func() Record {
			r, _, err := p.AddManual(Record{Number: testNumber}, t0, time.Hour, "", "sari")
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		wantText: "blocked by admin",
		wantCode: CodeAdminBlock,
	}, {
		name: "an admin's typed reason stays the admin's words",
		apply: func() Record {
			r, _, err := p.AddManual(blocked, t0.Add(time.Minute), time.Hour, "ancaman bom berulang", "sari")
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		wantText: "ancaman bom berulang",
	}, {
		name: "an admin lifts",
		apply: func() Record {
			r, _ := p.RemoveManual(blocked, t0.Add(time.Minute), "sari")
			return r
		},
		wantText: "removed by admin",
		wantCode: CodeAdminRemove,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.apply()
			if r.Reason != tt.wantText {
				t.Errorf("reason %q, want %q", r.Reason, tt.wantText)
			}
			if r.ReasonCode != tt.wantCode {
				t.Errorf("reason code %q, want %q", r.ReasonCode, tt.wantCode)
			}
			if !maps.Equal(r.ReasonArgs, tt.wantArgs) {
				t.Errorf("reason args %v, want %v", r.ReasonArgs, tt.wantArgs)
			}
		})
	}
}
