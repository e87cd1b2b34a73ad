package ari

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// matrixRow is one caller behaviour at one moment of the call, with what
// the IVR must make of it. The matrix runs with the shipped configuration
// and the shipped Indonesian prompts at real time, so every bound on the
// time to the queue is the one a caller would live.
type matrixRow struct {
	// who: "unblocked", "blocked" or "withheld" (number not shown).
	who string
	// moment is where in the call the behaviour happens.
	moment string
	// does is what the caller does there.
	does   string
	script []arisim.Step
	// outcome is call.classified's outcome.
	outcome events.Outcome
	// through: the caller reaches the operators' context.
	through bool
	// maxQueue bounds answer -> hand-off (seconds) for callers put through.
	maxQueue float64
	// reason is call.classified's reason (blocked_override only).
	reason string
	// callback: call.classified must mark the call for call-back.
	callback bool
}

// The shipped config's numbers the rows are written for.
const (
	mGreeting = 5.9  // id greeting, seconds
	mMenu     = 12.4 // the menu read out
	mTalkMin  = 1.0  // ivr.talk_min_duration
	// mHandoff is what a row allows from the caller's sign to the queue.
	mHandoff = 3.0
)

func wait(s float64) arisim.Step { return arisim.Wait(time.Duration(s * float64(time.Second))) }

