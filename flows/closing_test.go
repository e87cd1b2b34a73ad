package flows

import (
	"testing"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// The rule holds at the closing prompts too: a caller who talks or presses
// 5 5 during "goodbye" (or the incident acknowledgement) is put through,
// and call.classified, emitted only once that prompt is over, says what
// they did, never no_input followed by a transfer.
func TestRunClosingPromptSigns(t *testing.T) {
	direct := func(c *configs.IVR) {
		c.Location.When, c.Prompts.Connecting = configs.LocationNever, ""
	}
	silentCall := []string{opAnswer, opGreet, opMenu(), opMenu("no-input", "silent-help"), opMenu("no-input", "silent-help"), opSilentHelp, opGoodbye}
	silentMenus := []emitted{evAnswered, evMenu(1, "", events.MenuTimeout), evMenu(2, "", events.MenuTimeout), evMenu(3, "", events.MenuTimeout)}
	wrongCall := []string{opAnswer, opGreet, opMenu(), opMenu("invalid"), opMenu("invalid"), opGoodbye}
	wrongMenus := []emitted{evAnswered, evMenu(1, "7", events.MenuInvalid), evMenu(2, "8", events.MenuInvalid), evMenu(3, "#", events.MenuInvalid)}
	blockedCall := []string{opAnswer, opBlocked, opSilentHelp, opGoodbye}
	cases := []flowCase{
		{
			name:     "silent caller presses 5 5 during goodbye: silent help",
			prompts:  []PromptResult{silent, silent, silent, silent, silent, key("55")},
			wantOps:  append(silentCall, opSetVars, opContinue("operator")),
			wantEvs:  append(silentMenus, evClassified(events.OutcomeSilentHelp, "", 3, 18, false, "", ""), queuedAt(evTransferred("", "operator", false), 18)),
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 3, Transferred: true, Extension: "operator", SecondsToQueue: 18},
		},
		{
			name:     "silent caller talks during goodbye: voice",
			prompts:  []PromptResult{silent, silent, silent, silent, silent, talk},
			wantOps:  append(silentCall, opSetVars, opContinue("operator")),
			wantEvs:  append(silentMenus, evClassified(events.OutcomeVoice, "", 3, 18, true, "", ""), queuedAt(evTransferred("", "operator", false), 18)),
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Attempts: 3, Transferred: true, Extension: "operator", SecondsToQueue: 18},
		},
		{
			name:     "silent caller presses one key during goodbye, as at the silent-help offer: silent help",
			prompts:  []PromptResult{silent, silent, silent, silent, silent, key("5")},
			wantOps:  append(silentCall, opSetVars, opContinue("operator")),
			wantEvs:  append(silentMenus, evClassified(events.OutcomeSilentHelp, "", 3, 18, false, "", ""), queuedAt(evTransferred("", "operator", false), 18)),
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Attempts: 3, Transferred: true, Extension: "operator", SecondsToQueue: 18},
		},
		{
			name:    "silent to the end: no_input, classified after goodbye",
			prompts: []PromptResult{silent, silent, silent, silent, silent, silent},
			wantOps: append(silentCall, opHangup),
			wantEvs: append(silentMenus, evClassified(events.OutcomeNoInput, "", 3, 15, false, "", "")),
			want:    Result{Outcome: events.OutcomeNoInput, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:     "wrong keys, then a menu key during goodbye: that emergency",
			prompts:  []PromptResult{silent, key("7"), key("8"), key("#"), key("1")},
			wantOps:  append(wrongCall, opSetVars, opContinue("fire")),
			wantEvs:  append(wrongMenus, evClassified(events.OutcomeEmergency, "fire", 3, 15, false, "", ""), queuedAt(evTransferred("fire", "fire", false), 15)),
			wantVars: vars("fire", events.OutcomeEmergency, ""),
			want:     Result{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 3, Transferred: true, Extension: "fire", SecondsToQueue: 15},
		},
		{
			name:    "wrong keys, and one more wrong key during goodbye: invalid",
			prompts: []PromptResult{silent, key("7"), key("8"), key("#"), key("9")},
			wantOps: append(wrongCall, opHangup),
			wantEvs: append(wrongMenus, evClassified(events.OutcomeInvalid, "", 3, 12, false, "", "")),
			want:    Result{Outcome: events.OutcomeInvalid, Attempts: 3, HangupBy: events.HangupBySystem},
		},
		{
			name:     "blocked caller presses 9 during goodbye: blocked_override",
			blocked:  true,
			prompts:  []PromptResult{silent, silent, key("9")},
			wantOps:  append(blockedCall, opSetVars, opContinue("operator")),
			wantEvs:  []emitted{evAnswered, evClassified(events.OutcomeBlockedOverride, "", 1, 9, false, "", OverrideKey), queuedAt(evTransferred("", "operator", true), 9)},
			wantVars: vars("blocked_override", events.OutcomeBlockedOverride, ""),
			want:     Result{Outcome: events.OutcomeBlockedOverride, Attempts: 1, Transferred: true, Extension: "operator", SecondsToQueue: 9},
		},
		{
			name:    "blocked caller presses a menu key during goodbye: still blocked",
			blocked: true,
			prompts: []PromptResult{silent, silent, key("1")},
			wantOps: append(blockedCall, opHangup),
			wantEvs: []emitted{evAnswered, evClassified(events.OutcomeBlocked, "", 1, 6, false, "", "")},
			want:    Result{Outcome: events.OutcomeBlocked, Attempts: 1, HangupBy: events.HangupBySystem},
		},
		{
			name:    "caller hangs up during goodbye: no_input, by the caller",
			prompts: []PromptResult{silent, silent, silent, silent, silent},
			fail:    map[string]error{"prompt#6": errHangup},
			wantOps: silentCall,
			wantEvs: append(silentMenus, evClassified(events.OutcomeNoInput, "", 3, 15, false, "", "")),
			want:    Result{Outcome: events.OutcomeNoInput, Attempts: 3, HangupBy: events.HangupByCaller},
		},
	}
	for _, tc := range cases {
		tc.cfg = direct
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// queuedAt sets call.transferred's seconds_to_queue.
func queuedAt(ev emitted, secs float64) emitted {
	tr := ev.Data.(events.Transferred)
	tr.SecondsToQueue = secs
	ev.Data = tr
	return ev
}

// A caller who pressed the incident key and then presses 5 5 or talks
// while the acknowledgement plays is put through after all.
func TestRunIncidentAckSigns(t *testing.T) {
	inc := &Announcement{ID: "inc-1", Media: "sound:siaga112/incident-example"}
	const offer = "prompt incident-example+incident-offer max=1 inter=3s code=55 talk=1s"
	const ack = "prompt incident-ack max=1 inter=3s code=55 talk=1s"
	direct := func(c *configs.IVR) {
		c.Location.When, c.Prompts.Connecting = configs.LocationNever, ""
	}
	classified := func(o events.Outcome, talk bool) emitted {
		ev := evClassified(o, "", 0, 9, talk, "", "")
		c := ev.Data.(events.Classified)
		c.IncidentID = "inc-1"
		ev.Data = c
		return ev
	}
	cases := []flowCase{
		{
			name:     "presses 8, then 5 5 during the acknowledgement: silent help",
			prompts:  []PromptResult{silent, key("8"), key("55")},
			wantOps:  []string{opAnswer, opGreet, offer, ack, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeSilentHelp, false), queuedAt(evTransferred("", "operator", false), 9)},
			wantVars: vars("silent_help", events.OutcomeSilentHelp, ""),
			want:     Result{Outcome: events.OutcomeSilentHelp, Transferred: true, Extension: "operator", SecondsToQueue: 9},
		},
		{
			name:     "presses 8, then talks during the acknowledgement: voice",
			prompts:  []PromptResult{silent, key("8"), talk},
			wantOps:  []string{opAnswer, opGreet, offer, ack, opSetVars, opContinue("operator")},
			wantEvs:  []emitted{evAnswered, classified(events.OutcomeVoice, true), queuedAt(evTransferred("", "operator", false), 9)},
			wantVars: vars("voice", events.OutcomeVoice, ""),
			want:     Result{Outcome: events.OutcomeVoice, Transferred: true, Extension: "operator", SecondsToQueue: 9},
		},
		{
			name:    "presses 8, then 8 again: still incident_ack",
			prompts: []PromptResult{silent, key("8"), key("8")},
			wantOps: []string{opAnswer, opGreet, offer, ack, opHangup},
			wantEvs: []emitted{evAnswered, func() emitted {
				ev := classified(events.OutcomeIncidentAck, false)
				c := ev.Data.(events.Classified)
				c.SecondsToClassify = 6
				ev.Data = c
				return ev
			}()},
			want: Result{Outcome: events.OutcomeIncidentAck, HangupBy: events.HangupBySystem},
		},
	}
	for _, tc := range cases {
		tc.cfg, tc.incident = direct, inc
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}
