package ari

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Shorthands for expected event sequences.
var (
	evStarted     = events.TypeStarted
	evAnswered    = events.TypeAnswered
	evMenu        = events.TypeMenu
	evClassified  = events.TypeClassified
	evTransferred = events.TypeTransferred
	evEnded       = events.TypeEnded
)

// outcomeCase is one caller and everything the test expects of the call.
type outcomeCase struct {
	name    string
	blocked bool
	script  []arisim.Step
	// prompts must have been heard in this order (others may be between
	// them: barge-in timing decides whether a later menu item started).
	prompts []string
	// notHeard must not have been played.
	notHeard []string
	// ext is the operators' extension the call continues to; "" means the
	// call must not be continued.
	ext       string
	hungUpBy  string // sim's view when not continued
	events    []events.Type
	outcome   events.Outcome
	emergency string
	// recording is the suffix of the expected recording name ("" none).
	recording string
	endedBy   string
	menus     []string // results of the call.menu events
}

func emergencyCase(digit, typ string) outcomeCase {
	return outcomeCase{
		name: typ,
		script: []arisim.Step{
			arisim.WaitForPrompt("menu"), arisim.Press(digit),
			arisim.WaitForPrompt("location"), arisim.Talk(2 * time.Second),
		},
		prompts:   []string{"greeting", "menu", "location", "connecting"},
		notHeard:  []string{"goodbye", "invalid", "no-input"},
		ext:       typ,
		events:    []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded},
		outcome:   events.OutcomeEmergency,
		emergency: typ,
		recording: "-location",
		endedBy:   events.HangupBySystem,
		menus:     []string{events.MenuValid},
	}
}

func outcomeCases() []outcomeCase {
	silentMenus := []string{events.MenuTimeout, events.MenuTimeout, events.MenuTimeout}
	return []outcomeCase{
		emergencyCase("1", "fire"),
		emergencyCase("2", "medical"),
		emergencyCase("3", "police"),
		emergencyCase("4", "disaster"),
		{
			name:      "operator",
			script:    []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("0")},
			prompts:   []string{"greeting", "menu", "connecting"},
			notHeard:  []string{"location", "goodbye"},
			ext:       "operator",
			events:    []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded},
			outcome:   events.OutcomeEmergency,
			emergency: "operator",
			endedBy:   events.HangupBySystem,
			menus:     []string{events.MenuValid},
		},
		{
			name:     "voice",
			script:   []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Talk(3 * time.Second)},
			prompts:  []string{"greeting", "menu", "connecting"},
			notHeard: []string{"location", "goodbye", "no-input"},
			ext:      "operator",
			events:   []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded},
			outcome:  events.OutcomeVoice,
			endedBy:  events.HangupBySystem,
			menus:    []string{events.MenuVoice},
		},
		{
			// Still talking when TalkMin passes: the timer decides, not
			// ChannelTalkingFinished.
			name:     "voice (long talk)",
			script:   []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Talk(10 * time.Minute)},
			prompts:  []string{"greeting", "menu", "connecting"},
			notHeard: []string{"location", "goodbye", "no-input"},
			ext:      "operator",
			events:   []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded},
			outcome:  events.OutcomeVoice,
			endedBy:  events.HangupBySystem,
			menus:    []string{events.MenuVoice},
		},
		func() outcomeCase {
			// A cough shorter than TalkMin is not talk.
			c := emergencyCase("3", "police")
			c.name = "short talk then police"
			c.script = append([]arisim.Step{arisim.WaitForPrompt("menu"), arisim.Talk(300 * time.Millisecond)}, c.script[1:]...)
			return c
		}(),
		func() outcomeCase {
			// A key pressed during the greeting counts for the menu.
			c := emergencyCase("2", "medical")
			c.name = "key during greeting"
			c.script = append([]arisim.Step{arisim.WaitForPrompt("greeting")}, c.script[1:]...)
			c.prompts = []string{"greeting", "location", "connecting"}
			c.notHeard = append(c.notHeard, "menu")
			return c
		}(),
		{
			// The third offer is the last prompt, after the menu attempts.
			name: "silent_help",
			script: []arisim.Step{arisim.WaitForPrompt("silent-help"), arisim.WaitForPrompt("silent-help"),
				arisim.WaitForPrompt("silent-help"), arisim.Press("55")},
			prompts:  []string{"greeting", "menu", "no-input", "silent-help", "menu", "no-input", "silent-help", "menu", "silent-help", "connecting"},
			notHeard: []string{"goodbye", "location"},
			ext:      "operator",
			events:   []events.Type{evStarted, evAnswered, evMenu, evMenu, evMenu, evClassified, evTransferred, evEnded},
			outcome:  events.OutcomeSilentHelp,
			endedBy:  events.HangupBySystem,
			menus:    silentMenus,
		},
		{
			name:     "no_input",
			prompts:  []string{"greeting", "menu", "no-input", "silent-help", "menu", "no-input", "silent-help", "menu", "silent-help", "goodbye"},
			notHeard: []string{"connecting"},
			hungUpBy: arisim.HungUpByApp,
			events:   []events.Type{evStarted, evAnswered, evMenu, evMenu, evMenu, evClassified, evEnded},
			outcome:  events.OutcomeNoInput,
			endedBy:  events.HangupBySystem,
			menus:    silentMenus,
		},
		{
			name: "invalid",
			script: []arisim.Step{
				arisim.WaitForPrompt("menu"), arisim.Press("7"),
				arisim.WaitForPrompt("invalid"), arisim.Press("8"),
				arisim.WaitForPrompt("invalid"), arisim.Press("#"),
			},
			prompts:  []string{"greeting", "menu", "invalid", "invalid", "goodbye"},
			notHeard: []string{"connecting", "silent-help"},
			hungUpBy: arisim.HungUpByApp,
			events:   []events.Type{evStarted, evAnswered, evMenu, evMenu, evMenu, evClassified, evEnded},
			outcome:  events.OutcomeInvalid,
			endedBy:  events.HangupBySystem,
			menus:    []string{events.MenuInvalid, events.MenuInvalid, events.MenuInvalid},
		},
		{
			name:     "blocked",
			blocked:  true,
			prompts:  []string{"greeting", "blocked", "silent-help", "goodbye"},
			notHeard: []string{"menu", "connecting"},
			hungUpBy: arisim.HungUpByApp,
			events:   []events.Type{evStarted, evAnswered, evClassified, evEnded},
			outcome:  events.OutcomeBlocked,
			endedBy:  events.HangupBySystem,
		},
		{
			name:     "blocked_override",
			blocked:  true,
			script:   []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Press("9")},
			prompts:  []string{"greeting", "blocked", "connecting"},
			notHeard: []string{"menu", "goodbye"},
			ext:      "operator",
			events:   []events.Type{evStarted, evAnswered, evClassified, evTransferred, evEnded},
			outcome:  events.OutcomeBlockedOverride,
			endedBy:  events.HangupBySystem,
		},
		abandonedCase("during greeting", false, "greeting", nil),
		abandonedCase("during menu", false, "menu", nil),
		abandonedCase("during second attempt", false, "no-input", []string{events.MenuTimeout}),
		abandonedCase("during silent help", false, "silent-help", []string{events.MenuTimeout}),
		abandonedCase("during blocked warning", true, "blocked", nil),
	}
}

