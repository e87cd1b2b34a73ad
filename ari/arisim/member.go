package arisim

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Ringing the members: the ringall strategy with ringinuse=no, ring attempts
// and wrap-up, answer, CANCEL and the end of a caller's or an operator's
// call. Everything here runs with queueEngine.mu held (see queue.go).

// Dial statuses of a queue's member channels.
const (
	dialAnswer   = "ANSWER"
	dialCancel   = "CANCEL"
	dialNoAnswer = "NOANSWER"
)

// causeAnsweredElsewhere is Q.850 26: the cause of a member's channel that
// stopped ringing because another member answered.
const causeAnsweredElsewhere = 26

// ring is one member channel rung for a caller.
type ring struct {
	e     *queueEntry
	op    Operator
	ch    *channel
	timer *time.Timer // answer (while ringing) or the operator's hang-up (TalkFor)
}

// dispatch rings free members for waiting callers, in order of arrival:
// each caller rings every free member of its queue (ringall), and a member
// ringing for one caller is not free for the next (ringinuse=no).
func (qe *queueEngine) dispatch() {
	var waiting []*queueEntry
	for _, q := range qe.queues {
		waiting = append(waiting, q.waiting...)
	}
	slices.SortFunc(waiting, func(a, b *queueEntry) int { return cmp.Compare(a.seq, b.seq) })
	now := time.Now()
	for _, e := range waiting {
		if now.Before(e.pause) {
			continue
		}
		for _, m := range e.q.cfg.Members {
			d := qe.device(m.Device)
			if d.state() != DeviceNotInUse || e.ringing(m.Device) {
				continue
			}
			if wrap := d.lastCall.Add(qe.s.scaled(e.q.cfg.WrapUp)); now.Before(wrap) {
				qe.wakeAt(wrap)
				continue
			}
			qe.ringMember(e, m)
		}
	}
}

// wakeAt dispatches again at t (end of a wrap-up or a retry pause).
func (qe *queueEngine) wakeAt(t time.Time) {
	time.AfterFunc(time.Until(t), func() {
		qe.mu.Lock()
		defer qe.mu.Unlock()
		qe.dispatch()
	})
}

// endAttempt ends an unanswered ring attempt (Queue.RingTimeout): NOANSWER
// for each member still ringing, then a pause of Queue.Retry.
func (qe *queueEngine) endAttempt(e *queueEntry) {
	e.attempt = nil
	qe.stopRings(e, dialNoAnswer, causeNormal)
	e.pause = time.Now().Add(qe.s.scaled(e.q.cfg.Retry))
	qe.wakeAt(e.pause)
}

func (e *queueEntry) ringing(device string) bool {
	for _, r := range e.rings {
		if r.op.Device == device {
			return true
		}
	}
	return false
}

// ringMember makes the member's channel and rings it for the caller.
func (qe *queueEngine) ringMember(e *queueEntry, op Operator) {
	s := qe.s
	tech, resource, ok := strings.Cut(op.Device, "/")
	if !ok {
		tech, resource = op.Device, ""
	}
	ch := e.ch
	ch.mu.Lock()
	if ch.gone {
		ch.mu.Unlock()
		return
	}
	number := ch.caller.Number
	ch.mu.Unlock()
	// An outgoing channel starts at default,s,1 (ast_channel_alloc); Queue
	// marks it as its outgoing line.
	mch := s.newChannel(s.newUniqueID(), tech, resource, callerIDJSON{Number: number},
		dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "AppQueue", AppData: "(Outgoing Line)"}, stateDown)
	if !s.channels.add(mch.id, mch) {
		return
	}
	r := &ring{e: e, op: op, ch: mch}
	if len(e.rings) == 0 && e.q.cfg.RingTimeout > 0 {
		e.attempt = time.AfterFunc(s.scaled(e.q.cfg.RingTimeout), func() {
			qe.mu.Lock()
			defer qe.mu.Unlock()
			if qe.callers[e.ch] == e && e.talk == nil && len(e.rings) > 0 {
				qe.endAttempt(e)
			}
		})
	}
	e.rings = append(e.rings, r)
	qe.members[mch] = r
	d := qe.device(op.Device)
	d.ringing++
	qe.update(d)
	qe.emitDial(e, r, op.Device, "")
	if !op.NoAnswer {
		r.timer = time.AfterFunc(s.scaled(op.AnswerAfter), func() {
			qe.mu.Lock()
			defer qe.mu.Unlock()
			if qe.callers[e.ch] == e && e.talk == nil && slices.Contains(e.rings, r) {
				qe.answer(e, r)
			}
		})
	}
}

// emitDial sends Dial for member r to the applications that hear the caller.
func (qe *queueEngine) emitDial(e *queueEntry, r *ring, dialstring, status string) {
	r.ch.mu.Lock()
	peer := r.ch.snapLocked()
	r.ch.mu.Unlock()
	ch := e.ch
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.gone {
		return
	}
	caller := ch.snapLocked()
	ch.emitAllLocked(func(app string) any {
		return dialEvent{eventBase: qe.s.base("Dial", app), Caller: &caller, Peer: peer, Dialstring: dialstring, Dialstatus: status}
	})
}

