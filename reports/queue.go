package reports

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// The operators' queue: what happens to a call after the IVR hands it over.
//
// A call handed to the operators (call.transferred) waits in the queue until
// an operator answers it (call.operator_answered), the caller hangs up
// (call.queue_abandoned) or the call ends some other way (call.ended with
// where). Which of these happened is the call's fate. Events may come late
// or twice, so the fate is worked out from everything the call has seen so
// far, and an hour's figures take the old fate out and put the new one in
// whenever it changes, as the prank figure does:
//
//   - answered: a call.operator_answered (whatever else came), or a
//     call.ended with where=operator (the time to a person is then unknown);
//   - abandoned: a call.queue_abandoned, when no operator answered;
//   - queue_ended: a call.ended with where=queue and neither of the above:
//     the call ended in the queue by the system (no person reached);
//   - unknown: a handed-over call that ended with where=unknown (no IVR
//     followed it), or with where=ivr or empty (an IVR older than the
//     queue events, which let go of the call at the hand-off): whether a
//     person answered is not known, so it is counted apart and left out of
//     the answer shares;
//   - waiting: handed over, not ended and none of the above.
//
// The answer standards (NENA: 90 % of calls answered by a person within
// 15 s, 95 % within 20 s; EENA: 10 s) are judged on seconds_to_person, the
// time from the IVR's answer to the operator's. The share within T seconds
// is taken among the calls whose fate is known — answered with a known
// time, abandoned, or ended in the queue — plus the calls still waiting
// whose time since the IVR's answer is already over T (they can no longer
// be answered within T); a call still waiting under T is not decided yet
// for that threshold and is left out of it. Abandoned calls and calls ended
// in the queue count as not within every threshold.

// WithinThresholds are the answered-within shares' thresholds, in seconds,
// with their JSON keys; the board draws one line per threshold.
var WithinThresholds = [...]struct {
	Key     string
	Seconds float64
}{{"10s", 10}, {"15s", 15}, {"20s", 20}}

// PersonBounds are the upper bounds (seconds) of the Prometheus histogram
// of seconds to a person, around the answer standards' 10, 15 and 20 s.
var PersonBounds = []float64{5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300}

// Queue states of a call, for CallRecord.Queue.
const (
	QueueWaiting   = "waiting"
	QueueAnswered  = "answered"
	QueueAbandoned = "abandoned"
	QueueEnded     = "queue_ended"
	QueueUnknown   = "unknown"
)

// fate is what a call contributes to its hour's queue figures.
type fate struct {
	state string  // one of the Queue* states, or "" for a call never handed over
	stp   float64 // seconds to a person for an answered call; -1 unknown
}

// fate is the call's queue fate from what it has seen so far (see above).
func (cs *callState) fate() fate {
	r := &cs.rec
	switch {
	case cs.opSet:
		return fate{QueueAnswered, cs.stp}
	case r.QueueAbandoned:
		return fate{QueueAbandoned, -1}
	case r.Ended.IsZero():
		if r.Transferred {
			return fate{QueueWaiting, -1}
		}
		return fate{}
	}
	switch r.Where {
	case events.WhereOperator:
		return fate{QueueAnswered, -1}
	case events.WhereQueue:
		return fate{QueueEnded, -1}
	}
	if r.Transferred {
		return fate{QueueUnknown, -1}
	}
	return fate{}
}

// queueFigures are an hour's (or a range's) queue figures.
type queueFigures struct {
	answered, abandoned, ended, unknown int64
	// noTime counts answered calls whose seconds to a person is unknown.
	noTime int64
	// decided counts calls in every share's denominator (answered with a
	// known time, abandoned, ended in the queue); within those answered
	// within each threshold.
	decided int64
	within  [len(WithinThresholds)]int64
	// over counts, per threshold, calls still waiting past it (query time
	// only; never stored in an hour).
	over [len(WithinThresholds)]int64
	// waiting counts calls of the range still waiting (query time only).
	waiting int64
}

// add adds (d=1) or takes out (d=-1) a fate.
func (q *queueFigures) add(f fate, d int64) {
	switch f.state {
	case QueueAnswered:
		q.answered += d
		if f.stp < 0 {
			q.noTime += d
			return
		}
		q.decided += d
		for i, th := range WithinThresholds {
			if f.stp <= th.Seconds {
				q.within[i] += d
			}
		}
	case QueueAbandoned:
		q.abandoned += d
		q.decided += d
	case QueueEnded:
		q.ended += d
		q.decided += d
	case QueueUnknown:
		q.unknown += d
	}
}

