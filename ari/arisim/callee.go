package arisim

import (
	"context"
	"maps"
	"slices"
	"time"
)

// Scripted callees play the far end of POST /channels (originate), as the
// IVR's call-backs need: the phone answers and the person on it acts out a
// script, or it rings out, is busy, or the network refuses the call.
//
// What a real Asterisk 22 does with an originate to app=, which the sim
// follows for endpoints that have a callee (res/ari/resource_channels.c and
// main/dial.c):
//   - the channel is made at once, its caller id and connected line both set
//     to the callerId parameter ("CallerID to use when dialing"), and the
//     application is subscribed to it before the reply is built, so the
//     application hears the channel while it rings: a Dial event (peer = the
//     channel, dialstring = the resource part of the endpoint, dialstatus
//     ""), ChannelStateChange Ringing when the far end alerts, and on answer
//     ChannelStateChange Up, Dial ANSWER and StasisStart with the appArgs;
//   - the dial runs with the originate's timeout (0 or absent means 30 s, -1
//     none). When it trips, main/dial.c hangs the channel up directly: there
//     is no ChannelHangupRequest and no closing Dial, only ChannelDestroyed.
//     Its cause is 19 (NO_ANSWER): Asterisk's handle_timeout_trip sets
//     AST_CAUSE_NO_ANSWER on the channel since the fix for the report that
//     such ChannelDestroyed events carried cause 0 "Unknown" (merged in
//     December 2025 for the 20, 21 and 22 branches, so in 22.10.1); older
//     releases sent 0;
//   - a busy or refused call is ended by the far end: chan_pjsip queues the
//     hangup with the Q.850 cause mapped from the SIP answer (486 gives 17,
//     404 gives 1, 603 gives 21, 503 gives 34), which publishes
//     ChannelHangupRequest with that cause and no soft flag, then the dial
//     publishes Dial with the status ast_hangup_cause_to_dial_status gives
//     (BUSY, CONGESTION, CHANUNAVAIL, else NOANSWER), and ChannelDestroyed
//     carries the same cause;
//   - an application hanging up the ringing channel (DELETE
//     /channels/{id}) gets ChannelHangupRequest (cause 32, soft), Dial
//     NOANSWER (the dial reads the hang-up; cause 16 maps to NOANSWER) and
//     ChannelDestroyed with the request's cause (16 unless reason said
//     otherwise);
//   - an answered channel is in Stasis like any other, and since the
//     originate's subscription outlives Stasis the application also gets
//     ChannelDestroyed after StasisEnd.
//
// Endpoints without a callee keep the sim's older, plainer originate (no
// subscription while ringing, answer after Options.AnswerDelay).

// Causes of the callee outcomes (Q.850, as Asterisk's causes.h numbers them).
const (
	causeUserBusy = 17
	causeNoAnswer = 19
)

// Callee scripts the far end of originates to one endpoint (see
// Server.SetCallee). The zero value answers at once and stays on the line
// until the application hangs up.
type Callee struct {
	// After is how long (media time, × ClockScale) the far end takes to give
	// its answer: to pick up, or to refuse the call when Busy or FailCause
	// is set. A phone that would answer after the originate's timeout rings
	// out instead. Unused with NoAnswer.
	After time.Duration
	// NoAnswer makes the phone ring until the originate's timeout runs out
	// (for ever with timeout=-1, until the application hangs up).
	NoAnswer bool
	// Busy makes the far end answer busy after After: the call ends with
	// cause 17 (USER_BUSY). The phone does not ring first.
	Busy bool
	// FailCause, when not 0, makes the network refuse the call after After
	// with this Q.850 cause, e.g. 34 (congestion), 1 (unallocated number) or
	// 21 (call rejected). The phone does not ring first.
	FailCause int
	// Context is the dialplan context of the endpoint the call goes out on
	// (pjsip.conf's context for it, e.g. "from-trunk" for asterisk-conf's
	// telco), which the channel's snapshot shows with exten "s" until it
	// enters the application. Default "default", chan_pjsip's default.
	Context string
	// Local makes the far end the second half of a Local channel that
	// refuses (Busy or FailCause): as Asterisk 22.10.1 does then, the
	// originated half gets no hang-up request, the Dial event carries the
	// status (BUSY, CONGESTION...) and its ChannelDestroyed cause 0
	// ("Unknown"); the cause is only on the other half, which the sim does
	// not model (checked with Busy() in the dialplan behind an ARI
	// originate of Local/<n>@ctx).
	Local bool
	// Script is what the person who answered does, step by step as a
	// Caller's script (Press, Talk, WaitForPrompt, Hangup, ...). It starts
	// when the channel enters the application; when it runs out the callee
	// stays on the line until the application hangs up or continues.
	Script []Step
}

