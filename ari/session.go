package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/phone"
)

// FlowRunner runs the IVR for one call; *flows.Flow implements it. Run
// returns when the call was handed over, hung up or ended; it handles its
// own errors by failing the call over to operators.
type FlowRunner interface {
	Run(ctx context.Context, call flows.Call, in flows.Input, em flows.Emitter) flows.Result
}

// session is one call in the Stasis application: created by the node's
// WebSocket reader on StasisStart, run by its own goroutine, removed from
// the router when that goroutine ends.
type session struct {
	id      string
	node    *node
	channel ariv6.ChannelData
	caller  events.Caller // as published: normalised, presentation set
	start   time.Time
	inbox   chan ariv6.Event
	log     *slog.Logger

	// ctx is the call's context; it is cancelled with ErrChannelGone on
	// StasisEnd/ChannelDestroyed, ErrConnectionLost when the events
	// WebSocket drops and ErrShutdown when the drain time is over.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// ended is set (and endedCh closed) on StasisEnd or ChannelDestroyed.
	ended     atomic.Bool
	endedCh   chan struct{}
	endedOnce sync.Once
	endedAt   atomic.Int64 // unix nanoseconds
	// hangupRequested is set on ChannelHangupRequest, after systemHangup:
	// whoever sees it set also sees who asked.
	hangupRequested atomic.Bool
	// hangupSeen makes the first ChannelHangupRequest the one that decides.
	hangupSeen atomic.Bool
	// by latches the answer of hangupBy (gone.go).
	by atomic.Pointer[string]
	// systemHangup is set when the first ChannelHangupRequest was a soft
	// one that this session did not ask for: Asterisk ended the call (CLI
	// "channel request hangup", AMI, another application, a shutdown),
	// not the caller, whose hangup comes with soft false and a Q.850 cause.
	systemHangup atomic.Bool
	// hangingUp is set just before our own DELETE: the soft request that
	// DELETE causes may arrive before Hangup returns and left is set.
	hangingUp atomic.Bool
	// restGone is set when Asterisk answered a request with "channel not
	// found" or "not in Stasis".
	restGone atomic.Bool
	// left is set once our Continue or Hangup succeeded: from then on the
	// end of the call is the system's doing, not the caller's.
	left atomic.Bool

	// Past the hand-off (follow.go).
	f followState
	// connGen is the node's connection count when the session began.
	connGen int
}

func newSession(parent context.Context, n *node, ch ariv6.ChannelData) *session {
	ctx, cancel := context.WithCancelCause(parent)
	var normalize func(string) (string, bool)
	if n.ivr != nil { // bare nodes of the router's unit tests have none
		normalize = n.ivr.normalize
	}
	caller, normalized := callerOf(ch, normalize)
	log := n.log.With("call_id", ch.ID, "caller", phone.Mask(caller.Number))
	gen, _ := n.connGen()
	if !normalized {
		// Published as Asterisk gave it; a number that is not E.164 is
		// also never found in the blocklist.
		log.Debug("caller number not normalised to E.164; used as given")
	}
	return &session{
		id:      ch.ID,
		node:    n,
		channel: ch,
		caller:  caller,
		start:   time.Now(),
		inbox:   make(chan ariv6.Event, inboxSize),
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		endedCh: make(chan struct{}),
		f:       newFollowState(),
		connGen: gen,
	}
}

// markEnded records that the channel left Stasis or was destroyed; it is
// called by the router, possibly more than once.
func (s *session) markEnded() {
	s.endedOnce.Do(func() {
		s.endedAt.Store(time.Now().UnixNano())
		s.ended.Store(true)
		close(s.endedCh)
		s.cancel(ErrChannelGone)
	})
}

// markHangupRequest records that the channel asked to hang up; soft is the
// event's soft flag. Only the first request decides who hung up.
func (s *session) markHangupRequest(soft bool) {
	if !s.hangupSeen.CompareAndSwap(false, true) {
		return
	}
	s.f.hangupSoft.Store(soft)
	if soft && !s.hangingUp.Load() && !s.left.Load() {
		s.systemHangup.Store(true)
	}
	s.hangupRequested.Store(true)
}

// hungUp reports whether Asterisk's events said the channel left the app
// or is hanging up.
func (s *session) hungUp() bool {
	return s.ended.Load() || s.hangupRequested.Load()
}

// gone reports whether the channel hung up or is hanging up.
func (s *session) gone() bool {
	return s.ended.Load() || s.hangupRequested.Load() || s.restGone.Load()
}

