package arisim

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The simulated queues play what Asterisk's app_queue does with a caller the
// IVR continued into the operators' context, as asterisk-conf's queues.conf
// and extensions.conf set it up: strategy ringall (every free member rings,
// the first to answer takes the call), ringinuse=no (a member who is ringing
// or on a call is not rung), and for the type queues joinempty/leavewhenempty
// = unavailable,invalid,unknown with a Queue() timeout, after which the caller
// goes on to the general operator queue, where they wait until answered.
//
// An application subscribed to the caller's channel hears it as Asterisk
// tells it: a Dial per member rung (dialstatus ""), ANSWER for the member who
// answers and CANCEL for the others, ChannelVarset for a few of the variables
// Queue sets, and ChannelHangupRequest/ChannelDestroyed at the end. Members
// are real sim channels (PJSIP/op201-0000001a), in no application.
//
// Lock order: Server.life, then queueEngine.mu, then bridgeMu and any
// channel's mu, then Server.queueMu (and Server.mu, which emit takes).
// Everything that ends a channel goes through queueEngine.mu
// (channel.hangup), so that a caller leaves its queue (CANCELs first) before
// the channel is destroyed.

// Operator is one scripted member of a simulated queue.
type Operator struct {
	Device      string        // the member's interface, e.g. "PJSIP/op201" (Dial's dialstring)
	AnswerAfter time.Duration // ring time before the operator answers (× ClockScale); 0 = at once
	NoAnswer    bool          // rings and never answers
	TalkFor     time.Duration // after answering, the operator hangs up after this long (× ClockScale); 0 = stays until the caller hangs up
}

// Queue is one simulated Asterisk queue.
type Queue struct {
	Members  []Operator
	Timeout  time.Duration // Queue()'s timeout (× ClockScale): after it the caller goes on to Overflow; 0 = none
	Overflow string        // queue joined after Timeout or when every member is away ("" = none: the caller stays)

	// The rest are queues.conf settings, none by default. asterisk-conf sets
	// timeout = 20, retry = 2 and wrapuptime = 5 for every siaga112 queue.

	// RingTimeout (queues.conf timeout, × ClockScale) ends a ring attempt:
	// the members still ringing get Dial NOANSWER and stop; 0 = they ring
	// until one answers or the caller leaves.
	RingTimeout time.Duration
	// Retry (queues.conf retry, × ClockScale) is the pause after an
	// unanswered attempt before the free members ring again.
	Retry time.Duration
	// WrapUp (queues.conf wrapuptime, × ClockScale) is how long after a call
	// a member is not rung by this queue (shared_lastcall: whichever queue
	// the call came from). Its device is NOT_INUSE meanwhile, and counts as
	// free in QUEUE_MEMBER, as in app_queue.
	WrapUp time.Duration
}

// operatorQueue is the general operators' queue, where extension "operator"
// and every extension without a queue of its own end up.
const operatorQueue = "siaga112-operator"

// queuePrefix turns an extension of the operators' context into its queue.
const queuePrefix = "siaga112-"

// maxOverflow bounds the hops from queue to queue, so that two queues that
// overflow into each other while both are empty cannot loop for ever.
const maxOverflow = 8

// Values of QUEUESTATUS when Queue() returns (app_queue.c).
const (
	queueStatusTimeout   = "TIMEOUT"
	queueStatusJoinEmpty = "JOINEMPTY"
	queueStatusLeaveEmpy = "LEAVEEMPTY"
)

// callerDisplay is what extensions.conf's [siaga112-operators] sets as the
// caller id name before Queue(), so the operator's phone shows the type:
// per extension, and on extension operator per SIAGA112_TYPE.
var (
	callerDisplayByExten = map[string]string{"fire": "KEBAKARAN", "medical": "MEDIS", "police": "POLISI", "disaster": "BENCANA"}
	callerDisplayByType  = map[string]string{"silent_help": "SENYAP", "voice": "SUARA", "blocked_override": "DIBLOKIR"}
)

// queueEngine holds the simulated queues, their callers and the device states.
type queueEngine struct {
	s *Server

	mu      sync.Mutex // guards everything below
	queues  map[string]*simQueue
	devices map[string]*device
	callers map[*channel]*queueEntry // callers in a queue or with an operator
	members map[*channel]*ring       // member channels, ringing or answered
	seq     uint64                   // order of arrival
}

type simQueue struct {
	name    string
	cfg     Queue
	waiting []*queueEntry // callers not yet answered, in order of arrival
}

// queueEntry is one caller in a queue, from joining until the call ends.
type queueEntry struct {
	ch      *channel
	q       *simQueue
	seq     uint64
	hops    int
	rings   []*ring // members ringing for this caller
	timeout *time.Timer
	attempt *time.Timer // ends the ring attempt (Queue.RingTimeout)
	pause   time.Time   // no ringing before (Queue.Retry)
	talk    *ring       // the member who answered
}

