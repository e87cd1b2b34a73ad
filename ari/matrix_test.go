package ari

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
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
	// ext is the operators' extension (the queue) the caller is continued
	// to, for callers put through.
	ext string
	// maxQueue bounds answer -> hand-off (seconds) for callers put through.
	maxQueue float64
	// maxSign bounds the caller's deciding sign -> hand-off (seconds); 0
	// takes the bound of the sign's kind (mKey, mTalk).
	maxSign float64
	// firstKey: the first key of the last press decides (at the
	// silent-help prompt any key does), not the last.
	firstKey bool
	// sign is where the deciding sign is in the script: signLast (the
	// default) is the last key or talk, signLocation the end of the
	// location recording (the caller's last talk plus its max silence).
	sign signKind
	// reason is call.classified's reason (blocked_override only).
	reason string
	// callback: call.classified must mark the call for call-back.
	callback bool
}

// The shipped config's numbers the rows are written for: prompt lengths of
// the shipped Indonesian recordings and the default timeouts, in seconds.
const (
	mGreeting   = 5.9  // greeting
	mMenu       = 12.4 // the menu read out
	mMenuLast   = 1.7  // its last entry, menu-operator
	mNoInput    = 2.28 // no-input
	mSilentHelp = 4.0  // silent-help
	mBlocked    = 7.99 // the blocked warning
	mFirst      = 5.0  // ivr.first_digit_timeout
	mOverride   = 5.0  // ivr.blocked_override_timeout
	mMaxSilence = 3.0  // ivr.location.max_silence
	mTalkMin    = 1.0  // ivr.talk_min_duration
	// mSlack and mDrift cover, in the answer -> queue bounds, what the
	// nominal moments leave out: the script's start before the answer, and
	// the few milliseconds between one prompt's end and the next one's
	// start, which add up over a long call (measured: 0.2 s in 71 s).
	mSlack = 0.5
	mDrift = 0.02
	// mRule: the hand-off comes within 3 s of the caller's key.
	mRule = 3.0
)

func wait(s float64) arisim.Step { return arisim.Wait(time.Duration(s * float64(time.Second))) }

