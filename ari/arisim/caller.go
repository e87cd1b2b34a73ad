package arisim

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"time"
)

// Caller describes a scripted caller: who calls, what they dialled and what they do.
type Caller struct {
	Number string // caller id number, e.g. "+6281234567890"
	Name   string // caller id name
	Dialed string // the extension dialled, e.g. "112"
	Script []Step
	ID     string // optional channel id; default an Asterisk-style unique id
	// Args are the Stasis application's arguments, as a dialplan line
	// Stasis(siaga112,record-incident) gives them (none by default).
	Args []string
}

// DialplanTarget is where a channel was sent with continue.
type DialplanTarget struct {
	Context   string
	Extension string
	Priority  int
}

// PromptRecord is one media item the caller heard.
type PromptRecord struct {
	Sound      string // "siaga112/greeting" for sound:siaga112/greeting, else the URI
	Media      string // the media URI
	PlaybackID string
	State      string // "playing", "done", "stopped" (barge-in), "failed", "hangup"
	StartedAt  time.Time
	EndedAt    time.Time
}

// CallerView is what the caller experienced, for assertions.
type CallerView struct {
	ChannelID  string
	Prompts    []string       // sounds in the order they started playing
	PromptLog  []PromptRecord // the same, with how each ended
	Answered   bool
	AnsweredAt time.Time
	EndedAt    time.Time
	HungUpBy   string          // HungUpByCaller, HungUpByApp, ... ; "" while the call lasts
	Cause      int             // hangup cause (Q.850)
	Continued  *DialplanTarget // set when the app continued the channel in the dialplan
	RedirectTo string          // set when the app redirected the channel
	Variables  map[string]string
	Recordings []string // names of recordings made on the channel
	DTMFSent   string   // digits the caller pressed
	DTMFHeard  string   // digits the app sent to the caller

	// After a continue into Options.OperatorContext with queues defined (SetQueue):
	Queue              string    // the last queue the caller joined
	QueuedAt           time.Time // when the caller first joined a queue
	Operator           string    // the device of the operator who answered ("" if none)
	OperatorAnsweredAt time.Time // when that operator answered
	// EndedIn is where the call was when it ended: EndedInIVR, EndedInQueue
	// (continued into the dialplan, no operator had answered) or
	// EndedInOperator; "" while the call lasts.
	EndedIn string
}

type stepKind int

const (
	stepWait stepKind = iota
	stepPress
	stepTalk
	stepHangup
	stepWaitPrompt
	stepWaitAnswer
	stepWaitEnd
	stepWaitOperator
)

// Step is one action of a caller's script; build steps with Wait, Press, Talk,
// Silence, Hangup, WaitForPrompt, WaitForAnswer, WaitForEnd and WaitForOperator.
type Step struct {
	kind stepKind
	d    time.Duration
	arg  string
}

// String describes the step, for test failure messages.
func (st Step) String() string {
	switch st.kind {
	case stepWait:
		return fmt.Sprintf("Wait(%s)", st.d)
	case stepPress:
		return fmt.Sprintf("Press(%q)", st.arg)
	case stepTalk:
		return fmt.Sprintf("Talk(%s)", st.d)
	case stepHangup:
		return "Hangup()"
	case stepWaitPrompt:
		return fmt.Sprintf("WaitForPrompt(%q)", st.arg)
	case stepWaitAnswer:
		return "WaitForAnswer()"
	case stepWaitOperator:
		return "WaitForOperator()"
	default:
		return "WaitForEnd()"
	}
}

// Wait keeps the line silent for d (media time).
func Wait(d time.Duration) Step { return Step{kind: stepWait, d: d} }

// Silence is Wait.
func Silence(d time.Duration) Step { return Wait(d) }

// Press sends DTMF digits, each lasting 100 ms with a 100 ms gap, as a phone keypad
// does. Digits pressed before the call is answered are lost (no media path yet).
func Press(digits string) Step { return Step{kind: stepPress, arg: digits} }

