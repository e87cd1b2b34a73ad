package ari

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Following a call past the hand-off.
//
// A caller handed to the operators is not yet helped: they wait in an
// Asterisk queue until a person answers, and may hang up first. The IVR
// therefore keeps the call's session after the continue, until Asterisk
// destroys the channel. The channel has left Stasis by then, and Asterisk
// sends an application nothing about a channel outside Stasis unless the
// application subscribed to it (POST /applications/{app}/subscription
// ?eventSource=channel:{id}); so Continue subscribes right before the
// continue request. Asterisk 22.10.1 then sends the Queue's Dial events (the
// caller is ours, the peer is each operator's channel, dialstatus ANSWER for
// the one who took it, CANCEL for the others), ChannelHangupRequest and
// ChannelDestroyed; it ends the subscription itself when the channel is
// destroyed.
//
// From those events alone the session publishes call.operator_answered
// (a person answered: the figure answer standards judge), or
// call.queue_abandoned (the caller hung up in the queue: call them back),
// and call.ended with where the call ended. When the events could have been
// missed (the events connection dropped, or this process found the call
// after a restart), an end nobody saw is published as where unknown: never
// as an abandon, and never as a call-back. A followed session holds a
// goroutine, a small inbox and no timer; it is not an IVR call for the
// drain or the health's active calls.

// followState is what a session knows of its channel past the hand-off.
// Its fields are written by the router's reader and read by the session.
type followState struct {
	// stasisEnded is set on StasisEnd; hangupBeforeEnd records whether a
	// hangup request had come before it (the caller hung up in the IVR,
	// so a continue never ran).
	stasisEnded     atomic.Bool
	hangupBeforeEnd atomic.Bool
	// leftConfirmed is set by confirmLeft once the channel's events show
	// that it left Stasis for the dialplan.
	leftConfirmed atomic.Bool
	// hangupSoft is the soft flag of the channel's first hangup request:
	// false for the caller's own hang-up, true when Asterisk ended it.
	hangupSoft atomic.Bool
	// subscribed is set once the application subscribed to the channel.
	subscribed atomic.Bool
	// gap is set when the channel's events may have been missed.
	gap atomic.Bool

	destroyed     chan struct{}
	destroyedOnce sync.Once
	destroyedAt   atomic.Int64 // unix nanoseconds
}

func newFollowState() followState {
	return followState{destroyed: make(chan struct{})}
}

// markStasisEnd records that the channel left Stasis.
func (s *session) markStasisEnd() {
	if s.f.stasisEnded.Load() {
		return
	}
	s.f.hangupBeforeEnd.Store(s.hangupRequested.Load())
	s.f.stasisEnded.Store(true)
}

// markDestroyed records that the channel is gone; the router calls it on
// ChannelDestroyed, the re-check after a reconnect for a channel Asterisk
// no longer lists.
func (s *session) markDestroyed() {
	s.f.destroyedOnce.Do(func() {
		s.f.destroyedAt.Store(time.Now().UnixNano())
		close(s.f.destroyed)
	})
}

// operatorContext is the dialplan context calls are handed over to.
func (c *call) operatorContext() string {
	if c.s.node == nil || c.s.node.ivr == nil {
		return ""
	}
	return c.s.node.ivr.ivr.OperatorContext
}

// subscribe asks Asterisk to keep sending the channel's events to the
// application after it leaves Stasis. Best effort and skipped when Asterisk
// is slow: the hand-off must not wait on it; an unfollowed call ends as
// where unknown.
func (c *call) subscribe(ctx context.Context) {
	if c.slow || c.s.node == nil || c.s.node.ivr == nil {
		return
	}
	app := ariv6.NewKey(ariv6.ApplicationKey, c.s.node.ivr.ari.Application)
	err := c.restMedia(ctx, "subscribe to channel", func() error {
		return c.client.Application().Subscribe(app, "channel:"+c.s.id)
	})
	if err != nil {
		if !errors.Is(err, flows.ErrHangup) {
			c.log.Warn("call not followed past the hand-off: subscription failed", "error", err)
		}
		return
	}
	c.s.f.subscribed.Store(true)
}

