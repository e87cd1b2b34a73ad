package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
	"github.com/siaga112/siaga112/web"
)

// Shorthands for event types.
var (
	evStarted     = events.TypeStarted
	evAnswered    = events.TypeAnswered
	evMenu        = events.TypeMenu
	evClassified  = events.TypeClassified
	evTransferred = events.TypeTransferred
	evEnded       = events.TypeEnded
)

// Scripts of the callers in these tests.
var (
	// silent says nothing and presses nothing; the IVR ends the call.
	silent []arisim.Step
	// pressNine presses the override key as soon as the warning starts.
	pressNine = []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Press("9")}
	// fire chooses fire and says where.
	fire = []arisim.Step{
		arisim.WaitForPrompt("menu"), arisim.Press("1"),
		arisim.WaitForPrompt("location"), arisim.Talk(2 * time.Second),
	}
)

// within reports whether a and b are at most d apart.
func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && -diff <= d
}

// checkWarned checks a silent call from a blocked number: the caller heard
// the warning and not the menu, was hung up by the IVR with outcome
// blocked, and call.started says blocked until about until.
func checkWarned(t *testing.T, w *world, v arisim.CallerView, until time.Time) {
	t.Helper()
	if !slices.Contains(heard(v), "blocked") || heardMenu(v) {
		t.Errorf("blocked caller heard %v, want the warning and no menu", heard(v))
	}
	if v.HungUpBy != arisim.HungUpByApp || v.Continued != nil {
		t.Errorf("blocked caller: %s, want hung up by the IVR", fmtView(v))
	}
	evs := w.callEvents(v.ChannelID)
	if want := []events.Type{evStarted, evAnswered, evClassified, evEnded}; !slices.Equal(types(evs), want) {
		t.Errorf("blocked call events %v, want %v", types(evs), want)
	}
	st := only[events.Started](t, evs, evStarted)
	if !st.Blocked || st.BlockUntil == nil || !within(*st.BlockUntil, until, time.Second) {
		t.Errorf("call.started %+v, want blocked until %v", st, until)
	}
	if cl := only[events.Classified](t, evs, evClassified); cl.Outcome != events.OutcomeBlocked {
		t.Errorf("call.classified outcome %q, want %q", cl.Outcome, events.OutcomeBlocked)
	}
	if en := only[events.Ended](t, evs, evEnded); en.Outcome != events.OutcomeBlocked {
		t.Errorf("call.ended outcome %q, want %q", en.Outcome, events.OutcomeBlocked)
	}
}

