// Package reports turns the siaga112 event stream into what a 112 centre's
// supervisor looks at: per-hour and per-day statistics, the recent calls,
// repeat callers and blocked numbers (Aggregator, pure), kept up to date by a
// JetStream worker (Worker), with a Prometheus collector of its figures
// (NewCollector). It has no HTTP side: web/ serves the figures as the wall
// board, the JSON/CSV API and /metrics.
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
	"errors"
	"sync"
	"time"

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
	// cbWaiting holds, by the dropped call's id, the calls whose
	// call-back's own call waits in the operators' queue now (a subset of
	// calls): a caller waits there, so the queue gauge counts them,
	// though no call figure does.
	cbWaiting map[string]*callState
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
	a.counters = Counters{Calls: map[OutcomeType]uint64{}, CallbackAttempts: map[string]uint64{}, CallbacksDone: map[string]uint64{}, ClassifyBuckets: make([]uint64, len(ClassifyBounds)), PersonBuckets: make([]uint64, len(PersonBounds))}
	a.waiting, a.operators = map[string]*callState{}, map[operatorKey]OperatorDevice{}
	a.cbWaiting = map[string]*callState{}
	a.incidents, a.incidentOrder = map[string]*IncidentStats{}, nil
}

// KnownType reports whether t is one of Options.EmergencyTypes.
func (a *Aggregator) KnownType(t string) bool { return a.types[t] }

// Location is the zone buckets follow.
func (a *Aggregator) Location() *time.Location { return a.loc }
