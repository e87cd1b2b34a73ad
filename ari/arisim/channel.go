package arisim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Who ended a call, as reported in CallerView.HungUpBy.
const (
	HungUpByCaller   = "caller"   // the script hung up, or its context ended; for a callee also its busy or failure answer
	HungUpByApp      = "app"      // DELETE /channels/{id} or a redirect
	HungUpBySystem   = "system"   // Asterisk itself: no such Stasis app, originate timeout
	HungUpByRestart  = "restart"  // Server.Restart: the channel vanished
	HungUpByShutdown = "shutdown" // Server.Close
	HungUpByOperator = "operator" // the operator who answered hung up (Operator.TalkFor)
)

// Where a call ended, as reported in CallerView.EndedIn.
const (
	EndedInIVR      = "ivr"      // in the Stasis application (or before it)
	EndedInQueue    = "queue"    // handed to the dialplan, no operator had answered
	EndedInOperator = "operator" // an operator had answered
)

// Channel states as Asterisk names them (ast_state2str).
const (
	stateDown    = "Down"
	stateRing    = "Ring"
	stateRinging = "Ringing"
	stateUp      = "Up"
)

// hangupReasons maps DELETE /channels/{id}?reason= to Q.850 causes, as resource_channels.c does.
var hangupReasons = map[string]int{
	"normal":             16,
	"busy":               17,
	"congestion":         34,
	"no_answer":          19,
	"timeout":            18,
	"rejected":           21,
	"unallocated":        1,
	"normal_unspecified": 31,
	"number_incomplete":  28,
	"codec_mismatch":     58,
	"interworking":       127,
	"failure":            27,
	"answered_elsewhere": 26,
}

// defaultLanguage is Asterisk's channel language when nothing sets one.
const defaultLanguage = "en"

// causeNormal is Q.850 "Normal Clearing", the cause of an ordinary hangup.
const causeNormal = 16

// softhangupExplicit is AST_SOFTHANGUP_EXPLICIT. ast_softhangup, which
// DELETE /channels/{id} ends in, publishes ChannelHangupRequest with this flag
// as its "cause" (and soft: true), not the Q.850 cause the request set: real
// Asterisk 22.10.1 sends cause 32 whatever reason was given.
const softhangupExplicit = 32

// job is one entry of a channel's command queue. Asterisk runs play, record and
// continue commands one after another on the channel's Stasis thread, so a recording
// or a continue issued during a playback starts when the playback ends.
type job struct {
	pb   *playback
	rec  *liveRecording
	cont *DialplanTarget
}

// channel is one simulated Asterisk channel.
type channel struct {
	s       *Server
	id      string
	created time.Time
	done    chan struct{} // closed when the channel is destroyed

	mu sync.Mutex // guards everything below
	// Snapshot fields, as in ast_channel_snapshot.
	name, protocolID, state, language string
	caller, connected                 callerIDJSON
	dp                                dialplanJSON
	vars                              map[string]string
	tech, resource                    string

	app      string // Stasis application while inStasis
	inStasis bool
	// subs are the applications subscribed to the channel with
	// POST /applications/{app}/subscription: they hear its events in and
	// out of Stasis, until it is destroyed.
	subs []string
	// queue is the queue a continue sends the channel to (see
	// Server.queueFor); noQueue marks a channel continued into a dialplan
	// with no simulated queue, where no operator will ever answer.
	queue   string
	noQueue bool
	gone    bool
	early   bool // progress indicated: media flows before answer
	// dialing marks an originate to a scripted callee that has not been
	// answered: a hang-up meanwhile ends the dial, which reports it in a
	// Dial event (see callee.go).
	dialing bool

	// Talk detection (TALK_DETECT function) and the caller's talking.
	talkDetect  bool
	talkSilence time.Duration // dsp_silence_threshold, media time
	talking     bool
	talkEv      bool // ChannelTalkingStarted sent for the current spurt
	talkGen     uint64
	spurtStart  time.Time
	talkTimer   *time.Timer

	jobs   []job
	curPB  *playback
	curRec *liveRecording
	bridge *bridge

	muted, held, moh, silenced bool

	view   CallerView
	notify chan struct{} // closed and cleared on every change a script may wait for
	call   *CallHandle   // nil for channels not placed by Call
}

func (s *Server) newUniqueID() string {
	return fmt.Sprintf("%d.%d", time.Now().Unix(), s.seq.Add(1))
}

func randomCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) newChannel(id, tech, resource string, caller callerIDJSON, dp dialplanJSON, state string) *channel {
	n := s.seq.Add(1)
	name := fmt.Sprintf("%s/%s-%08x", tech, resource, n)
	if tech == "Local" {
		name = fmt.Sprintf("Local/%s-%08x;1", resource, n)
	}
	now := time.Now()
	return &channel{
		s:          s,
		id:         id,
		created:    now,
		done:       make(chan struct{}),
		name:       name,
		protocolID: randomCallID(),
		state:      state,
		language:   defaultLanguage,
		caller:     caller,
		dp:         dp,
		vars:       make(map[string]string),
		tech:       tech,
		resource:   resource,
		view:       CallerView{ChannelID: id, Variables: map[string]string{}},
	}
}

func (ch *channel) snapLocked() channelJSON {
	return channelJSON{
		ID:           ch.id,
		Name:         ch.name,
		State:        ch.state,
		ProtocolID:   ch.protocolID,
		Caller:       ch.caller,
		Connected:    ch.connected,
		AccountCode:  "",
		Dialplan:     ch.dp,
		CreationTime: fmtTime(ch.created),
		Language:     ch.language,
		ChannelVars:  ch.channelVarsLocked(),
	}
}

// channelVarsLocked is the snapshot's channelvars, as Asterisk builds it when
// ari.conf's channelvars is set: every configured name, with "" for a
// variable that is not set (channel_get_external_vars assigns val ? val : "").
// A name ending in ")" is read as a dialplan function.
func (ch *channel) channelVarsLocked() map[string]string {
	names := ch.s.opts.ChannelVars
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		v, _ := ch.getVarLocked(n)
		m[n] = v
	}
	return m
}

// emitChanLocked sends a plain {channel} event to every application that
// hears the channel (see emitAllLocked).
func (ch *channel) emitChanLocked(typ string) {
	ch.emitAllLocked(func(app string) any {
		return channelEvent{eventBase: ch.s.base(typ, app), Channel: ch.snapLocked()}
	})
}

// emitStasisEndLocked sends StasisEnd, which only the Stasis application gets:
// Asterisk publishes it on the application's topic, not the channel's.
func (ch *channel) emitStasisEndLocked() {
	if ch.inStasis {
		ch.s.emit(ch.app, channelEvent{eventBase: ch.s.base("StasisEnd", ch.app), Channel: ch.snapLocked()})
	}
}

// emitAllLocked sends the event mk builds to every application that hears
// the channel: its Stasis application while it is in Stasis, and every
// application subscribed to it (once, when that is the same application).
// Events are built per application because each carries its name.
func (ch *channel) emitAllLocked(mk func(app string) any) {
	if ch.inStasis {
		ch.s.emit(ch.app, mk(ch.app))
	}
	for _, app := range ch.subs {
		if ch.inStasis && app == ch.app {
			continue
		}
		ch.s.emit(app, mk(app))
	}
}

// broadcastLocked wakes every script waiting on this channel.
func (ch *channel) broadcastLocked() {
	if ch.notify != nil {
		close(ch.notify)
		ch.notify = nil
	}
}

// waitChLocked returns a channel closed at the next change.
func (ch *channel) waitChLocked() <-chan struct{} {
	if ch.notify == nil {
		ch.notify = make(chan struct{})
	}
	return ch.notify
}

func (ch *channel) setStateLocked(state string) {
	if ch.state == state {
		return
	}
	ch.state = state
	if state == stateUp && !ch.view.Answered {
		ch.view.Answered = true
		ch.view.AnsweredAt = time.Now()
	}
	ch.emitChanLocked("ChannelStateChange")
	ch.broadcastLocked()
}

// mediaUpLocked reports whether audio flows between caller and Asterisk.
func (ch *channel) mediaUpLocked() bool { return ch.state == stateUp || ch.early }

func (ch *channel) enterStasisLocked(app string, args []string) {
	if args == nil {
		args = []string{}
	}
	ch.app = app
	ch.inStasis = true
	ch.dp.AppName = "Stasis"
	ch.dp.AppData = strings.Join(append([]string{app}, args...), ",")
	ch.s.emit(app, stasisStartEvent{eventBase: ch.s.base("StasisStart", app), Args: args, Channel: ch.snapLocked()})
	ch.broadcastLocked()
}