func abandonedCase(name string, blocked bool, at string, menus []string) outcomeCase {
	evs := []events.Type{evStarted, evAnswered}
	for range menus {
		evs = append(evs, evMenu)
	}
	return outcomeCase{
		name:     "abandoned " + name,
		blocked:  blocked,
		script:   []arisim.Step{arisim.WaitForPrompt(at), arisim.Hangup()},
		prompts:  slices.Compact([]string{"greeting", at}),
		notHeard: []string{"connecting", "goodbye"},
		hungUpBy: arisim.HungUpByCaller,
		events:   append(evs, evClassified, evEnded),
		outcome:  events.OutcomeAbandoned,
		endedBy:  events.HangupByCaller,
		menus:    menus,
	}
}

// TestOutcomes places one call per outcome through the simulated Asterisk
// and checks what the caller heard, where the call went with which
// variables, and the exact event sequence on the stream.
func TestOutcomes(t *testing.T) {
	e := startEnv(t, envOptions{})
	for i, tc := range outcomeCases() {
		t.Run(tc.name, func(t *testing.T) {
			number := fmt.Sprintf("+62811000%04d", i)
			if tc.blocked {
				e.bl.Set(number, time.Now().Add(time.Hour))
			}
			v := e.call(arisim.Caller{Number: number, Name: "Test", Script: tc.script})
			checkCall(t, e, tc, number, v)
		})
	}
	st := e.ivr.Stats()
	if st.Events.InboxFull != 0 || st.Events.Unrouted != 0 || st.Events.Undecodable != 0 {
		t.Fatalf("event stats = %+v, want no dropped, unrouted or undecodable events", st.Events)
	}
}

