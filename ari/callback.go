package ari

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/phone"
)

// Placing call-backs.
//
// A call-back is an originate into this Stasis application, with app
// arguments "callback,<dropped call id>,<attempt>" and a channel id chosen
// here, so that everything Asterisk says about the new channel can be
// routed to the attempt before the originate even returns. An application
// that originates a channel is subscribed to it: while it rings, its
// ChannelStateChange and, if nobody answers, its ChannelDestroyed with the
// hang-up cause come to the application (no StasisStart). If the callee
// answers, the channel enters Stasis: its session runs the call-back flow
// (flows.RunCallback) and, once it is put through, follows it past the
// hand-off like any call, its events carrying callback_of.

// ArgCallback is the first Stasis argument of a call-back's channel.
const ArgCallback = "callback"

// callbackIDPrefix starts the channel id of every call-back.
const callbackIDPrefix = "cb-"

// CallbackRunner runs an answered call-back; *flows.Flow implements it.
type CallbackRunner interface {
	RunCallback(ctx context.Context, call flows.Call, in flows.CallbackInput, em flows.Emitter) flows.CallbackResult
}

// pendingOriginate is a call-back this process originated and waits for.
type pendingOriginate struct {
	req callback.Request
	// events carries the channel's events while it has no session
	// (ringing, destroyed); bounded, never blocks the reader.
	events chan ariv6.Event
	// answered is closed when the channel entered Stasis; outcome then
	// receives the call-back flow's result.
	answered chan struct{}
	outcome  chan callback.Outcome
}

// isCallback reports whether a StasisStart is a call-back's.
func isCallback(ev *ariv6.StasisStart) bool {
	return len(ev.Args) > 0 && ev.Args[0] == ArgCallback
}

// OperatorFree implements callback.Dialer: whether an operator of the
// queue a call-back of this type joins is free on a connected node.
func (v *IVR) OperatorFree(emergencyType string) (free, known bool) {
	members := v.callbackMembers(emergencyType)
	if len(members) == 0 {
		return false, false
	}
	for _, n := range v.nodes {
		if !n.health().Connected {
			continue
		}
		f, k := n.operators.anyFree(members)
		free, known = free || f, known || k
	}
	return free, known
}

// callbackMembers are the operator devices of the queue a call-back of
// emergencyType joins: the type's menu entry, else the operators' entry.
func (v *IVR) callbackMembers(emergencyType string) []string {
	for _, e := range v.ivr.Menu {
		if emergencyType != "" && e.Type == emergencyType {
			return e.Members
		}
	}
	if e := v.ivr.CallbackEntry(); e != nil {
		return e.Members
	}
	return nil
}

