package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// DefaultDurable is the consumer name used when WorkerConfig.Durable is empty.
const DefaultDurable = "reports"

// Worker errors.
var (
	// ErrWorkerStarted is returned by a second call to Run: the aggregator
	// it feeds must start empty, so a worker runs once.
	ErrWorkerStarted = errors.New("reports: worker already started")
	// ErrNotRunning is returned by Lag before Run has created the consumer.
	ErrNotRunning = errors.New("reports: worker not running")
	// ErrReplaying is returned by Health while the stream is being replayed.
	ErrReplaying = errors.New("reports: replaying the event stream")
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// Durable is this instance's consumer name (configs.Reports.Durable).
	Durable string
	// Stream is ensured to exist before consuming.
	Stream configs.Stream
	// Consumer bounds in-flight messages and the ack wait.
	Consumer configs.Consumer
}

// Worker keeps an Aggregator up to date from the SIAGA112_CALLS stream.
//
// State survives a restart by replay: on start the worker deletes its
// durable consumer and creates it again with DeliverAll, so the new, empty
// aggregator sees every event still in the stream exactly once, then keeps
// following new events on the same consumer. A redelivery (lost ack, NATS
// reconnect) carries an event id the aggregator has seen and is dropped.
// The cost is reading the whole stream on every start — for a centre with
// 500 calls a day and 90 days of retention about 300 000 small messages,
// seconds to a minute — in exchange for no snapshot files that could
// disagree with the stream. Until the replay has caught up, Ready is false
// and the figures are partial.
//
// Because each instance needs every event, instances must not share a
// durable name: give each its own configs.Reports.Durable.
type Worker struct {
	js  jetstream.JetStream
	agg *Aggregator
	cfg WorkerConfig
	log *slog.Logger

	started atomic.Bool
	ready   atomic.Bool
	target  atomic.Uint64 // stream's last sequence when Run started

	mu   sync.Mutex
	cons *events.Consumer // guarded by mu; nil until Run has created it
}

// NewWorker returns a worker feeding agg, which must be empty.
func NewWorker(js jetstream.JetStream, agg *Aggregator, cfg WorkerConfig, log *slog.Logger) *Worker {
	if cfg.Durable == "" {
		cfg.Durable = DefaultDurable
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{js: js, agg: agg, cfg: cfg, log: log.With("component", "reports", "durable", cfg.Durable)}
}

// Run replays the stream into the aggregator and then follows it until ctx
// ends (nil) or the consumer stops for good (error). It may be called once.
func (w *Worker) Run(ctx context.Context) error {
	if w.started.Swap(true) {
		return ErrWorkerStarted
	}
	stream, err := events.EnsureStream(ctx, w.js, w.cfg.Stream)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("reports: stream info: %w", err)
	}
	w.target.Store(info.State.LastSeq)
	if info.State.Msgs == 0 {
		w.ready.Store(true)
	}
	// Start over: a consumer left by the previous run would resume at its
	// ack floor and the empty aggregator would miss everything before it.
	if err := w.js.DeleteConsumer(ctx, events.StreamName, w.cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("reports: delete old consumer %s: %w", w.cfg.Durable, err)
	}
	// Operators' device states come on their own subject; without it the
	// board would count no operator at all.
	cons, err := events.NewConsumer(ctx, w.js, events.ConsumerSpec{
		Durable:       w.cfg.Durable,
		Subjects:      []string{events.SubjectAllCalls, events.SubjectAllBlocklist, events.SubjectAllOperators},
		MaxAckPending: w.cfg.Consumer.MaxAckPending,
		AckWait:       w.cfg.Consumer.AckWait,
		DeliverAll:    true,
	}, w.handle, w.log)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	w.mu.Lock()
	w.cons = cons
	w.mu.Unlock()
	w.log.Info("reports worker replaying stream", "last_seq", info.State.LastSeq, "msgs", info.State.Msgs)
	return cons.Run(ctx)
}

func (w *Worker) handle(_ context.Context, e events.Envelope, m events.Meta) error {
	if _, err := w.agg.Apply(e, m.StreamSeq); err != nil {
		return err // wraps events.ErrMalformed: the consumer terminates it
	}
	if !w.ready.Load() && m.StreamSeq >= w.target.Load() {
		w.ready.Store(true)
		w.log.Info("reports worker caught up", "stream_seq", m.StreamSeq)
	}
	return nil
}

// Ready reports whether the replay has reached the end of the stream as it
// was at start. When the last events at start were deleted or filtered out,
// it also turns true once the consumer has nothing pending.
func (w *Worker) Ready(ctx context.Context) bool {
	if w.ready.Load() {
		return true
	}
	if lag, err := w.Lag(ctx); err == nil && lag == 0 {
		w.ready.Store(true)
	}
	return w.ready.Load()
}

// Health is nil once the worker follows the stream live; before that it
// returns ErrReplaying (or ErrNotRunning) with the events still to read. It
// fits a /healthz composed of named checks of type func(ctx) error.
func (w *Worker) Health(ctx context.Context) error {
	if w.Ready(ctx) {
		return nil
	}
	lag, err := w.Lag(ctx)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %d events to go", ErrReplaying, lag)
}

// Lag is how many events wait to be delivered to this worker.
func (w *Worker) Lag(ctx context.Context) (uint64, error) {
	w.mu.Lock()
	c := w.cons
	w.mu.Unlock()
	if c == nil {
		return 0, ErrNotRunning
	}
	return c.Lag(ctx)
}

// Stats returns the consumer's counters (zero before Run).
func (w *Worker) Stats() events.ConsumerStats {
	w.mu.Lock()
	c := w.cons
	w.mu.Unlock()
	if c == nil {
		return events.ConsumerStats{}
	}
	return c.Stats()
}
