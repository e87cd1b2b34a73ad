package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

// Publisher defaults, used when the config leaves a value at zero.
const (
	DefaultMaxBlock      = 5 * time.Millisecond
	DefaultAckTimeout    = 2 * time.Second
	DefaultSpoolMaxBytes = 256 << 20
)

// PublisherStats is what a Publisher did since it was created and what it
// holds now. The counters only grow; the rest describes this moment.
type PublisherStats struct {
	// Published events were acknowledged by JetStream within MaxBlock.
	Published uint64 `json:"published"`
	// Spooled events were written to the spool instead.
	Spooled uint64 `json:"spooled"`
	// Replayed events were taken from the spool and acknowledged.
	Replayed uint64 `json:"replayed"`
	// Dropped events are lost: the spool was full or unwritable, or JetStream
	// rejected the event for good (for example because it is too large).
	Dropped uint64 `json:"dropped"`

	// Spooling is true while the spool holds events: new events then go to
	// the spool behind them, not to JetStream directly.
	Spooling bool `json:"spooling"`
	// SpoolingSince is when the spool last went from empty to non-empty
	// (zero while not spooling).
	SpoolingSince time.Time `json:"spooling_since,omitzero"`
	// SpoolEvents and SpoolBytes are the backlog: the events waiting in the
	// spool and the size of their records.
	SpoolEvents int64 `json:"spool_events"`
	SpoolBytes  int64 `json:"spool_bytes"`
	// SpoolMaxBytes is the spool's bound (nats.spool.max_bytes); an event
	// that would take the backlog over it is dropped.
	SpoolMaxBytes int64 `json:"spool_max_bytes"`
	// SpoolFull is true from a drop for lack of room until the spool next
	// accepts an event.
	SpoolFull bool `json:"spool_full"`
	// LastDrop is when an event was last dropped (zero if never).
	LastDrop time.Time `json:"last_drop,omitzero"`
	// LastError is the latest reason an event could not go straight to
	// JetStream, be replayed or be spooled (an ack timeout, a disconnect, a
	// rejection, a disk error), with URL passwords removed; LastErrorAt is
	// when it happened. They are kept after recovery: compare LastErrorAt
	// with the rest of the state.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Publisher publishes events to JetStream without ever making the caller
// wait on NATS for longer than the configured MaxBlock. The worst case for a
// Publish call is MaxBlock plus one fsync of the spool (concurrent callers
// share fsyncs).
//
// Each event is published with Nats-Msg-Id set to its id. If the ack does
// not arrive within MaxBlock (or NATS is disconnected) the event is written
// to an fsync'd spool file and Publish returns nil; a background goroutine
// replays the spool, oldest first, with up to a window of publishes in
// flight at once (see replayWindow), removing each record once it and every
// record before it are acknowledged. As soon as the spool is empty, events
// go straight to JetStream again. An event whose ack was only slow may reach
// the stream twice (once late, once from the spool): the stream's duplicate
// window stores it once. The spool outlives the process; a new Publisher on
// the same directory replays what an earlier one left.
//
// Ordering: while anything is in the spool, new events are appended behind
// it instead of going to NATS directly, and the replay sends records in
// spool order on one connection, which JetStream stores in the order
// received. So for events published one after another (each Publish
// returned before the next began) the first stored copy of each is in
// publish order, across outages and restarts, with one exception: when a
// replayed record fails (its ack times out, say) while later records of the
// same window are stored, the replay sends the window again from the failed
// record, and that record is stored after the later ones (their second
// copies are discarded as duplicates). Events published concurrently have no
// defined order among themselves.
// Duplicates are suppressed only within the stream's duplicate window
// (nats.stream.duplicates): an event spooled, replayed, and then replayed
// again after a crash more than that window later would be stored twice.
type Publisher struct {
	js jetstream.JetStream
	// replayJS is the replay's own JetStream context on the same
	// connection: its async publishes time out after ackTimeout and their
	// window is the publisher's, whoever else uses js.
	replayJS   jetstream.JetStream
	nc         *nats.Conn
	log        *slog.Logger
	maxBlock   time.Duration
	ackTimeout time.Duration
	spool      *spool

	closed atomic.Bool
	// wake nudges the replay goroutine when the spool becomes non-empty.
	wake chan struct{}
	// closing is closed by Close: the replay goroutine then stops as soon as
	// the spool is empty.
	closing chan struct{}
	// stop cancels replay's context, ending it even with a non-empty spool.
	stop context.CancelFunc
	// done is closed when the replay goroutine has returned.
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	published, spooled, replayed, dropped atomic.Uint64
	// spoolFull is set while the spool is refusing events, so the error is
	// logged once per episode rather than once per event.
	spoolFull atomic.Bool

	statMu sync.Mutex // guards the fields below, which feed Stats
	// spoolingSince is when the spool last became non-empty.
	spoolingSince time.Time
	lastDrop      time.Time
	lastErr       string
	lastErrAt     time.Time
}

// NewPublisher opens the spool in cfg.Spool.Dir and starts the replay
// goroutine, which immediately starts replaying any events an earlier run
// left in the spool. js must be built on a *nats.Conn (jetstream.New).
func NewPublisher(js jetstream.JetStream, cfg configs.NATS, log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "publisher")
	maxBytes := cfg.Spool.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultSpoolMaxBytes
	}
	sp, err := openSpool(cfg.Spool.Dir, maxBytes, log)
	if err != nil {
		return nil, err
	}
	ackTimeout := orDefault(cfg.Publish.AckTimeout, DefaultAckTimeout)
	replayJS, err := jetstream.New(js.Conn(),
		// Twice the window, so a window sent while the abandoned publishes
		// of a failed one are still timing out does not stall.
		jetstream.WithPublishAsyncMaxPending(2*replayWindow),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		_ = sp.close()
		return nil, fmt.Errorf("events: publisher: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{
		js:         js,
		replayJS:   replayJS,
		nc:         js.Conn(),
		log:        log,
		maxBlock:   orDefault(cfg.Publish.MaxBlock, DefaultMaxBlock),
		ackTimeout: ackTimeout,
		spool:      sp,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		stop:       cancel,
		done:       make(chan struct{}),
	}
	if sp.pending() > 0 {
		// An earlier run left events: this is a spooling episode already.
		p.spoolingSince = time.Now()
	}
	go p.replayLoop(ctx)
	return p, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Publish sends e to JetStream on e.Subject() with Nats-Msg-Id e.ID. It
// waits for the ack at most MaxBlock; after that, or at once when NATS is
// disconnected or the spool is not empty, the event is spooled to disk and
// replayed later. A nil error means the event is stored in the stream or
// durably spooled. An error means the event is lost (spool full or
// unwritable, publisher closed, or an event that cannot be encoded).
//
// ctx is not allowed to cut the wait short or drop the event: the last
// event of a call is typically published as the call's context ends.
func (p *Publisher) Publish(ctx context.Context, e Envelope) error {
	if e.ID == "" || !e.Type.Known() {
		p.drop()
		return fmt.Errorf("events: publish: %w: event needs an id and a known type (id %q, type %q)", ErrMalformed, e.ID, e.Type)
	}
	if p.closed.Load() {
		p.drop()
		return fmt.Errorf("events: publish %s %s: %w", e.Type, e.ID, ErrClosed)
	}
	data, err := e.Marshal()
	if err != nil {
		p.drop()
		return fmt.Errorf("events: publish %s %s: encode: %w", e.Type, e.ID, err)
	}
	reason := "spool not empty"
	if p.spool.pending() == 0 {
		if !p.nc.IsConnected() {
			reason = "nats not connected"
			p.setErr(errors.New(reason))
		} else {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.maxBlock)
			_, err := p.js.PublishMsg(wctx, newMsg(e.Subject(), e.ID, data))
			cancel()
			if err == nil {
				p.published.Add(1)
				return nil
			}
			p.setErr(err)
			if permanent(err) {
				p.drop()
				p.log.Error("event rejected by JetStream, dropped", "id", e.ID, "type", e.Type, "err", err)
				return fmt.Errorf("events: publish %s %s: %w", e.Type, e.ID, err)
			}
			reason = err.Error()
		}
	}
	return p.toSpool(e.ID, e.Type, data, reason)
}

