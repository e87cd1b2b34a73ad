package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
	"github.com/CyCoreSystems/ari/v6/client/native"

	"github.com/siaga112/siaga112/flows"
)

// Why Prompt and Record are not built on ext/play and ext/record.
//
// Both helpers wait for their events through handle.Subscribe, i.e. the
// library's stdbus: a subscription per playback, per DTMF listener and per
// recording, each matched against every event of the node (O(live calls)
// per event) and each silently dropping events when its buffer is full.
// They also need native.Client.Connect's bus, which we do not use (see
// router.go). And neither can be ended by talk detection: play.Prompt ends
// on DTMF match, timeout or hangup only, so a caller who speaks during the
// menu could not be recognised as "voice" until the whole prompt and its
// digit timeouts had run out. So the adapter drives playbacks, digits,
// talk detection and recordings itself from the call's inbox, which the
// router fills in O(1) per event.

// talkDetectVar is the Asterisk dialplan function that turns on
// ChannelTalkingStarted/Finished events for a channel.
const talkDetectVar = "TALK_DETECT(set)"

// talkSilence is the silence after which Asterisk's talk detector reports
// a spurt finished (TALK_DETECT's dsp_silence_threshold; Asterisk's own
// default is 2.5 s). A spurt still open has lasted at least its age less
// this much, so a cough is not mistaken for a caller talking for talkMin;
// one second keeps the short pauses between a caller's words inside a
// spurt.
const talkSilence = time.Second

// Playback states Asterisk reports in PlaybackFinished.
const playbackFailed = "failed"

// maxTypeahead bounds the keys remembered between prompts.
const maxTypeahead = 16

// defaultMaxPlayback bounds the wait for one prompt's PlaybackFinished
// when the configuration gives no ivr.max_prompt (tests that build a call
// by hand). Prompts last seconds; a playback that has not finished after
// this long means its event was lost, and the caller must not wait on it.
const defaultMaxPlayback = time.Minute

// call is the flows.Call of one channel. Its methods are called by the
// session goroutine only, one at a time; all fields except the session's
// atomics are owned by that goroutine.
type call struct {
	s       *session
	client  *native.Client
	key     *ariv6.Key
	timeout time.Duration
	// maxPlayback is ivr.max_prompt: the longest wait for one prompt's
	// PlaybackFinished.
	maxPlayback time.Duration
	log         *slog.Logger

	// pending holds keys pressed and not yet consumed by a collecting
	// Prompt (type-ahead: a caller who presses 1 during the greeting is not
	// made to wait for the menu).
	pending string

	talkDetectOn bool
	// detectTalk and talkMin describe the running Prompt's talk rule.
	detectTalk bool
	talkMin    time.Duration
	// talkingSince is when the current talk spurt started (zero: silent).
	talkingSince time.Time
	// talked is set when the finished talk spurts of the running prompt
	// add up to at least talkMin.
	talked bool
	// talkTotal adds up the running prompt's finished spurts.
	talkTotal time.Duration

	seq          int
	curPlayback  string
	pbDone       bool
	pbState      string
	curRecording string
	recDone      bool
	recFailed    bool
	recCause     string

	// slow is set once a request timed out: Asterisk is not answering, so
	// optional requests are skipped on the way to operators.
	slow bool

	// answeredAt is when Asterisk confirmed the Answer; continuedAt when
	// the channel left for the operators' context (follow.go).
	answeredAt, continuedAt time.Time
	// dials are the Dial events handled before the follow phase began.
	dials []*ariv6.Dial
}

var _ flows.Call = (*call)(nil)

// gone returns the error for a channel that ended; nil while it is alive.
func (c *call) gone(op string) error {
	if c.s.gone() {
		return c.systemMark(fmt.Errorf("ari: %s: %w", op, ErrChannelGone))
	}
	return nil
}

// systemMark adds flows.ErrSystemHangup to err, an ErrChannelGone, when
// Asterisk rather than the caller ended the call, so the flow does not
// count it as the caller abandoning the call.
func (c *call) systemMark(err error) error {
	if errors.Is(err, ErrChannelGone) && c.s.gone() {
		return c.s.markSystem(err)
	}
	return err
}