// run is the session goroutine.
func (s *session) run(v *IVR) {
	unresolved := false
	var em *callEmitter
	defer func() {
		// The flow's panics are handled in runFlow; this one is a bug in
		// the session itself. It must not take down every other call, and
		// the call still gets its call.ended.
		if r := recover(); r != nil {
			s.log.Error("session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if em != nil && !em.emitted(events.TypeEnded) {
				em.Emit(s.ctx, events.TypeEnded, events.Ended{
					Outcome: events.OutcomeFailover, DurationS: time.Since(s.start).Seconds(), HangupBy: events.HangupBySystem,
				})
			}
			unresolved = !s.left.Load() && !s.gone()
		}
		s.cancel(nil)
		s.node.router.remove(s)
		if unresolved {
			// The hand-off failed and the caller may still be in the app:
			// the node's sweep retries it now that this session is gone,
			// and so does the rescue at shutdown (rescue.go).
			s.node.leftInApp(s.id)
		}
		// The IVR's Run returns only once every event was handed to the
		// publisher.
		if em != nil {
			em.close()
		}
		v.sessions.Done()
	}()

	caller := s.caller
	anonymous := caller.Presentation == events.PresentationRestricted
	var until time.Time
	var blocked bool
	if !anonymous && v.blocklist != nil {
		until, blocked = v.blocklist.Check(caller.Number, time.Now())
	}
	em = newCallEmitter(v.pub, s.id, s.node.cfg.Name, caller, s.log)
	started := events.Started{Blocked: blocked}
	if s.channel.Dialplan != nil {
		started.Dialed = s.channel.Dialplan.Exten
	}
	started.Channel = s.channel.Name
	if blocked {
		u := until.UTC()
		started.BlockUntil = &u
	}
	em.Emit(s.ctx, events.TypeStarted, started)
	s.log.Info("call started", "blocked", blocked)

	c := &call{s: s, client: s.node.client, key: ariv6.NewKey(ariv6.ChannelKey, s.id),
		timeout: v.ari.RequestTimeout, maxPlayback: v.ivr.MaxPrompt, log: s.log}
	in := flows.Input{CallID: s.id, Number: caller.Number, Anonymous: anonymous, Blocked: blocked, BlockUntil: until, Log: s.log}
	if v.incidents != nil {
		if a, ok := v.incidents.Announcement(time.Now()); ok && s.node.announcementPlayable(s.ctx, a.Media) {
			in.Incident = &a
		}
	}

	var res flows.Result
	if v.draining.Load() {
		res = flows.Result{Outcome: events.OutcomeFailover, Reason: "ivr shutting down"}
	} else {
		res = s.runFlow(v.flow, c, in, em)
	}
	if res.Outcome == "" {
		res.Outcome = events.OutcomeFailover
	}

	// A 404 or 409 answer is taken to mean the caller is gone, but only
	// Asterisk's hangup events prove it (409 also answers, e.g., a
	// recording name already in use). Without them after a grace, the
	// caller may still be in the app: ask Asterisk again below.
	if !s.left.Load() && s.restGone.Load() && !s.hungUp() {
		t := time.NewTimer(v.ari.RequestTimeout)
		select {
		case <-s.endedCh:
		case <-t.C:
		}
		t.Stop()
		if !s.hungUp() {
			s.log.Warn("Asterisk refused a request as if the caller had gone, but no hangup came; putting the call through")
			s.restGone.Store(false)
		}
	}

	// Safety net: whatever the flow did, a caller still in Stasis is put
	// through to operators, never left in silence.
	if !s.left.Load() && !s.gone() {
		reason := res.Reason
		if reason == "" {
			reason = "flow ended with the caller still in the IVR"
		}
		s.failover(v, c, em, &res, reason)
	}

	// Wait for Asterisk to confirm the channel left the app, so duration
	// covers the whole stay; bounded, since after a lost connection the
	// confirmation never comes.
	if (s.left.Load() || s.gone()) && !s.ended.Load() {
		t := time.NewTimer(v.ari.RequestTimeout)
		select {
		case <-s.endedCh:
		case <-t.C:
		}
		t.Stop()
	}
	unresolved = !s.left.Load() && !s.gone()
	if res.Transferred && s.left.Load() && s.f.subscribed.Load() && !c.continuedAt.IsZero() {
		typ := res.EmergencyType
		if typ == "" {
			typ = string(res.Outcome)
		}
		s.follow(v, em, followed{outcome: res.Outcome, emergencyType: typ, extension: res.Extension,
			queuedAt: c.continuedAt, answeredAt: c.answeredAt, early: c.dials})
		return
	}
	where := events.WhereIVR
	if res.Transferred {
		// Handed over but not followed (the subscription failed or was
		// skipped): how the call ended is not known here.
		where = events.WhereUnknown
	}
	end := time.Now()
	if at := s.endedAt.Load(); at != 0 {
		end = time.Unix(0, at)
	}
	hangupBy := events.HangupBySystem
	if !s.left.Load() && (s.gone() || s.byLatched()) {
		hangupBy = s.hangupBy()
	}
	em.Emit(s.ctx, events.TypeEnded, events.Ended{
		Outcome:       res.Outcome,
		DurationS:     end.Sub(s.start).Seconds(),
		HangupBy:      hangupBy,
		Callback:      res.Callback,
		Where:         where,
		EmergencyType: res.EmergencyType,
	})
	if unresolved {
		s.log.Error("call ended with the caller possibly still in the IVR; the node will retry the hand-off",
			"outcome", res.Outcome, "reason", res.Reason)
		return
	}
	s.log.Info("call ended", "outcome", res.Outcome, "hangup_by", hangupBy, "reason", res.Reason)
}