func (q *queueFigures) merge(o queueFigures) {
	q.answered += o.answered
	q.abandoned += o.abandoned
	q.ended += o.ended
	q.unknown += o.unknown
	q.noTime += o.noTime
	q.decided += o.decided
	q.waiting += o.waiting
	for i := range q.within {
		q.within[i] += o.within[i]
		q.over[i] += o.over[i]
	}
}

// PersonTimes are percentiles of seconds to a person (the IVR's answer to
// an operator's), nearest rank on the log-spaced histogram of hist.go; Max
// is exact.
type PersonTimes struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	Max   float64 `json:"max"`
}

// QueueStats are a bucket's figures past the hand-off. Every call counts in
// the hour it started, as the other figures do.
type QueueStats struct {
	// OperatorAnswered counts calls an operator answered; QueueAbandoned
	// calls whose caller hung up in the queue; QueueEnded calls the system
	// ended in the queue; QueueUnknown handed-over calls nobody followed
	// to their end (left out of the shares); Waiting calls still waiting.
	OperatorAnswered int64 `json:"operator_answered"`
	QueueAbandoned   int64 `json:"queue_abandoned"`
	QueueEnded       int64 `json:"queue_ended"`
	QueueUnknown     int64 `json:"queue_unknown"`
	Waiting          int64 `json:"waiting"`
	// AnsweredWithin is, per threshold ("10s", "15s", "20s"), the share
	// of calls answered by a person within it (package comment of
	// queue.go); null for a threshold no call is decided for, absent when
	// none is. AnsweredWithinOf are the shares' denominators.
	AnsweredWithin   map[string]*float64 `json:"answered_within,omitempty"`
	AnsweredWithinOf map[string]int64    `json:"answered_within_of,omitempty"`
	// SecondsToPerson describes the answered calls whose time is known;
	// absent when there are none.
	SecondsToPerson *PersonTimes `json:"seconds_to_person,omitempty"`
}

// queueResult turns merged figures into a bucket's QueueStats.
func queueResult(q queueFigures, stp hist, stpMax float64) QueueStats {
	out := QueueStats{
		OperatorAnswered: q.answered, QueueAbandoned: q.abandoned, QueueEnded: q.ended,
		QueueUnknown: q.unknown, Waiting: q.waiting,
	}
	for i, th := range WithinThresholds {
		of := q.decided + q.over[i]
		if of == 0 {
			continue
		}
		if out.AnsweredWithin == nil {
			out.AnsweredWithin = make(map[string]*float64, len(WithinThresholds))
			out.AnsweredWithinOf = make(map[string]int64, len(WithinThresholds))
			for _, t := range WithinThresholds {
				out.AnsweredWithin[t.Key] = nil
				out.AnsweredWithinOf[t.Key] = 0
			}
		}
		v := math.Round(float64(q.within[i])/float64(of)*10000) / 10000
		out.AnsweredWithin[th.Key] = &v
		out.AnsweredWithinOf[th.Key] = of
	}
	if stp.n > 0 {
		out.SecondsToPerson = &PersonTimes{
			Count: int64(stp.n), P50: round2(stp.quantile(0.5)), P90: round2(stp.quantile(0.9)),
			P95: round2(stp.quantile(0.95)), Max: round2(stpMax),
		}
	}
	return out
}

// moveFate updates the call's hour when its fate changed from old.
// Called with mu held.
func (a *Aggregator) moveFate(cs *callState, b *bucket, old fate) {
	nf := cs.fate()
	if nf == old {
		return
	}
	cs.rec.Queue = nf.state
	if nf.state == QueueWaiting {
		a.waiting[cs.rec.CallID] = cs
	} else {
		delete(a.waiting, cs.rec.CallID)
	}
	if b == nil {
		return
	}
	b.queue.add(old, -1)
	b.queue.add(nf, 1)
}