func checkCall(t *testing.T, e *env, tc outcomeCase, number string, v arisim.CallerView) {
	t.Helper()
	heard := base(v.Prompts)
	if !inOrder(heard, tc.prompts) {
		t.Errorf("prompts heard %v, want in order %v", heard, tc.prompts)
	}
	for _, p := range tc.notHeard {
		if slices.Contains(heard, p) {
			t.Errorf("prompt %q heard (%v)", p, heard)
		}
	}
	id := v.ChannelID
	if tc.ext != "" {
		if v.Continued == nil || v.Continued.Context != e.cfg.IVR.OperatorContext ||
			v.Continued.Extension != tc.ext || v.Continued.Priority != 1 {
			t.Fatalf("continued to %+v, want %s,%s,1 (%s)", v.Continued, e.cfg.IVR.OperatorContext, tc.ext, fmtView(v))
		}
		typ := tc.emergency
		if typ == "" {
			typ = string(tc.outcome)
		}
		rec := ""
		if tc.recording != "" {
			rec = "siaga112-" + id + tc.recording
		}
		wantVars := map[string]string{
			"SIAGA112_CALL_ID": id, "SIAGA112_TYPE": typ, "SIAGA112_OUTCOME": string(tc.outcome), "SIAGA112_RECORDING": rec,
		}
		for k, want := range wantVars {
			if got, ok := v.Variables[k]; !ok || got != want {
				t.Errorf("variable %s = %q (set %v), want %q", k, got, ok, want)
			}
		}
		if rec != "" && !slices.Contains(v.Recordings, rec) {
			t.Errorf("recordings %v, want %s", v.Recordings, rec)
		}
	} else {
		if v.Continued != nil {
			t.Fatalf("continued to %+v, want no transfer", v.Continued)
		}
		if v.HungUpBy != tc.hungUpBy {
			t.Errorf("hung up by %q, want %q", v.HungUpBy, tc.hungUpBy)
		}
	}

	evs := e.waitEnded(id)
	if got := ivrTypes(evs); !slices.Equal(got, tc.events) {
		t.Fatalf("events %v, want %v", got, tc.events)
	}
	for _, ev := range evs {
		if ev.Node != "test-node" || ev.Caller.Number != number || ev.Caller.Presentation != events.PresentationAllowed {
			t.Fatalf("envelope %s: node %q caller %+v", ev.Type, ev.Node, ev.Caller)
		}
	}
	started := dataOf[events.Started](t, evs, evStarted)
	if started.Blocked != tc.blocked || started.Dialed != "112" || (started.BlockUntil != nil) != tc.blocked {
		t.Errorf("call.started = %+v, want blocked %v, dialed 112", started, tc.blocked)
	}
	var menus []string
	for _, ev := range evs {
		if ev.Type == evMenu {
			var m events.Menu
			if err := ev.DecodeData(&m); err != nil {
				t.Fatal(err)
			}
			menus = append(menus, m.Result)
		}
	}
	if !slices.Equal(menus, tc.menus) {
		t.Errorf("menu results %v, want %v", menus, tc.menus)
	}
	cl := dataOf[events.Classified](t, evs, evClassified)
	if cl.Outcome != tc.outcome || cl.EmergencyType != tc.emergency {
		t.Errorf("call.classified = %+v, want outcome %s type %q", cl, tc.outcome, tc.emergency)
	}
	if tc.recording != "" && cl.Recording != "siaga112-"+id+tc.recording {
		t.Errorf("classified recording %q, want suffix %s", cl.Recording, tc.recording)
	}
	if tc.ext != "" {
		tr := dataOf[events.Transferred](t, evs, evTransferred)
		if tr.Extension != tc.ext || tr.Context != e.cfg.IVR.OperatorContext || tr.BlockedOverride != (tc.outcome == events.OutcomeBlockedOverride) {
			t.Errorf("call.transferred = %+v, want extension %s", tr, tc.ext)
		}
	}
	end := dataOf[events.Ended](t, evs, evEnded)
	if tc.ext != "" {
		// A call put through ends past the hand-off, when the caller's
		// script runs out: in the queue, or with the operator who answered
		// at once (which of the two is a race, see follow_test.go).
		if end.Outcome != tc.outcome || end.HangupBy != events.HangupByCaller || end.DurationS <= 0 ||
			(end.Where != events.WhereQueue && end.Where != events.WhereOperator) || end.Callback != (end.Where == events.WhereQueue) {
			t.Errorf("call.ended = %+v, want outcome %s ended by the caller past the hand-off", end, tc.outcome)
		}
		return
	}
	if end.Outcome != tc.outcome || end.HangupBy != tc.endedBy || end.DurationS <= 0 || end.Where != events.WhereIVR {
		t.Errorf("call.ended = %+v, want outcome %s hangup_by %s in the IVR", end, tc.outcome, tc.endedBy)
	}
}

// inOrder reports whether want is a subsequence of got.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestBlockedCallerKeyedOverGreetingHearsWarning: with a single offer, a
// blocked caller who presses a menu key during the greeting (which stops
// it before the warning) still hears the whole warning and can press 9.
func TestBlockedCallerKeyedOverGreetingHearsWarning(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) { c.IVR.MenuAttempts = 1 }})
	const number = "+628110009901"
	e.bl.Set(number, time.Now().Add(time.Hour))
	v := e.call(arisim.Caller{Number: number, Script: []arisim.Step{
		arisim.WaitForPrompt("greeting"), arisim.Press("1"),
		arisim.WaitForPrompt("blocked"), arisim.Press("9"),
	}})
	if v.Continued == nil || v.Continued.Extension != "operator" {
		t.Fatalf("blocked caller not put through: %s", fmtView(v))
	}
	full := false
	for _, p := range v.PromptLog {
		full = full || p.Sound == "siaga112/blocked" && p.State == "done"
	}
	if !full {
		t.Fatalf("the warning was not played in full: %+v", v.PromptLog)
	}
	evs := e.waitEnded(v.ChannelID)
	if cl := dataOf[events.Classified](t, evs, evClassified); cl.Outcome != events.OutcomeBlockedOverride {
		t.Fatalf("classified %+v, want blocked_override", cl)
	}
}
