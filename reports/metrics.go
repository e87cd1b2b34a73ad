package reports

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siaga112/siaga112/events"
)

// lagTimeout bounds the consumer-info request made during a scrape.
const lagTimeout = 2 * time.Second

var (
	descCalls = prometheus.NewDesc("siaga112_calls_total",
		"Calls by outcome and emergency type (type none when not chosen), counted when the outcome is known.",
		[]string{"outcome", "type"}, nil)
	descClassify = prometheus.NewDesc("siaga112_classify_seconds",
		"Seconds from the start of a call to its outcome (seconds_to_classify of call.classified).", nil, nil)
	descActive = prometheus.NewDesc("siaga112_active_calls",
		"Calls in the IVR now: started, not ended and not handed to the operators, as seen in the event stream.", nil, nil)
	descPerson = prometheus.NewDesc("siaga112_seconds_to_person",
		"Seconds from the IVR's answer to an operator's answer (seconds_to_person of call.operator_answered, when known).", nil, nil)
	descWaiting = prometheus.NewDesc("siaga112_queue_waiting_calls",
		"Calls waiting in the operators' queue now, by emergency type.", []string{"type"}, nil)
	descLongest = prometheus.NewDesc("siaga112_queue_longest_wait_seconds",
		"Seconds since the hand-off of the call waiting longest in the operators' queue (0 when none waits).", nil, nil)
	descAbandoned = prometheus.NewDesc("siaga112_queue_abandoned_total",
		"Callers who hung up in the operators' queue before anyone answered (call.queue_abandoned): callers to call back.", nil, nil)
	descOpAnswered = prometheus.NewDesc("siaga112_operator_answered_total",
		"Handed-over calls an operator answered (call.operator_answered).", nil, nil)
	descOperators = prometheus.NewDesc("siaga112_operators",
		"Operators' devices by their latest state (free, ringing, busy, away, unknown), counted per Asterisk node.", []string{"state"}, nil)
	descCbScheduled = prometheus.NewDesc("siaga112_callbacks_scheduled_total",
		"Automatic call-backs planned for dropped calls (callback.scheduled), once per dropped call.", nil, nil)
	descCbAttempts = prometheus.NewDesc("siaga112_callback_attempts_total",
		"Automatic call-back attempts that ended, by result (put_through, no_response, no_answer, busy, failed, cancelled; other for anything else).",
		[]string{"result"}, nil)
	descCbDone = prometheus.NewDesc("siaga112_callbacks_done_total",
		"Automatic call-backs that ended, by reason (operator_answered, called_again, attempts_exhausted, cancelled, handled, prank, blocked; other for anything else).",
		[]string{"reason"}, nil)
	descUnreached = prometheus.NewDesc("siaga112_callers_unreached",
		"Callers who gave a sign of a person today (the reports' time zone) and have not reached an operator yet: waiting for a call-back, or every attempt failed. The goal is 0.", nil, nil)
	descLag = prometheus.NewDesc("siaga112_reports_consumer_lag",
		"Events in the stream not yet delivered to the reports worker.", nil, nil)
	descEvents = prometheus.NewDesc("siaga112_reports_events_total",
		"Events seen by the reports aggregator by result: applied, duplicate (already applied) or orphan (call no longer in memory).",
		[]string{"result"}, nil)
)

// NewCollector is the Prometheus collector of agg's figures, read at
// scrape time; lag, when set, adds the worker's consumer lag, and now is
// the clock of the figures that depend on the day. The web side registers
// it next to the process's own collectors.
func NewCollector(agg *Aggregator, lag func(ctx context.Context) (uint64, error), now func() time.Time) prometheus.Collector {
	return &collector{agg: agg, lag: lag, now: now}
}