// leaveStasisLocked hands the channel back to the dialplan (continue). StasisEnd
// still shows the Stasis() line: Asterisk publishes it before the channel moves
// on, so only later snapshots (GET /channels/{id}) show the new position.
func (ch *channel) leaveStasisLocked(t DialplanTarget) {
	if !ch.inStasis {
		return
	}
	ch.emitStasisEndLocked()
	ch.dp = dialplanJSON{Context: t.Context, Exten: t.Extension, Priority: int64(t.Priority)}
	ch.inStasis = false
	ch.jobs = nil
	target := t
	ch.view.Continued = &target
	// The dialplan runs on: into a simulated queue when one is defined for
	// the target (joined on another goroutine, since the queues' lock comes
	// before a channel's), otherwise nowhere an operator could answer.
	if q := ch.s.queueFor(t); q != "" {
		ch.queue = q
		ch.s.goTracked(func() { ch.s.qe.join(ch) })
	} else {
		ch.noQueue = true
	}
	ch.broadcastLocked()
}

// invalidForControl reports the states in which Asterisk answers 412 (only outbound
// channels are in them).
func invalidForControl(state string) bool {
	switch state {
	case stateDown, "Rsrved", "OffHook", "Dialing", stateRinging, "Busy":
		return true
	}
	return false
}

// lockChannel returns the channel with this id, locked, unless it is unknown
// or already gone.
func (s *Server) lockChannel(id string) (*channel, bool) {
	ch, ok := s.channels.get(id)
	if !ok {
		return nil, false
	}
	ch.mu.Lock()
	if ch.gone {
		ch.mu.Unlock()
		return nil, false
	}
	return ch, true
}

// control finds a channel in Stasis and returns it locked, or the error Asterisk gives.
func (s *Server) control(id string, checkState bool) (*channel, reply, bool) {
	ch, ok := s.lockChannel(id)
	if !ok {
		return nil, errReply(404, "Channel not found"), false
	}
	switch {
	case !ch.inStasis:
		ch.mu.Unlock()
		return nil, errReply(409, "Channel not in Stasis application"), false
	case checkState && invalidForControl(ch.state):
		ch.mu.Unlock()
		return nil, errReply(412, "Channel in invalid state"), false
	}
	return ch, reply{}, true
}

// runJobsLocked starts queued commands while nothing is playing or recording.
func (ch *channel) runJobsLocked() {
	for !ch.gone && ch.inStasis && ch.curPB == nil && ch.curRec == nil && len(ch.jobs) > 0 {
		j := ch.jobs[0]
		ch.jobs[0] = job{}
		ch.jobs = ch.jobs[1:]
		switch {
		case j.pb != nil:
			ch.curPB = j.pb
			j.pb.beginLocked()
		case j.rec != nil:
			ch.curRec = j.rec
			j.rec.beginLocked()
		case j.cont != nil:
			ch.leaveStasisLocked(*j.cont)
		}
	}
}

func (ch *channel) enqueueLocked(j job) {
	ch.jobs = append(ch.jobs, j)
	ch.runJobsLocked()
}

// lockWithBridge locks bridgeMu (when the channel is bridged) and the channel, in
// the documented order. unlock releases both.
func (ch *channel) lockWithBridge() (unlock func()) {
	for {
		ch.mu.Lock()
		bridged := ch.bridge != nil
		ch.mu.Unlock()
		if bridged {
			ch.s.bridgeMu.Lock()
		}
		ch.mu.Lock()
		if (ch.bridge != nil) == bridged || ch.gone {
			if bridged {
				return func() { ch.mu.Unlock(); ch.s.bridgeMu.Unlock() }
			}
			return ch.mu.Unlock
		}
		ch.mu.Unlock()
		if bridged {
			ch.s.bridgeMu.Unlock()
		}
	}
}

// hangup ends the channel with the events Asterisk sends: ChannelHangupRequest,
// media finished, ChannelLeftBridge, StasisEnd, then ChannelDestroyed for the
// applications subscribed to the channel. cause is the Q.850 cause
// (CallerView.Cause). byApp marks a hangup the application asked for (DELETE
// /channels/{id}): ast_softhangup reports it as cause 32 with soft true, while
// a hangup from the far end (ast_queue_hangup) carries the Q.850 cause and no
// soft field. The Stasis application gets no ChannelDestroyed unless it
// subscribed to the channel: it is unsubscribed as the channel leaves Stasis,
// before the channel is destroyed (seen on 22.10.1 for caller and app hangups
// alike). A channel waiting in a simulated queue first leaves it (the members
// it rang get a CANCEL), so hangup takes the queues' lock.
func (ch *channel) hangup(cause int, byApp bool, by string) bool {
	qe := ch.s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	qe.channelGone(ch)
	return ch.end(cause, byApp, true, by)
}