// answer connects the caller with member r; the other members stop ringing.
func (qe *queueEngine) answer(e *queueEntry, r *ring) {
	qe.removeWaiting(e)
	stopTimer(e.timeout)
	e.rings = slices.DeleteFunc(e.rings, func(x *ring) bool { return x == r })
	e.talk = r
	ch := e.ch
	ch.mu.Lock()
	callerID, exten := ch.caller, ch.dp.Exten
	ch.mu.Unlock()
	r.ch.mu.Lock()
	r.ch.connected = callerID
	r.ch.dp.Exten = exten // Queue gives its outgoing channel the caller's extension
	r.ch.setStateLocked(stateUp)
	r.ch.mu.Unlock()
	d := qe.device(r.op.Device)
	d.ringing--
	d.talking++
	qe.update(d)
	qe.emitDial(e, r, r.op.Device, dialAnswer)
	qe.cancelRings(e, causeAnsweredElsewhere)
	ch.mu.Lock()
	_ = ch.setVarLocked("MEMBERINTERFACE", r.op.Device)
	ch.view.Operator = r.op.Device
	ch.view.OperatorAnsweredAt = time.Now()
	ch.broadcastLocked()
	ch.mu.Unlock()
	if r.op.TalkFor > 0 {
		r.timer = time.AfterFunc(qe.s.scaled(r.op.TalkFor), func() {
			qe.mu.Lock()
			defer qe.mu.Unlock()
			if qe.callers[e.ch] == e && e.talk == r {
				qe.operatorHangup(e)
			}
		})
	}
	qe.publishFree()
	qe.dispatch()
}

// cancelRings stops every member ringing for e: a Dial CANCEL each (with no
// dialstring, as Asterisk sends it), then their channels go.
func (qe *queueEngine) cancelRings(e *queueEntry, cause int) {
	qe.stopRings(e, dialCancel, cause)
}

// stopRings ends the ring attempt with a Dial of status for each member still
// ringing (publish_dial_end_event), then their channels go.
func (qe *queueEngine) stopRings(e *queueEntry, status string, cause int) {
	stopTimer(e.attempt)
	e.attempt = nil
	rings := e.rings
	e.rings = nil
	for _, r := range rings {
		stopTimer(r.timer)
		qe.emitDial(e, r, "", status)
	}
	for _, r := range rings {
		qe.dropMember(r, cause)
		d := qe.device(r.op.Device)
		d.ringing--
		qe.update(d)
	}
	if len(rings) > 0 {
		qe.publishFree()
	}
}

// dropMember ends a member's channel (no application hears it unless one
// subscribed to it).
func (qe *queueEngine) dropMember(r *ring, cause int) {
	stopTimer(r.timer)
	delete(qe.members, r.ch)
	r.ch.end(cause, false, true, HungUpBySystem)
}

// operatorHangup ends a call because the operator hung up: Queue() without
// option c returns -1 and the caller's channel is destroyed, with no
// ChannelHangupRequest.
func (qe *queueEngine) operatorHangup(e *queueEntry) {
	r := e.talk
	qe.release(e)
	delete(qe.members, r.ch)
	r.ch.end(causeNormal, false, true, HungUpByOperator)
	e.ch.end(causeNormal, false, false, HungUpByOperator)
	qe.dispatch()
}

// release forgets e; the member who was talking to it becomes free.
func (qe *queueEngine) release(e *queueEntry) {
	qe.remove(e)
	if r := e.talk; r != nil {
		stopTimer(r.timer)
		d := qe.device(r.op.Device)
		d.talking--
		d.lastCall = time.Now()
		qe.update(d)
		qe.publishFree()
	}
}

// remove takes e out of its queue and out of the engine.
func (qe *queueEngine) remove(e *queueEntry) {
	qe.removeWaiting(e)
	stopTimer(e.timeout)
	stopTimer(e.attempt)
	if qe.callers[e.ch] == e {
		delete(qe.callers, e.ch)
	}
}

func (qe *queueEngine) removeWaiting(e *queueEntry) {
	e.q.waiting = slices.DeleteFunc(e.q.waiting, func(x *queueEntry) bool { return x == e })
}

// channelGone is called (qe.mu held) before a channel is hung up. A caller
// leaves its queue: the members it rang get CANCEL, the operator it talked to
// hangs up too. A member's channel stops ringing, or, when it had answered,
// ends the caller's call as the operator's hang-up does.
func (qe *queueEngine) channelGone(ch *channel) {
	if e := qe.callers[ch]; e != nil {
		qe.cancelRings(e, causeNormal)
		if r := e.talk; r != nil {
			qe.release(e)
			delete(qe.members, r.ch)
			r.ch.end(causeNormal, false, true, HungUpByCaller)
		} else {
			qe.remove(e)
		}
		qe.dispatch()
		return
	}
	r := qe.members[ch]
	if r == nil {
		return
	}
	delete(qe.members, ch)
	e := r.e
	if e.talk == r {
		qe.release(e)
		e.ch.end(causeNormal, false, false, HungUpByOperator)
	} else {
		stopTimer(r.timer)
		e.rings = slices.DeleteFunc(e.rings, func(x *ring) bool { return x == r })
		d := qe.device(r.op.Device)
		d.ringing--
		qe.update(d)
		qe.publishFree()
	}
	qe.dispatch()
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}
