// Package reports turns the siaga112 event stream into what a 112 centre's
// supervisor looks at: per-hour and per-day statistics, the recent calls,
// repeat callers and blocked numbers (Aggregator, pure), kept up to date by a
// JetStream worker (Worker) and served as a dashboard, a JSON/CSV API and
// Prometheus metrics (Server).
//
// # Definitions
//
// A call is counted once, in the local hour (Options.Location) of the first
// event seen for its call id — normally call.started. Every other figure of
// the call (outcome, type, prank, ...) is added to that same hour, even when
// its event comes later, so an hour's figures always describe the calls that
// began in it.
//
//   - outcomes: the first outcome seen, from call.classified or, if that never
//     came, call.ended. Calls - sum(outcomes) is reported as in_progress.
//   - types: the emergency type from call.classified or call.transferred.
//   - put_through: calls with a call.transferred event: handed to the
//     operators' queue, which is not yet answered by a person. What came of
//     them — answered by an operator, abandoned or ended in the queue,
//     unknown, still waiting — and the shares answered within 10, 15 and
//     20 s are defined in queue.go.
//   - blocked: calls whose caller was blocked when the call started
//     (call.started blocked=true); overrides: blocked callers put through
//     (outcome blocked_override or transferred.blocked_override).
//   - prank: a call is prank-like when an operator's latest verdict on it is
//     "prank", or when its outcome is no_input, abandoned or invalid and no
//     operator has marked it "genuine". Each call counts at most once, so a
//     prank verdict on a no_input call does not count it twice, and a later
//     "genuine" verdict takes it out again. prank_ratio = prank / calls (0
//     when there are no calls).
//   - time to classify: seconds_to_classify of call.classified, for every
//     classified call; median and p90 use the nearest-rank definition on a
//     log-spaced histogram (value error ≤ 2.44 %, see hist.go).
//   - callbacks: calls whose call.classified or call.ended says callback
//     (a caller who asked for help and reached no person: dropped before
//     the operators' queue, or ended in it), and every call.queue_abandoned.
//   - repeat callers (TopCallers) count a call as prank-like when it is
//     prank-like as above or was refused because the number was blocked
//     (outcome blocked, no "genuine" verdict): a blocked number calling
//     again and again is the prankster the list is for. The prank share
//     itself does not count refused calls, which have their own figure.
//
// # Retention and memory
//
// Hourly buckets are kept for Options.Retention behind the receiver's clock
// (Options.Now), never behind the newest event: one event dated in the
// future (a forger, a host with a wrong clock) would otherwise push every
// real hour out of retention and empty the dashboard. Events dated more
// than Options.MaxSkew ahead of the clock are refused as malformed. Days
// are merged from hours when asked for. Per-call records are kept
// for the last Options.RecentCalls calls only (a ring): an event for a call
// that has left the ring — a verdict given much later, say — no longer
// changes the statistics and is counted in Counters.Orphans. The last
// DedupeIDs event ids are remembered to drop redelivered events.
package reports

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// BucketSize is the width of a statistics bucket.
type BucketSize string

// Bucket sizes.
const (
	Hour BucketSize = "hour"
	Day  BucketSize = "day"
)

// DefaultDedupeIDs is how many event ids the aggregator remembers when
// Options.DedupeIDs is 0. JetStream redelivers within the ack wait, so a
// window of tens of thousands of events is ample; it costs about 5 MB.
const DefaultDedupeIDs = 1 << 16

// DefaultCountry is the country calling code national numbers are read in
// when Options.DefaultCountry is empty (62, Indonesia, like the default of
// configs.Blocklist.DefaultCountry).
const DefaultCountry = "62"

// MaxBuckets bounds the buckets one Stats query may return.
const MaxBuckets = 24 * 100

// activeTimeout: a call with no call.ended whose last event is older than
// this is not counted as active (the IVR that owned it probably died).
const activeTimeout = time.Hour

// DefaultEmergencyTypes are the menu's types in the default configuration.
var DefaultEmergencyTypes = []string{"fire", "medical", "police", "disaster", "operator"}

// OutcomeInProgress is the key used for calls without an outcome yet.
const OutcomeInProgress = "in_progress"

// Errors returned by queries.
var (
	// ErrRange is wrapped when from/to do not form a valid range.
	ErrRange = errors.New("reports: bad time range")
	// ErrBucket is returned for a bucket size other than hour or day.
	ErrBucket = errors.New("reports: bucket must be hour or day")
)

// Options configures an Aggregator.
type Options struct {
	// Location is the zone whose local hours and days buckets follow; nil means UTC.
	Location *time.Location
	// RecentCalls is how many per-call records are kept (default 1000).
	RecentCalls int
	// Retention is how long hourly buckets are kept behind Now (default 90
	// days).
	Retention time.Duration
	// Now is the receiver's clock (default time.Now); tests set it.
	Now func() time.Time
	// MaxSkew is how far ahead of Now an event may be dated (default
	// events.DefaultMaxSkew); later ones are refused as malformed.
	MaxSkew time.Duration
	// EmergencyTypes are the types of the IVR's menu (ivr.menu[].type;
	// default DefaultEmergencyTypes). /metrics labels any other type
	// "other", so forged types cannot grow its label sets.
	EmergencyTypes []string
	// DedupeIDs is how many event ids are remembered (default DefaultDedupeIDs).
	DedupeIDs int
	// DefaultCountry is the country calling code used to bring national
	// numbers to E.164 (configs.Blocklist.DefaultCountry, so reports and
	// blocklist agree on who is who; default DefaultCountry).
	DefaultCountry string
}