// end is hangup without the queues: the caller holds qe.mu. request says
// whether a ChannelHangupRequest is sent; a channel whose bridged peer hung up
// is destroyed without one.
func (ch *channel) end(cause int, byApp, request bool, by string) bool {
	unlock := ch.lockWithBridge()
	defer unlock()
	if ch.gone {
		return false
	}
	if request {
		ch.emitAllLocked(func(app string) any {
			ev := channelHangupRequestEvent{eventBase: ch.s.base("ChannelHangupRequest", app), Cause: cause, Channel: ch.snapLocked()}
			if byApp {
				ev.Cause, ev.Soft = softhangupExplicit, true
			}
			return ev
		})
	}
	if ch.dialing {
		ch.dialing = false
		ch.emitDialLocked(dialStatusFor(cause))
	}
	ch.stopMediaLocked(true)
	if ch.bridge != nil {
		ch.bridge.removeLocked(ch, true)
	}
	ch.emitStasisEndLocked()
	for _, app := range ch.subs {
		ch.s.emit(app, channelDestroyedEvent{eventBase: ch.s.base("ChannelDestroyed", app),
			Cause: cause, CauseTxt: causeText(cause), Channel: ch.snapLocked()})
	}
	ch.subs = nil
	ch.finishLocked(by, cause)
	return true
}

// vanish removes the channel without any event (restart, shutdown).
func (ch *channel) vanish(by string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.gone {
		return
	}
	ch.stopMediaLocked(false)
	ch.bridge = nil
	ch.finishLocked(by, 0)
}

func (ch *channel) finishLocked(by string, cause int) {
	switch {
	case ch.view.Operator != "":
		ch.view.EndedIn = EndedInOperator
	case ch.view.Continued != nil:
		ch.view.EndedIn = EndedInQueue
	default:
		ch.view.EndedIn = EndedInIVR
	}
	ch.gone = true
	ch.subs = nil
	ch.inStasis = false
	ch.jobs = nil
	if ch.talkTimer != nil {
		ch.talkTimer.Stop()
	}
	ch.s.channels.delIf(ch.id, func(c *channel) bool { return c == ch })
	ch.view.EndedAt = time.Now()
	ch.view.HungUpBy = by
	ch.view.Cause = cause
	close(ch.done)
	ch.broadcastLocked()
	if ch.call != nil {
		ch.s.callsEnded.Add(1)
	}
}

// stopMediaLocked ends the current playback and recording because the channel is
// going away; with events false nothing is reported (the process "died").
func (ch *channel) stopMediaLocked(events bool) {
	for _, j := range ch.jobs {
		if j.pb != nil {
			ch.s.playbacks.delIf(j.pb.id, func(p *playback) bool { return p == j.pb })
		}
		if j.rec != nil {
			ch.s.liveRecs.delIf(j.rec.name, func(r *liveRecording) bool { return r == j.rec })
		}
	}
	ch.jobs = nil
	if pb := ch.curPB; pb != nil {
		if events {
			// A hangup makes the streaming loop return an error: Asterisk reports "failed".
			pb.finishLocked(pbFailed, promptHangup)
		} else {
			pb.stopTimer()
			ch.s.playbacks.delIf(pb.id, func(p *playback) bool { return p == pb })
			ch.curPB = nil
		}
	}
	if rec := ch.curRec; rec != nil {
		if events {
			rec.finishLocked(recDone, "")
		} else {
			rec.stopTimers()
			ch.s.liveRecs.delIf(rec.name, func(r *liveRecording) bool { return r == rec })
			ch.curRec = nil
		}
	}
}

// ---- things the caller does ----

// dtmf delivers one digit from the caller (DTMF end frame).
func (ch *channel) dtmf(digit string, durMS int) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.gone {
		return
	}
	ch.view.DTMFSent += digit
	if !ch.mediaUpLocked() {
		return // no media path yet: the digit is lost, as on a real line
	}
	ch.emitAllLocked(func(app string) any {
		return channelDtmfEvent{eventBase: ch.s.base("ChannelDtmfReceived", app), Digit: digit, DurationMS: durMS, Channel: ch.snapLocked()}
	})
	if rec := ch.curRec; rec != nil && rec.state == recRecording {
		if rec.terminateOn == "any" || rec.terminateOn == digit {
			rec.finishLocked(recDone, "")
		}
	}
	ch.broadcastLocked()
}