// runFlow runs the flow and turns a panic into a failover result.
func (s *session) runFlow(flow FlowRunner, c *call, in flows.Input, em *callEmitter) (res flows.Result) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("flow panicked; failing the call over to operators",
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res = flows.Result{Outcome: events.OutcomeFailover, Reason: fmt.Sprintf("panic: %v", r)}
		}
	}()
	return flow.Run(s.ctx, c, in, em)
}

// failover puts the caller through to the failover extension and completes
// the event sequence (classified, transferred) where the flow did not.
func (s *session) failover(v *IVR, c *call, em *callEmitter, res *flows.Result, reason string) {
	ctx := context.WithoutCancel(s.ctx)
	res.Outcome, res.Reason = events.OutcomeFailover, reason
	// The variables help operators find the call; they are skipped if
	// Asterisk is not answering, so the Continue is not delayed further.
	if !c.slow {
		err := c.SetVariables(ctx, map[string]string{
			flows.VarCallID: s.id, flows.VarType: string(events.OutcomeFailover),
			flows.VarOutcome: string(events.OutcomeFailover), flows.VarFailover: reason,
		})
		if err != nil {
			s.log.Warn("failover variables not set", "error", err)
		}
	}
	err := c.Continue(ctx, v.ivr.OperatorContext, v.ivr.FailoverExtension, 1)
	if !em.emitted(events.TypeClassified) {
		em.Emit(ctx, events.TypeClassified, events.Classified{
			Outcome:           events.OutcomeFailover,
			Attempts:          res.Attempts,
			SecondsToClassify: time.Since(s.start).Seconds(),
			Reason:            reason,
		})
	}
	if err != nil {
		if errors.Is(err, flows.ErrHangup) {
			s.log.Info("caller gone before the failover", "reason", reason, "error", err)
			return
		}
		s.log.Error("caller could not be put through to operators", "reason", reason, "error", err)
		return
	}
	res.Transferred = true
	res.Extension = v.ivr.FailoverExtension
	if !em.emitted(events.TypeTransferred) {
		em.Emit(ctx, events.TypeTransferred, events.Transferred{
			EmergencyType: string(events.OutcomeFailover),
			Context:       v.ivr.OperatorContext,
			Extension:     v.ivr.FailoverExtension,
		})
	}
	s.log.Warn("call failed over to operators", "reason", reason)
}

// withheld lists caller numbers that mean "no number presented" (the same
// markers as phone.Normalize's, so a number is never both).
var withheld = map[string]bool{
	"": true, "anonymous": true, "unknown": true, "restricted": true, "private": true, "withheld": true,
	"unavailable": true, "anonim": true,
}

// callerOf builds the event caller from the channel. ARI does not report
// the presentation flags in the channel object, so a missing or withheld
// number is what marks a restricted presentation; it is kept as given. Any
// other number is normalised with normalize (when set); normalized is false
// when normalize could not, and the number is then kept as given, with
// presentation allowed.
func callerOf(ch ariv6.ChannelData, normalize func(string) (string, bool)) (c events.Caller, normalized bool) {
	c = events.Caller{Presentation: events.PresentationAllowed}
	if ch.Caller != nil {
		c.Number, c.Name = ch.Caller.Number, ch.Caller.Name
	}
	if withheld[strings.ToLower(strings.TrimSpace(c.Number))] {
		c.Presentation = events.PresentationRestricted
		return c, true
	}
	if normalize == nil {
		return c, true
	}
	e164, ok := normalize(c.Number)
	if !ok {
		return c, false
	}
	c.Number = e164
	return c, true
}