// toSpool appends one encoded event to the spool and wakes the replay.
func (p *Publisher) toSpool(id string, t Type, data []byte, reason string) error {
	wasEmpty, err := p.spool.append(data)
	if err != nil {
		p.drop()
		p.setErr(err)
		if errors.Is(err, ErrSpoolFull) {
			if !p.spoolFull.Swap(true) {
				p.log.Error("event spool is full: events are being DROPPED until NATS accepts the backlog",
					"path", p.spool.path, "max_bytes", p.spool.maxBytes, "pending_bytes", p.spool.pending())
			}
		} else {
			p.log.Error("event could not be spooled, dropped", "id", id, "type", t, "err", err)
		}
		return fmt.Errorf("events: publish %s %s: %w", t, id, err)
	}
	if p.spoolFull.Swap(false) {
		p.log.Warn("event spool accepts events again", "path", p.spool.path)
	}
	p.spooled.Add(1)
	if wasEmpty {
		p.statMu.Lock()
		p.spoolingSince = time.Now()
		p.statMu.Unlock()
		p.log.Warn("NATS did not ack in time; spooling events to disk until it does", "reason", reason, "path", p.spool.path)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// drop counts one lost event.
func (p *Publisher) drop() {
	p.dropped.Add(1)
	p.statMu.Lock()
	p.lastDrop = time.Now()
	p.statMu.Unlock()
}

// setErr records err as the latest publishing problem for Stats. Error
// texts are short and carry no payload, but a server URL in one could
// carry a password, so userinfo is removed.
func (p *Publisher) setErr(err error) {
	msg := configs.RedactText(err.Error())
	p.statMu.Lock()
	p.lastErr, p.lastErrAt = msg, time.Now()
	p.statMu.Unlock()
}

// newMsg builds the JetStream message for an event.
func newMsg(subject, id string, data []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
}

// permanent reports whether retrying a publish can never succeed, so the
// event must be dropped rather than block the spool behind it forever.
func permanent(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
	}
	return false
}

// Close stops accepting events, keeps replaying the spool until it is empty
// or ctx ends, then stops the replay goroutine and syncs and closes the
// spool file. Events still spooled are replayed by the next Publisher on the
// same directory. Close does not close the NATS connection.
func (p *Publisher) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.closing)
		select {
		case <-p.done:
		case <-ctx.Done():
			p.stop()
			<-p.done
		}
		p.stop()
		// Ends the replay context's reply subscription; publishes still
		// pending there were abandoned with their window.
		p.replayJS.CleanupPublisher()
		if left := p.spool.pending(); left > 0 {
			p.log.Warn("publisher closed with events still spooled; they are replayed on next start",
				"path", p.spool.path, "pending_bytes", left, "pending_events", p.spool.pendingRecords())
		}
		p.closeErr = p.spool.close()
	})
	return p.closeErr
}

// Stats returns the publisher's counters and its spool's state, for
// /healthz and /metrics. It takes no I/O and is safe to call at any rate.
func (p *Publisher) Stats() PublisherStats {
	st := PublisherStats{
		Published:     p.published.Load(),
		Spooled:       p.spooled.Load(),
		Replayed:      p.replayed.Load(),
		Dropped:       p.dropped.Load(),
		SpoolEvents:   p.spool.pendingRecords(),
		SpoolBytes:    p.spool.pending(),
		SpoolMaxBytes: p.spool.maxBytes,
		SpoolFull:     p.spoolFull.Load(),
	}
	st.Spooling = st.SpoolBytes > 0
	p.statMu.Lock()
	if st.Spooling {
		st.SpoolingSince = p.spoolingSince
	}
	st.LastDrop = p.lastDrop
	st.LastError, st.LastErrorAt = p.lastErr, p.lastErrAt
	p.statMu.Unlock()
	return st
}