func newQueueEngine(s *Server) *queueEngine {
	return &queueEngine{
		s:       s,
		queues:  map[string]*simQueue{},
		devices: map[string]*device{},
		callers: map[*channel]*queueEntry{},
		members: map[*channel]*ring{},
	}
}

// SetQueue defines or replaces a queue, named as in queues.conf (e.g.
// "siaga112-fire"). Its members' devices are NOT_INUSE unless SetDeviceState
// says otherwise. Callers already waiting in it stay, and free members are
// rung for them at once.
func (s *Server) SetQueue(name string, q Queue) {
	qe := s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	q.Members = slices.Clone(q.Members)
	sq := qe.queues[name]
	if sq == nil {
		sq = &simQueue{name: name}
		qe.queues[name] = sq
	}
	sq.cfg = q
	for _, d := range qe.devices {
		d.member = false
	}
	for _, sq := range qe.queues {
		for _, m := range sq.cfg.Members {
			qe.device(m.Device).member = true
		}
	}
	for _, d := range qe.devices {
		qe.update(d)
	}
	qe.publishFree()
	qe.checkEmpty()
	qe.dispatch()
}

// SetQueueFree sets how many operators of an Asterisk queue are free, as
// the dialplan function QUEUE_MEMBER(<queue>,free) reports it to a
// GET /channels/{id}/variable. Set, it wins over what the members of a
// queue defined with SetQueue would say. Tests and the demo use it to play
// a centre whose operators are free or all busy.
func (s *Server) SetQueueFree(queue string, free int) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queueFree == nil {
		s.queueFree = map[string]int{}
	}
	s.queueFree[queue] = max(free, 0)
}

// QueueFree is what QUEUE_MEMBER(<queue>,free) answers now: what
// SetQueueFree set, if it was called for the queue; else, for a queue
// defined with members, how many of them are NOT_INUSE (app_queue counts
// members in that state and not paused); else 0.
func (s *Server) QueueFree(queue string) int {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if n, ok := s.queueFree[queue]; ok {
		return n
	}
	if n, ok := s.queueInfo[queue]; ok && n >= 0 {
		return n
	}
	return 0
}

// queueFor is the queue a continue to t joins, or "" when none is defined
// for it: extension X of the operators' context joins "siaga112-"+X, and an
// extension without a queue of its own the general operator queue, as the
// dialplan's Goto(operator,1) after Queue() does.
func (s *Server) queueFor(t DialplanTarget) string {
	if t.Context != s.opts.OperatorContext {
		return ""
	}
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	for _, name := range []string{queuePrefix + t.Extension, operatorQueue} {
		if _, ok := s.queueInfo[name]; ok {
			return name
		}
	}
	return ""
}

// publishFree copies each defined queue's number of free members where
// QUEUE_MEMBER and queueFor read it (under queueMu, which a channel's lock may
// be held for). qe.mu is held.
func (qe *queueEngine) publishFree() {
	info := make(map[string]int, len(qe.queues))
	for name, q := range qe.queues {
		if len(q.cfg.Members) == 0 {
			info[name] = -1
			continue
		}
		n := 0
		for _, m := range q.cfg.Members {
			if qe.device(m.Device).state() == DeviceNotInUse {
				n++
			}
		}
		info[name] = n
	}
	qe.s.queueMu.Lock()
	qe.s.queueInfo = info
	qe.s.queueMu.Unlock()
}

// queueLine is the dialplan position of a caller in queue q, as snapshots
// show it: extension <type> priority 2 for a type queue, extension operator
// priority 5 (the n(join) line) for the general one.
func (qe *queueEngine) queueLine(q *simQueue) dialplanJSON {
	data := q.name + ",t"
	if q.cfg.Timeout > 0 {
		data += ",,," + strconv.Itoa(int(q.cfg.Timeout/time.Second))
	}
	dp := dialplanJSON{Context: qe.s.opts.OperatorContext, Exten: strings.TrimPrefix(q.name, queuePrefix), Priority: 2, AppName: "Queue", AppData: data}
	if q.name == operatorQueue {
		dp.Exten, dp.Priority = "operator", 5
	}
	return dp
}

// join puts a continued caller into the queue chosen at the continue.
func (qe *queueEngine) join(ch *channel) {
	qe.mu.Lock()
	defer qe.mu.Unlock()
	ch.mu.Lock()
	name, ok := ch.queue, !ch.gone && !ch.inStasis && qe.callers[ch] == nil
	if ok {
		// [siaga112-operators] <type>,1: Set(CALLERID(name)=KEBAKARAN ${CALLERID(num)}).
		if label := callerDisplayByExten[ch.dp.Exten]; label != "" {
			ch.caller.Name = label + " " + ch.caller.Number
		}
	}
	ch.mu.Unlock()
	if ok {
		qe.enter(ch, name, 0)
	}
}

