package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer defaults, used when a ConsumerSpec leaves a value at zero.
const (
	DefaultMaxAckPending = 256
	DefaultAckWait       = 30 * time.Second
	// DefaultMaxDeliver bounds the deliveries of one message whose handler
	// keeps failing. With the nak delays below the last try comes about 45 s
	// after the first: long enough to ride out a KV leader election, short
	// enough that one event that can never be applied does not hold up the
	// ones behind it for long.
	DefaultMaxDeliver = 10
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
	// MaxDeliver bounds the deliveries of a message whose handler fails
	// (0 means DefaultMaxDeliver); after the last one it is terminated and
	// counted in ConsumerStats.Exhausted.
	MaxDeliver int
	// MaxSkew is how far ahead of this host's clock an event may be dated
	// (0 means DefaultMaxSkew); see Validate.
	MaxSkew time.Duration
	// Now is the receiver's clock (nil means time.Now); tests set it.
	Now func() time.Time
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

// Handler processes one decoded, sanitised and validated event (see
// Sanitize and Validate). nil
// acks it; an error naks it with a delay so it is delivered again, up to
// ConsumerSpec.MaxDeliver deliveries, after which it is terminated; an
// error wrapping ErrMalformed terminates it at once (never delivered again).
type Handler func(ctx context.Context, e Envelope, m Meta) error

// ConsumerStats counts what a Consumer did since it was created.
type ConsumerStats struct {
	// Handled messages were acked after the handler returned nil.
	Handled uint64 `json:"handled"`
	// Failed counts handler errors (each was naked for redelivery).
	Failed uint64 `json:"failed"`
	// Malformed messages did not decode or validate, or the handler said
	// so; each was terminated.
	Malformed uint64 `json:"malformed"`
	// Exhausted messages failed in the handler on every one of their
	// MaxDeliver deliveries and were terminated.
	Exhausted uint64 `json:"exhausted"`
	// Poison is Malformed + Exhausted: every message this consumer gave up
	// on. Each is logged once with its stream sequence, so an operator can
	// read it back from the stream.
	Poison uint64 `json:"poison"`
	// LastPoison says why the latest poison message was given up (the bad
	// field or the handler's error), without its payload.
	LastPoison string `json:"last_poison,omitempty"`
	// Restarts counts Runs after the first; each one found or re-created
	// the durable consumer.
	Restarts uint64 `json:"restarts"`
}

// Consumer runs a Handler over a durable pull consumer, one message at a
// time in stream order, with explicit acks. A message that cannot be
// decoded or fails Validate is poison: it is terminated and counted, never
// handed to the handler and never an error of Run, so a peer (or an
// attacker) that can publish on the stream cannot stop a worker.
type Consumer struct {
	js         jetstream.JetStream
	cfg        jetstream.ConsumerConfig
	h          Handler
	log        *slog.Logger
	durable    string
	maxDeliver uint64
	skew       time.Duration
	now        func() time.Time

	// runMu serialises Run; cons is replaced by a Run that re-creates a
	// deleted consumer, and read by Lag under consMu.
	runMu  sync.Mutex
	consMu sync.Mutex
	cons   jetstream.Consumer // guarded by consMu
	runs   atomic.Uint64

	handled, failed, malformed, exhausted atomic.Uint64
	lastSeq                               atomic.Uint64 // last stream sequence acked or terminated
	lastPoison                            atomic.Pointer[string]
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
	maxDeliver := spec.MaxDeliver
	if maxDeliver <= 0 {
		maxDeliver = DefaultMaxDeliver
	}
	// The server enforces the same bound, so a message whose handler hangs
	// past AckWait on every delivery is given up too.
	cfg.MaxDeliver = maxDeliver
	now := spec.Now
	if now == nil {
		now = time.Now
	}
	switch len(spec.Subjects) {
	case 0:
	case 1:
		cfg.FilterSubject = spec.Subjects[0]
	default:
		cfg.FilterSubjects = spec.Subjects
	}
	// Where a consumer starts only matters when it is created, and the
	// server refuses to change it: an existing durable keeps its own (it
	// may have been re-created after its last event, see reopen).
	if old, err := js.Consumer(ctx, StreamName, spec.Durable); err == nil {
		oc := old.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = oc.DeliverPolicy, oc.OptStartSeq, oc.OptStartTime
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("events: consumer %s: %w", spec.Durable, err)
	}
	return &Consumer{
		js:         js,
		cfg:        cfg,
		cons:       cons,
		h:          h,
		log:        log.With("component", "consumer", "durable", spec.Durable),
		durable:    spec.Durable,
		maxDeliver: uint64(maxDeliver),
		skew:       spec.MaxSkew,
		now:        now,
	}, nil
}

// reopen finds the durable consumer again before a second Run: the first
// Run may have ended because it was deleted (by an operator, or by a stream
// re-created with other limits). A missing consumer is created again; when
// this Consumer has already handled events it starts after the last one,
// so a restarted worker neither replays the whole stream nor skips what
// arrived while it was down.
func (c *Consumer) reopen(ctx context.Context) error {
	cons, err := c.js.Consumer(ctx, StreamName, c.durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cfg := c.cfg
		if seq := c.lastSeq.Load(); seq > 0 {
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = seq + 1
		}
		c.log.Warn("durable consumer missing; creating it again", "start_seq", cfg.OptStartSeq)
		cons, err = c.js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	}
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", c.durable, err)
	}
	c.consMu.Lock()
	c.cons = cons
	c.consMu.Unlock()
	return nil
}

