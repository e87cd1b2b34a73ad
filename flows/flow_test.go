package flows

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

const (
	callID  = "c1"
	opsCtx  = "siaga112-operators"
	locName = "siaga112-c1-location"
	vocName = "siaga112-c1-voice"
)

var (
	errBoom   = errors.New("boom")
	errHangup = fmt.Errorf("channel gone: %w", ErrHangup)
)

// Script shorthands.
var (
	silent = PromptResult{Status: PromptTimeout}
	talk   = PromptResult{Status: PromptTalk}
)

func key(d string) PromptResult { return PromptResult{Digits: d, Status: PromptDone} }

// Expected operations with the default config.
const (
	opAnswer    = "answer"
	opGreet     = "prompt greeting max=1 inter=3s code=55 talk=1s"
	opBlocked   = "prompt greeting+blocked max=1 first=5s inter=3s code=55 talk=1s"
	opBlockedRe = "prompt blocked max=1 first=5s inter=3s code=55 talk=1s"
	// The last, uninterruptible play of the warning and the wait for the key.
	opBlockedFull = "prompt blocked max=0 talk=1s"
	opBlockedKey  = "prompt  max=1 first=5s inter=3s code=55 talk=1s"
	opSilentHelp  = "prompt silent-help max=1 first=8s talk=1s"
	opLocation    = "prompt location max=0"
	opRecLoc      = "record siaga112-c1-location max=20s silence=3s"
	opRecVoice    = "record siaga112-c1-voice max=20s silence=3s"
	opConnecting  = "prompt connecting max=0"
	opGoodbye     = "prompt goodbye max=1 inter=3s code=55 talk=1s"
	opSetVars     = "setvars"
	opHangup      = "hangup"
)

func opMenu(prefix ...string) string {
	s := append(prefix, "menu", "menu-fire", "menu-medical", "menu-police", "menu-disaster", "menu-operator")
	return "prompt " + strings.Join(s, "+") + " max=1 first=5s inter=3s code=55 talk=1s"
}

func opContinue(ext string) string { return "continue " + opsCtx + "," + ext + ",1" }

// Expected events.
var evAnswered = emitted{events.TypeAnswered, events.Answered{}}

func evMenu(attempt int, digits, result string) emitted {
	return emitted{events.TypeMenu, events.Menu{Attempt: attempt, Digits: digits, Result: result}}
}

func evClassified(o events.Outcome, typ string, attempts int, secs float64, talk bool, rec, reason string) emitted {
	return emitted{events.TypeClassified, events.Classified{
		Outcome: o, EmergencyType: typ, Attempts: attempts, SecondsToClassify: secs,
		TalkDetected: talk, Recording: rec, Reason: reason,
	}}
}

func evTransferred(typ, ext string, override bool) emitted {
	return emitted{events.TypeTransferred, events.Transferred{EmergencyType: typ, Context: opsCtx, Extension: ext, BlockedOverride: override}}
}

func vars(typ string, o events.Outcome, rec string) map[string]string {
	return map[string]string{VarCallID: callID, VarType: typ, VarOutcome: string(o), VarRecording: rec}
}

func failVars(typ, rec, reason string) map[string]string {
	v := vars(typ, events.OutcomeFailover, rec)
	v[VarFailover] = reason
	return v
}

// testIVR is the default config with a failover extension that differs
// from the operator entry's, so tests can tell the two apart.
func testIVR() configs.IVR {
	cfg := configs.Default().IVR
	cfg.FailoverExtension = "failover"
	// Most cases below follow the longest path a chosen type can take: the
	// location asked every time and a connecting prompt played. The default
	// path (location only when busy, no connecting prompt, the whole-call
	// recording named) has its own tests.
	cfg.Location.When = configs.LocationAlways
	cfg.Prompts.Connecting = "connecting"
	cfg.CallRecordingPrefix = ""
	return cfg
}

type flowCase struct {
	name     string
	cfg      func(*configs.IVR)
	blocked  bool
	prompts  []PromptResult
	fail     map[string]error
	wantOps  []string
	wantEvs  []emitted
	wantVars map[string]string // nil: SetVariables must not be called
	want     Result
	// free answers QUEUE_MEMBER(<queue>,free) per queue (default "0").
	free map[string]string
	// incident is the announcement playing (nil: none).
	incident *Announcement
}