// Talk makes the caller speak for d. With TALK_DETECT(set) on the channel the app
// gets ChannelTalkingStarted at once and ChannelTalkingFinished after the talk plus
// the detector's silence threshold (2500 ms unless TALK_DETECT set another), as
// Asterisk reports it. Talking is also what recordings hear as audio.
func Talk(d time.Duration) Step { return Step{kind: stepTalk, d: d} }

// Hangup hangs up; the script ends.
func Hangup() Step { return Step{kind: stepHangup} }

// WaitForPrompt blocks until a playback of the named sound starts on the channel
// ("siaga112/greeting", or just its base name "greeting"). A prompt that started
// after the previous WaitForPrompt matched also counts, so a script does not miss a
// prompt that began while it was pressing keys.
func WaitForPrompt(name string) Step { return Step{kind: stepWaitPrompt, arg: name} }

// WaitForAnswer blocks until the channel is answered.
func WaitForAnswer() Step { return Step{kind: stepWaitAnswer} }

// WaitForEnd blocks until the app is done with the call: it hung up, continued or
// redirected the channel. Steps after it run against the dialplan (e.g. an operator).
func WaitForEnd() Step { return Step{kind: stepWaitEnd} }

// WaitForOperator blocks until an operator of a simulated queue (see
// Server.SetQueue) answered the caller; the steps after it run while talking
// to the operator, e.g. WaitForOperator(), Talk(5*time.Second), Hangup(). It
// ends the script (and the caller hangs up) when the call ends first, or when
// the app continued the call into a dialplan where no queue is simulated.
func WaitForOperator() Step { return Step{kind: stepWaitOperator} }

// CallHandle follows a call placed with Server.Call, or the far end of an
// originate to a scripted callee (Server.CalleeCalls).
type CallHandle struct {
	ch    *channel
	done  chan struct{}
	final CallerView
	// callee marks the far end of an originate (SetCallee), whose channel
	// never ran the inbound dialplan and so has no MixMonitor recording.
	callee bool
}

// ID is the channel id.
func (h *CallHandle) ID() string { return h.ch.id }

// Done is closed when the call is over and its script has stopped.
func (h *CallHandle) Done() <-chan struct{} { return h.done }

// Result is the caller's view: final after Done, a snapshot before.
func (h *CallHandle) Result() CallerView {
	select {
	case <-h.done:
		return h.final
	default:
		h.ch.mu.Lock()
		defer h.ch.mu.Unlock()
		return h.ch.view.clone()
	}
}

// Hangup makes the caller hang up now.
func (h *CallHandle) Hangup() { h.ch.hangup(causeNormal, false, HungUpByCaller) }

func (v CallerView) clone() CallerView {
	c := v
	c.Prompts = slices.Clone(v.Prompts)
	c.PromptLog = slices.Clone(v.PromptLog)
	c.Variables = maps.Clone(v.Variables)
	c.Recordings = slices.Clone(v.Recordings)
	if v.Continued != nil {
		t := *v.Continued
		c.Continued = &t
	}
	return c
}

// Call places a scripted call into Options.Application, as a SIP call to Dialed
// arriving in the inbound context would: a channel in state Ring with the caller id,
// and StasisStart with no args and dialplan from-sip/Dialed/1. The script runs in the
// background. When it runs out of steps the caller stays on the line until the app
// hangs up, continues or redirects; a call in the dialplan is then hung up by the
// caller. Cancelling ctx makes the caller hang up.
func (s *Server) Call(ctx context.Context, c Caller) (*CallHandle, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	id := c.ID
	if id == "" {
		id = s.newUniqueID()
	}
	app := s.opts.Application
	ch := s.newChannel(id, "PJSIP", s.opts.Endpoint,
		callerIDJSON{Name: c.Name, Number: c.Number},
		dialplanJSON{Context: s.opts.InboundContext, Exten: c.Dialed, Priority: 1},
		stateRing)
	ch.language = s.opts.Language
	h := &CallHandle{ch: ch, done: make(chan struct{})}
	ch.call = h
	// A call arriving during a Restart waits for it (see Server.life) and
	// then meets the new process, where the application may not be
	// registered yet.
	s.life.RLock()
	if !s.channels.add(id, ch) {
		s.life.RUnlock()
		return nil, fmt.Errorf("%w: %s", ErrChannelExists, id)
	}
	if s.isClosed() {
		// Close may have swept the channels just before this one was added.
		s.life.RUnlock()
		ch.vanish(HungUpByShutdown)
		return nil, ErrClosed
	}
	s.callsStarted.Add(1)
	ch.mu.Lock()
	registered := s.appRegistered(app)
	if registered {
		ch.enterStasisLocked(app, c.Args)
	}
	ch.mu.Unlock()
	s.life.RUnlock()
	if !registered {
		// Stasis() fails for an application nobody is connected for; the dialplan
		// then ends and Asterisk hangs up.
		s.log.Warn("stasis application not registered; hanging up", "app", app, "channel", id)
		ch.hangup(causeNormal, false, HungUpBySystem)
	}
	if !s.goTracked(func() { h.run(ctx, c.Script) }) {
		ch.vanish(HungUpByShutdown)
		h.final = h.Result()
		close(h.done)
	}
	return h, nil
}

