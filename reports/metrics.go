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
		"Calls started and not yet ended, as seen in the event stream.", nil, nil)
	descLag = prometheus.NewDesc("siaga112_reports_consumer_lag",
		"Events in the stream not yet delivered to the reports worker.", nil, nil)
	descEvents = prometheus.NewDesc("siaga112_reports_events_total",
		"Events seen by the reports aggregator by result: applied, duplicate (already applied) or orphan (call no longer in memory).",
		[]string{"result"}, nil)
)

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