func runCase(t *testing.T, tc flowCase) {
	t.Helper()
	cfg := testIVR()
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	clock := newFakeClock()
	f, err := New(cfg, clock, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	call := &scriptedCall{t: t, clock: clock, prefix: cfg.SoundPrefix, prompts: tc.prompts, fail: tc.fail, free: tc.free}
	rec := &recorder{t: t}
	start := clock.Now()
	got := f.Run(context.Background(), call, Input{CallID: callID, Number: "+628111", Blocked: tc.blocked, Incident: tc.incident}, rec)
	if tc.want.Transferred && tc.want.SecondsToQueue == 0 {
		// The hand-off is the last operation, so the time to the queue is
		// all the time the fake call took.
		tc.want.SecondsToQueue = clock.Now().Sub(start).Seconds()
		for i, ev := range tc.wantEvs {
			if tr, ok := ev.Data.(events.Transferred); ok {
				tr.SecondsToQueue = tc.want.SecondsToQueue
				tc.wantEvs[i].Data = tr
			}
		}
	}

	if got != tc.want {
		t.Errorf("result\n got %+v\nwant %+v", got, tc.want)
	}
	if !reflect.DeepEqual(call.ops, tc.wantOps) {
		t.Errorf("operations\n got %q\nwant %q", call.ops, tc.wantOps)
	}
	if !reflect.DeepEqual(rec.got, tc.wantEvs) {
		t.Errorf("events\n got %+v\nwant %+v", rec.got, tc.wantEvs)
	}
	switch {
	case tc.wantVars == nil && len(call.vars) > 0:
		t.Errorf("SetVariables(%v) was called, want no call", call.vars)
	case tc.wantVars != nil && len(call.vars) != 1:
		t.Errorf("SetVariables called %d times, want once with %v", len(call.vars), tc.wantVars)
	case tc.wantVars != nil && !reflect.DeepEqual(call.vars[0], tc.wantVars):
		t.Errorf("variables\n got %v\nwant %v", call.vars[0], tc.wantVars)
	}
	if len(call.prompts) > 0 {
		t.Errorf("%d scripted answers were never asked for: %+v", len(call.prompts), call.prompts)
	}
}

func TestRunEmergencyTypes(t *testing.T) {
	var cases []flowCase
	for _, e := range testIVR().Menu {
		if e.Type == TypeOperator {
			continue
		}
		cases = append(cases, flowCase{
			name:    e.Type,
			prompts: []PromptResult{silent, key(e.Digit)},
			wantOps: []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting, opSetVars, opContinue(e.Extension)},
			wantEvs: []emitted{
				evAnswered,
				evMenu(1, e.Digit, events.MenuValid),
				evClassified(events.OutcomeEmergency, e.Type, 1, 6, false, locName, ""),
				evTransferred(e.Type, e.Extension, false),
			},
			wantVars: vars(e.Type, events.OutcomeEmergency, locName),
			want: Result{Outcome: events.OutcomeEmergency, EmergencyType: e.Type, Attempts: 1, Recording: locName,
				Transferred: true, Extension: e.Extension},
		})
	}
	if len(cases) != 4 {
		t.Fatalf("default menu has %d emergency types, want 4", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestRunOutcomes(t *testing.T) {
	cases := []flowCase{
		{
			name:    "operator key skips the location question",
			prompts: []PromptResult{silent, key("0")},
			wantOps: []string{opAnswer, opGreet, opMenu(), opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "0", events.MenuValid),
				evClassified(events.OutcomeEmergency, "operator", 1, 6, false, "", ""),
				evTransferred("operator", "operator", false),
			},
			wantVars: vars("operator", events.OutcomeEmergency, ""),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "operator", Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:    "key during the greeting is the first attempt",
			prompts: []PromptResult{key("2")},
			wantOps: []string{opAnswer, opGreet, opLocation, opRecLoc, opConnecting, opSetVars, opContinue("medical")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "2", events.MenuValid),
				evClassified(events.OutcomeEmergency, "medical", 1, 3, false, locName, ""),
				evTransferred("medical", "medical", false),
			},
			wantVars: vars("medical", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "medical", Attempts: 1, Recording: locName, Transferred: true, Extension: "medical"},
		},
		{
			name:    "talk during the greeting is voice, put through at once",
			prompts: []PromptResult{talk},
			wantOps: []string{opAnswer, opGreet, opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuVoice),
				evClassified(events.OutcomeVoice, "", 1, 3, true, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:    "wrong key during the greeting, then a good one",
			prompts: []PromptResult{key("8"), key("1")},
			wantOps: []string{opAnswer, opGreet, opMenu("invalid"), opLocation, opRecLoc, opConnecting, opSetVars, opContinue("fire")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "8", events.MenuInvalid), evMenu(2, "1", events.MenuValid),
				evClassified(events.OutcomeEmergency, "fire", 2, 6, false, locName, ""),
				evTransferred("fire", "fire", false),
			},
			wantVars: vars("fire", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 2, Recording: locName, Transferred: true, Extension: "fire"},
		},
		{
			name:    "invalid key then a good one",
			prompts: []PromptResult{silent, key("7"), key("3")},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opLocation, opRecLoc, opConnecting, opSetVars, opContinue("police")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "3", events.MenuValid),
				evClassified(events.OutcomeEmergency, "police", 2, 9, false, locName, ""),
				evTransferred("police", "police", false),
			},
			wantVars: vars("police", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "police", Attempts: 2, Recording: locName, Transferred: true, Extension: "police"},
		},
		{
			name:    "silence then a key on the last attempt",
			prompts: []PromptResult{silent, silent, silent, key("4")},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opLocation, opRecLoc, opConnecting, opSetVars, opContinue("disaster")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "4", events.MenuValid),
				evClassified(events.OutcomeEmergency, "disaster", 3, 12, false, locName, ""),
				evTransferred("disaster", "disaster", false),
			},
			wantVars: vars("disaster", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "disaster", Attempts: 3, Recording: locName, Transferred: true, Extension: "disaster"},
		},
		{
			name:    "talk on the second attempt is voice",
			prompts: []PromptResult{silent, silent, talk},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuVoice),
				evClassified(events.OutcomeVoice, "", 2, 9, true, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 2, Transferred: true, Extension: "operator"},
		},
		{
			name:    "talk after wrong keys still wins",
			prompts: []PromptResult{silent, key("9"), key("8"), talk},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("invalid"), opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "9", events.MenuInvalid), evMenu(2, "8", events.MenuInvalid), evMenu(3, "", events.MenuVoice),
				evClassified(events.OutcomeVoice, "", 3, 12, true, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 3, Transferred: true, Extension: "operator"},
		},
		{
			name:    "silent caller presses 55",
			prompts: []PromptResult{silent, silent, silent, silent, key("55")},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp, opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeSilentHelp, "", 3, 15, false, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 3, Transferred: true, Extension: "operator"},
		},
		{
			name:    "silent caller talks on the silent-help prompt",
			prompts: []PromptResult{silent, silent, silent, silent, talk},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp, opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeVoice, "", 3, 15, true, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 3, Transferred: true, Extension: "operator"},
		},
		{
			name:    "one key at the silent-help prompt is a person: put through",
			prompts: []PromptResult{silent, silent, silent, silent, {Digits: "5", Status: PromptTimeout}},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp, opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeSilentHelp, "", 3, 15, false, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 3, Transferred: true, Extension: "operator"},
		},
		{
			name:    "no input: silence at the silent-help prompt too",
			prompts: []PromptResult{silent, silent, silent, silent, silent, silent},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeNoInput, "", 3, 15, false, "", ""),
			},
			want: Result{Outcome: events.OutcomeNoInput, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:    "invalid: wrong keys every attempt, no silent-help offer",
			prompts: []PromptResult{silent, key("7"), key("8"), key("#"), silent},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("invalid"), opGoodbye, opHangup},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "8", events.MenuInvalid), evMenu(3, "#", events.MenuInvalid),
				evClassified(events.OutcomeInvalid, "", 3, 12, false, "", ""),
			},
			want: Result{Outcome: events.OutcomeInvalid, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:    "mixed: wrong key then silence is offered silent help, and is invalid without it",
			prompts: []PromptResult{silent, key("7"), silent, silent, silent, silent},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("no-input", "silent-help"), opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeInvalid, "", 3, 15, false, "", ""),
			},
			want: Result{Outcome: events.OutcomeInvalid, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:    "mixed: wrong key then silence then 55 is silent help",
			prompts: []PromptResult{silent, key("7"), silent, silent, key("55")},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("no-input", "silent-help"), opSilentHelp, opConnecting, opSetVars, opContinue("operator")},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout),
				evClassified(events.OutcomeSilentHelp, "", 3, 15, false, "", ""),
				evTransferred("", "operator", false),
			},
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 3, Transferred: true, Extension: "operator"},
		},
		{
			name:    "mixed: silence then a wrong key last is invalid, no silent-help offer",
			prompts: []PromptResult{silent, silent, silent, key("9"), silent},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opGoodbye, opHangup},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "9", events.MenuInvalid),
				evClassified(events.OutcomeInvalid, "", 3, 12, false, "", ""),
			},
			want: Result{Outcome: events.OutcomeInvalid, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:    "blocked caller stays silent, through the silent-help offer too",
			blocked: true,
			prompts: []PromptResult{silent, silent, silent},
			wantOps: []string{opAnswer, opBlocked, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 1, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, HangupBy: events.HangupBySystem},
		},
		{
			name:     "blocked caller presses 9",
			blocked:  true,
			prompts:  []PromptResult{key("9")},
			wantOps:  []string{opAnswer, opBlocked, opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeBlockedOverride, "", 1, 3, false, "", OverrideKey), evTransferred("", "operator", true)},
			wantVars: vars("blocked_override", events.OutcomeBlockedOverride, ""),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "blocked caller presses a menu key, hears the warning again, presses 9",
			blocked:  true,
			prompts:  []PromptResult{key("1"), key("9")},
			wantOps:  []string{opAnswer, opBlocked, opBlockedRe, opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeBlockedOverride, "", 2, 6, false, "", OverrideKey), evTransferred("", "operator", true)},
			wantVars: vars("blocked_override", events.OutcomeBlockedOverride, ""),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 2, Transferred: true, Extension: "operator"},
		},
		{
			name:    "blocked caller presses wrong keys until the offers run out",
			blocked: true,
			prompts: []PromptResult{key("1"), key("2"), key("3"), key("4"), silent},
			wantOps: []string{opAnswer, opBlocked, opBlockedRe, opBlockedRe, opBlockedFull, opBlockedKey, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 4, 15, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 4, HangupBy: events.HangupBySystem},
		},
		{
			// One play allowed and a key pressed during the greeting: the
			// caller never heard the warning until the last, full play.
			name:     "blocked caller with one offer keys the greeting, hears the warning in full, presses 9",
			cfg:      func(c *configs.IVR) { c.MenuAttempts = 1 },
			blocked:  true,
			prompts:  []PromptResult{key("1"), key("9")},
			wantOps:  []string{opAnswer, opBlocked, opBlockedFull, opBlockedKey, opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeBlockedOverride, "", 2, 9, false, "", OverrideKey), evTransferred("", "operator", true)},
			wantVars: vars("blocked_override", events.OutcomeBlockedOverride, ""),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 2, Transferred: true, Extension: "operator"},
		},
		{
			name:    "blocked caller silent after the last full warning",
			cfg:     func(c *configs.IVR) { c.MenuAttempts = 1 },
			blocked: true,
			prompts: []PromptResult{key("1"), silent, silent, silent},
			wantOps: []string{opAnswer, opBlocked, opBlockedFull, opBlockedKey, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 2, 12, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 2, HangupBy: events.HangupBySystem},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestRunAbandoned(t *testing.T) {
	abandoned := func(attempts int, secs float64) emitted {
		ev := evClassified(events.OutcomeAbandoned, "", attempts, secs, false, "", "")
		c := ev.Data.(events.Classified)
		c.HangupBy = events.HangupByCaller
		ev.Data = c
		return ev
	}
	res := func(attempts int) Result {
		return Result{Outcome: events.OutcomeAbandoned, Attempts: attempts, HangupBy: events.HangupByCaller}
	}
	three := []PromptResult{silent, silent, silent, silent}
	cases := []flowCase{
		{
			name:    "during answer",
			fail:    map[string]error{"answer#1": errHangup},
			wantOps: []string{opAnswer},
			wantEvs: []emitted{abandoned(0, 0)},
			want:    res(0),
		},
		{
			name:    "during greeting",
			fail:    map[string]error{"prompt#1": errHangup},
			wantOps: []string{opAnswer, opGreet},
			wantEvs: []emitted{evAnswered, abandoned(0, 3)},
			want:    res(0),
		},
		{
			name:    "during menu attempt 1",
			prompts: []PromptResult{silent},
			fail:    map[string]error{"prompt#2": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu()},
			wantEvs: []emitted{evAnswered, abandoned(1, 6)},
			want:    res(1),
		},
		{
			name:    "during menu attempt 2",
			prompts: []PromptResult{silent, key("7")},
			fail:    map[string]error{"prompt#3": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid")},
			wantEvs: []emitted{evAnswered, evMenu(1, "7", events.MenuInvalid), abandoned(2, 9)},
			want:    res(2),
		},
		{
			name:    "during menu attempt 3",
			prompts: []PromptResult{silent, silent, silent},
			fail:    map[string]error{"prompt#4": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help")},
			wantEvs: []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), abandoned(3, 12)},
			want:    res(3),
		},
		{
			name:    "during silent help",
			prompts: three,
			fail:    map[string]error{"prompt#5": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp},
			wantEvs: []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout), abandoned(3, 15)},
			want:    res(3),
		},
		{
			name:    "during the blocked warning",
			blocked: true,
			fail:    map[string]error{"prompt#1": errHangup},
			wantOps: []string{opAnswer, opBlocked},
			wantEvs: []emitted{evAnswered, abandoned(1, 3)},
			want:    res(1),
		},
		{
			name:    "during the repeated blocked warning",
			blocked: true,
			prompts: []PromptResult{key("5")},
			fail:    map[string]error{"prompt#2": errHangup},
			wantOps: []string{opAnswer, opBlocked, opBlockedRe},
			wantEvs: []emitted{evAnswered, abandoned(2, 6)},
			want:    res(2),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// A hangup the Call marks ErrSystemHangup (Asterisk's CLI, AMI, a restart)
// still abandons the call, but says so with hangup_by system, in the result
// and in call.classified.
func TestRunSystemHangup(t *testing.T) {
	// Both ways an adapter may mark it: joined with ErrHangup, or one error
	// wrapping both.
	joined := errors.Join(errHangup, ErrSystemHangup)
	wrapped := fmt.Errorf("channel gone: %w: %w", ErrHangup, ErrSystemHangup)
	if !errors.Is(joined, ErrHangup) || !errors.Is(wrapped, ErrHangup) {
		t.Fatal("a system hangup must still be an ErrHangup")
	}
	abandoned := func(attempts int, secs float64) emitted {
		ev := evClassified(events.OutcomeAbandoned, "", attempts, secs, false, "", "")
		c := ev.Data.(events.Classified)
		c.HangupBy = events.HangupBySystem
		ev.Data = c
		return ev
	}
	cases := []flowCase{
		{
			name:    "joined, during the greeting",
			fail:    map[string]error{"prompt#1": joined},
			wantOps: []string{opAnswer, opGreet},
			wantEvs: []emitted{evAnswered, abandoned(0, 3)},
			want:    Result{Outcome: events.OutcomeAbandoned, HangupBy: events.HangupBySystem},
		},
		{
			name:    "wrapped, during menu attempt 1",
			prompts: []PromptResult{silent},
			fail:    map[string]error{"prompt#2": wrapped},
			wantOps: []string{opAnswer, opGreet, opMenu()},
			wantEvs: []emitted{evAnswered, abandoned(1, 6)},
			want:    Result{Outcome: events.OutcomeAbandoned, Attempts: 1, HangupBy: events.HangupBySystem},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// After the caller chose, a hangup ends the call but the choice stands.
func TestRunHangupAfterChoice(t *testing.T) {
	fire := []PromptResult{silent, key("1")}
	firstEvs := []emitted{evAnswered, evMenu(1, "1", events.MenuValid)}
	fireClassified := func(rec string, callback bool) []emitted {
		ev := evClassified(events.OutcomeEmergency, "fire", 1, 6, false, rec, "")
		c := ev.Data.(events.Classified)
		c.Callback = callback
		ev.Data = c
		return append(append([]emitted(nil), firstEvs...), ev)
	}
	cases := []flowCase{
		{
			name:    "during the location prompt",
			prompts: fire,
			fail:    map[string]error{"prompt#3": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opLocation},
			wantEvs: fireClassified("", true),
			want:    Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:    "during the location recording",
			prompts: fire,
			fail:    map[string]error{"record#1": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc},
			wantEvs: fireClassified("", true),
			want:    Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:    "during the connecting prompt",
			prompts: fire,
			fail:    map[string]error{"prompt#4": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting},
			wantEvs: fireClassified(locName, true),
			want:    Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Recording: locName, Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:     "during set variables",
			prompts:  fire,
			fail:     map[string]error{"setvars#1": errHangup},
			wantOps:  []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting, opSetVars},
			wantEvs:  fireClassified(locName, false),
			wantVars: vars("fire", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Recording: locName, Extension: "fire", Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:     "during continue",
			prompts:  fire,
			fail:     map[string]error{"continue#1": errHangup},
			wantOps:  []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting, opSetVars, opContinue("fire")},
			wantEvs:  fireClassified(locName, false),
			wantVars: vars("fire", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Recording: locName, Extension: "fire", Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:     "a voice caller during the hand-off",
			prompts:  []PromptResult{silent, talk},
			fail:     map[string]error{"continue#1": errHangup},
			wantOps:  []string{opAnswer, opGreet, opMenu(), opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "", events.MenuVoice), evClassified(events.OutcomeVoice, "", 1, 6, true, "", "")},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 1, Extension: "operator", Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:    "during goodbye",
			prompts: []PromptResult{silent, key("7"), key("7"), key("7")},
			fail:    map[string]error{"prompt#5": errHangup},
			wantOps: []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("invalid"), opGoodbye},
			wantEvs: []emitted{
				evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "7", events.MenuInvalid), evMenu(3, "7", events.MenuInvalid),
				evClassified(events.OutcomeInvalid, "", 3, 12, false, "", ""),
			},
			want: Result{Outcome: events.OutcomeInvalid, Attempts: 3, HangupBy: events.HangupByCaller},
		},
		{
			name:    "just before our hangup",
			blocked: true,
			prompts: []PromptResult{silent, silent, silent},
			fail:    map[string]error{"hangup#1": errHangup},
			wantOps: []string{opAnswer, opBlocked, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 1, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, HangupBy: events.HangupByCaller},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// Emergency first: a failing step puts the caller through to operators.
func TestRunFailover(t *testing.T) {
	failover := func(typ, ext string, attempts int, secs float64, talk bool, rec, reason string) ([]emitted, map[string]string, Result) {
		return []emitted{
				evClassified(events.OutcomeFailover, typ, attempts, secs, talk, rec, reason),
				evTransferred(typ, ext, false),
			}, failVars(map[bool]string{true: typ, false: "failover"}[typ != ""], rec, reason),
			Result{Outcome: events.OutcomeFailover, EmergencyType: typ, Attempts: attempts, Recording: rec, Transferred: true, Extension: ext, Reason: reason}
	}
	type fcase struct {
		name    string
		blocked bool
		prompts []PromptResult
		fail    map[string]error
		ops     []string // up to the failed step
		before  []emitted
		typ     string
		ext     string
		atts    int
		secs    float64
		talk    bool
		rec     string
		reason  string
	}
	fcases := []fcase{
		{name: "answer", fail: map[string]error{"answer#1": errBoom}, ops: []string{opAnswer},
			ext: "failover", reason: "answer: boom"},
		{name: "greeting", fail: map[string]error{"prompt#1": errBoom}, ops: []string{opAnswer, opGreet},
			before: []emitted{evAnswered}, ext: "failover", secs: 3, reason: "greeting: boom"},
		{name: "menu attempt 1", prompts: []PromptResult{silent}, fail: map[string]error{"prompt#2": errBoom},
			ops: []string{opAnswer, opGreet, opMenu()}, before: []emitted{evAnswered}, ext: "failover", atts: 1, secs: 6, reason: "menu attempt 1: boom"},
		{name: "menu attempt 3", prompts: []PromptResult{silent, key("6"), silent}, fail: map[string]error{"prompt#4": errBoom},
			ops:    []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("no-input", "silent-help")},
			before: []emitted{evAnswered, evMenu(1, "6", events.MenuInvalid), evMenu(2, "", events.MenuTimeout)},
			ext:    "failover", atts: 3, secs: 12, reason: "menu attempt 3: boom"},
		{name: "silent help", prompts: []PromptResult{silent, silent, silent, silent}, fail: map[string]error{"prompt#5": errBoom},
			ops:    []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp},
			before: []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout)},
			ext:    "failover", atts: 3, secs: 15, reason: "silent help: boom"},
		{name: "blocked warning", blocked: true, fail: map[string]error{"prompt#1": errBoom},
			ops: []string{opAnswer, opBlocked}, before: []emitted{evAnswered}, ext: "failover", atts: 1, secs: 3, reason: "blocked warning: boom"},
		{name: "location prompt keeps the chosen type", prompts: []PromptResult{silent, key("1")}, fail: map[string]error{"prompt#3": errBoom},
			ops:    []string{opAnswer, opGreet, opMenu(), opLocation},
			before: []emitted{evAnswered, evMenu(1, "1", events.MenuValid)},
			typ:    "fire", ext: "fire", atts: 1, secs: 9, reason: "location prompt: boom"},
		{name: "location recording", prompts: []PromptResult{silent, key("2")}, fail: map[string]error{"record#1": errBoom},
			ops:    []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc},
			before: []emitted{evAnswered, evMenu(1, "2", events.MenuValid)},
			typ:    "medical", ext: "medical", atts: 1, secs: 16, reason: "location recording: boom"},
		{name: "connecting prompt", prompts: []PromptResult{silent, key("3")}, fail: map[string]error{"prompt#4": errBoom},
			ops:    []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting},
			before: []emitted{evAnswered, evMenu(1, "3", events.MenuValid)},
			typ:    "police", ext: "police", atts: 1, secs: 19, rec: locName, reason: "connecting prompt: boom"},
	}
	var cases []flowCase
	for _, fc := range fcases {
		evs, v, res := failover(fc.typ, fc.ext, fc.atts, fc.secs, fc.talk, fc.rec, fc.reason)
		cases = append(cases, flowCase{
			name: fc.name, blocked: fc.blocked, prompts: fc.prompts, fail: fc.fail,
			wantOps:  append(append([]string(nil), fc.ops...), opSetVars, opContinue(fc.ext)),
			wantEvs:  append(append([]emitted(nil), fc.before...), evs...),
			wantVars: v,
			want:     res,
		})
	}
	fire := []PromptResult{silent, key("1")}
	fireOps := []string{opAnswer, opGreet, opMenu(), opLocation, opRecLoc, opConnecting, opSetVars, opContinue("fire")}
	fireClassified := []emitted{evAnswered, evMenu(1, "1", events.MenuValid), evClassified(events.OutcomeEmergency, "fire", 1, 6, false, locName, "")}
	cases = append(cases,
		flowCase{
			name:     "set variables fails: put through anyway",
			prompts:  fire,
			fail:     map[string]error{"setvars#1": errBoom},
			wantOps:  fireOps,
			wantEvs:  append(append([]emitted(nil), fireClassified...), evTransferred("fire", "fire", false)),
			wantVars: vars("fire", events.OutcomeEmergency, locName),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Recording: locName, Transferred: true, Extension: "fire"},
		},
		flowCase{
			name:     "continue fails: the result says so",
			prompts:  fire,
			fail:     map[string]error{"continue#1": errBoom},
			wantOps:  fireOps,
			wantEvs:  fireClassified,
			wantVars: vars("fire", events.OutcomeEmergency, locName),
			want: Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Recording: locName, Extension: "fire",
				Reason: "continue to siaga112-operators,fire,1: boom"},
		},
		flowCase{
			name:     "failover whose continue fails too",
			fail:     map[string]error{"prompt#1": errBoom, "continue#1": errBoom},
			wantOps:  []string{opAnswer, opGreet, opSetVars, opContinue("failover")},
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeFailover, "", 0, 3, false, "", "greeting: boom")},
			wantVars: failVars("failover", "", "greeting: boom"),
			want: Result{Outcome: events.OutcomeFailover, Extension: "failover",
				Reason: "greeting: boom; continue to siaga112-operators,failover,1: boom"},
		},
		flowCase{
			name:    "goodbye fails: hang up anyway",
			blocked: true,
			prompts: []PromptResult{silent, silent},
			fail:    map[string]error{"prompt#3": errBoom},
			wantOps: []string{opAnswer, opBlocked, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 1, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, HangupBy: events.HangupBySystem},
		},
		flowCase{
			name:    "hangup fails: the result says so",
			blocked: true,
			prompts: []PromptResult{silent, silent, silent},
			fail:    map[string]error{"hangup#1": errBoom},
			wantOps: []string{opAnswer, opBlocked, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 1, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, Reason: "hangup: boom"},
		},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// Shutdown cancels the call's context: the flow still puts the caller
