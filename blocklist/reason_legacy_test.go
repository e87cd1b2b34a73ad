package blocklist

import (
	"maps"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// TestLegacyReason: every text the policy wrote before reason codes were
// stored (durations first as Go wrote them, "24h0m0s", then as people say
// them, "24 h"; the fixed lift and admin texts) reads back into the code
// and parameters the policy stores today; a text that is ours but for a
// detail, or an admin's words, is not read at all.
func TestLegacyReason(t *testing.T) {
	auto := func(strikes, window, level, length string, counts ...string) map[string]string {
		a := map[string]string{ArgStrikes: strikes, ArgWindow: window, ArgLevel: level, ArgLength: length}
		for i := 0; i < len(counts); i += 2 {
			a[ArgCountPrefix+counts[i]] = counts[i+1]
		}
		return a
	}
	tests := []struct {
		text     string
		wantCode string
		wantArgs map[string]string
	}{
		// The first release: time.Duration.String.
		{"3 strikes within 24h0m0s (no_input x3); block 1 for 1h0m0s", CodeAutoBlock, auto("3", "24h0m0s", "1", "1h0m0s", ReasonNoInput, "3")},
		{"4 strikes within 24h0m0s (invalid x1, verdict_prank x1); block 2 for 6h0m0s", CodeAutoBlock,
			auto("4", "24h0m0s", "2", "6h0m0s", ReasonInvalid, "1", ReasonVerdictPrank, "1")},
		{"5 strikes within 12h30m0s (abandoned x2, no_input x3); block 4 for 168h0m0s", CodeAutoBlock,
			auto("5", "12h30m0s", "4", "168h0m0s", ReasonAbandoned, "2", ReasonNoInput, "3")},
		// Since HumanDuration.
		{"3 strikes within 24 h (no_input x3); block 1 for 1 h", CodeAutoBlock, auto("3", "24h0m0s", "1", "1h0m0s", ReasonNoInput, "3")},
		{"4 strikes within 24 h (invalid x1, verdict_prank x1); block 3 for 7 days", CodeAutoBlock,
			auto("4", "24h0m0s", "3", "168h0m0s", ReasonInvalid, "1", ReasonVerdictPrank, "1")},
		{"3 strikes within 1 h 30 min (abandoned x3); block 2 for 2 days 5 h", CodeAutoBlock, auto("3", "1h30m0s", "2", "53h0m0s", ReasonAbandoned, "3")},
		{"3 strikes within 45 min (no_input x3); block 1 for 24 h", CodeAutoBlock, auto("3", "45m0s", "1", "24h0m0s", ReasonNoInput, "3")},
		{"lifted: verdict genuine", CodeLiftGenuine, nil},
		{"blocked by admin", CodeAdminBlock, nil},
		{"removed by admin", CodeAdminRemove, nil},

		// Not ours: an admin's words, and our texts changed in a detail.
		{"ancaman bom berulang", "", nil},
		{"blocked by admin: threats to operators", "", nil},
		{"Blocked by admin", "", nil},
		{"lifted: verdict genuine (checked by phone)", "", nil},
		{"3 strikes within 24 h (no_input x3); block 1 for 1 h, again", "", nil},
		{"3 strikes within 24 hours (no_input x3); block 1 for 1 h", "", nil},
		{"3 strikes within 24 h (no_input x3); block 1 for 1h0m0s", "", nil},
		{"3 strikes within 24 h (shouting x3); block 1 for 1 h", "", nil},
		{"4 strikes within 24 h (verdict_prank x1, invalid x1); block 1 for 1 h", "", nil},
		{"4 strikes within 24 h (invalid x1, invalid x1); block 1 for 1 h", "", nil},
		{"3 strikes within 24 h (no_input x0); block 1 for 1 h", "", nil},
		{"03 strikes within 24 h (no_input x3); block 1 for 1 h", "", nil},
		{"3 strikes within 60 min (no_input x3); block 1 for 1 h", "", nil},
		{"3 strikes within 24h (no_input x3); block 1 for 1h", "", nil},
		{"3 strikes within 45 min (no_input x3); block 1 for 1 day", "", nil},
		{"3 strikes within 0 s (no_input x3); block 1 for 1 h", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			code, args, ok := LegacyReason(tt.text)
			if ok != (tt.wantCode != "") || code != tt.wantCode || !maps.Equal(args, tt.wantArgs) {
				t.Errorf("LegacyReason = %q %v %v, want %q %v", code, args, ok, tt.wantCode, tt.wantArgs)
			}
		})
	}

	// The newest form is the one the policy writes today: its text reads
	// back into the code and parameters it stores beside it.
	p := testPolicy(t)
	r := Record{Number: testNumber}
	r, _ = p.ApplyOutcome(r, ev(1, 0), events.OutcomeInvalid, 0, "")
	r, _ = p.ApplyOutcome(r, ev(2, time.Minute), events.OutcomeNoInput, 0, "")
	r, _ = p.ApplyVerdict(r, ev(3, 2*time.Minute), events.VerdictPrank, "budi")
	if r.ReasonCode != CodeAutoBlock {
		t.Fatalf("fixture: not blocked: %+v", r)
	}
	if code, args, ok := LegacyReason(r.Reason); !ok || code != r.ReasonCode || !maps.Equal(args, r.ReasonArgs) {
		t.Errorf("today's %q reads as %q %v %v, want %q %v", r.Reason, code, args, ok, r.ReasonCode, r.ReasonArgs)
	}
}