// Originate is one POST /channels (or /channels/{id}) that made a channel,
// as the application sent it.
type Originate struct {
	Endpoint  string // e.g. "PJSIP/08123456789@telco"
	CallerID  string // the callerId parameter, unparsed
	Formats   string // the formats parameter, e.g. "ulaw"
	App       string
	AppArgs   string // the appArgs parameter, unsplit
	Extension string
	Context   string
	Timeout   int // seconds, as sent (30 when absent, Asterisk's default)
	ChannelID string
	Variables map[string]string
	At        time.Time // when the sim handled the request
	// Call follows the callee when one was set for Endpoint (SetCallee);
	// nil for originates the sim answers in its plain way.
	Call *CallHandle
}

// SetCallee makes the far end of every later originate to endpoint (exactly
// as the originate names it, e.g. "PJSIP/08123456789@telco") act as c. A
// later call for the same endpoint replaces c. The callees survive Restart,
// as the world outside Asterisk does.
func (s *Server) SetCallee(endpoint string, c Callee) {
	c.Script = slices.Clone(c.Script)
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	if s.callees == nil {
		s.callees = make(map[string]Callee)
	}
	s.callees[endpoint] = c
}

// ClearCallees forgets every callee: originates are answered in the sim's
// plain way again (after Options.AnswerDelay, into the application).
func (s *Server) ClearCallees() {
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	s.callees = nil
}

// Originates lists the originates that made a channel, oldest first.
// Requests refused (400, 409, or failed by fault injection) are not listed:
// Asterisk did nothing with them.
func (s *Server) Originates() []Originate {
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	out := make([]Originate, len(s.originates))
	for i, o := range s.originates {
		o.Variables = maps.Clone(o.Variables)
		out[i] = o
	}
	return out
}

// CalleeCalls returns the handles of the scripted callees that originates to
// endpoint reached, oldest first; read what each experienced with Result
// after Done.
func (s *Server) CalleeCalls(endpoint string) []*CallHandle {
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	var out []*CallHandle
	for _, o := range s.originates {
		if o.Call != nil && o.Endpoint == endpoint {
			out = append(out, o.Call)
		}
	}
	return out
}

func (s *Server) callee(endpoint string) (Callee, bool) {
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	c, ok := s.callees[endpoint]
	return c, ok
}

func (s *Server) logOriginate(o Originate) {
	s.calleeMu.Lock()
	defer s.calleeMu.Unlock()
	s.originates = append(s.originates, o)
}

// prepareCallee sets up a new originated channel as resource_channels.c
// has it before it builds the reply, so the returned snapshot already shows
// it: the connected line set to the caller id, the endpoint's context, and
// the application subscribed.
func (ch *channel) prepareCallee(c Callee, app string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.connected = ch.caller
	ch.dp = dialplanJSON{Context: c.Context, Exten: "s", Priority: 1}
	if ch.dp.Context == "" {
		ch.dp.Context = "default"
	}
	if app != "" {
		ch.subs = []string{app}
	}
	ch.dialing = true
}