// through, on a fresh context.
func TestRunContextCancelled(t *testing.T) {
	t.Run("during the menu", func(t *testing.T) {
		clock := newFakeClock()
		f, err := New(testIVR(), clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		call := &scriptedCall{t: t, clock: clock, prefix: "sound:siaga112/", prompts: []PromptResult{silent}}
		call.hook = func(key string) error {
			if key == "prompt#2" {
				cancel()
				return fmt.Errorf("prompt: %w", ctx.Err())
			}
			return nil
		}
		rec := &recorder{t: t}
		got := f.Run(ctx, call, Input{CallID: callID}, rec)
		reason := "menu attempt 1: shutdown: prompt: context canceled"
		want := Result{Outcome: events.OutcomeFailover, Attempts: 1, Transferred: true, Extension: "failover", Reason: reason, SecondsToQueue: 6}
		if got != want {
			t.Errorf("result\n got %+v\nwant %+v", got, want)
		}
		// The hand-off operations ran on a live context (no "!ctx" mark).
		wantOps := []string{opAnswer, opGreet, opMenu() + " !ctx", opSetVars, opContinue("failover")}
		if !reflect.DeepEqual(call.ops, wantOps) {
			t.Errorf("operations\n got %q\nwant %q", call.ops, wantOps)
		}
		tr := evTransferred("", "failover", false)
		tr.Data = events.Transferred{Context: opsCtx, Extension: "failover", SecondsToQueue: 6}
		wantEvs := []emitted{evAnswered, evClassified(events.OutcomeFailover, "", 1, 6, false, "", reason), tr}
		if !reflect.DeepEqual(rec.got, wantEvs) {
			t.Errorf("events\n got %+v\nwant %+v", rec.got, wantEvs)
		}
	})
	t.Run("during continue: retried on a fresh context", func(t *testing.T) {
		clock := newFakeClock()
		f, err := New(testIVR(), clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		call := &scriptedCall{t: t, clock: clock, prefix: "sound:siaga112/", prompts: []PromptResult{key("0")}}
		call.hook = func(key string) error {
			if key == "continue#1" {
				cancel()
				return ctx.Err()
			}
			return nil
		}
		got := f.Run(ctx, call, Input{CallID: callID}, &recorder{t: t})
		want := Result{Outcome: events.OutcomeEmergency, EmergencyType: "operator", Attempts: 1, Transferred: true, Extension: "operator", SecondsToQueue: 6}
		if got != want {
			t.Errorf("result\n got %+v\nwant %+v", got, want)
		}
		wantOps := []string{opAnswer, opGreet, opConnecting, opSetVars, opContinue("operator") + " !ctx", opContinue("operator")}
		if !reflect.DeepEqual(call.ops, wantOps) {
			t.Errorf("operations\n got %q\nwant %q", call.ops, wantOps)
		}
	})
	t.Run("already cancelled before the call", func(t *testing.T) {
		clock := newFakeClock()
		f, err := New(testIVR(), clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		call := &scriptedCall{t: t, clock: clock, prefix: "sound:siaga112/"}
		call.hook = func(key string) error {
			if key == "answer#1" {
				return ctx.Err()
			}
			return nil
		}
		got := f.Run(ctx, call, Input{CallID: callID}, &recorder{t: t})
		if !got.Transferred || got.Outcome != events.OutcomeFailover || got.Extension != "failover" {
			t.Errorf("result %+v, want a failover transfer to the failover extension", got)
		}
	})
}

// Every digit, prompt, timeout and destination comes from the config.
func TestRunConfigDriven(t *testing.T) {
	custom := func(c *configs.IVR) {
		c.SoundPrefix = "sound:custom/"
		c.Prompts.Greeting = ""
		c.Prompts.Menu = ""
		c.Prompts.Connecting = ""
		c.Prompts.Goodbye = ""
		c.Prompts.Invalid = "salah"
		c.Menu = []configs.MenuEntry{
			{Digit: "7", Type: "flood", Prompt: "m-flood", Extension: "banjir"},
			{Digit: "#", Type: TypeOperator, Prompt: "m-op", Extension: "desk"},
		}
		c.MenuAttempts = 2
		c.FirstDigitTimeout = 9 * time.Second
		c.TalkDetect = false
		c.Location.When = configs.LocationNever
		c.SilentHelpDigits = ""
		c.OperatorContext = "siaga112-operators"
	}
	const menu = "prompt m-flood+m-op max=1 first=9s"
	cases := []flowCase{
		{
			name:     "custom key and extension, no greeting, no location",
			cfg:      custom,
			prompts:  []PromptResult{key("7")},
			wantOps:  []string{opAnswer, menu, opSetVars, opContinue("banjir")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "7", events.MenuValid), evClassified(events.OutcomeEmergency, "flood", 1, 3, false, "", ""), evTransferred("flood", "banjir", false)},
			wantVars: vars("flood", events.OutcomeEmergency, ""),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "flood", Attempts: 1, Transferred: true, Extension: "banjir"},
		},
		{
			name:     "a default key is wrong here",
			cfg:      custom,
			prompts:  []PromptResult{key("1"), key("#")},
			wantOps:  []string{opAnswer, menu, "prompt salah+m-flood+m-op max=1 first=9s", opSetVars, opContinue("desk")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "1", events.MenuInvalid), evMenu(2, "#", events.MenuValid), evClassified(events.OutcomeEmergency, "operator", 2, 6, false, "", ""), evTransferred("operator", "desk", false)},
			wantVars: vars("operator", events.OutcomeEmergency, ""),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "operator", Attempts: 2, Transferred: true, Extension: "desk"},
		},
		{
			name:    "two attempts and no silent help",
			cfg:     custom,
			prompts: []PromptResult{silent, silent},
			wantOps: []string{opAnswer, menu, "prompt no-input+m-flood+m-op max=1 first=9s", opHangup},
			wantEvs: []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evClassified(events.OutcomeNoInput, "", 2, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeNoInput, Attempts: 2, HangupBy: events.HangupBySystem},
		},
		{
			name: "custom silent-help code and timeouts",
			cfg: func(c *configs.IVR) {
				c.SilentHelpDigits = "123"
				c.SilentHelpTimeout = 11 * time.Second
				c.InterDigitTimeout = 2 * time.Second
				c.TalkMinDuration = 1500 * time.Millisecond
				c.MenuAttempts = 1
			},
			prompts: []PromptResult{silent, silent, key("123")},
			wantOps: []string{opAnswer, "prompt greeting max=1 inter=2s code=123 talk=1.5s", "prompt menu+menu-fire+menu-medical+menu-police+menu-disaster+menu-operator max=1 first=5s inter=2s code=123 talk=1.5s",
				"prompt silent-help max=1 first=11s talk=1.5s", opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evClassified(events.OutcomeSilentHelp, "", 1, 9, false, "", ""), evTransferred("", "operator", false)},
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name: "custom override key and timeout",
			cfg: func(c *configs.IVR) {
				c.BlockedOverrideDigit = "*"
				c.BlockedOverrideTimeout = 7 * time.Second
			},
			blocked:  true,
			prompts:  []PromptResult{key("9"), key("*")},
			wantOps:  []string{opAnswer, "prompt greeting+blocked max=1 first=7s inter=3s code=55 talk=1s", "prompt blocked max=1 first=7s inter=3s code=55 talk=1s", opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeBlockedOverride, "", 2, 6, false, "", OverrideKey), evTransferred("", "operator", true)},
			wantVars: vars("blocked_override", events.OutcomeBlockedOverride, ""),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 2, Transferred: true, Extension: "operator"},
		},
		{
			name: "custom recording limits",
			cfg: func(c *configs.IVR) {
				c.Location.MaxDuration = 45 * time.Second
				c.Location.MaxSilence = 4 * time.Second
			},
			prompts:  []PromptResult{silent, talk},
			wantOps:  []string{opAnswer, opGreet, opMenu(), opConnecting, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "", events.MenuVoice), evClassified(events.OutcomeVoice, "", 1, 6, true, "", ""), evTransferred("", "operator", false)},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name: "without an operator entry, voice goes to the failover extension",
			cfg: func(c *configs.IVR) {
				c.Menu = c.Menu[:4]
			},
			prompts: []PromptResult{silent, talk},
			wantOps: []string{opAnswer, opGreet, "prompt menu+menu-fire+menu-medical+menu-police+menu-disaster max=1 first=5s inter=3s code=55 talk=1s",
				opConnecting, opSetVars, opContinue("failover")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "", events.MenuVoice), evClassified(events.OutcomeVoice, "", 1, 6, true, "", ""), evTransferred("", "failover", false)},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 1, Transferred: true, Extension: "failover"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// The sounds are full media URIs built from the prefix.