// CallRecord is what the reports know about one call.
type CallRecord struct {
	CallID            string    `json:"call_id"`
	Node              string    `json:"node"`
	Number            string    `json:"number"`
	Started           time.Time `json:"started"`
	Answered          time.Time `json:"answered,omitzero"`
	Classified        time.Time `json:"classified,omitzero"`
	Ended             time.Time `json:"ended,omitzero"`
	Outcome           string    `json:"outcome"`
	EmergencyType     string    `json:"emergency_type"`
	Attempts          int       `json:"attempts"`
	SecondsToClassify float64   `json:"seconds_to_classify"`
	DurationS         float64   `json:"duration_s"`
	Transferred       bool      `json:"transferred"`
	Blocked           bool      `json:"blocked"`
	Override          bool      `json:"override"`
	Verdict           string    `json:"verdict"`
	Prank             bool      `json:"prank"`
	// Callback marks a caller who asked for help but dropped before the
	// operators' queue: someone must call the number back.
	Callback bool `json:"callback"`
	// Handled is an operator's tick on a call that needed attention
	// (called_back or handled); empty until someone ticked it.
	Handled string `json:"handled,omitempty"`
	// SecondsToQueue is the time from answer to the operators' queue
	// (0 when the call did not reach it).
	SecondsToQueue float64 `json:"seconds_to_queue,omitempty"`
	// IncidentID is the incident announcement the caller heard.
	IncidentID string `json:"incident_id,omitempty"`
	// Queued is when the call was handed to the operators' queue.
	Queued time.Time `json:"queued,omitzero"`
	// Queue is the call's state past the hand-off: waiting, answered,
	// abandoned, queue_ended or unknown (queue.go); empty for a call never
	// handed over.
	Queue string `json:"queue,omitempty"`
	// OperatorAnswered is when an operator answered, and Operator the
	// member's device that did (PJSIP/op201).
	OperatorAnswered time.Time `json:"operator_answered,omitzero"`
	Operator         string    `json:"operator,omitempty"`
	// SecondsToPerson is the time from the IVR's answer to the operator's;
	// absent when no operator answered or the time is not known.
	SecondsToPerson *float64 `json:"seconds_to_person,omitempty"`
	// SecondsInQueue is the time from the hand-off to the operator's
	// answer or the caller's hang-up in the queue.
	SecondsInQueue float64 `json:"seconds_in_queue,omitempty"`
	// QueueAbandoned marks a caller who hung up in the queue.
	QueueAbandoned bool `json:"queue_abandoned,omitempty"`
	// Where is where the call ended (call.ended's where: ivr, queue,
	// operator, unknown; empty from an older IVR or before the end).
	Where string `json:"where,omitempty"`
}

// IncidentStats are one incident announcement's figures.
type IncidentStats struct {
	ID string `json:"id"`
	// Heard counts calls that heard the announcement.
	Heard int64 `json:"heard"`
	// Acknowledged counts callers who pressed its key: calls about the
	// incident that ended without taking an operator.
	Acknowledged int64 `json:"acknowledged"`
	// PutThrough counts callers who heard it and still went to operators.
	PutThrough int64 `json:"put_through"`
}

// NodeStats are one Asterisk node's figures in a bucket.
type NodeStats struct {
	Calls      int64 `json:"calls"`
	PutThrough int64 `json:"put_through"`
	Prank      int64 `json:"prank"`
	Blocked    int64 `json:"blocked"`
}

// Bucket is the statistics of one hour or day, or of a whole range (Totals).
type Bucket struct {
	Start          time.Time            `json:"start"`
	End            time.Time            `json:"end"`
	Calls          int64                `json:"calls"`
	Outcomes       map[string]int64     `json:"outcomes"`
	Types          map[string]int64     `json:"types"`
	Prank          int64                `json:"prank"`
	PrankRatio     float64              `json:"prank_ratio"`
	PutThrough     int64                `json:"put_through"`
	Blocked        int64                `json:"blocked"`
	Overrides      int64                `json:"overrides"`
	Callbacks      int64                `json:"callbacks"`
	Classified     int64                `json:"classified"`
	ClassifyMedian float64              `json:"classify_median_s"`
	ClassifyP90    float64              `json:"classify_p90_s"`
	Nodes          map[string]NodeStats `json:"nodes"`
	// QueueStats are the figures past the hand-off (queue.go).
	QueueStats
}

// Stats is the answer of Aggregator.Stats.
type Stats struct {
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Bucket   BucketSize `json:"bucket"`
	TimeZone string     `json:"time_zone"`
	Totals   Bucket     `json:"totals"`
	Buckets  []Bucket   `json:"buckets"`
}

// CallFilter selects calls for Aggregator.Calls. Zero fields match everything.
type CallFilter struct {
	// From and To bound the call's start time: From ≤ start < To.
	From, To time.Time
	Outcome  string
	Type     string
	// Number matches calls whose number ends with these digits (non-digits
	// are ignored on both sides), so "7890" and "+62 812-3456-7890" both work.
	// A whole number in national or international form ("0812 3456 7890",
	// "0062812...") also matches, since stored numbers are E.164.
	Number string
	// Limit caps the result (0 = no cap beyond the ring).
	Limit int
	// Unmasked returns full numbers; otherwise only the last 4 digits show.
	Unmasked bool
}