// doneErr is the error for an operation interrupted by ctx.
func (c *call) doneErr(ctx context.Context, op string) error {
	if err := c.gone(op); err != nil {
		return err
	}
	return fmt.Errorf("ari: %s: %w", op, context.Cause(ctx))
}

// handle applies one event to the call's state.
func (c *call) handle(e ariv6.Event) {
	switch ev := e.(type) {
	case *ariv6.ChannelDtmfReceived:
		if len(c.pending) < maxTypeahead {
			c.pending += ev.Digit
		}
	case *ariv6.ChannelTalkingStarted:
		c.talkingSince = time.Now()
	case *ariv6.ChannelTalkingFinished:
		if c.detectTalk {
			c.talkTotal += time.Duration(ev.Duration) * time.Millisecond
			if c.talkTotal >= c.talkMin {
				c.talked = true
			}
		}
		c.talkingSince = time.Time{}
	case *ariv6.PlaybackFinished:
		if ev.Playback.ID == c.curPlayback {
			c.pbDone, c.pbState = true, ev.Playback.State
		}
	case *ariv6.RecordingFinished:
		if ev.Recording.Name == c.curRecording {
			c.recDone = true
		}
	case *ariv6.RecordingFailed:
		if ev.Recording.Name == c.curRecording {
			c.recDone, c.recFailed, c.recCause = true, true, ev.Recording.Cause
		}
	case *ariv6.Dial:
		// The queue may ring and even connect an operator before the
		// continue's reply is read; the follow phase reads these first.
		if len(c.dials) < maxEarlyDials {
			c.dials = append(c.dials, ev)
		}
	}
}

// maxEarlyDials bounds the Dial events kept while the continue is in
// flight (one per operator rung, and one answer).
const maxEarlyDials = 64

// step handles at most one event, or returns when deadline passes (zero
// deadline: no deadline). It returns an error only when ctx ends.
func (c *call) step(ctx context.Context, deadline time.Time, op string) error {
	var timer <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case e, ok := <-c.s.inbox:
		if ok {
			c.handle(e)
		}
		return nil
	case <-timer:
		return nil
	case <-ctx.Done():
		return c.doneErr(ctx, op)
	}
}

// rest runs one REST request bounded by the request timeout and ctx,
// handling the call's events while it waits (a key pressed while the play
// request is in flight must not be lost).
func (c *call) rest(ctx context.Context, op string, fn func() error) error {
	return c.request(ctx, op, true, fn)
}

// restMedia is rest for requests on a playback or recording: a 404 there
// means the media already ended, not that the channel is gone.
func (c *call) restMedia(ctx context.Context, op string, fn func() error) error {
	return c.request(ctx, op, false, fn)
}

func (c *call) request(ctx context.Context, op string, onChannel bool, fn func() error) error {
	if err := c.gone(op); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return c.doneErr(ctx, op)
	}
	done := make(chan error, 1)
	// The request carries its own deadline and is closed when it passes
	// (see restCall); the buffered channel lets the goroutine finish then.
	go func() { done <- fn() }()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	for {
		select {
		case err := <-done:
			err = classify(op, err)
			if errors.Is(err, ErrRequestTimeout) {
				c.slow = true
			}
			if onChannel && errors.Is(err, ErrChannelGone) {
				// Asterisk refused the request on the channel: find out
				// why, and who ended the call, before saying so (gone.go).
				return c.confirmGone(ctx, op, err)
			}
			return c.systemMark(err)
		case e, ok := <-c.s.inbox:
			if ok {
				c.handle(e)
			}
		case <-timer.C:
			c.slow = true
			return fmt.Errorf("ari: %s: %w after %s", op, ErrRequestTimeout, c.timeout)
		case <-ctx.Done():
			return c.doneErr(ctx, op)
		}
	}
}

// Answer implements flows.Call.
func (c *call) Answer(ctx context.Context) error {
	err := c.rest(ctx, "answer", func() error { return c.client.Channel().Answer(c.key) })
	if err == nil {
		c.answeredAt = time.Now()
	}
	return err
}

// talkDeadline is when the current talk spurt will surely have lasted the
// talk still missing to talkMin: Asterisk reports the end of a spurt only
// talkSilence after the caller stopped, so an open spurt is that much
// shorter than its age. Zero if the caller is silent or talk is not being
// detected. A spurt that began in an earlier prompt counts from its start:
// the caller has been talking all along.
func (c *call) talkDeadline() time.Time {
	if !c.detectTalk || c.talkingSince.IsZero() {
		return time.Time{}
	}
	return c.talkingSince.Add(c.talkMin - c.talkTotal + talkSilence)
}

