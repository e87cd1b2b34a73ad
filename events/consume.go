package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer defaults, used when a ConsumerSpec leaves a value at zero.
const (
	DefaultMaxAckPending = 256
	DefaultAckWait       = 30 * time.Second
)

// Redelivery delay after a handler error: grows with each delivery of the
// same message so a failing dependency is not hammered, up to the maximum.
const (
	nakDelayStep = time.Second
	nakDelayMax  = 30 * time.Second
	// fetchErrorPause is the wait after a fetch error before the next try.
	fetchErrorPause = 100 * time.Millisecond
)

// ErrConsumerStopped is returned by Run when the message stream ends for a
// reason other than ctx (for example the NATS connection was closed).
var ErrConsumerStopped = errors.New("consumer stopped")

// ConsumerSpec describes a durable pull consumer on the SIAGA112_CALLS stream.
type ConsumerSpec struct {
	// Durable is the consumer name; every instance of a worker uses the same
	// name so they share the work.
	Durable string
	// Subjects filters the stream (empty = every subject).
	Subjects []string
	// MaxAckPending bounds messages delivered but not yet acknowledged.
	MaxAckPending int
	// AckWait is how long a message may stay unacknowledged before the
	// server delivers it again.
	AckWait time.Duration
	// DeliverAll starts a new consumer at the first event in the stream;
	// otherwise it starts with events published after it was created. It
	// only matters when the consumer is created.
	DeliverAll bool
}

// Meta is where a delivered event came from.
type Meta struct {
	// StreamSeq is the event's sequence number in the stream.
	StreamSeq uint64
	// NumDelivered counts deliveries of this message, 1 the first time.
	NumDelivered uint64
	// Subject is the subject it was published on.
	Subject string
}

// Handler processes one decoded event. nil acks it; an error naks it with a
// delay so it is delivered again; an error wrapping ErrMalformed terminates
// it (never delivered again).
type Handler func(ctx context.Context, e Envelope, m Meta) error

// ConsumerStats counts what a Consumer did since it was created.
type ConsumerStats struct {
	// Handled messages were acked after the handler returned nil.
	Handled uint64 `json:"handled"`
	// Failed counts handler errors (each was naked for redelivery).
	Failed uint64 `json:"failed"`
	// Malformed messages did not decode, or the handler said so; each was
	// terminated.
	Malformed uint64 `json:"malformed"`
}

// Consumer runs a Handler over a durable pull consumer, one message at a
// time in stream order, with explicit acks.
type Consumer struct {
	cons    jetstream.Consumer
	h       Handler
	log     *slog.Logger
	durable string

	handled, failed, malformed atomic.Uint64
}

// NewConsumer creates the durable pull consumer described by spec, or
// updates it if it exists, and returns a Consumer ready to Run.
func NewConsumer(ctx context.Context, js jetstream.JetStream, spec ConsumerSpec, h Handler, log *slog.Logger) (*Consumer, error) {
	if spec.Durable == "" {
		return nil, errors.New("events: consumer: durable name is empty")
	}
	if h == nil {
		return nil, errors.New("events: consumer: handler is nil")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       spec.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       spec.AckWait,
		MaxAckPending: spec.MaxAckPending,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	if spec.DeliverAll {
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	switch len(spec.Subjects) {
	case 0:
	case 1:
		cfg.FilterSubject = spec.Subjects[0]
	default:
		cfg.FilterSubjects = spec.Subjects
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("events: consumer %s: %w", spec.Durable, err)
	}
	return &Consumer{
		cons:    cons,
		h:       h,
		log:     log.With("component", "consumer", "durable", spec.Durable),
		durable: spec.Durable,
	}, nil
}

// Run delivers messages to the handler until ctx ends, then returns nil.
// At most MaxAckPending messages are outstanding at the server, and the
// handler runs for one message at a time. NATS outages are ridden out by the
// client; Run only fails when the connection is closed for good.
func (c *Consumer) Run(ctx context.Context) error {
	it, err := c.cons.Messages()
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", c.durable, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("events: consumer %s: %w: %w", c.durable, ErrConsumerStopped, err)
			}
			// Missed heartbeats, a disconnect and the like: the iterator
			// recovers by itself. The pause keeps an error that repeats at
			// once from turning into a busy loop.
			c.log.Debug("consumer fetch", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(fetchErrorPause):
			}
			continue
		}
		c.handle(ctx, msg)
	}
}

// handle decodes, dispatches and acknowledges one message.
func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	var m Meta
	m.Subject = msg.Subject()
	if md, err := msg.Metadata(); err == nil {
		m.StreamSeq, m.NumDelivered = md.Sequence.Stream, md.NumDelivered
	}
	e, err := Decode(msg.Data())
	if err == nil {
		err = c.call(ctx, e, m)
	}
	switch {
	case err == nil:
		c.handled.Add(1)
		c.ack(msg.Ack(), m)
	case errors.Is(err, ErrMalformed):
		// Terminated messages are never redelivered, so this logs once per
		// message. The error names the bad field; the payload is not logged
		// because it may hold a caller's number.
		c.malformed.Add(1)
		c.log.Warn("malformed event terminated", "subject", m.Subject, "stream_seq", m.StreamSeq, "bytes", len(msg.Data()), "err", err)
		c.ack(msg.Term(), m)
	default:
		c.failed.Add(1)
		delay := min(time.Duration(max(m.NumDelivered, 1))*nakDelayStep, nakDelayMax)
		c.log.Warn("event handler failed; will be redelivered", "subject", m.Subject, "stream_seq", m.StreamSeq,
			"id", e.ID, "deliveries", m.NumDelivered, "retry_in", delay, "err", err)
		c.ack(msg.NakWithDelay(delay), m)
	}
}

// call runs the handler, turning a panic into an error so one bad event
// cannot kill the worker.
func (c *Consumer) call(ctx context.Context, e Envelope, m Meta) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("events: handler panic: %v", r)
		}
	}()
	return c.h(ctx, e, m)
}

// ack logs a failed acknowledgement; the server redelivers after AckWait.
func (c *Consumer) ack(err error, m Meta) {
	if err != nil {
		c.log.Warn("acknowledgement failed; the server will redeliver", "stream_seq", m.StreamSeq, "err", err)
	}
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats {
	return ConsumerStats{Handled: c.handled.Load(), Failed: c.failed.Load(), Malformed: c.malformed.Load()}
}

// Lag is how many messages matching the consumer's filter are waiting to be
// delivered.
func (c *Consumer) Lag(ctx context.Context) (uint64, error) {
	info, err := c.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("events: consumer %s info: %w", c.durable, err)
	}
	return info.NumPending, nil
}