func (c *Consumer) current() jetstream.Consumer {
	c.consMu.Lock()
	defer c.consMu.Unlock()
	return c.cons
}

// Run delivers messages to the handler until ctx ends, then returns nil.
// At most MaxAckPending messages are outstanding at the server, and the
// handler runs for one message at a time. NATS outages are ridden out by the
// client; Run fails when the connection is closed for good or the consumer
// was deleted. Run may be called again after it returned (a supervisor
// restarting the worker): it then finds the durable consumer again, or
// re-creates it (see reopen).
func (c *Consumer) Run(ctx context.Context) error {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.runs.Add(1) > 1 {
		if err := c.reopen(ctx); err != nil {
			return err
		}
	}
	it, err := c.current().Messages()
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
		// The caller's own id is cleaned, not refused (see Sanitize).
		e = Sanitize(e)
		err = ValidateSkew(e, c.now(), c.skew)
	}
	if err == nil && e.Subject() != m.Subject {
		// A consumer filters by subject and NATS permissions are granted
		// by subject: an event of one type sent on another type's subject
		// would slip past both.
		err = fmt.Errorf("%w: type %s published on %s", ErrMalformed, e.Type, m.Subject)
	}
	if err == nil {
		err = c.call(ctx, e, m)
	}
	switch {
	case err == nil:
		ackErr := msg.Ack()
		c.handled.Add(1)
		c.done(ackErr, m)
	case errors.Is(err, ErrMalformed):
		// Terminated messages are never redelivered, so this logs once per
		// message. The error names the bad field; neither the payload nor
		// the (possibly huge) id is logged, because it may hold a caller's
		// number and is the attacker's text.
		c.malformed.Add(1)
		c.poison(err)
		c.log.Warn("malformed event terminated", "subject", m.Subject, "stream_seq", m.StreamSeq, "bytes", len(msg.Data()), "err", err)
		c.done(msg.Term(), m)
	case m.NumDelivered >= c.maxDeliver:
		c.exhausted.Add(1)
		c.poison(err)
		c.log.Error("event handler failed on every delivery; event terminated", "subject", m.Subject, "stream_seq", m.StreamSeq,
			"id", e.ID, "deliveries", m.NumDelivered, "err", err)
		c.done(msg.Term(), m)
	default:
		c.failed.Add(1)
		delay := min(time.Duration(max(m.NumDelivered, 1))*nakDelayStep, nakDelayMax)
		c.log.Warn("event handler failed; will be redelivered", "subject", m.Subject, "stream_seq", m.StreamSeq,
			"id", e.ID, "deliveries", m.NumDelivered, "retry_in", delay, "err", err)
		c.ack(msg.NakWithDelay(delay), m)
	}
}

// poison records why the latest poison message was given up, cut short so
// /healthz stays small whatever the handler's error says.
func (c *Consumer) poison(err error) {
	const maxReason = 200
	s := err.Error()
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	c.lastPoison.Store(&s)
}

// done acknowledges (or terminates) a message for good and remembers its
// sequence, where a re-created consumer starts.
func (c *Consumer) done(err error, m Meta) {
	c.ack(err, m)
	if m.StreamSeq > c.lastSeq.Load() {
		c.lastSeq.Store(m.StreamSeq)
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
	st := ConsumerStats{
		Handled: c.handled.Load(), Failed: c.failed.Load(), Malformed: c.malformed.Load(),
		Exhausted: c.exhausted.Load(), Restarts: max(c.runs.Load(), 1) - 1,
	}
	st.Poison = st.Malformed + st.Exhausted
	if p := c.lastPoison.Load(); p != nil {
		st.LastPoison = *p
	}
	return st
}

// Lag is how many messages matching the consumer's filter are not handled
// yet: waiting to be delivered, or delivered and not yet acknowledged. The
// second part matters: the client holds up to MaxAckPending delivered
// messages it has not handled, so the undelivered count alone reads 0
// while hundreds are still to be applied (a shutdown that waited for it
// stopped the blocklist worker with about 250 events unapplied).
func (c *Consumer) Lag(ctx context.Context) (uint64, error) {
	info, err := c.current().Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("events: consumer %s info: %w", c.durable, err)
	}
	return info.NumPending + uint64(max(info.NumAckPending, 0)), nil
}