// TestRepeatSilentCaller is issue 5's story end to end: the same number
// calls silently three times; the fourth call hears the warning and is hung
// up; the fifth presses 9 and is put through; an operator's verdict genuine
// on that call lifts the block and the next call gets the menu. The caller
// presents a national number; blocks are kept in E.164.
func TestRepeatSilentCaller(t *testing.T) {
	w := startWorld(t)
	const number, e164 = "081100000001", "+6281100000001"

	// Three silent calls: each a no_input strike, none blocked yet.
	for i := 1; i <= 3; i++ {
		v := w.call(number, silent...)
		if v.HungUpBy != arisim.HungUpByApp || !heardMenu(v) || !slices.Contains(heard(v), "silent-help") {
			t.Fatalf("silent call %d: %s, want the menu, the silent-help offer and a hang-up", i, fmtView(v))
		}
		evs := w.callEvents(v.ChannelID)
		if st := only[events.Started](t, evs, evStarted); st.Blocked || st.BlockUntil != nil {
			t.Errorf("silent call %d: call.started %+v, want not blocked", i, st)
		}
		if cl := only[events.Classified](t, evs, evClassified); cl.Outcome != events.OutcomeNoInput {
			t.Errorf("silent call %d: outcome %q, want no_input", i, cl.Outcome)
		}
	}

	// The third strike blocks: the worker announces it and every IVR's
	// cache follows the KV bucket.
	block := w.waitBlockChange(e164, 0, func(d events.BlocklistChanged) bool { return d.Until != nil })
	if !within(*block.Until, time.Now().Add(w.cfg.Blocklist.Ladder[0]), time.Minute) {
		t.Errorf("block until %v, want about %s from now (first rung of the ladder)", *block.Until, w.cfg.Blocklist.Ladder[0])
	}
	// The block change was announced after the KV write, so the cache
	// may already hold it: this bounds the propagation from above.
	w.waitCache(number, true)

	// Fourth call: warned and hung up.
	checkWarned(t, w, w.call(number, silent...), *block.Until)

	// Fifth call: presses 9 and is put through as blocked_override.
	v := w.call(number, pressNine...)
	if v.Continued == nil || v.Continued.Context != w.cfg.IVR.OperatorContext || v.Continued.Extension != w.cfg.IVR.FailoverExtension {
		t.Fatalf("override call: %s, want continued to %s,%s", fmtView(v), w.cfg.IVR.OperatorContext, w.cfg.IVR.FailoverExtension)
	}
	if !slices.Contains(heard(v), "blocked") || heardMenu(v) {
		t.Errorf("override caller heard %v, want the warning and no menu", heard(v))
	}
	overrideID := v.ChannelID
	evs := w.callEvents(overrideID)
	if want := []events.Type{evStarted, evAnswered, evClassified, evTransferred, evEnded}; !slices.Equal(ivrTypes(evs), want) {
		t.Errorf("override call events %v, want %v", types(evs), want)
	}
	if st := only[events.Started](t, evs, evStarted); !st.Blocked || st.BlockUntil == nil {
		t.Errorf("override call.started %+v, want blocked with block_until", st)
	}
	if cl := only[events.Classified](t, evs, evClassified); cl.Outcome != events.OutcomeBlockedOverride {
		t.Errorf("override outcome %q, want blocked_override", cl.Outcome)
	}
	tr := only[events.Transferred](t, evs, evTransferred)
	if !tr.BlockedOverride || tr.Context != w.cfg.IVR.OperatorContext || tr.Extension != w.cfg.IVR.FailoverExtension {
		t.Errorf("call.transferred %+v, want blocked_override to the operator", tr)
	}

	// The operator finds the call genuine. Without the admin token the
	// API refuses; with it the verdict is published and lifts the block.
	path := "/api/calls/" + url.PathEscape(overrideID) + "/verdict"
	verdict := map[string]string{"verdict": events.VerdictGenuine, "by": "operator-7"}
	if code := w.apiDo(http.MethodPost, path, "", verdict, nil); code != http.StatusUnauthorized {
		t.Errorf("verdict without the token: %d, want 401", code)
	}
	before := w.blockChanges()
	var accepted struct {
		ID     string `json:"id"`
		CallID string `json:"call_id"`
	}
	if code := w.apiDo(http.MethodPost, path, adminToken, verdict, &accepted); code != http.StatusAccepted || accepted.CallID != overrideID {
		t.Fatalf("verdict: %d %+v, want 202 for call %s", code, accepted, overrideID)
	}
	lift := w.waitBlockChange(e164, before, func(d events.BlocklistChanged) bool { return d.Until == nil })
	if lift.Strikes != 0 {
		t.Errorf("lift announced %d strikes, want 0 (genuine clears them)", lift.Strikes)
	}
	w.waitCache(number, false)

	// The next call gets the menu and is served.
	v = w.call(number, fire...)
	if !heardMenu(v) || slices.Contains(heard(v), "blocked") || v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("call after the verdict: %s, want the menu and fire", fmtView(v))
	}
	evs = w.callEvents(v.ChannelID)
	if want := []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded}; !slices.Equal(ivrTypes(evs), want) {
		t.Errorf("call after the verdict: events %v, want %v", types(evs), want)
	}
	if st := only[events.Started](t, evs, evStarted); st.Blocked || st.BlockUntil != nil {
		t.Errorf("call after the verdict: call.started %+v, want not blocked", st)
	}

	// The blocklist API shows the number unblocked with no strikes left.
	var list struct {
		Entries []web.Entry `json:"entries"`
	}
	if code := w.apiDo(http.MethodGet, "/api/blocklist", adminToken, nil, &list); code != http.StatusOK {
		t.Fatalf("GET /api/blocklist: %d", code)
	}
	i := slices.IndexFunc(list.Entries, func(e web.Entry) bool { return e.Number == e164 })
	if i < 0 || list.Entries[i].Blocked || list.Entries[i].Points != 0 {
		t.Errorf("blocklist entries %+v, want %s unblocked with no points", list.Entries, e164)
	}

	// The reports saw all six calls with their outcomes and the verdict.
	want := []string{"no_input", "no_input", "no_input", "blocked", "blocked_override", "emergency"}
	var calls []reports.CallRecord
	defer func() {
		if t.Failed() {
			for _, c := range calls {
				t.Logf("report: %+v", c)
			}
		}
	}()
	eventually(t, "reports of the six calls", func() bool {
		var got struct {
			Calls []reports.CallRecord `json:"calls"`
		}
		// The IVR publishes E.164 and the reports normalise the filter,
		// so the number is found in the national form the caller presented.
		if w.apiDo(http.MethodGet, "/api/calls?number="+number, adminToken, nil, &got) != http.StatusOK {
			return false
		}
		calls = got.Calls
		var outcomes []string
		verdict := ""
		for _, c := range calls {
			outcomes = append(outcomes, c.Outcome)
			if c.CallID == overrideID {
				verdict = c.Verdict
			}
		}
		slices.Sort(outcomes)
		sorted := slices.Sorted(slices.Values(want))
		return slices.Equal(outcomes, sorted) && verdict == events.VerdictGenuine
	})
	for _, c := range calls {
		if c.Blocked != (c.Outcome == "blocked" || c.Outcome == "blocked_override") {
			t.Errorf("report of call %s: blocked %v with outcome %s", c.CallID, c.Blocked, c.Outcome)
		}
	}
}

