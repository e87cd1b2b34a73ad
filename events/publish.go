package events

import (
	"context"
	"encoding/json"
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

// Replay pacing: how long the replay goroutine waits after a failed attempt
// (doubling up to the maximum) and how many records it reads at once.
const (
	replayBackoffMin = 50 * time.Millisecond
	replayBackoffMax = 2 * time.Second
	replayBatch      = 128
)

// PublisherStats counts what a Publisher did since it was created.
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
	// SpoolBytes is the size of the records waiting in the spool.
	SpoolBytes int64 `json:"spool_bytes"`
}

// Publisher publishes events to JetStream without ever making the caller
// wait on NATS for longer than the configured MaxBlock. The worst case for a
// Publish call is MaxBlock plus one fsync of the spool (concurrent callers
// share fsyncs).
//
// Each event is published with Nats-Msg-Id set to its id. If the ack does
// not arrive within MaxBlock (or NATS is disconnected) the event is written
// to an fsync'd spool file and Publish returns nil; a background goroutine
// replays the spool, oldest first, one acknowledged publish at a time, and
// empties it. An event whose ack was only slow may reach the stream twice
// (once late, once from the spool): the stream's duplicate window stores it
// once. The spool outlives the process; a new Publisher on the same
// directory replays what an earlier one left.
//
// Ordering: while anything is in the spool, new events are appended behind
// it instead of going to NATS directly. So for events published one after
// another (each Publish returned before the next began) the first stored
// copy of each is in publish order, across outages and restarts. Events
// published concurrently have no defined order among themselves.
// Duplicates are suppressed only within the stream's duplicate window
// (nats.stream.duplicates): an event spooled, replayed, and then replayed
// again after a crash more than that window later would be stored twice.
type Publisher struct {
	js         jetstream.JetStream
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
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{
		js:         js,
		nc:         js.Conn(),
		log:        log,
		maxBlock:   orDefault(cfg.Publish.MaxBlock, DefaultMaxBlock),
		ackTimeout: orDefault(cfg.Publish.AckTimeout, DefaultAckTimeout),
		spool:      sp,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		stop:       cancel,
		done:       make(chan struct{}),
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
		p.dropped.Add(1)
		return fmt.Errorf("events: publish: %w: event needs an id and a known type (id %q, type %q)", ErrMalformed, e.ID, e.Type)
	}
	if p.closed.Load() {
		p.dropped.Add(1)
		return fmt.Errorf("events: publish %s %s: %w", e.Type, e.ID, ErrClosed)
	}
	data, err := e.Marshal()
	if err != nil {
		p.dropped.Add(1)
		return fmt.Errorf("events: publish %s %s: encode: %w", e.Type, e.ID, err)
	}
	reason := "spool not empty"
	if p.spool.pending() == 0 {
		if !p.nc.IsConnected() {
			reason = "nats not connected"
		} else {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.maxBlock)
			_, err := p.js.PublishMsg(wctx, newMsg(e.Subject(), e.ID, data))
			cancel()
			if err == nil {
				p.published.Add(1)
				return nil
			}
			if permanent(err) {
				p.dropped.Add(1)
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
		p.dropped.Add(1)
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
		p.log.Warn("NATS did not ack in time; spooling events to disk until it does", "reason", reason, "path", p.spool.path)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
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

// replayLoop owns the spool's read side: it republishes spooled events in
// order and removes them once acknowledged.
func (p *Publisher) replayLoop(ctx context.Context) {
	defer close(p.done)
	// A reconnect ends the current backoff at once, so the spool starts
	// draining as soon as NATS is back rather than up to replayBackoffMax later.
	connected := p.nc.StatusChanged(nats.CONNECTED)
	defer p.nc.RemoveStatusListener(connected)
	backoff := replayBackoffMin
	failing := false
	// wait sleeps for the current backoff and doubles it for next time.
	wait := func() bool {
		t := time.NewTimer(backoff)
		backoff = min(backoff*2, replayBackoffMax)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case _, ok := <-connected:
			if ok {
				backoff = replayBackoffMin
			} else {
				connected = nil // connection closed for good; rely on the timer
			}
			return true
		case <-ctx.Done():
			return false
		}
	}
	closing := p.closing
	for {
		if p.spool.pending() == 0 {
			select {
			case <-p.wake:
				continue
			case <-closing:
				return
			case <-ctx.Done():
				return
			}
		}
		if !p.nc.IsConnected() {
			if !wait() {
				return
			}
			continue
		}
		n, err := p.replayBatch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				p.log.Warn("spool replay is waiting for NATS", "err", err, "pending_bytes", p.spool.pending())
				failing = true
			}
			if !wait() {
				return
			}
			continue
		}
		if n > 0 {
			backoff = replayBackoffMin
			if failing {
				p.log.Info("spool replay is making progress again")
				failing = false
			}
		}
		if err := p.spool.maybeCompact(); err != nil {
			p.log.Warn("spool compaction failed; will retry", "err", err)
		}
	}
}

// replayBatch publishes up to replayBatch spooled records in order, each
// waiting for its ack, and advances the spool after each. It stops at the
// first failure so nothing is published out of order.
func (p *Publisher) replayBatch(ctx context.Context) (int, error) {
	recs, rerr := p.spool.read(replayBatch)
	done := 0
	for _, r := range recs {
		var hdr struct {
			ID   string `json:"id"`
			Type Type   `json:"type"`
		}
		if err := json.Unmarshal(r.payload, &hdr); err != nil || hdr.ID == "" || !hdr.Type.Known() {
			// The checksum matched, so this is not disk damage; it cannot
			// be published under a correct subject and id either.
			p.dropped.Add(1)
			p.log.Error("spooled record is not an event, dropped", "bytes", len(r.payload))
		} else {
			actx, cancel := context.WithTimeout(ctx, p.ackTimeout)
			_, err := p.js.PublishMsg(actx, newMsg(hdr.Type.Subject(), hdr.ID, r.payload))
			cancel()
			switch {
			case err == nil:
				p.replayed.Add(1)
			case permanent(err):
				p.dropped.Add(1)
				p.log.Error("spooled event rejected by JetStream, dropped", "id", hdr.ID, "type", hdr.Type, "err", err)
			default:
				return done, fmt.Errorf("events: replay %s: %w", hdr.ID, err)
			}
		}
		drained, err := p.spool.advance(r.end)
		if err != nil {
			return done, err
		}
		done++
		if drained {
			p.log.Info("spool drained: every spooled event is in JetStream", "replayed_total", p.replayed.Load())
			return done, nil
		}
	}
	if rerr != nil {
		p.dropped.Add(1)
		p.log.Error("spool record damaged on disk; the rest of the spool is saved aside and skipped", "err", rerr)
		if err := p.spool.skipCorrupt(); err != nil {
			return done, err
		}
	}
	return done, nil
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
		if left := p.spool.pending(); left > 0 {
			p.log.Warn("publisher closed with events still spooled; they are replayed on next start",
				"path", p.spool.path, "pending_bytes", left)
		}
		p.closeErr = p.spool.close()
	})
	return p.closeErr
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		Published:  p.published.Load(),
		Spooled:    p.spooled.Load(),
		Replayed:   p.replayed.Load(),
		Dropped:    p.dropped.Load(),
		SpoolBytes: p.spool.pending(),
	}
}