// RepeatCaller is one row of Aggregator.TopCallers.
type RepeatCaller struct {
	Number string `json:"number"`
	Calls  int64  `json:"calls"`
	Prank  int64  `json:"prank"`
}

// BlockedNumber is a number currently blocked, from blocklist.changed.
type BlockedNumber struct {
	Number  string    `json:"number"`
	Until   time.Time `json:"until"`
	Strikes int       `json:"strikes"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// OutcomeType labels Counters.Calls.
type OutcomeType struct{ Outcome, Type string }

// ClassifyBounds are the upper bounds (seconds) of Counters.ClassifyBuckets,
// chosen around the IVR's timings (5 s digit timeout, 3 attempts).
var ClassifyBounds = []float64{1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120}

// Counters are lifetime totals since the aggregator was made (for a worker
// that replays the stream: over the stream's retention). They only grow, as
// Prometheus counters must.
type Counters struct {
	// Calls counts calls by their first outcome and the type known then.
	Calls map[OutcomeType]uint64
	// ClassifyCount, ClassifySum and ClassifyBuckets (cumulative, one per
	// ClassifyBounds entry) describe seconds_to_classify.
	ClassifyCount   uint64
	ClassifySum     float64
	ClassifyBuckets []uint64
	// Events counts applied events; Duplicates those dropped as already seen;
	// Orphans events for calls no longer in memory.
	Events, Duplicates, Orphans uint64
	// LastSeq is the highest stream sequence applied.
	LastSeq uint64
	// PersonCount, PersonSum and PersonBuckets (cumulative, one per
	// PersonBounds entry) describe seconds_to_person of the calls an
	// operator answered with a known time.
	PersonCount   uint64
	PersonSum     float64
	PersonBuckets []uint64
	// OperatorAnswered counts calls with a call.operator_answered;
	// QueueAbandoned callers who hung up in the queue.
	OperatorAnswered, QueueAbandoned uint64
}

type numStat struct{ calls, prank int64 }

// bucket is one local hour.
type bucket struct {
	start      time.Time
	calls      int64
	outcomes   map[string]int64
	types      map[string]int64
	prank      int64
	putThrough int64
	blocked    int64
	overrides  int64
	callbacks  int64
	ttc        hist
	nodes      map[string]*NodeStats
	numbers    map[string]*numStat
	queue      queueFigures
	// stp holds seconds to a person, made on the first sample (most hours
	// of a long retention have none); stpMax is the largest.
	stp    hist
	stpMax float64
}

func newBucket(start time.Time) *bucket {
	return &bucket{
		start: start, outcomes: map[string]int64{}, types: map[string]int64{},
		ttc: newHist(), nodes: map[string]*NodeStats{}, numbers: map[string]*numStat{},
	}
}

func (b *bucket) node(n string) *NodeStats {
	n = boundedKey(b.nodes, n)
	s := b.nodes[n]
	if s == nil {
		s = &NodeStats{}
		b.nodes[n] = s
	}
	return s
}

// callState is a record plus what it has already contributed, so each figure
// is added once whatever order its events arrive in.
type callState struct {
	rec       CallRecord
	key       int64 // unix seconds of the hour bucket the call counts in
	last      time.Time
	number    string // number key for repeat callers ("" = withheld)
	typeSet   bool
	ttcSet    bool
	blockSet  bool
	overSet   bool
	transfSet bool
	opSet     bool    // call.operator_answered applied
	stp       float64 // its seconds_to_person (-1 unknown)
}

// Aggregator builds the statistics from events. It is safe for concurrent
// use: Apply from the consumer, queries from HTTP handlers.
type Aggregator struct {
	loc       *time.Location
	retention time.Duration
	country   string // default country calling code for Normalize
	now       func() time.Time
	skew      time.Duration
	recent    int             // RecentCalls
	dedupe    int             // DedupeIDs
	types     map[string]bool // EmergencyTypes; read-only after NewAggregator

	mu sync.Mutex
	// The fields below are guarded by mu.
	buckets  map[int64]*bucket
	calls    map[string]*callState
	ring     []string // call ids, oldest at ringHead once full
	ringHead int
	seen     map[string]struct{}
	seenRing []string
	seenHead int
	blocked  map[string]BlockedNumber
	counters Counters
	// incidents holds the figures of the most recent incident
	// announcements (at most maxIncidents; the oldest is dropped).
	incidents     map[string]*IncidentStats
	incidentOrder []string
	// waiting holds the calls waiting in the operators' queue now (a
	// subset of calls); operators the latest state of each operator's
	// device per Asterisk node.
	waiting   map[string]*callState
	operators map[operatorKey]OperatorDevice
}

// maxIncidents bounds the incident announcements whose figures are kept.
const maxIncidents = 50

// incident returns the figures of an incident, making room for a new one.
// Called with mu held.
func (a *Aggregator) incident(id string) *IncidentStats {
	if st, ok := a.incidents[id]; ok {
		return st
	}
	if a.incidents == nil {
		a.incidents = map[string]*IncidentStats{}
	}
	if len(a.incidentOrder) >= maxIncidents {
		delete(a.incidents, a.incidentOrder[0])
		a.incidentOrder = a.incidentOrder[1:]
	}
	st := &IncidentStats{ID: id}
	a.incidents[id] = st
	a.incidentOrder = append(a.incidentOrder, id)
	return st
}

// Incident returns the figures of one incident announcement.
func (a *Aggregator) Incident(id string) (IncidentStats, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.incidents[id]
	if !ok {
		return IncidentStats{ID: id}, false
	}
	return *st, true
}

// Incidents returns the figures of the incident announcements still held,
// oldest first.
func (a *Aggregator) Incidents() []IncidentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]IncidentStats, 0, len(a.incidentOrder))
	for _, id := range a.incidentOrder {
		out = append(out, *a.incidents[id])
	}
	return out
}

// NewAggregator returns an empty aggregator.
func NewAggregator(o Options) *Aggregator {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.RecentCalls <= 0 {
		o.RecentCalls = 1000
	}
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.DedupeIDs <= 0 {
		o.DedupeIDs = DefaultDedupeIDs
	}
	if o.DefaultCountry == "" {
		o.DefaultCountry = DefaultCountry
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = events.DefaultMaxSkew
	}
	if len(o.EmergencyTypes) == 0 {
		o.EmergencyTypes = DefaultEmergencyTypes
	}
	a := &Aggregator{
		loc: o.Location, retention: o.Retention, country: o.DefaultCountry,
		now: o.Now, skew: o.MaxSkew, recent: o.RecentCalls, dedupe: o.DedupeIDs,
		types: make(map[string]bool, len(o.EmergencyTypes)),
	}
	for _, t := range o.EmergencyTypes {
		a.types[t] = true
	}
	a.reset()
	return a
}

// Reset empties the aggregator, as if it were new, so a stream can be
// replayed into it again (a restarted reports worker does). Its counters
// start again from zero, which Prometheus reads as a counter reset.
func (a *Aggregator) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reset()
}

// reset (re)initialises every field guarded by mu.
func (a *Aggregator) reset() {
	a.buckets, a.calls = map[int64]*bucket{}, map[string]*callState{}
	a.ring, a.ringHead = make([]string, 0, a.recent), 0
	a.seen, a.seenRing, a.seenHead = map[string]struct{}{}, make([]string, 0, a.dedupe), 0
	a.blocked = map[string]BlockedNumber{}
	a.counters = Counters{Calls: map[OutcomeType]uint64{}, ClassifyBuckets: make([]uint64, len(ClassifyBounds)), PersonBuckets: make([]uint64, len(PersonBounds))}
	a.waiting, a.operators = map[string]*callState{}, map[operatorKey]OperatorDevice{}
	a.incidents, a.incidentOrder = map[string]*IncidentStats{}, nil
}

// KnownType reports whether t is one of Options.EmergencyTypes.
func (a *Aggregator) KnownType(t string) bool { return a.types[t] }

// Location is the zone buckets follow.
func (a *Aggregator) Location() *time.Location { return a.loc }

// Apply adds one event. seq is its stream sequence (0 if unknown). It
// reports whether the event changed anything: false for an event id already
// applied. Errors wrap events.ErrMalformed; a malformed event is not applied.
func (a *Aggregator) Apply(e events.Envelope, seq uint64) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq > a.counters.LastSeq {
		a.counters.LastSeq = seq
	}
	if _, dup := a.seen[e.ID]; dup {
		a.counters.Duplicates++
		return false, nil
	}
	if limit := a.now().Add(a.skew); e.Time.After(limit) {
		return false, fmt.Errorf("%w: %s %s is dated %s ahead of this host's clock (at most %s)",
			events.ErrMalformed, e.Type, e.ID, e.Time.Sub(limit.Add(-a.skew)).Round(time.Second), a.skew)
	}
	if err := a.apply(e); err != nil {
		return false, err
	}
	a.remember(e.ID)
	a.counters.Events++
	return true, nil
}

func (a *Aggregator) remember(id string) {
	if len(a.seenRing) < cap(a.seenRing) {
		a.seenRing = append(a.seenRing, id)
	} else {
		delete(a.seen, a.seenRing[a.seenHead])
		a.seenRing[a.seenHead] = id
		a.seenHead = (a.seenHead + 1) % len(a.seenRing)
	}
	a.seen[id] = struct{}{}
}

// apply decodes the event's data first, so a malformed event changes nothing.
func (a *Aggregator) apply(e events.Envelope) error {
	if e.Type == events.TypeBlocklistChanged {
		var d events.BlocklistChanged
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		a.applyBlock(e, d)
		return nil
	}
	if e.Type == events.TypeOperatorState {
		var d events.OperatorState
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		a.applyOperatorState(e, d)
		return nil
	}
	if e.CallID == "" {
		return fmt.Errorf("%w: %s %s has no call_id", events.ErrMalformed, e.Type, e.ID)
	}
	var (
		started     events.Started
		menu        events.Menu
		classified  events.Classified
		transferred events.Transferred
		ended       events.Ended
		verdict     events.Verdict
		handled     events.Handled
		opAnswered  events.OperatorAnswered
		qAbandoned  events.QueueAbandoned
		err         error
	)
	switch e.Type {
	case events.TypeStarted:
		err = e.DecodeData(&started)
	case events.TypeMenu:
		err = e.DecodeData(&menu)
	case events.TypeClassified:
		err = e.DecodeData(&classified)
	case events.TypeTransferred:
		err = e.DecodeData(&transferred)
	case events.TypeEnded:
		err = e.DecodeData(&ended)
	case events.TypeVerdict:
		err = e.DecodeData(&verdict)
	case events.TypeHandled:
		err = e.DecodeData(&handled)
	case events.TypeOperatorAnswered:
		err = e.DecodeData(&opAnswered)
	case events.TypeQueueAbandoned:
		err = e.DecodeData(&qAbandoned)
	}
	if err != nil {
		return err
	}

	cs := a.calls[e.CallID]
	if cs == nil {
		if e.Type == events.TypeVerdict || e.Type == events.TypeHandled {
			// The call has left memory: we no longer know its hour or outcome.
			a.counters.Orphans++
			return nil
		}
		cs = a.newCall(e)
	}
	if e.Time.After(cs.last) {
		cs.last = e.Time
	}
	b := a.buckets[cs.key] // nil once the call's hour has passed retention
	wasPrank, wasRepeatPrank := cs.rec.Prank, repeatPrank(cs.rec)
	oldFate := cs.fate()
	r := &cs.rec

	switch e.Type {
	case events.TypeStarted:
		if r.Started.IsZero() || e.Time.Before(r.Started) {
			r.Started = e.Time
		}
		if started.Blocked && !cs.blockSet {
			cs.blockSet = true
			r.Blocked = true
			if b != nil {
				b.blocked++
				b.node(r.Node).Blocked++
			}
		}
	case events.TypeAnswered:
		r.Answered = e.Time
	case events.TypeMenu:
		r.Attempts = max(r.Attempts, menu.Attempt)
	case events.TypeClassified:
		r.Classified = e.Time
		// Read apart from events.Classified so an IVR that does not send
		// the field yet changes nothing.
		var cb struct {
			Callback bool `json:"callback"`
		}
		if e.DecodeData(&cb) == nil && cb.Callback && !r.Callback {
			r.Callback = true
			if b != nil {
				b.callbacks++
			}
		}
		if classified.IncidentID != "" && r.IncidentID == "" {
			r.IncidentID = classified.IncidentID
			a.incident(r.IncidentID).Heard++
			if classified.Outcome == events.OutcomeIncidentAck {
				a.incident(r.IncidentID).Acknowledged++
			}
		}
		r.Attempts = max(r.Attempts, classified.Attempts)
		a.setType(cs, b, classified.EmergencyType)
		a.setOutcome(cs, b, string(classified.Outcome))
		if classified.Outcome == events.OutcomeBlockedOverride {
			a.setOverride(cs, b)
		}
		if !cs.ttcSet {
			cs.ttcSet = true
			r.SecondsToClassify = classified.SecondsToClassify
			if b != nil {
				b.ttc.add(classified.SecondsToClassify)
			}
			a.counters.ClassifyCount++
			a.counters.ClassifySum += classified.SecondsToClassify
			for i, ub := range ClassifyBounds {
				if classified.SecondsToClassify <= ub {
					a.counters.ClassifyBuckets[i]++
				}
			}
		}
	case events.TypeTransferred:
		a.setType(cs, b, transferred.EmergencyType)
		if !cs.transfSet {
			cs.transfSet = true
			r.Transferred = true
			r.Queued = e.Time
			r.SecondsToQueue = transferred.SecondsToQueue
			if r.IncidentID != "" {
				a.incident(r.IncidentID).PutThrough++
			}
			if b != nil {
				b.putThrough++
				b.node(r.Node).PutThrough++
			}
		}
		if transferred.BlockedOverride {
			a.setOverride(cs, b)
		}
	case events.TypeEnded:
		r.Ended = e.Time
		r.DurationS = ended.DurationS
		r.Where = ended.Where
		if ended.Callback && !r.Callback {
			// Dropped during the hand-off itself, after call.classified.
			r.Callback = true
			if b != nil {
				b.callbacks++
			}
		}
		a.setOutcome(cs, b, string(ended.Outcome))
	case events.TypeVerdict:
		r.Verdict = verdict.Verdict
	case events.TypeHandled:
		r.Handled = handled.Action
	case events.TypeOperatorAnswered:
		a.applyOperatorAnswered(e, cs, b, opAnswered)
	case events.TypeQueueAbandoned:
		a.applyQueueAbandoned(cs, b, qAbandoned)
	}
	a.moveFate(cs, b, oldFate)

	r.Prank = isPrank(r.Outcome, r.Verdict)
	if r.Prank != wasPrank {
		d := int64(1)
		if !r.Prank {
			d = -1
		}
		if b != nil {
			b.prank += d
			b.node(r.Node).Prank += d
		}
	}
	if rp := repeatPrank(*r); rp != wasRepeatPrank && b != nil {
		if ns := b.numbers[cs.number]; ns != nil {
			if rp {
				ns.prank++
			} else {
				ns.prank--
			}
		}
	}
	return nil
}

// repeatPrank is whether a call counts as prank-like for its number in
// TopCallers: prank-like, or refused by a block without a "genuine" verdict.
func repeatPrank(r CallRecord) bool {
	return r.Prank || r.Outcome == string(events.OutcomeBlocked) && r.Verdict != events.VerdictGenuine
}

// isPrank is the prank definition of the package comment.
func isPrank(outcome, verdict string) bool {
	switch verdict {
	case events.VerdictPrank:
		return true
	case events.VerdictGenuine:
		return false
	}
	switch events.Outcome(outcome) {
	case events.OutcomeNoInput, events.OutcomeAbandoned, events.OutcomeInvalid:
		return true
	}
	return false
}

func (a *Aggregator) setOutcome(cs *callState, b *bucket, o string) {
	if o == "" || cs.rec.Outcome != "" {
		return
	}
	cs.rec.Outcome = o
	if b != nil {
		b.outcomes[boundedKey(b.outcomes, o)]++
	}
	k := OutcomeType{Outcome: o, Type: cs.rec.EmergencyType}
	if _, ok := a.counters.Calls[k]; !ok && len(a.counters.Calls) >= maxCounterKeys-1 {
		k = OutcomeType{Outcome: OtherKey, Type: OtherKey}
	}
	a.counters.Calls[k]++
}

// Bounds on the distinct keys an hour's figures and the lifetime counters
// hold. Outcomes, types and node names come from the event stream, and
// anyone allowed to publish on it chooses them: past the bound, new values
// are counted under OtherKey, so forged values cannot grow memory or the
// dashboard without limit. A real centre has about ten outcomes, ten types
// and a few nodes.
const (
	maxBucketKeys  = 64
	maxCounterKeys = 1024
)

// OtherKey counts the values past the bounds above.
const OtherKey = "other"

// boundedKey is k, or OtherKey when m is full and does not hold k. The
// last of the maxBucketKeys is left for OtherKey.
func boundedKey[V any](m map[string]V, k string) string {
	if _, ok := m[k]; ok || k == OtherKey {
		return k
	}
	n := len(m)
	if _, ok := m[OtherKey]; ok {
		n--
	}
	if n >= maxBucketKeys-1 {
		return OtherKey
	}
	return k
}

func (a *Aggregator) setType(cs *callState, b *bucket, t string) {
	if t == "" || cs.typeSet {
		return
	}
	cs.typeSet = true
	cs.rec.EmergencyType = t
	if b != nil {
		b.types[boundedKey(b.types, t)]++
	}
}

func (a *Aggregator) setOverride(cs *callState, b *bucket) {
	if cs.overSet {
		return
	}
	cs.overSet = true
	cs.rec.Override = true
	if b != nil {
		b.overrides++
	}
}

// newCall makes the record of a call seen for the first time, counts it and
// puts it in the ring, evicting the oldest record when the ring is full.
func (a *Aggregator) newCall(e events.Envelope) *callState {
	number := a.normalize(e.Caller.Number)
	cs := &callState{
		rec: CallRecord{CallID: e.CallID, Node: e.Node, Number: number, Started: e.Time},
		key: a.hourStart(e.Time).Unix(),
	}
	if e.Caller.Presentation != events.PresentationRestricted {
		cs.number = number
	}
	a.calls[e.CallID] = cs
	if len(a.ring) < cap(a.ring) {
		a.ring = append(a.ring, e.CallID)
	} else {
		delete(a.calls, a.ring[a.ringHead])
		delete(a.waiting, a.ring[a.ringHead])
		a.ring[a.ringHead] = e.CallID
		a.ringHead = (a.ringHead + 1) % len(a.ring)
	}

	b := a.bucketFor(cs.key)
	if b == nil {
		return cs
	}
	b.calls++
	b.node(e.Node).Calls++
	if cs.number != "" {
		b.countNumber(cs.number)
	}
	return cs
}

// bucketFor returns the hour bucket with this key, making it if it is
// within retention of the clock; making one also drops the buckets that
// fell out of retention. It returns nil for an hour already past retention.
func (a *Aggregator) bucketFor(key int64) *bucket {
	if b := a.buckets[key]; b != nil {
		return b
	}
	horizon := a.hourStart(a.now().Add(-a.retention)).Unix()
	if key < horizon {
		return nil
	}
	for k := range a.buckets {
		if k < horizon {
			delete(a.buckets, k)
		}
	}
	b := newBucket(time.Unix(key, 0).In(a.loc))
	a.buckets[key] = b
	return b
}

func (a *Aggregator) applyBlock(e events.Envelope, d events.BlocklistChanged) {
	// The blocklist publishes E.164 already; normalising again makes a block
	// and its lift meet even if some publisher sent another form.
	d.Number = a.normalize(d.Number)
	if d.Number == "" {
		return
	}
	if d.Until == nil || !d.Until.After(e.Time) {
		delete(a.blocked, d.Number)
		return
	}
	since := e.Time
	if old, ok := a.blocked[d.Number]; ok {
		since = old.Since
	}
	a.dropExpiredBlocks(e.Time)
	a.blocked[d.Number] = BlockedNumber{Number: d.Number, Until: *d.Until, Strikes: d.Strikes, Reason: d.Reason, Since: since}
}

// normalize returns raw in E.164 form, "" for a withheld or anonymous
// caller, and raw without surrounding space when it is not a phone number
// (kept rather than dropped, so the call can still be found).
func (a *Aggregator) normalize(raw string) string {
	n, err := blocklist.Normalize(raw, a.country)
	switch {
	case err != nil:
		return strings.TrimSpace(raw)
	case n.IsAnonymous():
		return ""
	}
	return n.E164
}

// numberSuffixes returns the digit strings a stored number may end with to
// match the filter q: q's own digits (a masked "7890" or a whole E.164
// number) and, when q reads as a whole number in another form ("0812...",
// "0062812..."), the digits of its E.164 form. Both are tried because a
// short suffix starting with 0 ("0003") would otherwise be taken for a
// national number. Nil means no number filter.
func (a *Aggregator) numberSuffixes(q string) []string {
	d := digits(q)
	if d == "" {
		return nil
	}
	out := []string{d}
	if n, err := blocklist.Normalize(q, a.country); err == nil && !n.IsAnonymous() {
		if e := digits(n.E164); e != d {
			out = append(out, e)
		}
	}
	return out
}

// hourStart is the start of t's local hour. It works on the zone offset, so
// zones with half-hour offsets get local hours too.
func (a *Aggregator) hourStart(t time.Time) time.Time {
	_, off := t.In(a.loc).Zone()
	d := time.Duration(off) * time.Second
	return t.Add(d).Truncate(time.Hour).Add(-d).In(a.loc)
}

// dayStart is local midnight of t's day.
func (a *Aggregator) dayStart(t time.Time) time.Time {
	l := t.In(a.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, a.loc)
}

// BucketStart returns the start of the bucket holding t.
func (a *Aggregator) BucketStart(t time.Time, size BucketSize) time.Time {
	if size == Day {
		return a.dayStart(t)
	}
	return a.hourStart(t)
}

// nextBucket returns the start of the bucket after the one starting at s.
func (a *Aggregator) nextBucket(s time.Time, size BucketSize) time.Time {
	if size == Day {
		return time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, a.loc)
	}
	return a.hourStart(s.Add(time.Hour + time.Minute))
}

// Stats returns the buckets of the given size covering [from, to): from is
// rounded down and to up to bucket edges, and every bucket is listed, empty
// or not, so charts get a continuous axis.
func (a *Aggregator) Stats(from, to time.Time, size BucketSize) (Stats, error) {
	if size != Hour && size != Day {
		return Stats{}, ErrBucket
	}
	if !to.After(from) {
		return Stats{}, fmt.Errorf("%w: to must be after from", ErrRange)
	}
	start := a.BucketStart(from, size)
	var edges []time.Time
	for s := start; s.Before(to); s = a.nextBucket(s, size) {
		if len(edges) == MaxBuckets {
			return Stats{}, fmt.Errorf("%w: more than %d %s buckets", ErrRange, MaxBuckets, size)
		}
		edges = append(edges, s)
	}
	end := a.nextBucket(edges[len(edges)-1], size)
	edges = append(edges, end)

	accs := make([]*acc, len(edges)-1)
	for i := range accs {
		accs[i] = newAcc()
	}
	total := newAcc()

	a.mu.Lock()
	for k, b := range a.buckets {
		t := time.Unix(k, 0)
		if t.Before(start) || !t.Before(end) {
			continue
		}
		i, _ := slices.BinarySearchFunc(edges, t, func(e, t time.Time) int { return e.Compare(t) })
		if i == len(edges) || !edges[i].Equal(t) {
			i-- // t is inside bucket i-1
		}
		accs[i].add(b)
		total.add(b)
	}
	// Calls still waiting count in their hour's answer shares once their
	// wait is over a threshold (queue.go).
	a.waitingInRange(a.now(), func(key int64) []*acc {
		t := time.Unix(key, 0)
		if t.Before(start) || !t.Before(end) {
			return nil
		}
		i, _ := slices.BinarySearchFunc(edges, t, func(e, t time.Time) int { return e.Compare(t) })
		if i == len(edges) || !edges[i].Equal(t) {
			i--
		}
		return []*acc{accs[i], total}
	})
	a.mu.Unlock()

	st := Stats{From: start, To: end, Bucket: size, TimeZone: a.loc.String(), Buckets: make([]Bucket, len(accs))}
	for i, c := range accs {
		st.Buckets[i] = c.result(edges[i], edges[i+1])
	}
	st.Totals = total.result(start, end)
	return st, nil
}

// acc merges hour buckets.
type acc struct {
	b   bucket
	ttc hist
}

func newAcc() *acc {
	nb := newBucket(time.Time{})
	nb.stp = newHist()
	return &acc{b: *nb, ttc: newHist()}
}

func (c *acc) add(b *bucket) {
	c.b.calls += b.calls
	c.b.prank += b.prank
	c.b.putThrough += b.putThrough
	c.b.blocked += b.blocked
	c.b.overrides += b.overrides
	c.b.callbacks += b.callbacks
	for k, v := range b.outcomes {
		c.b.outcomes[boundedKey(c.b.outcomes, k)] += v
	}
	for k, v := range b.types {
		c.b.types[boundedKey(c.b.types, k)] += v
	}
	for k, v := range b.nodes {
		n := c.b.node(k)
		n.Calls += v.Calls
		n.PutThrough += v.PutThrough
		n.Prank += v.Prank
		n.Blocked += v.Blocked
	}
	c.ttc.merge(b.ttc)
	c.b.queue.merge(b.queue)
	c.b.stp.merge(b.stp)
	c.b.stpMax = math.Max(c.b.stpMax, b.stpMax)
}

func (c *acc) result(start, end time.Time) Bucket {
	out := Bucket{
		Start: start, End: end, Calls: c.b.calls, Prank: c.b.prank, PutThrough: c.b.putThrough,
		Blocked: c.b.blocked, Overrides: c.b.overrides, Callbacks: c.b.callbacks,
		Outcomes: make(map[string]int64, len(events.AllOutcomes)+1), Types: c.b.types,
		Nodes: make(map[string]NodeStats, len(c.b.nodes)), Classified: int64(c.ttc.n),
		ClassifyMedian: round2(c.ttc.quantile(0.5)), ClassifyP90: round2(c.ttc.quantile(0.9)),
		QueueStats: queueResult(c.b.queue, c.b.stp, c.b.stpMax),
	}
	// Every known outcome is listed, zero or not, so clients can rely on the keys.
	var known int64
	for _, o := range events.AllOutcomes {
		out.Outcomes[string(o)] = 0
	}
	for k, v := range c.b.outcomes {
		out.Outcomes[k] = v
		known += v
	}
	out.Outcomes[OutcomeInProgress] = c.b.calls - known
	for k, v := range c.b.nodes {
		out.Nodes[k] = *v
	}
	if c.b.calls > 0 {
		out.PrankRatio = math.Round(float64(c.b.prank)/float64(c.b.calls)*10000) / 10000
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Calls returns the calls in memory that match f, newest first.
func (a *Aggregator) Calls(f CallFilter) []CallRecord {
	want := a.numberSuffixes(f.Number)
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []CallRecord
	n := len(a.ring)
	for i := n - 1; i >= 0; i-- {
		cs := a.calls[a.ring[(a.ringHead+i)%n]]
		if cs == nil {
			continue
		}
		r := cs.rec
		switch {
		case !f.From.IsZero() && r.Started.Before(f.From),
			!f.To.IsZero() && !r.Started.Before(f.To),
			f.Outcome != "" && !(r.Outcome == f.Outcome || f.Outcome == OutcomeInProgress && r.Outcome == ""),
			f.Type != "" && r.EmergencyType != f.Type,
			want != nil && !hasAnySuffix(digits(r.Number), want):
			continue
		}
		if !f.Unmasked {
			r.Number = blocklist.Mask(r.Number)
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	// The ring is in arrival order; sort by start so a late started event
	// does not misplace a call.
	slices.SortStableFunc(out, func(x, y CallRecord) int { return y.Started.Compare(x.Started) })
	return out
}

// TopCallers returns up to n numbers that called at least twice in
// [from, to) (by whole local hours), most calls first. Withheld numbers are
// not listed. Numbers are masked unless unmasked is set.
func (a *Aggregator) TopCallers(from, to time.Time, n int, unmasked bool) []RepeatCaller {
	start, end := a.hourStart(from).Unix(), to.Unix()
	sum := map[string]*numStat{}
	a.mu.Lock()
	for k, b := range a.buckets {
		if k < start || k >= end {
			continue
		}
		for num, s := range b.numbers {
			t := sum[num]
			if t == nil {
				t = &numStat{}
				sum[num] = t
			}
			t.calls += s.calls
			t.prank += s.prank
		}
	}
	a.mu.Unlock()
	out := make([]RepeatCaller, 0, len(sum))
	for num, s := range sum {
		if s.calls >= 2 {
			out = append(out, RepeatCaller{Number: num, Calls: s.calls, Prank: s.prank})
		}
	}
	slices.SortFunc(out, func(x, y RepeatCaller) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(y.Prank, x.Prank), cmp.Compare(x.Number, y.Number))
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	if !unmasked {
		for i := range out {
			out[i].Number = blocklist.Mask(out[i].Number)
		}
	}
	return out
}

// Blocked returns the numbers blocked at now, the latest block first.
func (a *Aggregator) Blocked(now time.Time, unmasked bool) []BlockedNumber {
	a.mu.Lock()
	out := make([]BlockedNumber, 0, len(a.blocked))
	for _, b := range a.blocked {
		if b.Until.After(now) {
			out = append(out, b)
		}
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y BlockedNumber) int {
		return cmp.Or(y.Since.Compare(x.Since), cmp.Compare(x.Number, y.Number))
	})
	if !unmasked {
		for i := range out {
			out[i].Number = blocklist.Mask(out[i].Number)
		}
	}
	return out
}

// Active returns how many calls in memory are in the IVR now: started, not
// ended and not handed to the operators (a handed-over call's call.ended
// comes at the end of the whole call; Queue counts those waiting),
// ignoring calls silent for more than an hour before now.
func (a *Aggregator) Active(now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, cs := range a.calls {
		if cs.rec.Ended.IsZero() && cs.rec.Queue == "" && now.Sub(cs.last) < activeTimeout {
			n++
		}
	}
	return n
}

// Counters returns a copy of the lifetime counters.
func (a *Aggregator) Counters() Counters {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.counters
	c.Calls = make(map[OutcomeType]uint64, len(a.counters.Calls))
	for k, v := range a.counters.Calls {
		c.Calls[k] = v
	}
	c.ClassifyBuckets = slices.Clone(a.counters.ClassifyBuckets)
	c.PersonBuckets = slices.Clone(a.counters.PersonBuckets)
	return c
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
