package reports

import (
	"time"
)

// The reports' data: what the aggregator answers with (CallRecord, Bucket,
// Stats, Counters, ...) and what it keeps per hour and per call (bucket,
// callState). The package comment in aggregate.go defines the figures.

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
	// TakenBy is who took the call while it needed attention (call.taken),
	// and Taken when; the latest take wins. Empty until someone took it.
	TakenBy string    `json:"taken_by,omitempty"`
	Taken   time.Time `json:"taken,omitzero"`
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
	// CallbackState is the automatic call-back of a dropped call
	// (callback.go); absent until a call-back event came for it.
	CallbackState *CallbackInfo `json:"callback_state,omitempty"`
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
	// CallbacksScheduled counts call-backs planned; CallbackAttempts
	// attempts by result and CallbacksDone call-backs ended by reason
	// (unknown values under OtherKey, so both stay bounded).
	CallbacksScheduled uint64
	CallbackAttempts   map[string]uint64
	CallbacksDone      map[string]uint64
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
	// cb are the call-back counts of the hour's dropped calls.
	cb cbFigures
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
	opSet     bool     // call.operator_answered applied
	stp       float64  // its seconds_to_person (-1 unknown)
	cb        *cbState // its automatic call-back, nil until an event named it
}