// behaviourMatrix is the table README.md prints as "Who gets through, and
// how fast". The disaster queue has no free operator, so key 4 is the row
// that hears the location question.
func behaviourMatrix() []matrixRow {
	wp := arisim.WaitForPrompt
	press, talk, hang := arisim.Press, arisim.Talk, arisim.Hangup
	em := events.OutcomeEmergency
	// Nominal moments, seconds from answer, with the shipped prompts: the
	// menu (or a blocked caller's warning) starts when the greeting ends;
	// the silent-help offers follow silent menu attempts.
	menuAt := mGreeting
	offerAt := mGreeting + mMenu + mFirst + mNoInput
	lastOfferAt := offerAt + 2*(mSilentHelp+mMenu+mFirst) + mNoInput
	blockedOfferAt := mGreeting + mBlocked + mOverride
	// The answer -> queue bound of a key pressed at, or of talk starting
	// at, a nominal moment.
	k := func(at float64) float64 { return at*(1+mDrift) + mKey + mSlack }
	tk := func(at float64) float64 { return at*(1+mDrift) + mTalkMin + mTalk + mSlack }
	rows := []matrixRow{
		{who: "unblocked", moment: "greeting", does: "presses 1", script: []arisim.Step{wait(1), press("1")}, outcome: em, through: true, ext: "fire", maxQueue: k(1.1)},
		{who: "unblocked", moment: "greeting", does: "presses 2", script: []arisim.Step{wait(1), press("2")}, outcome: em, through: true, ext: "medical", maxQueue: k(1.1)},
		{who: "unblocked", moment: "greeting", does: "presses 0", script: []arisim.Step{wait(1), press("0")}, outcome: em, through: true, ext: "operator", maxQueue: k(1.1)},
		{who: "unblocked", moment: "greeting", does: "presses 5 5", script: []arisim.Step{wait(1), press("55")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(1.3)},
		{who: "unblocked", moment: "greeting", does: "talks for 7 s", script: []arisim.Step{wait(1), talk(7 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(1)},
		{who: "unblocked", moment: "greeting", does: "says a short 'halo?', then presses 3 in the menu", script: []arisim.Step{wait(1), talk(400 * time.Millisecond), wp("menu"), press("3")}, outcome: em, through: true, ext: "police", maxQueue: k(menuAt + 0.1)},
		{who: "unblocked", moment: "greeting", does: "presses 7 (wrong), then 1 in the retry", script: []arisim.Step{wait(1), press("7"), wp("invalid"), press("1")}, outcome: em, through: true, ext: "fire", maxQueue: k(1.3)},
		{who: "unblocked", moment: "greeting", does: "hangs up", script: []arisim.Step{wait(2), hang()}, outcome: events.OutcomeAbandoned},
		// Two bursts that add up to talk_min and end well before the
		// greeting does: only the greeting's own result knows of them (a
		// single spurt would still be open when the menu starts, and the
		// menu would hear it again).
		{who: "unblocked", moment: "greeting", does: "says 'tolong!' then 'api!' (0.9 s + 0.2 s) and stops, all within the greeting", script: []arisim.Step{wait(1), talk(900 * time.Millisecond), wait(1.5), talk(200 * time.Millisecond)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(1 + 0.9 + 1.5 + 0.1 - mTalkMin)},
		{who: "unblocked", moment: "menu", does: "listens to the whole menu, presses 2", script: []arisim.Step{wp("menu-operator"), wait(2), press("2")}, outcome: em, through: true, ext: "medical", maxQueue: k(menuAt + mMenu - mMenuLast + 2.1)},
		{who: "unblocked", moment: "menu", does: "presses 1", script: []arisim.Step{wp("menu"), press("1")}, outcome: em, through: true, ext: "fire", maxQueue: k(menuAt + 0.1)},
		{who: "unblocked", moment: "menu", does: "presses 4 (no disaster operator free: location asked)", script: []arisim.Step{wp("menu"), press("4"), wp("location"), wait(8), talk(3 * time.Second)}, outcome: em, through: true, ext: "disaster", maxQueue: k(menuAt + 0.1 + 8 + 3 + mMaxSilence), sign: signLocation},
		{who: "unblocked", moment: "menu", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(menuAt + 0.3)},
		{who: "unblocked", moment: "menu", does: "presses 5 then 1", script: []arisim.Step{wp("menu"), press("51")}, outcome: em, through: true, ext: "fire", maxQueue: k(menuAt + 0.3)},
		{who: "unblocked", moment: "menu", does: "talks instead of pressing", script: []arisim.Step{wp("menu"), talk(5 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(menuAt)},
		{who: "unblocked", moment: "menu", does: "hangs up", script: []arisim.Step{wp("menu"), wait(2), hang()}, outcome: events.OutcomeAbandoned},
		{who: "unblocked", moment: "menu", does: "presses 7, 8, # (only wrong keys)", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("8"), wp("invalid"), press("#")}, outcome: events.OutcomeInvalid},
		{who: "unblocked", moment: "invalid retry", does: "talks", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), talk(4 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(menuAt + 0.2)},
		{who: "unblocked", moment: "invalid retry", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(menuAt + 0.5)},
		{who: "unblocked", moment: "invalid retry", does: "presses 3", script: []arisim.Step{wp("menu"), press("7"), wp("invalid"), press("3")}, outcome: em, through: true, ext: "police", maxQueue: k(menuAt + 0.3)},
		{who: "unblocked", moment: "first silent-help offer", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(offerAt + 0.3)},
		{who: "unblocked", moment: "first silent-help offer", does: "talks", script: []arisim.Step{wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(offerAt)},
		{who: "unblocked", moment: "first silent-help offer", does: "hangs up", script: []arisim.Step{wp("silent-help"), hang()}, outcome: events.OutcomeAbandoned},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, firstKey: true, ext: "operator", maxQueue: k(lastOfferAt + 0.1)},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses one key (1)", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("1")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(lastOfferAt + 0.1)},
		{who: "unblocked", moment: "last silent-help prompt", does: "presses one 5", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), press("5")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(lastOfferAt + 0.1)},
		{who: "unblocked", moment: "last silent-help prompt", does: "talks", script: []arisim.Step{wp("silent-help"), wp("silent-help"), wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(lastOfferAt)},
		{who: "unblocked", moment: "whole call", does: "stays silent", outcome: events.OutcomeNoInput},
		{who: "unblocked", moment: "location question", does: "hangs up after pressing 4", script: []arisim.Step{wp("menu"), press("4"), wp("location"), wait(2), hang()}, outcome: em, callback: true},
		{who: "blocked", moment: "greeting", does: "presses 9", script: []arisim.Step{wait(1), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: k(1.1), reason: "key"},
		{who: "blocked", moment: "greeting", does: "talks for 7 s", script: []arisim.Step{wait(1), talk(7 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: tk(1), reason: "talk"},
		{who: "blocked", moment: "warning", does: "presses 9", script: []arisim.Step{wp("blocked"), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: k(menuAt + 0.1), reason: "key"},
		{who: "blocked", moment: "warning", does: "talks", script: []arisim.Step{wp("blocked"), talk(4 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: tk(menuAt), reason: "talk"},
		{who: "blocked", moment: "warning", does: "presses 5 5", script: []arisim.Step{wp("blocked"), press("55")}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: k(menuAt + 0.3), reason: "silent_help"},
		{who: "blocked", moment: "warning", does: "presses 1 (wrong), then 9 in the replay", script: []arisim.Step{wp("blocked"), press("1"), wp("blocked"), press("9")}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: k(menuAt + 0.3), reason: "key"},
		{who: "blocked", moment: "warning", does: "presses only wrong keys", script: []arisim.Step{wp("blocked"), press("1"), wp("blocked"), press("2"), wp("blocked"), press("3"), wait(12), press("4")}, outcome: events.OutcomeBlocked},
		{who: "blocked", moment: "warning", does: "hangs up", script: []arisim.Step{wp("blocked"), hang()}, outcome: events.OutcomeAbandoned},
		{who: "blocked", moment: "silent-help offer", does: "presses 5 5", script: []arisim.Step{wp("silent-help"), press("55")}, outcome: events.OutcomeBlockedOverride, through: true, firstKey: true, ext: "operator", maxQueue: k(blockedOfferAt + 0.1), reason: "silent_help"},
		{who: "blocked", moment: "silent-help offer", does: "presses one key (5)", script: []arisim.Step{wp("silent-help"), press("5")}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: k(blockedOfferAt + 0.1), reason: "silent_help"},
		{who: "blocked", moment: "silent-help offer", does: "talks", script: []arisim.Step{wp("silent-help"), talk(3 * time.Second)}, outcome: events.OutcomeBlockedOverride, through: true, ext: "operator", maxQueue: tk(blockedOfferAt), reason: "talk"},
		{who: "blocked", moment: "whole call", does: "stays silent", outcome: events.OutcomeBlocked},
		{who: "withheld", moment: "greeting", does: "presses 1", script: []arisim.Step{wait(1), press("1")}, outcome: em, through: true, ext: "fire", maxQueue: k(1.1)},
		{who: "withheld", moment: "menu", does: "talks", script: []arisim.Step{wp("menu"), talk(4 * time.Second)}, outcome: events.OutcomeVoice, through: true, ext: "operator", maxQueue: tk(menuAt)},
		{who: "withheld", moment: "menu", does: "presses 5 5", script: []arisim.Step{wp("menu"), press("55")}, outcome: events.OutcomeSilentHelp, through: true, ext: "operator", maxQueue: k(menuAt + 0.3)},
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
	start := time.Now()
	type measured struct {
		Who, Moment, Does string
		Outcome           events.Outcome
		Through           bool
		Extension         string
		MaxQueueS, QueueS float64
		MaxSignS, SignS   float64
		FirstOfferS       float64 `json:",omitempty"`
		Reason            string
		Callback, Failed  bool
	}
	out := make([]measured, len(rows))
	for i, r := range rows {
		name := fmt.Sprintf("%02d %s/%s/%s", i+1, r.who, r.moment, r.does)
		h := handles[i]
		m := &out[i]
		*m = measured{Who: r.who, Moment: r.moment, Does: r.does, MaxQueueS: r.maxQueue}
		// Each row has its own deadline from the common start, and fails
		// alone: a stuck call does not keep the other rows from being
		// checked.
		t.Run(name, func(t *testing.T) {
			defer func() { m.Failed = t.Failed() }()
			deadline := start.Add(rowDeadline(r))
			select {
			case <-h.Done():
			case <-time.After(time.Until(deadline)):
			}
			select {
			case <-h.Done():
			default:
				t.Fatalf("call did not end within %s of the start; heard %v", rowDeadline(r), base(h.Result().Prompts))
			}
			v := h.Result()
			evs := endedBy(t, e, v.ChannelID, deadline)
			var cl events.Classified
			var tr *events.Transferred
			var trAt time.Time
			for _, ev := range evs {
				switch ev.Type {
				case events.TypeClassified:
					if err := json.Unmarshal(ev.Data, &cl); err != nil {
						t.Fatalf("classified: %v", err)
					}
				case events.TypeTransferred:
					tr = &events.Transferred{}
					if err := json.Unmarshal(ev.Data, tr); err != nil {
						t.Fatalf("transferred: %v", err)
					}
					trAt = ev.Time
				}
			}
			m.Outcome, m.Through, m.Reason, m.Callback = cl.Outcome, v.Continued != nil, cl.Reason, cl.Callback
			if cl.Outcome != r.outcome {
				t.Errorf("outcome %q, want %q (heard %v)", cl.Outcome, r.outcome, base(v.Prompts))
			}
			if cl.Reason != r.reason {
				t.Errorf("reason %q, want %q", cl.Reason, r.reason)
			}
			if cl.Callback != r.callback {
				t.Errorf("callback %v, want %v", cl.Callback, r.callback)
			}
			if offer, ok := firstOffer(v); ok {
				// The rule: a silent caller hears the silent-help offer within
				// 30 s of answer.
				m.FirstOfferS = offer.Seconds()
				if offer > 30*time.Second {
					t.Errorf("first silent-help offer %.1f s after answer, want at most 30 s", offer.Seconds())
				}
			}
			if through := v.Continued != nil; through != r.through {
				t.Fatalf("put through = %v (%+v), want %v; heard %v", through, v.Continued, r.through, base(v.Prompts))
			}
			if !r.through {
				return
			}
			if tr == nil {
				t.Fatalf("no call.transferred for a caller put through")
			}
			m.Extension = v.Continued.Extension
			if v.Continued.Context != e.cfg.IVR.OperatorContext || v.Continued.Extension != r.ext || tr.Extension != r.ext {
				t.Errorf("continued to %+v (call.transferred extension %q), want %s,%s", v.Continued, tr.Extension, e.cfg.IVR.OperatorContext, r.ext)
			}
			m.QueueS = tr.SecondsToQueue
			if tr.SecondsToQueue <= 0 || tr.SecondsToQueue > r.maxQueue {
				t.Errorf("answer -> queue %.1f s, want at most %.1f s (heard %v)", tr.SecondsToQueue, r.maxQueue, base(v.Prompts))
			}
			sign, talked, err := signMoment(v, r.script, r.sign, r.firstKey, e.cfg.IVR.TalkMinDuration, e.cfg.IVR.Location.MaxSilence)
			if err != nil {
				t.Fatalf("deciding sign: %v", err)
			}
			m.MaxSignS = r.maxSign
			if m.MaxSignS == 0 {
				m.MaxSignS = mKey
				if talked {
					m.MaxSignS = mTalk
				}
			}
			m.SignS = trAt.Sub(sign).Seconds()
			if m.SignS > m.MaxSignS || m.SignS > mRule {
				t.Errorf("sign -> queue %.2f s, want at most %.1f s (and the rule's %.0f s)", m.SignS, m.MaxSignS, mRule)
			}
			if got := v.Variables["SIAGA112_CALL_RECORDING"]; got != "siaga112/"+v.ChannelID {
				t.Errorf("SIAGA112_CALL_RECORDING %q, want siaga112/%s", got, v.ChannelID)
			}
		})
	}
	if path := os.Getenv("SIAGA112_MATRIX_OUT"); path != "" {
		b, _ := json.MarshalIndent(out, "", " ")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
}

// rowDeadline is how long after the matrix starts a row's call must have
// ended: its bound on the time to the queue (or the longest call, a silent
// one: three menus, the offers and goodbye, about 100 s) plus a margin for
// the caller's script after the hand-off and a loaded machine.
func rowDeadline(r matrixRow) time.Duration {
	limit := 110.0
	if r.through {
		limit = r.maxQueue
	}
	return time.Duration((limit + 30) * float64(time.Second))
}

// endedBy waits until the call's call.ended is on the stream, at most until
// deadline, and returns the call's events; it fails only t.
func endedBy(t *testing.T, e *env, callID string, deadline time.Time) []events.Envelope {
	t.Helper()
	for {
		evs := e.streamEvents(callID)
		for _, ev := range evs {
			if ev.Type == events.TypeEnded {
				return evs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call.ended on the stream; events %v", types(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstOffer returns when the caller first heard the silent-help offer,
// from answer.
func firstOffer(v arisim.CallerView) (time.Duration, bool) {
	for _, p := range v.PromptLog {
		if path.Base(p.Sound) == "silent-help" {
			return p.StartedAt.Sub(v.AnsweredAt), true
		}
	}
	return 0, false
}