// applyOperatorAnswered records that an operator took the call. Called
// with mu held.
func (a *Aggregator) applyOperatorAnswered(e events.Envelope, cs *callState, b *bucket, d events.OperatorAnswered) {
	a.setType(cs, b, d.EmergencyType)
	if cs.opSet {
		return
	}
	cs.opSet = true
	r := &cs.rec
	r.OperatorAnswered = e.Time
	r.Operator = d.Operator
	cs.stp = -1
	if d.SecondsToPerson >= 0 && !math.IsNaN(d.SecondsToPerson) && !math.IsInf(d.SecondsToPerson, 0) {
		cs.stp = d.SecondsToPerson
		v := d.SecondsToPerson
		r.SecondsToPerson = &v
		if b != nil {
			if b.stp.bins == nil {
				b.stp = newHist()
			}
			b.stp.add(v)
			b.stpMax = math.Max(b.stpMax, v)
		}
		a.counters.PersonCount++
		a.counters.PersonSum += v
		for i, ub := range PersonBounds {
			if v <= ub {
				a.counters.PersonBuckets[i]++
			}
		}
	}
	if d.SecondsInQueue >= 0 {
		r.SecondsInQueue = d.SecondsInQueue
	}
	a.counters.OperatorAnswered++
}

// applyQueueAbandoned records a caller who hung up in the queue: a caller
// to call back. Called with mu held.
func (a *Aggregator) applyQueueAbandoned(cs *callState, b *bucket, d events.QueueAbandoned) {
	a.setType(cs, b, d.EmergencyType)
	r := &cs.rec
	if r.QueueAbandoned {
		return
	}
	r.QueueAbandoned = true
	if d.SecondsInQueue >= 0 {
		r.SecondsInQueue = d.SecondsInQueue
	}
	a.counters.QueueAbandoned++
	// Always a call-back, whatever the field says: the caller gave a sign
	// of a person and reached none.
	if !r.Callback {
		r.Callback = true
		if b != nil {
			b.callbacks++
		}
	}
}

// Operator states counted by the board and the API.
var operatorStates = []string{events.OperatorFree, events.OperatorRinging, events.OperatorBusy, events.OperatorAway, events.OperatorUnknown}

// maxOperators bounds the devices whose state is kept: operator.state
// comes from the event stream, and anyone allowed to publish on it
// chooses device names. A centre has tens of operators.
const maxOperators = 1024

// OperatorDevice is the latest state of one operator's device on one
// Asterisk node.
type OperatorDevice struct {
	Node          string    `json:"node"`
	Device        string    `json:"device"`
	State         string    `json:"state"`
	AsteriskState string    `json:"asterisk_state"`
	Queues        []string  `json:"queues,omitempty"`
	Since         time.Time `json:"since"`
}

type operatorKey struct{ node, device string }

// applyOperatorState keeps the latest state per (node, device): an older
// event, replayed or late, does not overwrite a newer one. Called with mu
// held.
func (a *Aggregator) applyOperatorState(e events.Envelope, d events.OperatorState) {
	if d.Device == "" {
		return
	}
	if !slices.Contains(operatorStates, d.State) {
		d.State = events.OperatorUnknown
	}
	k := operatorKey{e.Node, d.Device}
	old, ok := a.operators[k]
	switch {
	case ok && e.Time.Before(old.Since):
		return
	case !ok && len(a.operators) >= maxOperators:
		return
	}
	a.operators[k] = OperatorDevice{
		Node: e.Node, Device: d.Device, State: d.State, AsteriskState: d.AsteriskState,
		Queues: slices.Clone(d.Queues), Since: e.Time,
	}
}

// Operators counts operators' devices by state (free, ringing, busy, away,
// unknown; every state listed).
type Operators struct {
	Free    int `json:"free"`
	Ringing int `json:"ringing"`
	Busy    int `json:"busy"`
	Away    int `json:"away"`
	Unknown int `json:"unknown"`
	// Devices lists each device's latest state, by node and device; only
	// for a request with the admin token.
	Devices []OperatorDevice `json:"devices,omitempty"`
}

// QueueNow is the operators' queue at one moment.
type QueueNow struct {
	// Waiting counts calls waiting in the queue now; ByType by emergency
	// type (every configured type listed).
	Waiting int            `json:"waiting_now"`
	ByType  map[string]int `json:"waiting_by_type"`
	// LongestWaitS is the longest time in the queue (since the hand-off)
	// among the calls waiting; nil when none waits. LongestSince is when
	// that call was handed over (zero when none), for a board that ticks.
	LongestWaitS *float64  `json:"longest_wait_s"`
	LongestSince time.Time `json:"-"`
	Operators    Operators `json:"operators"`
}