// talkedEnough reports whether the running prompt's talk rule is met: a
// finished spurt of at least talkMin, or one still going for that long.
func (c *call) talkedEnough() bool {
	if c.talked {
		return true
	}
	d := c.talkDeadline()
	return !d.IsZero() && !time.Now().Before(d)
}

// drainQueued handles the events already waiting in the inbox, without
// waiting for more; it stops after as many as were queued when it began.
func (c *call) drainQueued() {
	for n := len(c.s.inbox); n > 0; n-- {
		select {
		case e, ok := <-c.s.inbox:
			if !ok {
				return
			}
			c.handle(e)
		default:
			return
		}
	}
}

// Prompt implements flows.Call.
//
// Keys are collected only when spec.MaxDigits > 0; then any key stops the
// sounds (barge-in) and keys pressed before the prompt (type-ahead) count
// at once. Keys pressed during a prompt that collects none are kept for the
// next one that does. With spec.DetectTalk, talking for spec.TalkMin before
// any key ends the prompt with PromptTalk. A playback Asterisk reports as
// failed is an error wrapping ErrPlaybackFailed.
func (c *call) Prompt(ctx context.Context, spec flows.PromptSpec) (flows.PromptResult, error) {
	collect := spec.MaxDigits > 0
	if spec.DetectTalk && !c.talkDetectOn {
		err := c.rest(ctx, "set talk detect", func() error {
			return c.client.Channel().SetVariable(c.key, talkDetectVar, strconv.Itoa(int(talkSilence/time.Millisecond)))
		})
		if err != nil {
			return flows.PromptResult{}, err
		}
		c.talkDetectOn = true
	}
	c.detectTalk, c.talkMin, c.talked, c.talkTotal = spec.DetectTalk, spec.TalkMin, false, 0
	defer func() { c.detectTalk, c.talked, c.talkTotal = false, false, 0 }()

	// want is how many keys of pending the prompt takes now; 0 while it
	// must wait for more. Keys forming a proper prefix of spec.Code wait
	// for the rest of the code; a complete code is taken whole.
	want := func() int {
		if !collect {
			return 0
		}
		if code := spec.Code; code != "" {
			switch {
			case strings.HasPrefix(c.pending, code):
				return len(code)
			case len(c.pending) < len(code) && strings.HasPrefix(code, c.pending):
				return 0
			case c.pending != "" && strings.HasPrefix(code, c.pending[:1]):
				// The code was started and then broken by another key:
				// take the keys up to and including the one that broke it,
				// so "51" is one answer (the flow finds the 1 in it).
				n := 1
				for n < len(c.pending) && n < len(code) && c.pending[n] == code[n] {
					n++
				}
				return min(n+1, len(c.pending))
			}
		}
		if len(c.pending) >= spec.MaxDigits {
			return spec.MaxDigits
		}
		return 0
	}
	// outcome reports whether the prompt is decided by input so far.
	outcome := func() (flows.PromptStatus, bool) {
		if want() > 0 {
			return flows.PromptDone, true
		}
		if c.detectTalk && (!collect || c.pending == "") && c.talkedEnough() {
			// A key that already reached us wins over talk: voice is for
			// callers who speak without pressing, and the talk may be the
			// noise around a caller who is choosing.
			c.drainQueued()
			if collect && c.pending != "" {
				if want() > 0 {
					return flows.PromptDone, true
				}
				return 0, false
			}
			return flows.PromptTalk, true
		}
		return 0, false
	}
	finish := func(st flows.PromptStatus) (flows.PromptResult, error) {
		res := flows.PromptResult{Status: st}
		if collect && st != flows.PromptTalk {
			n := want()
			if n == 0 {
				// Timed out with a partial answer (one 5 of 55): those
				// keys are the answer.
				n = min(len(c.pending), max(spec.MaxDigits, len(spec.Code)))
			}
			res.Digits, c.pending = c.pending[:n], c.pending[n:]
		}
		return res, nil
	}

	for _, sound := range spec.Sounds {
		if st, ok := outcome(); ok {
			return finish(st)
		}
		if collect && c.pending != "" {
			break // barge-in: keys already came, go collect the rest
		}
		c.seq++
		id := c.s.id + "-pb-" + strconv.Itoa(c.seq)
		c.curPlayback, c.pbDone, c.pbState = id, false, ""
		err := c.rest(ctx, "play", func() error {
			_, err := c.client.Channel().Play(c.key, id, sound)
			return err
		})
		if err != nil {
			return flows.PromptResult{}, err
		}
		limit := c.maxPlayback
		if limit <= 0 {
			limit = defaultMaxPlayback
		}
		stuck := time.Now().Add(limit)
		for !c.pbDone {
			if st, ok := outcome(); ok {
				c.stopPlayback(ctx, id)
				return finish(st)
			}
			if collect && c.pending != "" {
				c.stopPlayback(ctx, id)
				break
			}
			if !time.Now().Before(stuck) {
				c.stopPlayback(ctx, id)
				return flows.PromptResult{}, fmt.Errorf("ari: play %s: %w", sound, ErrPlaybackStuck)
			}
			wake := stuck
			if td := c.talkDeadline(); !td.IsZero() && td.Before(wake) {
				wake = td
			}
			if err := c.step(ctx, wake, "play"); err != nil {
				return flows.PromptResult{}, err
			}
		}
		if c.pbDone && c.pbState == playbackFailed {
			return flows.PromptResult{}, c.playbackFailed(ctx, sound)
		}
		if collect && c.pending != "" {
			break
		}
	}
	if st, ok := outcome(); ok {
		return finish(st)
	}
	if !collect {
		// Sounds done and no keys wanted: nothing more to wait for.
		return finish(flows.PromptDone)
	}

	// Digit phase: first-digit timeout, then inter-digit timeout after each key.
	got := len(c.pending)
	deadline := time.Now().Add(spec.FirstDigitTimeout)
	if got > 0 {
		deadline = time.Now().Add(spec.InterDigitTimeout)
	}
	for {
		if st, ok := outcome(); ok {
			return finish(st)
		}
		now := time.Now()
		// Talk decides the prompt only while no key came; once one did, a
		// passed talk deadline must not become the wake-up time, or step
		// would return at once without reading the next key.
		var td time.Time
		if c.pending == "" {
			td = c.talkDeadline()
		}
		if !now.Before(deadline) {
			// A caller who is talking when the keys time out is not "no
			// input": wait until the talk is long enough or stops.
			if td.IsZero() {
				return finish(flows.PromptTimeout)
			}
		}
		wake := deadline
		if !td.IsZero() && (td.Before(wake) || !now.Before(deadline)) {
			wake = td
		}
		if err := c.step(ctx, wake, "collect digits"); err != nil {
			return flows.PromptResult{}, err
		}
		if len(c.pending) > got {
			got = len(c.pending)
			deadline = time.Now().Add(spec.InterDigitTimeout)
		}
	}
}