// confirmLeft waits, at most the request timeout, for the channel's events
// to say whether a continue ran: StasisEnd with no hangup request before it
// means the channel left for the dialplan (leftConfirmed); a hangup request
// first means the caller hung up while the continue waited in Asterisk's
// queue, and the error says the caller is gone. Without either within the
// wait it returns nil and leaves leftConfirmed unset: after a 204 the
// continue is taken as done, after a timeout as not.
func (c *call) confirmLeft(timedOut bool) error {
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case <-c.s.endedCh:
	case <-t.C:
		if !timedOut {
			c.log.Debug("continue accepted; its StasisEnd did not come within the request timeout")
		}
		return nil
	}
	if c.s.f.stasisEnded.Load() && !c.s.f.hangupBeforeEnd.Load() {
		c.s.f.leftConfirmed.Store(true)
		return nil
	}
	return c.systemMark(errors.Join(ErrChannelGone, errContinueOvertaken))
}

// errContinueOvertaken marks a continue that Asterisk accepted but that
// the caller's hang-up overtook.
var errContinueOvertaken = errors.New("ari: the caller hung up before the continue ran")

// followed describes a call to follow.
type followed struct {
	outcome       events.Outcome
	emergencyType string
	extension     string
	// queuedAt and answeredAt are zero when not known (a call found after
	// a restart).
	queuedAt, answeredAt time.Time
	// early are Dial events that came while the continue was in flight.
	early []*ariv6.Dial
	// recorded: the call already has its record (adopted from one).
	recorded bool
	// callbackOf is set for a call-back's own call: the dropped call.
	callbackOf string
}

// secondsSince returns the seconds from t to now, or -1 when t is unknown.
func secondsSince(t, now time.Time) float64 {
	if t.IsZero() {
		return -1
	}
	return now.Sub(t).Seconds()
}

// follow keeps the session until the channel is destroyed, publishing what
// happens to the caller in the operators' queue, then call.ended. It
// returns early, publishing nothing more, when the IVR stops: the call goes
// on in Asterisk, and the next start finds it.
func (s *session) follow(v *IVR, em *callEmitter, fc followed) {
	n := s.node
	n.router.follow(s)
	// Registered first, checked second: a connection lost from here on
	// marks the call (markFollowGap); one lost before, since the call
	// began, is seen in the node's connection count. Either way the
	// channel's events may have been missed, and the next sweep asks
	// Asterisk whether the channel is still there.
	if gen, up := n.connGen(); !up || gen != s.connGen {
		s.f.gap.Store(true)
		n.triggerSweep()
	}
	if v.followed != nil && !fc.recorded {
		n.keepFollowed(events.FollowedCall{
			CallID: s.id, Node: n.cfg.Name, Caller: s.caller, Outcome: fc.outcome, EmergencyType: fc.emergencyType,
			Extension: fc.extension, Started: s.start, Answered: fc.answeredAt, Queued: fc.queuedAt,
			CallbackOf: fc.callbackOf,
		})
	}
	answered := false
	onDial := func(e ariv6.Event) {
		d, ok := e.(*ariv6.Dial)
		if !ok || answered || d.Dialstatus != "ANSWER" || d.Caller.ID != s.id {
			return
		}
		answered = true
		now := time.Now()
		operator := d.Dialstring
		if operator == "" {
			operator = d.Peer.Name
		}
		em.Emit(s.ctx, events.TypeOperatorAnswered, events.OperatorAnswered{
			EmergencyType:   fc.emergencyType,
			Extension:       fc.extension,
			Operator:        operator,
			SecondsInQueue:  secondsSince(fc.queuedAt, now),
			SecondsToPerson: secondsSince(fc.answeredAt, now),
			CallbackOf:      fc.callbackOf,
		})
		s.log.Info("operator answered", "operator", operator, "seconds_in_queue", secondsSince(fc.queuedAt, now))
	}
	for _, d := range fc.early {
		onDial(d)
	}
	for {
		select {
		case e, ok := <-s.inbox:
			if ok {
				onDial(e)
			}
			continue
		case <-s.f.destroyed:
		case <-v.followStop:
			s.log.Info("IVR stopping: the call in the operators' queue is no longer followed", "answered", answered)
			return
		}
		break
	}
	// A Dial routed before the channel's destruction is already queued.
	for n := len(s.inbox); n > 0; n-- {
		onDial(<-s.inbox)
	}
	end := time.Unix(0, s.f.destroyedAt.Load())
	where := events.WhereQueue
	switch {
	case answered:
		where = events.WhereOperator
	case s.f.gap.Load():
		where = events.WhereUnknown
	}
	hangupBy := events.HangupBySystem
	switch {
	case s.hangupRequested.Load() && !s.f.hangupSoft.Load():
		hangupBy = events.HangupByCaller
	case s.f.gap.Load() && !answered:
		hangupBy = "" // not seen
	}
	callback := where == events.WhereQueue
	if callback && hangupBy == events.HangupByCaller {
		em.Emit(s.ctx, events.TypeQueueAbandoned, events.QueueAbandoned{
			EmergencyType:      fc.emergencyType,
			Extension:          fc.extension,
			SecondsInQueue:     secondsSince(fc.queuedAt, end),
			SecondsSinceAnswer: secondsSince(fc.answeredAt, end),
			Callback:           true,
			CallbackOf:         fc.callbackOf,
		})
	}
	em.Emit(s.ctx, events.TypeEnded, events.Ended{
		Outcome:       fc.outcome,
		DurationS:     end.Sub(s.start).Seconds(),
		HangupBy:      hangupBy,
		Callback:      callback,
		Where:         where,
		EmergencyType: fc.emergencyType,
		CallbackOf:    fc.callbackOf,
	})
	s.log.Info("call ended past the hand-off", "where", where, "hangup_by", hangupBy, "callback", callback)
	n.forgetFollowed(s.id)
}