func TestRunSoundURIs(t *testing.T) {
	cfg := testIVR()
	cfg.SoundPrefix = "sound:en/siaga112/"
	clock := newFakeClock()
	f, err := New(cfg, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := &scriptedCall{t: t, clock: clock, prompts: []PromptResult{silent, key("0")}}
	f.Run(context.Background(), call, Input{CallID: callID}, nil)
	if len(call.specs) < 2 {
		t.Fatalf("got %d prompts, want at least 2", len(call.specs))
	}
	want := []string{"sound:en/siaga112/menu", "sound:en/siaga112/menu-fire", "sound:en/siaga112/menu-medical",
		"sound:en/siaga112/menu-police", "sound:en/siaga112/menu-disaster", "sound:en/siaga112/menu-operator"}
	if !reflect.DeepEqual(call.specs[1].Sounds, want) {
		t.Errorf("menu sounds %q, want %q", call.specs[1].Sounds, want)
	}
	if got := call.specs[0].Sounds; !reflect.DeepEqual(got, []string{"sound:en/siaga112/greeting"}) {
		t.Errorf("greeting sounds %q", got)
	}
}

func TestNewRejectsUnusableConfig(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*configs.IVR)
		wantKey string
	}{
		{"no menu", func(c *configs.IVR) { c.Menu = nil }, "ivr.menu"},
		{"two-key digit", func(c *configs.IVR) { c.Menu[1].Digit = "12" }, "ivr.menu[1].digit"},
		{"letter digit", func(c *configs.IVR) { c.Menu[0].Digit = "a" }, "ivr.menu[0].digit"},
		{"duplicate digit", func(c *configs.IVR) { c.Menu[2].Digit = "1" }, "ivr.menu[2].digit"},
		{"empty type", func(c *configs.IVR) { c.Menu[3].Type = "" }, "ivr.menu[3].type"},
		{"empty extension", func(c *configs.IVR) { c.Menu[4].Extension = "" }, "ivr.menu[4].extension"},
		{"nothing to hear", func(c *configs.IVR) {
			c.Prompts.Menu = ""
			for i := range c.Menu {
				c.Menu[i].Prompt = ""
			}
		}, "ivr.prompts.menu"},
		{"no attempts", func(c *configs.IVR) { c.MenuAttempts = 0 }, "ivr.menu_attempts"},
		{"no first digit timeout", func(c *configs.IVR) { c.FirstDigitTimeout = 0 }, "ivr.first_digit_timeout"},
		{"talk min zero", func(c *configs.IVR) { c.TalkMinDuration = 0 }, "ivr.talk_min_duration"},
		{"location when unknown", func(c *configs.IVR) { c.Location.When = "often" }, "ivr.location.when"},
		{"override digit empty", func(c *configs.IVR) { c.BlockedOverrideDigit = "" }, "ivr.blocked_override_digit"},
		{"blocked prompt empty", func(c *configs.IVR) { c.Prompts.Blocked = "" }, "ivr.prompts.blocked"},
		{"override timeout zero", func(c *configs.IVR) { c.BlockedOverrideTimeout = 0 }, "ivr.blocked_override_timeout"},
		{"operator context empty", func(c *configs.IVR) { c.OperatorContext = "" }, "ivr.operator_context"},
		{"failover extension empty", func(c *configs.IVR) { c.FailoverExtension = "" }, "ivr.failover_extension"},
		{"silent help code not keys", func(c *configs.IVR) { c.SilentHelpDigits = "5x" }, "ivr.silent_help_digits"},
		{"silent help prompt empty", func(c *configs.IVR) { c.Prompts.SilentHelp = "" }, "ivr.prompts.silent_help"},
		{"silent help timeout zero", func(c *configs.IVR) { c.SilentHelpTimeout = 0 }, "ivr.silent_help_timeout"},
		{"inter digit timeout zero", func(c *configs.IVR) { c.InterDigitTimeout = 0 }, "ivr.inter_digit_timeout"},
		{"location prompt empty", func(c *configs.IVR) { c.Prompts.Location = "" }, "ivr.prompts.location"},
		{"location duration zero", func(c *configs.IVR) { c.Location.MaxDuration = 0 }, "ivr.location.max_duration"},
		{"location silence zero", func(c *configs.IVR) { c.Location.MaxSilence = 0 }, "ivr.location.max_silence"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configs.Default().IVR
			cfg.Menu = append([]configs.MenuEntry(nil), cfg.Menu...)
			tc.mutate(&cfg)
			_, err := New(cfg, nil, nil)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New error %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error %q does not name %s", err, tc.wantKey)
			}
		})
	}
	t.Run("defaults are usable", func(t *testing.T) {
		if _, err := New(configs.Default().IVR, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("optional features switched off are usable", func(t *testing.T) {
		cfg := configs.Default().IVR
		cfg.SilentHelpDigits, cfg.Prompts.SilentHelp = "", ""
		cfg.Location = configs.Location{When: configs.LocationNever}
		cfg.TalkDetect, cfg.TalkMinDuration = false, 0
		cfg.Prompts.Greeting, cfg.Prompts.Goodbye, cfg.Prompts.Connecting = "", "", ""
		if _, err := New(cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// nopCall answers every prompt with key 1 and succeeds at everything, so
// the benchmark measures the flow alone.
type nopCall struct{}

func (nopCall) Answer(context.Context) error { return nil }
func (nopCall) Prompt(_ context.Context, s PromptSpec) (PromptResult, error) {
	if s.MaxDigits == 0 {
		return PromptResult{Status: PromptDone}, nil
	}
	return key("1"), nil
}
func (nopCall) Record(_ context.Context, s RecordSpec) (string, error) { return s.Name, nil }
func (nopCall) Variable(context.Context, string) (string, error)       { return "0", nil }
func (nopCall) SetVariables(context.Context, map[string]string) error  { return nil }
func (nopCall) Continue(context.Context, string, string, int) error    { return nil }
func (nopCall) Hangup(context.Context) error                           { return nil }

type nopEmitter struct{}

func (nopEmitter) Emit(context.Context, events.Type, any) {}

// BenchmarkRunFireCall is the flow's own cost for one fire call (greeting
// key, location recording, transfer), without any I/O.
func BenchmarkRunFireCall(b *testing.B) {
	f, err := New(configs.Default().IVR, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := f.Run(ctx, nopCall{}, Input{CallID: "bench"}, nopEmitter{}); !res.Transferred {
			b.Fatalf("not transferred: %+v", res)
		}
	}
}

// defaultPath undoes testIVR's longest-path settings: the location only
// when no operator is free, no connecting prompt, the whole call recorded.
func defaultPath(c *configs.IVR) {
	d := configs.Default().IVR
	c.Location.When, c.Prompts.Connecting, c.CallRecordingPrefix = d.Location.When, d.Prompts.Connecting, d.CallRecordingPrefix
}

// The shipped defaults: every sign of a person puts the caller through, and
// a chosen type goes straight to a free operator.
func TestRunDefaultPath(t *testing.T) {
	const callRec = "siaga112/" + callID
	withRec := func(v map[string]string) map[string]string {
		v[VarCallRecording] = callRec
		return v
	}
	classified := func(o events.Outcome, typ string, attempts int, secs float64, talk bool, rec, reason string) emitted {
		ev := evClassified(o, typ, attempts, secs, talk, rec, reason)
		c := ev.Data.(events.Classified)
		c.CallRecording = callRec
		ev.Data = c
		return ev
	}
	freeFire := "get QUEUE_MEMBER(siaga112-fire,free)"
	freeMedical := "get QUEUE_MEMBER(siaga112-medical,free)"
	cases := []flowCase{
		{
			name:     "key during the greeting with an operator free: straight to the queue",
			prompts:  []PromptResult{key("1")},
			free:     map[string]string{"siaga112-fire": "1"},
			wantOps:  []string{opAnswer, opGreet, freeFire, opSetVars, opContinue("fire")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "1", events.MenuValid), classified(events.OutcomeEmergency, "fire", 1, 3, false, "", ""), evTransferred("fire", "fire", false)},
			wantVars: withRec(vars("fire", events.OutcomeEmergency, "")),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Transferred: true, Extension: "fire"},
		},
		{
			name:     "every operator of the queue busy: the location is asked while the caller would wait",
			prompts:  []PromptResult{silent, key("2")},
			free:     map[string]string{"siaga112-medical": "0"},
			wantOps:  []string{opAnswer, opGreet, opMenu(), freeMedical, opLocation, "record siaga112-c1-location max=20s silence=3s", opSetVars, opContinue("medical")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "2", events.MenuValid), classified(events.OutcomeEmergency, "medical", 1, 6, false, locName, ""), evTransferred("medical", "medical", false)},
			wantVars: withRec(vars("medical", events.OutcomeEmergency, locName)),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "medical", Attempts: 1, Recording: locName, Transferred: true, Extension: "medical"},
		},
		{
			name:     "the free check fails: no question, the caller is put through",
			prompts:  []PromptResult{key("2")},
			fail:     map[string]error{"variable#1": errBoom},
			wantOps:  []string{opAnswer, opGreet, freeMedical, opSetVars, opContinue("medical")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "2", events.MenuValid), classified(events.OutcomeEmergency, "medical", 1, 3, false, "", ""), evTransferred("medical", "medical", false)},
			wantVars: withRec(vars("medical", events.OutcomeEmergency, "")),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "medical", Attempts: 1, Transferred: true, Extension: "medical"},
		},
		{
			name:    "the caller hangs up during the free check: marked for call-back",
			prompts: []PromptResult{key("1")},
			fail:    map[string]error{"variable#1": errHangup},
			wantOps: []string{opAnswer, opGreet, freeFire},
			wantEvs: []emitted{evAnswered, evMenu(1, "1", events.MenuValid), func() emitted {
				e := classified(events.OutcomeEmergency, "fire", 1, 3, false, "", "")
				c := e.Data.(events.Classified)
				c.Callback = true
				e.Data = c
				return e
			}()},
			want: Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Callback: true, HangupBy: events.HangupByCaller},
		},
		{
			name:     "55 in the menu is silent help",
			prompts:  []PromptResult{silent, key("55")},
			wantOps:  []string{opAnswer, opGreet, opMenu(), opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "55", events.MenuSilentHelp), classified(events.OutcomeSilentHelp, "", 1, 6, false, "", ""), evTransferred("", "operator", false)},
			wantVars: withRec(vars("silent_help", events.OutcomeSilentHelp, "")),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "55 during the greeting is silent help",
			prompts:  []PromptResult{key("55")},
			wantOps:  []string{opAnswer, opGreet, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "55", events.MenuSilentHelp), classified(events.OutcomeSilentHelp, "", 1, 3, false, "", ""), evTransferred("", "operator", false)},
			wantVars: withRec(vars("silent_help", events.OutcomeSilentHelp, "")),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "a wrong key then a menu key in one answer: the menu key counts",
			prompts:  []PromptResult{silent, key("51")},
			free:     map[string]string{"siaga112-fire": "2"},
			wantOps:  []string{opAnswer, opGreet, opMenu(), freeFire, opSetVars, opContinue("fire")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "51", events.MenuValid), classified(events.OutcomeEmergency, "fire", 1, 6, false, "", ""), evTransferred("fire", "fire", false)},
			wantVars: withRec(vars("fire", events.OutcomeEmergency, "")),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, Transferred: true, Extension: "fire"},
		},
		{
			name:     "blocked caller talks over the warning",
			blocked:  true,
			prompts:  []PromptResult{talk},
			wantOps:  []string{opAnswer, opBlocked, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeBlockedOverride, "", 1, 3, true, "", OverrideTalk), evTransferred("", "operator", true)},
			wantVars: withRec(vars("blocked_override", events.OutcomeBlockedOverride, "")),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "blocked caller presses 55",
			blocked:  true,
			prompts:  []PromptResult{key("55")},
			wantOps:  []string{opAnswer, opBlocked, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeBlockedOverride, "", 1, 3, false, "", OverrideSilentHelp), evTransferred("", "operator", true)},
			wantVars: withRec(vars("blocked_override", events.OutcomeBlockedOverride, "")),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "silent blocked caller presses a key at the silent-help offer",
			blocked:  true,
			prompts:  []PromptResult{silent, {Digits: "5", Status: PromptTimeout}},
			wantOps:  []string{opAnswer, opBlocked, opSilentHelp, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeBlockedOverride, "", 1, 6, false, "", OverrideSilentHelp), evTransferred("", "operator", true)},
			wantVars: withRec(vars("blocked_override", events.OutcomeBlockedOverride, "")),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "silent blocked caller talks at the silent-help offer",
			blocked:  true,
			prompts:  []PromptResult{silent, talk},
			wantOps:  []string{opAnswer, opBlocked, opSilentHelp, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeBlockedOverride, "", 1, 6, true, "", OverrideTalk), evTransferred("", "operator", true)},
			wantVars: withRec(vars("blocked_override", events.OutcomeBlockedOverride, "")),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator"},
		},
	}
	for _, tc := range cases {
		tc.cfg = defaultPath
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// With an incident announcement playing, its key ends the call politely;
// every other sign still puts the caller through.
func TestRunIncident(t *testing.T) {
	inc := &Announcement{ID: "inc-1", Media: "sound:siaga112/incident-example"}
	const offer = "prompt incident-example+incident-offer max=1 inter=3s code=55 talk=1s"
	const ack = "prompt incident-ack max=1 inter=3s code=55 talk=1s"
	withIncident := func(ev emitted) emitted {
		c := ev.Data.(events.Classified)
		c.IncidentID, c.CallRecording = "inc-1", "siaga112/"+callID
		ev.Data = c
		return ev
	}
	withRec := func(v map[string]string) map[string]string {
		v[VarCallRecording] = "siaga112/" + callID
		return v
	}
	cases := []flowCase{
		{
			name:    "presses 8: incident_ack, thanked, hung up",
			prompts: []PromptResult{silent, key("8"), silent},
			wantOps: []string{opAnswer, opGreet, offer, ack, opHangup},
			wantEvs: []emitted{evAnswered, withIncident(evClassified(events.OutcomeIncidentAck, "", 0, 6, false, "", ""))},
			want:    Result{Outcome: events.OutcomeIncidentAck, HangupBy: events.HangupBySystem},
		},
		{
			name:     "presses 2 during the announcement: medical, no menu",
			prompts:  []PromptResult{silent, key("2")},
			free:     map[string]string{"siaga112-medical": "1"},
			wantOps:  []string{opAnswer, opGreet, offer, "get QUEUE_MEMBER(siaga112-medical,free)", opSetVars, opContinue("medical")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "2", events.MenuValid), withIncident(evClassified(events.OutcomeEmergency, "medical", 1, 6, false, "", "")), evTransferred("medical", "medical", false)},
			wantVars: withRec(vars("medical", events.OutcomeEmergency, "")),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "medical", Attempts: 1, Transferred: true, Extension: "medical"},
		},
		{
			name:     "talks over the announcement: voice",
			prompts:  []PromptResult{silent, talk},
			wantOps:  []string{opAnswer, opGreet, offer, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "", events.MenuVoice), withIncident(evClassified(events.OutcomeVoice, "", 1, 6, true, "", "")), evTransferred("", "operator", false)},
			wantVars: withRec(vars("voice", events.OutcomeVoice, "")),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "presses 5 5 during the announcement: silent help",
			prompts:  []PromptResult{silent, key("55")},
			wantOps:  []string{opAnswer, opGreet, offer, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "55", events.MenuSilentHelp), withIncident(evClassified(events.OutcomeSilentHelp, "", 1, 6, false, "", "")), evTransferred("", "operator", false)},
			wantVars: withRec(vars("silent_help", events.OutcomeSilentHelp, "")),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 1, Transferred: true, Extension: "operator"},
		},
		{
			name:     "stays on the line: the menu as usual",
			prompts:  []PromptResult{silent, silent, key("3")},
			free:     map[string]string{"siaga112-police": "1"},
			wantOps:  []string{opAnswer, opGreet, offer, opMenu(), "get QUEUE_MEMBER(siaga112-police,free)", opSetVars, opContinue("police")},
			wantEvs:  []emitted{evAnswered, evMenu(1, "3", events.MenuValid), withIncident(evClassified(events.OutcomeEmergency, "police", 1, 9, false, "", "")), evTransferred("police", "police", false)},
			wantVars: withRec(vars("police", events.OutcomeEmergency, "")),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "police", Attempts: 1, Transferred: true, Extension: "police"},
		},
		{
			name:    "presses 8 once the menu began: still incident_ack",
			prompts: []PromptResult{silent, silent, key("8"), silent},
			wantOps: []string{opAnswer, opGreet, offer, opMenu(), ack, opHangup},
			wantEvs: []emitted{evAnswered, withIncident(evClassified(events.OutcomeIncidentAck, "", 1, 9, false, "", ""))},
			want:    Result{Outcome: events.OutcomeIncidentAck, Attempts: 1, HangupBy: events.HangupBySystem},
		},
		{
			name:    "a blocked caller presses 8: incident_ack, no warning",
			blocked: true,
			prompts: []PromptResult{key("8"), silent},
			wantOps: []string{opAnswer, "prompt greeting+incident-example+incident-offer max=1 inter=3s code=55 talk=1s", ack, opHangup},
			wantEvs: []emitted{evAnswered, withIncident(evClassified(events.OutcomeIncidentAck, "", 0, 3, false, "", ""))},
			want:    Result{Outcome: events.OutcomeIncidentAck, HangupBy: events.HangupBySystem},
		},
		{
			name:     "a blocked caller talks over the announcement: put through",
			blocked:  true,
			prompts:  []PromptResult{talk},
			wantOps:  []string{opAnswer, "prompt greeting+incident-example+incident-offer max=1 inter=3s code=55 talk=1s", opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, withIncident(evClassified(events.OutcomeBlockedOverride, "", 0, 3, true, "", OverrideTalk)), evTransferred("", "operator", true)},
			wantVars: withRec(vars("blocked_override", events.OutcomeBlockedOverride, "")),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Transferred: true, Extension: "operator"},
		},
		{
			name:    "a silent blocked caller hears the warning and the silent-help offer, then the call ends",
			blocked: true,
			prompts: []PromptResult{silent, silent, silent, silent},
			wantOps: []string{opAnswer, "prompt greeting+incident-example+incident-offer max=1 inter=3s code=55 talk=1s", opBlockedRe, opSilentHelp, opGoodbye, opHangup},
			wantEvs: []emitted{evAnswered, withIncident(evClassified(events.OutcomeBlocked, "", 1, 9, false, "", ""))},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, HangupBy: events.HangupBySystem},
		},
	}
	for _, tc := range cases {
		tc.cfg, tc.incident = defaultPath, inc
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// recordCall is a scriptedCall that can delete recordings.
type recordCall struct {
	*scriptedCall
	discarded []string
}

func (c *recordCall) DiscardRecording(_ context.Context, name string) error {
	c.discarded = append(c.discarded, name)
	return nil
}

func TestRecordAnnouncement(t *testing.T) {
	cfg := testIVR()
	clock := newFakeClock()
	f, err := New(cfg, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		prompts   []PromptResult
		fail      map[string]error
		kept      bool
		records   int
		discarded bool
	}{
		{"kept", []PromptResult{key("1")}, nil, true, 1, false},
		{"again, then kept", []PromptResult{key("2"), key("1")}, nil, true, 2, false},
		{"thrown away", []PromptResult{key("3")}, nil, false, 1, true},
		{"no choice", []PromptResult{silent}, nil, false, 1, true},
		{"hung up during the play-back", nil, map[string]error{"prompt#2": errHangup}, false, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &recordCall{scriptedCall: &scriptedCall{t: t, clock: clock, prefix: cfg.SoundPrefix, prompts: tc.prompts, fail: tc.fail}}
			name, err := f.RecordAnnouncement(context.Background(), c, clock.Now())
			if tc.kept != (err == nil) {
				t.Fatalf("RecordAnnouncement = %q, %v; want kept %v", name, err, tc.kept)
			}
			if tc.kept && !strings.HasPrefix(name, RecordingPrefix) {
				t.Errorf("name %q", name)
			}
			if !tc.kept && !errors.Is(err, ErrNotKept) {
				t.Errorf("err %v, want ErrNotKept", err)
			}
			if len(c.records) != tc.records {
				t.Errorf("%d recordings made, want %d", len(c.records), tc.records)
			}
			if (len(c.discarded) > 0) != tc.discarded {
				t.Errorf("discarded %v, want %v", c.discarded, tc.discarded)
			}
			if last := c.ops[len(c.ops)-1]; last != opHangup {
				t.Errorf("last operation %q, want the hang-up", last)
			}
		})
	}
}