// behaviourMatrix is the table README.md prints as "Who gets through, and
// how fast". The disaster queue has no free operator, so key 4 is the row
// that hears the location question.
func behaviourMatrix() []matrixRow {
	wp := arisim.WaitForPrompt
	press, talk, hang := arisim.Press, arisim.Talk, arisim.Hangup
	em := events.OutcomeEmergency
	// afterGreetingKey: a key 1 s into the greeting reaches the queue
	// within mHandoff of the key.
	keyEarly := 1 + mHandoff
	talkEarly := 1 + mTalkMin + mHandoff
	rows := []matrixRow{
		{who: "unblocked", moment: "greeting", does: "presses 1", script: []arisim.Step{wait(1), press("1")}, outcome: em, through: true, maxQueue: keyEarly},
		{who: "unblocked", moment: "greeting", does: "presses 2", script: []arisim.Step{wait(1), press("2")}, outcome: em, through: true, maxQueue: keyEarly},
		{who: "unblocked", moment: "greeting", does: "presses 0", script: []arisim.Step{wait(1), press("0")}, outcome: em, through: true, maxQueue: keyEarly},
		{who: "unblocked", moment: "greeting", does: "presses 5 5", script: []arisim.Step{wait(1), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: keyEarly},
		{who: "unblocked", moment: "greeting", does: "talks for 7 s", script: []arisim.Step{wait(1), talk(7 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: talkEarly},
		{who: "unblocked", moment: "greeting", does: "says a short 'halo?', then presses 3 in the menu", script: []arisim.Step{wait(1), talk(400 * time.Millisecond), wp("menu"), press("3")}, outcome: em, through: true, maxQueue: mGreeting + 2 + mHandoff},
		{who: "unblocked", moment: "greeting", does: "presses 7 (wrong), then 1 in the retry", script: []arisim.Step{wait(1), press("7"), wp("invalid"), press("1")}, outcome: em, through: true, maxQueue: 1 + 4 + mHandoff},
		{who: "unblocked", moment: "greeting", does: "hangs up", script: []arisim.Step{wait(2), hang()}, outcome: events.OutcomeAbandoned},
		{who: "unblocked", moment: "menu", does: "listens to the whole menu, presses 2", script: []arisim.Step{wp("menu-operator"), wait(2), press("2")}, outcome: em, through: true, maxQueue: 20},
		{who: "unblocked", moment: "menu", does: "presses 1", script: []arisim.Step{wp("menu"), press("1")}, outcome: em, through: true, maxQueue: mGreeting + 1 + mHandoff},
		{who: "unblocked", moment: "menu", does: "presses 4 (no disaster operator free: location asked)", script: []arisim.Step{wp("menu"), press("4"), wp("location"), wait(8), talk(3 * time.Second)}, outcome: em, through: true, maxQueue: mGreeting + 1 + 8 + 3 + 3 + 2 + mHandoff},
		{who: "unblocked", moment: "menu", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: mGreeting + 1 + mHandoff},
		{who: "unblocked", moment: "menu", does: "presses 5 then 1", script: []arisim.Step{wp("menu"), press("51")}, outcome: em, through: true, maxQueue: mGreeting + 1 + mHandoff},
		{who: "unblocked", moment: "menu", does: "talks instead of pressing", script: []arisim.Step{wp("menu"), talk(5 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: mGreeting + 1 + mTalkMin + mHandoff},
		{who: "unblocked", moment: "menu", does: "hangs up", script: []arisim.Step{wp("menu"), wait(2), hang()}, outcome: events.OutcomeAbandoned},
		{who: "unblocked", moment: "menu", does: "presses 7, 8, # (only wrong keys)", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("8"), wp("invalid"), press("#")}, outcome: events.OutcomeInvalid},
		{who: "unblocked", moment: "invalid retry", does: "talks", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), talk(4 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: 20},
		{who: "unblocked", moment: "invalid retry", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: 20},
		{who: "unblocked", moment: "invalid retry", does: "presses 3", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("3")}, outcome: em, through: true, maxQueue: 20},
		{who: "unblocked", moment: "first silent-help offer", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: 30 + mHandoff},
		{who: "unblocked", moment: "first silent-help offer", does: "talks", script: []arisim.Step{wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: 30 + mTalkMin + mHandoff},
		{who: "unblocked", moment: "first silent-help offer", does: "hangs up", script: []arisim.Step{wp("silent-help"), hang()}, outcome: events.OutcomeAbandoned},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: 90},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses one key (1)", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("1")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: 90},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses one 5", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("5")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: 90},
		{who: "unblocked", moment: "last silent-help prompt", does: "talks", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: 90},
		{who: "unblocked", moment: "whole call", does: "stays silent", outcome: events.OutcomeNoInput},
		{who: "unblocked", moment: "location question", does: "hangs up after pressing 4", script: []arisim.Step{wp("menu"), press("4"), wp("location"), wait(2), hang()}, outcome: em, callback: true},
		{who: "blocked", moment: "greeting", does: "presses 9", script: []arisim.Step{wait(1), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: keyEarly, reason: "key"},
		{who: "blocked", moment: "greeting", does: "talks for 7 s", script: []arisim.Step{wait(1), talk(7 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: talkEarly, reason: "talk"},
		{who: "blocked", moment: "warning", does: "presses 9", script: []arisim.Step{wp("blocked"), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: mGreeting + 1 + mHandoff, reason: "key"},
		{who: "blocked", moment: "warning", does: "talks", script: []arisim.Step{wp("blocked"), talk(4 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: mGreeting + 1 + mTalkMin + mHandoff, reason: "talk"},
		{who: "blocked", moment: "warning", does: "presses 5 5", script: []arisim.Step{wp("blocked"), press("55")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: mGreeting + 1 + mHandoff, reason: "silent_help"},
		{who: "blocked", moment: "warning", does: "presses 1 (wrong), then 9 in the replay", script: []arisim.Step{wp("blocked"), press("1"), wp("blocked"), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: 20, reason: "key"},
		{who: "blocked", moment: "warning", does: "presses only wrong keys", script: []arisim.Step{wp("blocked"), press("1"), wp("blocked"), press("2"), wp("blocked"), press("3"), wait(12), press("4")}, outcome: events.OutcomeBlocked},
		{who: "blocked", moment: "warning", does: "hangs up", script: []arisim.Step{wp("blocked"), hang()}, outcome: events.OutcomeAbandoned},
		{who: "blocked", moment: "silent-help offer", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), press("55")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: 30, reason: "silent_help"},
		{who: "blocked", moment: "silent-help offer", does: "presses one key (5)", script: []arisim.Step{wp("silent-help"), press("5")}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: 30, reason: "silent_help"},
		{who: "blocked", moment: "silent-help offer", does: "talks", script: []arisim.Step{wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, maxQueue: 30, reason: "talk"},
		{who: "blocked", moment: "whole call", does: "stays silent", outcome: events.OutcomeBlocked},
		{who: "withheld", moment: "greeting", does: "presses 1", script: []arisim.Step{wait(1), press("1")}, outcome: em, through: true, maxQueue: keyEarly},
		{who: "withheld", moment: "menu", does: "talks", script: []arisim.Step{wp("menu"), talk(4 * time.Second)}, outcome: events.OutcomeVoice, through: true, maxQueue: mGreeting + 1 + mTalkMin + mHandoff},
		{who: "withheld", moment: "menu", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, maxQueue: mGreeting + 1 + mHandoff},
		{who: "withheld", moment: "whole call", does: "stays silent", outcome: events.OutcomeNoInput},
	}
	return rows
}

// TestBehaviourMatrix places every row's caller at once through the real
// ARI client against the simulated Asterisk with the shipped configuration
// and prompts, at real time, and checks where each call went, its outcome
// and how long the caller waited for the operators' queue. With
// SIAGA112_MATRIX_OUT=FILE it writes the rows and measured times as JSON.
func TestBehaviourMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the matrix runs at real time (about 2 minutes); -short skips it")
	}
	rows := behaviourMatrix()
	if len(rows) < 40 {
		t.Fatalf("the matrix has %d rows; it must cover at least 40 behaviours", len(rows))
	}
	e := startEnv(t, envOptions{
		cfg: func(c *configs.Config) {
			def := configs.Default()
			c.IVR = def.IVR
			c.IVR.DrainTimeout = 3 * time.Second
		},
		clockScale: 1,
		soundsDir:  "../asterisk-conf/sounds",
		language:   "id",
	})
	for _, m := range e.cfg.IVR.Menu {
		free := 1
		if m.Type == "disaster" {
			free = 0
		}
		e.sim.SetQueueFree(m.Queue, free)
	}
	handles := make([]*arisim.CallHandle, len(rows))
	for i, r := range rows {
		number := fmt.Sprintf("+62811700%04d", i)
		if r.who == "withheld" {
			number = "anonymous"
		}
		if r.who == "blocked" {
			e.bl.Set(number, time.Now().Add(time.Hour))
		}
		handles[i] = e.place(arisim.Caller{Number: number, Name: "Matrix", Script: r.script})
	}
	type measured struct {
		Who, Moment, Does string
		Outcome           events.Outcome
		Through           bool
		MaxQueueS, QueueS float64
		Reason            string
		Callback, Failed  bool
	}
	var out []measured
	for i, r := range rows {
		name := fmt.Sprintf("%02d %s/%s/%s", i+1, r.who, r.moment, r.does)
		h := handles[i]
		select {
		case <-h.Done():
		case <-time.After(3 * time.Minute):
			t.Fatalf("%s: call did not end within 3 minutes", name)
		}
		v := h.Result()
		evs := e.waitEnded(v.ChannelID)
		var cl events.Classified
		var tr *events.Transferred
		for _, ev := range evs {
			switch ev.Type {
			case events.TypeClassified:
				if err := json.Unmarshal(ev.Data, &cl); err != nil {
					t.Fatalf("%s: classified: %v", name, err)
				}
			case events.TypeTransferred:
				tr = &events.Transferred{}
				if err := json.Unmarshal(ev.Data, tr); err != nil {
					t.Fatalf("%s: transferred: %v", name, err)
				}
			}
		}
		m := measured{Who: r.who, Moment: r.moment, Does: r.does, Outcome: cl.Outcome, Through: v.Continued != nil,
			MaxQueueS: r.maxQueue, Reason: cl.Reason, Callback: cl.Callback}
		t.Run(name, func(t *testing.T) {
			if cl.Outcome != r.outcome {
				t.Errorf("outcome %q, want %q (heard %v)", cl.Outcome, r.outcome, base(v.Prompts))
			}
			if through := v.Continued != nil; through != r.through {
				t.Fatalf("put through = %v (%+v), want %v; heard %v", through, v.Continued, r.through, base(v.Prompts))
			}
			if r.through {
				if v.Continued.Context != e.cfg.IVR.OperatorContext {
					t.Errorf("continued to %+v, want context %s", v.Continued, e.cfg.IVR.OperatorContext)
				}
				if tr == nil {
					t.Fatalf("no call.transferred for a caller put through")
				}
				m.QueueS = tr.SecondsToQueue
				if tr.SecondsToQueue <= 0 || tr.SecondsToQueue > r.maxQueue {
					t.Errorf("answer -> queue %.1f s, want at most %.1f s (heard %v)", tr.SecondsToQueue, r.maxQueue, base(v.Prompts))
				}
				if got := v.Variables["SIAGA112_CALL_RECORDING"]; got != "siaga112/"+v.ChannelID {
					t.Errorf("SIAGA112_CALL_RECORDING %q, want siaga112/%s", got, v.ChannelID)
				}
			}
			if cl.Reason != r.reason {
				t.Errorf("reason %q, want %q", cl.Reason, r.reason)
			}
			if cl.Callback != r.callback {
				t.Errorf("callback %v, want %v", cl.Callback, r.callback)
			}
			m.Failed = t.Failed()
		})
		out = append(out, m)
	}
	if path := os.Getenv("SIAGA112_MATRIX_OUT"); path != "" {
		b, _ := json.MarshalIndent(out, "", " ")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
}