// keepFollowed records a followed call; a failure costs only the record
// (the call is still followed by this process).
func (n *node) keepFollowed(c events.FollowedCall) {
	ctx, cancel := context.WithTimeout(context.Background(), n.ari.RequestTimeout)
	defer cancel()
	if err := n.ivr.followed.Put(ctx, c); err != nil {
		n.log.Warn("followed call not recorded; if this IVR restarts before it ends, its end is not published", "call_id", c.CallID, "error", err)
	}
}

// forgetFollowed deletes a followed call's record once its end is published.
func (n *node) forgetFollowed(id string) {
	if n.ivr.followed == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.ari.RequestTimeout)
	defer cancel()
	if err := n.ivr.followed.Delete(ctx, id); err != nil {
		n.log.Warn("followed call's record not deleted (it expires by itself)", "call_id", id, "error", err)
	}
}

// connGen returns how many connections the node has made, and whether
// the current one is up.
func (n *node) connGen() (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.connections, n.connected
}

// markFollowGap records, for every followed call of the node, that its
// events may have been missed (the events connection dropped).
func (n *node) markFollowGap() {
	for _, s := range n.router.followed() {
		s.f.gap.Store(true)
	}
}

// refollow runs after a (re)connection with the node's channel listing:
// a followed call whose events may have been missed and that Asterisk no
// longer lists ended unseen; one still listed is subscribed again (the
// subscription may not have survived an Asterisk restart). A channel in the
// operators' context that no session follows (this process started while
// callers waited) is adopted and followed from now on.
func (n *node) refollow(ctx context.Context, chans []ariv6.ChannelData) {
	if n.ivr == nil {
		return
	}
	listed := make(map[string]*ariv6.ChannelData, len(chans))
	for i := range chans {
		listed[chans[i].ID] = &chans[i]
	}
	for _, s := range n.router.followed() {
		if !s.f.gap.Load() {
			continue
		}
		if listed[s.id] == nil {
			s.markDestroyed()
			continue
		}
		n.subscribeChannel(ctx, s.id)
	}
	records := map[string]*events.FollowedCall{}
	if n.ivr.followed != nil {
		recs, err := n.ivr.followed.List(ctx, n.cfg.Name)
		if err != nil {
			n.log.Warn("followed calls' records not read", "error", err)
		}
		for i := range recs {
			records[recs[i].CallID] = &recs[i]
		}
	}
	for i := range chans {
		ch := &chans[i]
		if ch.Dialplan == nil || ch.Dialplan.Context != n.ivr.ivr.OperatorContext || n.router.known(ch.ID) {
			continue
		}
		n.adopt(ctx, ch, records[ch.ID])
	}
	// A recorded call that Asterisk no longer has ended while no IVR
	// followed it.
	for id, rec := range records {
		if listed[id] == nil && !n.router.known(id) {
			n.endedUnseen(*rec)
		}
	}
}