// hangupGrace is how long a failed playback waits for evidence that the
// caller hung up before it is reported as a real failure.
const hangupGrace = 250 * time.Millisecond

// playbackFailed returns the error for a playback Asterisk reported as
// failed. Asterisk also fails the playback of a caller who hangs up in the
// middle of it, and the hangup events may arrive just after; that is a
// hangup, not an IVR failure to fail over from.
func (c *call) playbackFailed(ctx context.Context, sound string) error {
	deadline := time.Now().Add(min(hangupGrace, c.timeout))
	for time.Now().Before(deadline) {
		if err := c.gone("play"); err != nil {
			return err
		}
		if err := c.step(ctx, deadline, "play"); err != nil {
			return err
		}
	}
	if err := c.gone("play"); err != nil {
		return err
	}
	return fmt.Errorf("ari: play %s: %w", sound, ErrPlaybackFailed)
}

// stopPlayback stops a playback that barge-in or talk interrupted. A 404
// means it already finished; other failures are logged and the prompt goes
// on, since the caller's input is what matters now.
func (c *call) stopPlayback(ctx context.Context, id string) {
	if id == c.curPlayback {
		c.pbDone = true
	}
	err := c.restMedia(ctx, "stop playback", func() error {
		return c.client.Playback().Stop(ariv6.NewKey(ariv6.PlaybackKey, id))
	})
	if err != nil && !errors.Is(err, flows.ErrHangup) {
		c.log.Warn("playback not stopped", "playback_id", id, "error", err)
	}
}