// Place implements callback.Dialer: it originates the call-back from a
// connected node (one with a free operator of its queue first) and waits
// until it was put through, gave no sign or did not connect.
func (v *IVR) Place(ctx context.Context, req callback.Request) callback.Outcome {
	if v.draining.Load() {
		return callback.Outcome{Result: events.CallbackCancelled, Reason: "the IVR is stopping"}
	}
	n := v.callbackNode(req.EmergencyType)
	if n == nil {
		return callback.Outcome{Result: events.CallbackFailed, Reason: "no Asterisk node connected"}
	}
	id := callbackIDPrefix + strings.ToLower(events.NewID())
	po := &pendingOriginate{req: req, events: make(chan ariv6.Event, 16),
		answered: make(chan struct{}), outcome: make(chan callback.Outcome, 1)}
	n.router.expect(id, po)
	defer n.router.unexpect(id)
	start := time.Now()
	out := callback.Outcome{ChannelID: id}
	ring := int(req.RingTimeout / time.Second)
	err := restCall(ctx, v.ari.RequestTimeout, "originate call-back", func() error {
		_, err := n.client.Channel().Originate(nil, ariv6.OriginateRequest{
			Endpoint: req.Endpoint, App: v.ari.Application,
			AppArgs:  strings.Join([]string{ArgCallback, req.CallbackOf, strconv.Itoa(req.Attempt)}, ","),
			CallerID: req.CallerID, Timeout: max(ring, 1), Formats: req.Formats, ChannelID: id,
		})
		return err
	})
	if err != nil && !errors.Is(err, ErrRequestTimeout) {
		// Refused (a bad endpoint, no such trunk): nothing rings.
		out.Result, out.Reason, out.Ring = events.CallbackFailed, err.Error(), time.Since(start)
		return out
	}
	// After a timed-out originate the channel may exist all the same; its
	// events (or their absence until the bound) tell.
	quiet := time.NewTimer(req.RingTimeout + 2*v.ari.RequestTimeout + time.Second)
	defer quiet.Stop()
	dialResult := ""
	for {
		select {
		case e := <-po.events:
			switch d := e.(type) {
			case *ariv6.Dial:
				// The dial's own verdict, read first: Asterisk's hang-up
				// cause is 0 on some paths (a busy callee behind a Local
				// channel, checked on 22.10.1).
				if d.Peer.ID == id {
					if r, ok := callback.ResultOfDialStatus(d.Dialstatus); ok {
						dialResult = r
					}
				}
			case *ariv6.ChannelDestroyed:
				out.Cause, out.Ring = d.Cause, time.Since(start)
				out.Result = callback.ResultOfCause(d.Cause)
				if dialResult != "" {
					out.Result = dialResult
				}
				return out
			}
		case <-po.answered:
			out.Ring = time.Since(start)
			select {
			case o := <-po.outcome:
				o.ChannelID, o.Ring = id, out.Ring
				return o
			case <-ctx.Done():
				// The session goes on (it puts a callee with a sign
				// through whatever happens); the attempt's bound is over.
				return callback.Outcome{Result: events.CallbackCancelled, ChannelID: id, Ring: out.Ring,
					Reason: "the attempt's time ran out while the callee was on the line"}
			}
		case <-quiet.C:
			if n.channelGone(ctx, id) {
				out.Result, out.Ring = events.CallbackFailed, time.Since(start)
				out.Reason = "Asterisk has no such channel and said nothing of it"
				if err != nil {
					out.Reason = "originate: " + err.Error()
				}
				return out
			}
			quiet.Reset(v.ari.RequestTimeout * 2)
		case <-ctx.Done():
			n.hangupChannel(id)
			out.Result, out.Ring = events.CallbackCancelled, time.Since(start)
			out.Reason = fmt.Sprintf("stopped while ringing: %v", context.Cause(ctx))
			return out
		}
	}
}

// callbackNode picks the node a call-back is placed from: a connected one
// with a free operator of its queue, else any connected one.
func (v *IVR) callbackNode(emergencyType string) *node {
	members := v.callbackMembers(emergencyType)
	var any *node
	for _, n := range v.nodes {
		if !n.health().Connected {
			continue
		}
		if any == nil {
			any = n
		}
		if free, _ := n.operators.anyFree(members); free {
			return n
		}
	}
	return any
}

// channelGone asks Asterisk whether a channel is gone (404); any other
// answer, or none, is not proof.
func (n *node) channelGone(ctx context.Context, id string) bool {
	err := restCall(ctx, n.ari.RequestTimeout, "get channel", func() error {
		_, err := n.client.Channel().Data(ariv6.NewKey(ariv6.ChannelKey, id))
		return err
	})
	return errors.Is(err, ErrChannelGone)
}

// hangupChannel hangs a ringing call-back up, best effort.
func (n *node) hangupChannel(id string) {
	err := restCall(context.Background(), n.ari.RequestTimeout, "hang up call-back", func() error {
		return n.client.Channel().Hangup(ariv6.NewKey(ariv6.ChannelKey, id), "normal")
	})
	if err != nil && !errors.Is(err, ErrChannelGone) {
		n.log.Warn("ringing call-back not hung up", "channel_id", id, "error", err)
	}
}

// startCallback is startSession for a call-back's StasisStart.
func (v *IVR) startCallback(n *node, s *session, ev *ariv6.StasisStart) {
	po := n.router.expected(s.id)
	if po != nil {
		s.caller = po.req.Caller
		s.log = n.log.With("call_id", s.id, "caller", phone.Mask(s.caller.Number), "callback_of", po.req.CallbackOf)
		close(po.answered)
	} else {
		// An answer to a call-back this process no longer waits for (it
		// restarted while the phone rang): the callee is served all the
		// same, from what the channel says.
		req := callback.Request{Tag: v.callbackTag}
		if len(ev.Args) > 1 {
			req.CallbackOf = ev.Args[1]
		}
		if ev.Channel.Connected != nil {
			req.Number = ev.Channel.Connected.Number
		}
		po = &pendingOriginate{req: req, answered: make(chan struct{}), outcome: make(chan callback.Outcome, 1)}
		s.log = s.log.With("callback_of", req.CallbackOf)
	}
	go s.runCallback(v, po)
}