// Queue returns the queue at now: calls waiting (ignoring any silent for
// more than an hour, whose IVR probably died, as Active does) and the
// operators' states. devices lists every device too.
func (a *Aggregator) Queue(now time.Time, devices bool) QueueNow {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := QueueNow{ByType: make(map[string]int, len(a.types))}
	for t := range a.types {
		q.ByType[t] = 0
	}
	for _, cs := range a.waiting {
		if now.Sub(cs.last) >= activeTimeout {
			continue
		}
		q.Waiting++
		q.ByType[waitingKey(a.types, cs.rec)]++
		if q.LongestSince.IsZero() || cs.rec.Queued.Before(q.LongestSince) {
			q.LongestSince = cs.rec.Queued
		}
	}
	// A caller called back and put through waits like any other.
	for _, cs := range a.cbWaiting {
		if now.Sub(cs.last) >= activeTimeout {
			continue
		}
		q.Waiting++
		// Its type is the dropped call's: a menu type, or the outcome a
		// caller who chose none was put through with.
		key := waitingKey(a.types, CallRecord{EmergencyType: cs.cb.queueType})
		if !a.types[cs.cb.queueType] {
			key = waitingKey(a.types, CallRecord{Outcome: cs.cb.queueType})
		}
		q.ByType[key]++
		if q.LongestSince.IsZero() || cs.cb.queued.Before(q.LongestSince) {
			q.LongestSince = cs.cb.queued
		}
	}
	if q.Waiting > 0 {
		w := math.Round(math.Max(0, now.Sub(q.LongestSince).Seconds())*10) / 10
		q.LongestWaitS = &w
	}
	for _, d := range a.operators {
		switch d.State {
		case events.OperatorFree:
			q.Operators.Free++
		case events.OperatorRinging:
			q.Operators.Ringing++
		case events.OperatorBusy:
			q.Operators.Busy++
		case events.OperatorAway:
			q.Operators.Away++
		default:
			q.Operators.Unknown++
		}
		if devices {
			q.Operators.Devices = append(q.Operators.Devices, d)
		}
	}
	slices.SortFunc(q.Operators.Devices, func(x, y OperatorDevice) int {
		return cmp.Or(strings.Compare(x.Node, y.Node), strings.Compare(x.Device, y.Device))
	})
	return q
}

// waitingInRange counts the calls still waiting (not silent for an hour)
// into the accumulators place returns for their hour (none: outside the
// range): as waiting, and as not within each threshold their time since
// the IVR's answer is already over. Called with mu held.
func (a *Aggregator) waitingInRange(now time.Time, place func(key int64) []*acc) {
	for _, cs := range a.waiting {
		if now.Sub(cs.last) >= activeTimeout {
			continue
		}
		accs := place(cs.key)
		if accs == nil {
			continue
		}
		// Time to a person counts from the IVR's answer; without it, from
		// the hand-off less the time the IVR took.
		since := cs.rec.Answered
		if since.IsZero() {
			since = cs.rec.Queued.Add(-time.Duration(cs.rec.SecondsToQueue * float64(time.Second)))
		}
		el := now.Sub(since).Seconds()
		for _, c := range accs {
			c.b.queue.waiting++
			for i, th := range WithinThresholds {
				if el > th.Seconds {
					c.b.queue.over[i]++
				}
			}
		}
	}
}

// waitingKey is what a waiting call is counted under: its emergency type
// when it is a configured one; for a caller who chose none (spoke, pressed
// 5 5, overrode a block, or was failed over), that outcome; else OtherKey.
// Both sets are bounded, so a forged value cannot grow the label sets.
func waitingKey(types map[string]bool, r CallRecord) string {
	if types[r.EmergencyType] {
		return r.EmergencyType
	}
	if r.EmergencyType == "" {
		switch events.Outcome(r.Outcome) {
		case events.OutcomeVoice, events.OutcomeSilentHelp, events.OutcomeBlockedOverride, events.OutcomeFailover:
			return r.Outcome
		}
	}
	return OtherKey
}