// dialCallee runs the far end of an originate to a scripted callee: the
// ringing, the outcome, and the callee's script once answered. timeout is
// the originate's timeout parameter in seconds.
func (s *Server) dialCallee(ch *channel, c Callee, app string, args []string, target dialplanJSON, timeout int) *CallHandle {
	h := &CallHandle{ch: ch, done: make(chan struct{}), callee: true}
	// The script waits for the answer: digits or talk before it would be lost.
	script := append([]Step{WaitForAnswer()}, c.Script...)
	if !s.goTracked(func() { h.run(context.Background(), script) }) {
		ch.vanish(HungUpByShutdown)
		h.final = h.Result()
		close(h.done)
		return h
	}
	limit := time.Duration(timeout) * time.Second
	switch {
	case timeout == -1:
		limit = 0
	case timeout <= 0:
		limit = 30 * time.Second
	}
	refuse := c.Busy || c.FailCause != 0
	// The dial starts once the request is answered: ast_call and the Dial
	// event come from the originate's own thread after the reply. The
	// outcome is timed from there, so it cannot overtake the ringing.
	time.AfterFunc(0, func() {
		ch.mu.Lock()
		if ch.gone {
			ch.mu.Unlock()
			return
		}
		ch.emitDialLocked("")
		if !refuse {
			ch.setStateLocked(stateRinging)
		}
		ch.mu.Unlock()
		if c.NoAnswer || limit > 0 && c.After > limit {
			if limit > 0 {
				time.AfterFunc(s.scaled(limit), ch.ringOut)
			}
			return
		}
		time.AfterFunc(s.scaled(c.After), func() {
			switch {
			case c.Local && (c.Busy || c.FailCause != 0):
				cause := c.FailCause
				if c.Busy {
					cause = causeUserBusy
				}
				ch.localRefused(cause)
			case c.Busy:
				ch.hangup(causeUserBusy, false, HungUpByCaller)
			case c.FailCause != 0:
				ch.hangup(c.FailCause, false, HungUpByCaller)
			default:
				s.calleeAnswered(ch, app, args, target)
			}
		})
	})
	return h
}

// calleeAnswered is the far end picking up: the channel goes Up, the dial
// reports ANSWER, and the channel enters the application (or the dialplan).
// All of it happens under one hold of the channel's lock, so the callee's
// script, which waits for the answer, starts with the channel in Stasis.
func (s *Server) calleeAnswered(ch *channel, app string, args []string, target dialplanJSON) {
	ch.mu.Lock()
	if ch.gone {
		ch.mu.Unlock()
		return
	}
	ch.dialing = false
	ch.setStateLocked(stateUp)
	ch.emitDialLocked("ANSWER")
	ok := ch.afterAnswerLocked(app, args, target)
	ch.mu.Unlock()
	if !ok {
		ch.hangup(causeNormal, false, HungUpBySystem)
	}
}

// localRefused ends the originated half of a Local channel whose far half
// refused with cause: the Dial's status, then ChannelDestroyed with cause
// 0, no hang-up request (see Callee.Local).
func (ch *channel) localRefused(cause int) {
	qe := ch.s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	qe.channelGone(ch)
	ch.mu.Lock()
	if ch.dialing {
		ch.dialing = false
		ch.emitDialLocked(dialStatusFor(cause))
	}
	ch.mu.Unlock()
	ch.end(0, false, false, HungUpByCaller)
}

// ringOut ends a channel whose originate timed out as main/dial.c does: the
// channel is hung up directly, with no ChannelHangupRequest and no closing
// Dial, and destroyed with cause 19.
func (ch *channel) ringOut() {
	qe := ch.s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	qe.channelGone(ch)
	ch.mu.Lock()
	ch.dialing = false
	ch.mu.Unlock()
	ch.end(causeNoAnswer, false, false, HungUpBySystem)
}

// emitDialLocked sends a Dial event for the originate's dial, with no
// caller: an originate has no calling channel.
func (ch *channel) emitDialLocked(status string) {
	ch.emitAllLocked(func(app string) any {
		return dialEvent{eventBase: ch.s.base("Dial", app), Peer: ch.snapLocked(), Dialstring: ch.resource, Dialstatus: status}
	})
}

// dialStatusFor is the Dial status main/dial.c reports for a dialled
// channel that hung up with cause (ast_hangup_cause_to_dial_status).
func dialStatusFor(cause int) string {
	switch cause {
	case causeUserBusy:
		return "BUSY"
	case 34:
		return "CONGESTION"
	case 3, 20: // no route to destination, subscriber absent
		return "CHANUNAVAIL"
	}
	return "NOANSWER"
}