// setTalking starts or stops the caller's voice.
func (ch *channel) setTalking(on bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.gone || ch.talking == on {
		return
	}
	if on && !ch.mediaUpLocked() {
		return
	}
	ch.talking = on
	now := time.Now()
	if rec := ch.curRec; rec != nil {
		rec.audioChangedLocked()
	}
	if !ch.talkDetect || !ch.inStasis {
		return
	}
	ch.talkGen++
	if on {
		if !ch.talkEv {
			ch.talkEv = true
			ch.spurtStart = now
			ch.emitChanLocked("ChannelTalkingStarted")
		}
		return
	}
	if !ch.talkEv {
		return
	}
	// Asterisk reports the end of talking after dsp_silence_threshold of silence,
	// with the duration of the talking itself.
	gen, spurt := ch.talkGen, now.Sub(ch.spurtStart)
	ch.talkTimer = time.AfterFunc(ch.s.scaled(ch.talkSilence), func() {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		if ch.gone || ch.talkGen != gen || !ch.talkEv || !ch.inStasis {
			return
		}
		ch.talkEv = false
		ch.emitAllLocked(func(app string) any {
			return channelTalkingFinishedEvent{
				eventBase: ch.s.base("ChannelTalkingFinished", app),
				Duration:  int(ch.s.media(spurt) / time.Millisecond),
				Channel:   ch.snapLocked(),
			}
		})
	})
}

// setVarLocked sets a variable or writes a dialplan function.
func (ch *channel) setVarLocked(name, value string) error {
	if fn, arg, ok := parseFunc(name); ok {
		switch fn {
		case "TALK_DETECT":
			switch arg {
			case "set":
				ch.talkDetect = true
				ch.talkSilence = 2500 * time.Millisecond
				if v := strings.Split(value, ","); len(v) > 0 && v[0] != "" {
					var ms int
					if _, err := fmt.Sscanf(v[0], "%d", &ms); err != nil || ms <= 0 {
						return errFunction
					}
					ch.talkSilence = time.Duration(ms) * time.Millisecond
				}
				return nil
			case "remove":
				ch.talkDetect = false
				ch.talkEv = false
				ch.talkGen++
				return nil
			}
			return errFunction
		case "CALLERID":
			switch arg {
			case "num", "number":
				ch.caller.Number = value
			case "name":
				ch.caller.Name = value
			default:
				return errFunction
			}
			return nil
		}
		return errFunction
	}
	ch.vars[name] = value
	ch.view.Variables[name] = value
	ch.emitAllLocked(func(app string) any {
		return channelVarsetEvent{eventBase: ch.s.base("ChannelVarset", app), Variable: name, Value: value, Channel: ch.snapLocked()}
	})
	return nil
}

// getVarLocked reads a variable or a few dialplan functions.
func (ch *channel) getVarLocked(name string) (string, bool) {
	if fn, arg, ok := parseFunc(name); ok {
		switch fn {
		case "CALLERID":
			switch arg {
			case "num", "number":
				return ch.caller.Number, true
			case "name":
				return ch.caller.Name, true
			}
		case "QUEUE_MEMBER":
			// QUEUE_MEMBER(<queue>,free): operators of the queue who are
			// logged in, not paused and not on a call. A queue the sim was
			// not told about has none, as Asterisk answers "0" (with a
			// warning in its log) for a queue that does not exist.
			queue, option, ok := strings.Cut(arg, ",")
			if !ok || strings.TrimSpace(option) != "free" {
				return "", false
			}
			return strconv.Itoa(ch.s.QueueFree(strings.TrimSpace(queue))), true
		case "CHANNEL":
			switch arg {
			case "name":
				return ch.name, true
			case "state":
				return ch.state, true
			case "language":
				return ch.language, true
			}
		}
		return "", false
	}
	v, ok := ch.vars[name]
	return v, ok
}

func parseFunc(name string) (fn, arg string, ok bool) {
	if !strings.HasSuffix(name, ")") {
		return "", "", false
	}
	i := strings.IndexByte(name, '(')
	if i < 0 {
		return "", "", false
	}
	return strings.ToUpper(name[:i]), name[i+1 : len(name)-1], true
}