// endedUnseen publishes the end of a followed call whose channel ended
// while no IVR followed it: where unknown, no call-back (the caller may
// have been answered), duration unknown.
func (n *node) endedUnseen(rec events.FollowedCall) {
	em := newCallEmitter(n.ivr.pub, rec.CallID, n.cfg.Name, rec.Caller, n.log.With("call_id", rec.CallID))
	em.Emit(context.Background(), events.TypeEnded, events.Ended{Outcome: rec.Outcome, DurationS: -1, Where: events.WhereUnknown,
		EmergencyType: rec.EmergencyType, CallbackOf: rec.CallbackOf})
	em.close()
	n.log.Info("a followed call ended while no IVR followed it", "call_id", rec.CallID)
	n.forgetFollowed(rec.CallID)
}

// subscribeChannel subscribes the application to a channel's events.
func (n *node) subscribeChannel(ctx context.Context, id string) bool {
	app := ariv6.NewKey(ariv6.ApplicationKey, n.ari.Application)
	err := restCall(ctx, n.ari.RequestTimeout, "subscribe to channel", func() error {
		return n.client.Application().Subscribe(app, "channel:"+id)
	})
	if err != nil {
		n.log.Warn("followed call not subscribed again", "channel_id", id, "error", err)
		return false
	}
	return true
}

// Channel variables the IVR sets before the hand-off and reads back from a
// channel found after a restart, when ari.conf lists them in channelvars.
const (
	varOutcome = flows.VarOutcome
	varType    = flows.VarType
	// varCallbackOf marks a call-back's own call.
	varCallbackOf = flows.VarCallbackOf
)

// adopt follows a channel found in the operators' context without a
// session: its hand-off was made by a previous process (or before a lost
// connection whose session is gone). What happened before now is unknown,
// so it ends as where unknown unless an operator answers while followed.
func (n *node) adopt(ctx context.Context, ch *ariv6.ChannelData, rec *events.FollowedCall) {
	v := n.ivr
	parent := context.Background()
	if p := v.callsCtx.Load(); p != nil {
		parent = *p
	}
	s := newSession(parent, n, *ch)
	s.f.gap.Store(true)
	s.left.Store(true)
	if !n.router.adopt(s) {
		return
	}
	if !n.subscribeChannel(ctx, ch.ID) {
		n.router.remove(s)
		return
	}
	s.f.subscribed.Store(true)
	fc := followed{extension: ch.Dialplan.Exten}
	if vars := ch.ChannelVars; vars != nil {
		fc.outcome = events.Outcome(vars[varOutcome])
		fc.emergencyType = vars[varType]
		fc.callbackOf = vars[varCallbackOf]
	}
	if fc.emergencyType == "" {
		fc.emergencyType = ch.Dialplan.Exten
	}
	if ct := ch.Creationtime; ct != nil && ct.Seconds > 0 {
		// call.ended's duration counts from the channel's creation, as it
		// does from StasisStart for the calls this process served.
		s.start = time.Unix(ct.Seconds, int64(ct.Nanos))
	}
	if rec != nil {
		// The record of the process that handed the call over knows
		// more than the channel: the caller as published, and when the
		// call was answered and handed over.
		fc = followed{outcome: rec.Outcome, emergencyType: rec.EmergencyType, extension: rec.Extension,
			queuedAt: rec.Queued, answeredAt: rec.Answered, recorded: true, callbackOf: rec.CallbackOf}
		s.caller, s.start = rec.Caller, rec.Started
	}
	v.sessions.Add(1)
	s.log.Info("following a call found in the operators' context", "extension", fc.extension)
	go func() {
		em := newCallEmitter(v.pub, s.id, n.cfg.Name, s.caller, s.log)
		defer func() {
			s.cancel(nil)
			n.router.remove(s)
			em.close()
			v.sessions.Done()
		}()
		s.follow(v, em, fc)
	}()
}