// enter makes ch (alive, out of Stasis, in no queue) join queue name, or go
// on to its overflow when joinempty keeps it out.
func (qe *queueEngine) enter(ch *channel, name string, hops int) {
	q := qe.queues[name]
	if q == nil {
		ch.mu.Lock()
		ch.noQueue = true // Queue() returns at once for a queue that does not exist
		ch.broadcastLocked()
		ch.mu.Unlock()
		return
	}
	ch.mu.Lock()
	if ch.gone {
		ch.mu.Unlock()
		return
	}
	dp := qe.queueLine(q)
	if dp.Exten == "operator" {
		// exten => operator: ExecIf(SIAGA112_TYPE = ...)?Set(CALLERID(name)=SENYAP ...)
		if label := callerDisplayByType[ch.vars["SIAGA112_TYPE"]]; label != "" {
			ch.caller.Name = label + " " + ch.caller.Number
		}
	}
	ch.dp = dp
	if q.cfg.Overflow != "" && hops < maxOverflow && qe.allAway(q) {
		// joinempty: the caller does not join; Queue() returns and the
		// dialplan goes on to the operators' queue.
		_ = ch.setVarLocked("QUEUESTATUS", queueStatusJoinEmpty)
		ch.mu.Unlock()
		qe.enter(ch, q.cfg.Overflow, hops+1)
		return
	}
	qe.seq++
	e := &queueEntry{ch: ch, q: q, seq: qe.seq, hops: hops}
	q.waiting = append(q.waiting, e)
	qe.callers[ch] = e
	ch.view.Queue = name
	if ch.view.QueuedAt.IsZero() {
		ch.view.QueuedAt = time.Now()
	}
	_ = ch.setVarLocked("QUEUEPOSITION", strconv.Itoa(len(q.waiting)))
	ch.broadcastLocked()
	ch.mu.Unlock()
	if q.cfg.Timeout > 0 && q.cfg.Overflow != "" {
		e.timeout = time.AfterFunc(qe.s.scaled(q.cfg.Timeout), func() {
			qe.mu.Lock()
			defer qe.mu.Unlock()
			if qe.callers[ch] == e && e.talk == nil {
				qe.overflow(e, queueStatusTimeout)
			}
		})
	}
	qe.dispatch()
}

// allAway reports whether no member of q can take a call: joinempty and
// leavewhenempty = unavailable,invalid,unknown (a queue without members is
// empty too).
func (qe *queueEngine) allAway(q *simQueue) bool {
	for _, m := range q.cfg.Members {
		switch qe.device(m.Device).state() {
		case DeviceUnavailable, DeviceInvalid, DeviceUnknown:
		default:
			return false
		}
	}
	return true
}

// overflow takes a waiting caller out of its queue (QUEUESTATUS status) and
// into the queue's overflow.
func (qe *queueEngine) overflow(e *queueEntry, status string) {
	qe.cancelRings(e, causeNormal)
	qe.remove(e)
	ch := e.ch
	ch.mu.Lock()
	alive := !ch.gone
	if alive {
		_ = ch.setVarLocked("QUEUESTATUS", status)
	}
	ch.mu.Unlock()
	if alive {
		qe.enter(ch, e.q.cfg.Overflow, e.hops+1)
	}
}

// checkEmpty applies leavewhenempty: waiting callers of a queue with an
// overflow whose members are all away leave for it.
func (qe *queueEngine) checkEmpty() {
	for _, q := range qe.sortedQueues() {
		if q.cfg.Overflow == "" || len(q.waiting) == 0 || !qe.allAway(q) {
			continue
		}
		for _, e := range slices.Clone(q.waiting) {
			if e.hops < maxOverflow {
				qe.overflow(e, queueStatusLeaveEmpy)
			}
		}
	}
}

func (qe *queueEngine) sortedQueues() []*simQueue {
	qs := make([]*simQueue, 0, len(qe.queues))
	for _, q := range qe.queues {
		qs = append(qs, q)
	}
	slices.SortFunc(qs, func(a, b *simQueue) int { return strings.Compare(a.name, b.name) })
	return qs
}

// reset forgets every caller and member call (Restart, Close: their channels
// vanish) and every device subscription; queues and device states stay.
func (qe *queueEngine) reset() {
	qe.mu.Lock()
	defer qe.mu.Unlock()
	for _, e := range qe.callers {
		stopTimer(e.timeout)
		stopTimer(e.attempt)
		for _, r := range e.rings {
			stopTimer(r.timer)
		}
		if e.talk != nil {
			stopTimer(e.talk.timer)
		}
	}
	qe.callers = map[*channel]*queueEntry{}
	qe.members = map[*channel]*ring{}
	for _, q := range qe.queues {
		q.waiting = nil
	}
	for _, d := range qe.devices {
		d.ringing, d.talking = 0, 0
		d.subs = nil
		d.shown = d.state()
	}
	qe.publishFree()
}