func (h *CallHandle) run(ctx context.Context, script []Step) {
	ch := h.ch
	start := time.Now()
	defer func() {
		ch.mu.Lock()
		h.final = ch.view.clone()
		ch.mu.Unlock()
		if prefix := ch.s.opts.MixMonitor; prefix != "" && !h.callee {
			media := time.Duration(float64(time.Since(start)) / ch.s.scale)
			ch.s.storeRecording(prefix+ch.id, "wav", []segment{{dur: media}}, "overwrite")
		}
		close(h.done)
	}()
	cursor := 0
	for _, st := range script {
		if !h.step(ctx, st, &cursor) {
			break
		}
	}
	// Hold the line while the app has the call; then hang up.
	h.waitFor(ctx, func() bool { return !ch.inStasis })
	ch.hangup(causeNormal, false, HungUpByCaller)
}

// step runs one script step; false ends the script.
func (h *CallHandle) step(ctx context.Context, st Step, cursor *int) bool {
	ch := h.ch
	s := ch.s
	switch st.kind {
	case stepWait:
		return s.sleep(ctx, st.d, ch.done)
	case stepPress:
		for _, r := range st.arg {
			if !s.sleep(ctx, 100*time.Millisecond, ch.done) {
				return false
			}
			ch.dtmf(string(r), 100)
			if !s.sleep(ctx, 100*time.Millisecond, ch.done) {
				return false
			}
		}
		return true
	case stepTalk:
		ch.setTalking(true)
		ok := s.sleep(ctx, st.d, ch.done)
		ch.setTalking(false)
		return ok
	case stepHangup:
		ch.hangup(causeNormal, false, HungUpByCaller)
		return false
	case stepWaitPrompt:
		return h.waitFor(ctx, func() bool {
			for i := *cursor; i < len(ch.view.PromptLog); i++ {
				snd := ch.view.PromptLog[i].Sound
				if snd == st.arg || path.Base(snd) == st.arg {
					*cursor = i + 1
					return true
				}
			}
			return false
		})
	case stepWaitAnswer:
		return h.waitFor(ctx, func() bool { return ch.state == stateUp })
	case stepWaitEnd:
		return h.waitFor(ctx, func() bool { return !ch.inStasis })
	case stepWaitOperator:
		return h.waitFor(ctx, func() bool { return ch.view.Operator != "" || ch.noQueue }) && h.answeredByOperator()
	}
	return true
}

func (h *CallHandle) answeredByOperator() bool {
	h.ch.mu.Lock()
	defer h.ch.mu.Unlock()
	return h.ch.view.Operator != ""
}

// waitFor blocks until cond (evaluated under the channel lock) holds. It returns false
// when the channel is gone first or ctx ends; when ctx ends the caller hangs up.
func (h *CallHandle) waitFor(ctx context.Context, cond func() bool) bool {
	ch := h.ch
	for {
		ch.mu.Lock()
		if ch.gone {
			ch.mu.Unlock()
			return false
		}
		if cond() {
			ch.mu.Unlock()
			return true
		}
		wake := ch.waitChLocked()
		ch.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			ch.hangup(causeNormal, false, HungUpByCaller)
			return false
		}
	}
}