// collector reads the aggregator at scrape time. The aggregator stays free
// of Prometheus types, and a scrape sees one consistent copy of its counters.
type collector struct {
	agg *Aggregator
	lag func(ctx context.Context) (uint64, error)
	now func() time.Time
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCalls
	ch <- descClassify
	ch <- descActive
	ch <- descEvents
	for _, d := range []*prometheus.Desc{descPerson, descWaiting, descLongest, descAbandoned, descOpAnswered, descOperators, descCbScheduled, descCbAttempts, descCbDone, descUnreached} {
		ch <- d
	}
	if c.lag != nil {
		ch <- descLag
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	cs := c.agg.Counters()
	// Outcomes and types come from the event stream, which anyone allowed
	// to publish on it writes: labels are kept to the known outcomes and
	// the configured types, everything else is summed under "other".
	calls := make(map[OutcomeType]uint64, len(cs.Calls))
	for k, v := range cs.Calls {
		calls[OutcomeType{Outcome: outcomeLabelValue(k.Outcome), Type: c.typeLabel(k.Type)}] += v
	}
	for k, v := range calls {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(v), k.Outcome, k.Type)
	}
	buckets := make(map[float64]uint64, len(ClassifyBounds))
	for i, ub := range ClassifyBounds {
		buckets[ub] = cs.ClassifyBuckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(descClassify, cs.ClassifyCount, cs.ClassifySum, buckets)
	ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(c.agg.Active(c.now())))
	pb := make(map[float64]uint64, len(PersonBounds))
	for i, ub := range PersonBounds {
		pb[ub] = cs.PersonBuckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(descPerson, cs.PersonCount, cs.PersonSum, pb)
	ch <- prometheus.MustNewConstMetric(descAbandoned, prometheus.CounterValue, float64(cs.QueueAbandoned))
	ch <- prometheus.MustNewConstMetric(descOpAnswered, prometheus.CounterValue, float64(cs.OperatorAnswered))
	q := c.agg.Queue(c.now(), false)
	// ByType lists every configured type (and "other" only when a call of
	// another type waits), so the label set stays bounded.
	for t, n := range q.ByType {
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(n), t)
	}
	longest := 0.0
	if q.LongestWaitS != nil {
		longest = *q.LongestWaitS
	}
	ch <- prometheus.MustNewConstMetric(descLongest, prometheus.GaugeValue, longest)
	for state, n := range map[string]int{
		events.OperatorFree: q.Operators.Free, events.OperatorRinging: q.Operators.Ringing, events.OperatorBusy: q.Operators.Busy,
		events.OperatorAway: q.Operators.Away, events.OperatorUnknown: q.Operators.Unknown,
	} {
		ch <- prometheus.MustNewConstMetric(descOperators, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(descCbScheduled, prometheus.CounterValue, float64(cs.CallbacksScheduled))
	// Every known result and reason is listed, zero or not, so a rate()
	// has a series from the start; Apply keeps the maps to these and other.
	for _, r := range append(slices.Clone(events.CallbackResults), otherLabel) {
		ch <- prometheus.MustNewConstMetric(descCbAttempts, prometheus.CounterValue, float64(cs.CallbackAttempts[r]), r)
	}
	for _, r := range append(slices.Clone(events.CallbackDoneReasons), otherLabel) {
		ch <- prometheus.MustNewConstMetric(descCbDone, prometheus.CounterValue, float64(cs.CallbacksDone[r]), r)
	}
	ch <- prometheus.MustNewConstMetric(descUnreached, prometheus.GaugeValue, float64(c.agg.Unreached(c.now())))
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(cs.Events), "applied")
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(cs.Duplicates), "duplicate")
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(cs.Orphans), "orphan")
	if c.lag != nil {
		ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
		defer cancel()
		if lag, err := c.lag(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag))
		} else {
			ch <- prometheus.NewInvalidMetric(descLag, err)
		}
	}
}

// otherLabel stands for every outcome or type the metrics do not know.
const otherLabel = OtherKey

// outcomeLabelValue is o when it is one of events.AllOutcomes, else "other".
func outcomeLabelValue(o string) string {
	if slices.Contains(events.AllOutcomes, events.Outcome(o)) {
		return o
	}
	return otherLabel
}

// typeLabel is "none" for no type, the type when it is configured, else
// "other".
func (c *collector) typeLabel(t string) string {
	switch {
	case t == "":
		return "none"
	case c.agg.KnownType(t):
		return t
	}
	return otherLabel
}

// PublisherCollector exposes an events.Publisher's counters, for the
// ServerConfig.Metrics hook:
//
//	Metrics: func(reg prometheus.Registerer) error {
//		return reg.Register(reports.PublisherCollector(pub.Stats))
//	}
func PublisherCollector(stats func() events.PublisherStats) prometheus.Collector {
	return &publisherCollector{stats: stats}
}

var (
	descPublished = prometheus.NewDesc("siaga112_events_published_total", "Events acknowledged by JetStream on first try.", nil, nil)
	descSpooled   = prometheus.NewDesc("siaga112_events_spooled_total", "Events written to the on-disk spool because NATS was slow or down.", nil, nil)
	descReplayed  = prometheus.NewDesc("siaga112_events_replayed_total", "Spooled events later published to JetStream.", nil, nil)
	descDropped   = prometheus.NewDesc("siaga112_events_dropped_total", "Events lost because the spool was full or unwritable.", nil, nil)
	descSpoolSize = prometheus.NewDesc("siaga112_events_spool_bytes", "Bytes waiting in the spool.", nil, nil)
)

type publisherCollector struct {
	stats func() events.PublisherStats
}

func (p *publisherCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPublished, descSpooled, descReplayed, descDropped, descSpoolSize} {
		ch <- d
	}
}

func (p *publisherCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.stats()
	ch <- prometheus.MustNewConstMetric(descPublished, prometheus.CounterValue, float64(s.Published))
	ch <- prometheus.MustNewConstMetric(descSpooled, prometheus.CounterValue, float64(s.Spooled))
	ch <- prometheus.MustNewConstMetric(descReplayed, prometheus.CounterValue, float64(s.Replayed))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(descSpoolSize, prometheus.GaugeValue, float64(s.SpoolBytes))
}