// TestAdminBlockReachesIVR: a block set by an admin, through the Admin API
// the CLI uses or through the HTTP API, reaches the IVR's cache within the
// deadline, and the next call from the number (in another written form) is
// warned and hung up.
func TestAdminBlockReachesIVR(t *testing.T) {
	w := startWorld(t)
	cases := []struct {
		name   string
		caller string // the number as the network presents it
		e164   string
		// block sets the block and returns its end.
		block func(t *testing.T) time.Time
	}{
		{
			name: "Admin.Block", caller: "081200000002", e164: "+6281200000002",
			block: func(t *testing.T) time.Time {
				ctx, cancel := context.WithTimeout(context.Background(), waitMax)
				defer cancel()
				rec, err := w.admin.Block(ctx, "+62 812-0000-0002", time.Hour, "prank reports", "admin:e2e")
				if err != nil {
					t.Fatalf("Admin.Block: %v", err)
				}
				return rec.Until
			},
		},
		{
			name: "POST /api/blocklist", caller: "6281200000003", e164: "+6281200000003",
			block: func(t *testing.T) time.Time {
				body := map[string]string{"number": "0812-0000-0003", "for": "2h", "reason": "prank reports", "by": "e2e"}
				if code := w.apiDo(http.MethodPost, "/api/blocklist", "", body, nil); code != http.StatusUnauthorized {
					t.Errorf("block without the token: %d, want 401", code)
				}
				var e web.Entry
				if code := w.apiDo(http.MethodPost, "/api/blocklist", adminToken, body, &e); code != http.StatusOK || e.Until == nil {
					t.Fatalf("POST /api/blocklist: %d %+v, want 200 with until", code, e)
				}
				return *e.Until
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, blocked := w.s.Cache().Check(tc.caller, time.Now()); blocked {
				t.Fatalf("%s blocked before the admin acted", tc.caller)
			}
			before := w.blockChanges()
			until := tc.block(t)
			took := w.waitCache(tc.caller, true)
			t.Logf("block seen by the IVR's cache %s after the admin's request returned", took.Round(time.Microsecond))
			if got, _ := w.s.Cache().Check(tc.caller, time.Now()); !got.Equal(until) {
				t.Errorf("cache: blocked until %v, want %v", got, until)
			}
			ch := w.waitBlockChange(tc.e164, before, func(d events.BlocklistChanged) bool { return d.Until != nil })
			if !ch.Until.Equal(until) || ch.Reason == "" {
				t.Errorf("blocklist.changed %+v, want until %v with a reason", ch, until)
			}
			checkWarned(t, w, w.call(tc.caller, silent...), until)
		})
	}
}