// wholeSeconds rounds a duration up to whole seconds (ARI takes seconds;
// rounding down would turn a short limit into "no limit").
func wholeSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// Record implements flows.Call. The recording is stored as WAV; a key
// press ends it. A recording Asterisk reports as failed is logged and
// returns "" without error: losing the location recording must not cost
// the caller the transfer.
func (c *call) Record(ctx context.Context, spec flows.RecordSpec) (string, error) {
	// Keys pressed before the recording are not an answer to anything
	// after it.
	c.pending = ""
	c.curRecording, c.recDone, c.recFailed, c.recCause = spec.Name, false, false, ""
	opts := &ariv6.RecordingOptions{
		Format:      "wav",
		MaxDuration: wholeSeconds(spec.MaxDuration),
		MaxSilence:  wholeSeconds(spec.MaxSilence),
		Exists:      "overwrite",
		Terminate:   "any",
	}
	err := c.rest(ctx, "record", func() error {
		_, err := c.client.Channel().Record(c.key, spec.Name, opts)
		return err
	})
	if errors.Is(err, ErrRefused) {
		// The caller is still here (a name in use, say): like a failed
		// recording, this costs the location, not the transfer.
		c.log.Warn("recording refused", "recording", spec.Name, "error", err)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// Asterisk ends the recording itself after MaxDuration; the extra time
	// covers its event arriving late. Past that we stop it ourselves.
	deadline := time.Now().Add(opts.MaxDuration + c.timeout + time.Second)
	stopped := false
	for !c.recDone {
		if !time.Now().Before(deadline) {
			if stopped {
				c.log.Warn("recording did not finish", "recording", spec.Name)
				return "", nil
			}
			stopped = true
			if err := c.restMedia(ctx, "stop recording", func() error {
				return c.client.LiveRecording().Stop(ariv6.NewKey(ariv6.LiveRecordingKey, spec.Name))
			}); err != nil {
				return "", err
			}
			deadline = time.Now().Add(c.timeout)
		}
		if err := c.step(ctx, deadline, "record"); err != nil {
			if c.recDone && !c.recFailed {
				return spec.Name, err
			}
			return c.keepInterrupted(ctx, spec.Name), err
		}
	}
	if c.recFailed {
		c.log.Warn("recording failed", "recording", spec.Name, "cause", c.recCause)
		return "", nil
	}
	return spec.Name, nil
}

// keepInterrupted stops a recording whose wait ctx ended while the caller
// is still on the line (the events connection dropped, or shutdown) and
// returns its name once Asterisk has stored it, "" otherwise. The caller's
// words so far (often the location) then reach the operators with the
// failover instead of being lost with the events.
func (c *call) keepInterrupted(ctx context.Context, name string) string {
	if c.gone("record") != nil || c.slow {
		return ""
	}
	err := c.restMedia(context.WithoutCancel(ctx), "stop recording", func() error {
		return c.client.LiveRecording().Stop(ariv6.NewKey(ariv6.LiveRecordingKey, name))
	})
	c.recDone = true
	if err != nil {
		c.log.Warn("interrupted recording not stopped", "recording", name, "error", err)
		return ""
	}
	return name
}

// Variable implements flows.Call. A name ending in ")" is evaluated as a
// dialplan function by Asterisk (res/ari/resource_channels.c).
//
// Asterisk answers 404 both for a channel that is gone and for a variable
// it does not know, so a 404 here counts as the caller gone only when the
// channel's own events say so; otherwise it is a plain error and the flow
// goes on without the value.
func (c *call) Variable(ctx context.Context, name string) (string, error) {
	var v string
	op := "get variable " + name
	err := c.restMedia(ctx, op, func() error {
		var err error
		v, err = c.client.Channel().GetVariable(c.key, name)
		return err
	})
	if errors.Is(err, ErrChannelGone) {
		if gone := c.gone(op); gone != nil {
			return "", gone
		}
		return "", fmt.Errorf("ari: %s: not found", op)
	}
	if err != nil {
		// v is not read: after a timeout the request may still be writing it.
		return "", err
	}
	return v, nil
}

// SetVariables implements flows.Call; variables are set in name order so
// that the requests are reproducible.
func (c *call) SetVariables(ctx context.Context, vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		err := c.rest(ctx, "set variable "+n, func() error {
			return c.client.Channel().SetVariable(c.key, n, vars[n])
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Continue implements flows.Call. It is attempted even when ctx is already
// cancelled (shutdown, lost events connection), bounded by the request
// timeout: handing the caller to operators is the one step that must not be
// skipped.
func (c *call) Continue(ctx context.Context, dialplanContext, extension string, priority int) error {
	// Asterisk queues continue behind a running playback or recording on
	// the channel, so a failover from the middle of a prompt would wait
	// for the prompt to end; stop them first.
	c.stopMedia(context.WithoutCancel(ctx))
	c.stopTalkDetect(context.WithoutCancel(ctx))
	if dialplanContext == c.operatorContext() {
		c.subscribe(context.WithoutCancel(ctx))
	}
	err := c.rest(context.WithoutCancel(ctx), "continue", func() error {
		return c.client.Channel().Continue(c.key, dialplanContext, extension, priority)
	})
	switch {
	case err == nil:
		// Asterisk queues the continue behind whatever still runs on the
		// channel, so the 204 says it was accepted, not that it ran: a
		// caller who hangs up first never leaves for the dialplan. The
		// channel's events tell which came first.
		if gone := c.confirmLeft(false); gone != nil {
			return gone
		}
	case errors.Is(err, ErrRequestTimeout):
		// The request timed out, but Asterisk may still have carried it
		// out (seen under load): the channel's StasisEnd without a hangup
		// before it says it did.
		if c.confirmLeft(true) == nil && c.s.f.leftConfirmed.Load() {
			c.log.Warn("continue timed out but Asterisk carried it out", "context", dialplanContext, "extension", extension)
			err = nil
		}
	}
	if err == nil {
		c.s.left.Store(true)
		c.continuedAt = time.Now()
		if at := c.s.endedAt.Load(); at != 0 {
			// The channel's StasisEnd, when seen, is when it left for the
			// dialplan: the reply can come later on a loaded machine,
			// after a caller who hung up in the queue at once is already
			// gone, which made a negative time in the queue.
			c.continuedAt = time.Unix(0, at)
		}
	}
	return err
}

// stopTalkDetect turns Asterisk's talk detector off before the call leaves
// the IVR: it would otherwise keep running through the queue and the
// operator's conversation (seen on 22.10.1). Best effort, and skipped when
// Asterisk is slow: the hand-off must not wait on it.
func (c *call) stopTalkDetect(ctx context.Context) {
	if !c.talkDetectOn || c.slow {
		return
	}
	err := c.restMedia(ctx, "remove talk detect", func() error {
		return c.client.Channel().SetVariable(c.key, "TALK_DETECT(remove)", "")
	})
	if err == nil {
		c.talkDetectOn = false
		return
	}
	if !errors.Is(err, flows.ErrHangup) {
		c.log.Warn("talk detection not removed before the hand-off", "error", err)
	}
}

// Hangup implements flows.Call; like Continue it is attempted even when ctx
// is cancelled.
func (c *call) Hangup(ctx context.Context) error {
	// Set before the request: its soft ChannelHangupRequest is ours, not
	// Asterisk's own.
	c.s.hangingUp.Store(true)
	err := c.rest(context.WithoutCancel(ctx), "hangup", func() error {
		return c.client.Channel().Hangup(c.key, "normal")
	})
	if err == nil {
		c.s.left.Store(true)
	}
	return err
}

// stopMedia stops the playback or recording still running on the channel,
// if any (after a panic, a timeout or a cancelled prompt).
func (c *call) stopMedia(ctx context.Context) {
	if c.slow {
		return
	}
	if c.curPlayback != "" && !c.pbDone {
		c.stopPlayback(ctx, c.curPlayback)
		c.pbDone = true
	}
	if c.curRecording != "" && !c.recDone {
		name := c.curRecording
		err := c.restMedia(ctx, "stop recording", func() error {
			return c.client.LiveRecording().Stop(ariv6.NewKey(ariv6.LiveRecordingKey, name))
		})
		if err != nil && !errors.Is(err, flows.ErrHangup) {
			c.log.Warn("recording not stopped", "recording", name, "error", err)
		}
		c.recDone = true
	}
}