// runCallback is the session goroutine of an answered call-back.
func (s *session) runCallback(v *IVR, po *pendingOriginate) {
	var em *callEmitter
	reported := false
	report := func(o callback.Outcome) {
		if !reported {
			reported = true
			po.outcome <- o
		}
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("call-back session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			report(callback.Outcome{Result: events.CallbackFailed, Reason: fmt.Sprintf("panic: %v", r)})
		}
		// A callee still in the application (a hand-off that failed
		// twice, a hang-up refused, a panic) is not left there in
		// silence: once this session is gone the node's sweep puts the
		// channel through to the operators, as it does for any caller.
		unresolved := !s.left.Load() && !s.gone()
		s.cancel(nil)
		s.node.router.remove(s)
		if unresolved {
			s.node.leftInApp(s.id)
		}
		if em != nil {
			em.close()
		}
		v.sessions.Done()
	}()
	req := po.req
	em = newCallEmitter(v.pub, s.id, s.node.cfg.Name, s.caller, s.log)
	c := &call{s: s, client: s.node.client, key: ariv6.NewKey(ariv6.ChannelKey, s.id),
		timeout: v.ari.RequestTimeout, maxPlayback: v.ivr.MaxPrompt, log: s.log}
	number := req.Number
	if number == "" {
		number = s.caller.Number
	}
	in := flows.CallbackInput{CallID: s.id, CallbackOf: req.CallbackOf, Number: number, EmergencyType: req.EmergencyType,
		Outcome: req.Outcome, Tag: req.Tag, AnsweredAt: s.start, Log: s.log}
	if in.Tag == "" {
		in.Tag = v.callbackTag
	}
	var res flows.CallbackResult
	if v.callbackFlow == nil {
		res = flows.CallbackResult{Err: errors.New("no call-back flow")}
	} else {
		res = v.callbackFlow.RunCallback(s.ctx, c, in, em)
	}
	if res.Sign != "" && !res.Transferred && !res.Hangup && !s.left.Load() && !s.gone() {
		// The callee gave a sign but the hand-off failed: once more, to
		// the failover extension, as any caller in the IVR would be.
		ctx := context.WithoutCancel(s.ctx)
		if err := c.Continue(ctx, v.ivr.OperatorContext, v.ivr.FailoverExtension, 1); err == nil {
			res.Transferred, res.Extension = true, v.ivr.FailoverExtension
			em.Emit(ctx, events.TypeTransferred, events.Transferred{EmergencyType: string(events.OutcomeFailover),
				Context: v.ivr.OperatorContext, Extension: v.ivr.FailoverExtension, CallbackOf: req.CallbackOf})
		} else {
			s.log.Error("call-back callee who gave a sign could not be put through", "error", err)
		}
	}
	switch {
	case res.Transferred:
		report(callback.Outcome{Result: events.CallbackPutThrough})
	case res.Sign != "":
		report(callback.Outcome{Result: events.CallbackFailed, Reason: fmt.Sprintf("callee gave a sign (%s) but was not put through: %v", res.Sign, res.Err)})
	default:
		report(callback.Outcome{Result: events.CallbackNoResponse})
	}
	if !res.Transferred {
		return
	}
	// Wait for Asterisk to confirm the channel left, as run does, then
	// follow it past the hand-off.
	if !s.ended.Load() {
		t := time.NewTimer(v.ari.RequestTimeout)
		select {
		case <-s.endedCh:
		case <-t.C:
		}
		t.Stop()
	}
	if s.left.Load() && s.f.subscribed.Load() && !c.continuedAt.IsZero() {
		typ := req.EmergencyType
		if typ == "" {
			typ = string(req.Outcome)
		}
		s.follow(v, em, followed{outcome: req.Outcome, emergencyType: typ, extension: res.Extension,
			queuedAt: c.continuedAt, answeredAt: s.start, early: c.dials, callbackOf: req.CallbackOf})
		return
	}
	em.Emit(s.ctx, events.TypeEnded, events.Ended{Outcome: req.Outcome, DurationS: time.Since(s.start).Seconds(),
		HangupBy: events.HangupBySystem, Where: events.WhereUnknown, EmergencyType: req.EmergencyType, CallbackOf: req.CallbackOf})
}
