package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Replay pacing: how long the replay goroutine waits after a failed attempt
// (doubling up to the maximum), and the replay window: how many spooled
// records (and at most how many payload bytes) are sent before the first of
// their acks is awaited.
//
// The window is what makes replay faster than the events arriving while
// NATS is merely slow. Waiting for each ack before sending the next record
// caps replay at one event per round trip: with acks 3 ms late, about 250
// events/s, less than a busy IVR publishes, so once anything was spooled the
// spool never drained and every later event went through it. With 512
// records in flight a round trip moves 512 events.
const (
	replayBackoffMin = 50 * time.Millisecond
	replayBackoffMax = 2 * time.Second
	replayWindow     = 512
	replayWindowSize = 4 << 20
)

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
		n, err := p.replayNext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setErr(err)
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
		// Between windows nothing is in flight, so the offsets compaction
		// changes are not held anywhere.
		if err := p.spool.maybeCompact(); err != nil {
			p.log.Warn("spool compaction failed; will retry", "err", err)
		}
	}
}

// replaySlot is one spooled record of a replay window.
type replaySlot struct {
	rec spoolRecord
	id  string
	typ Type
	// bad marks a record that is not an event; it is dropped in its turn.
	bad bool
	// ack is the pending publish; nil when the record was not sent: err
	// says why, or unsent is set when an earlier record's send failed.
	ack    jetstream.PubAckFuture
	err    error
	unsent bool
}

// replayNext publishes a window of spooled records without waiting
// between them, then takes their acks in spool order, advancing the spool
// past each acknowledged (or permanently rejected) record. It stops at the
// first record that failed otherwise: that record and the ones after it stay
// in the spool and are sent again by the next window, and those of them
// already stored are discarded by the stream as duplicates.
func (p *Publisher) replayNext(ctx context.Context) (int, error) {
	recs, rerr := p.spool.read(replayWindow, replayWindowSize)
	slots := make([]replaySlot, len(recs))
	var sendErr error
	for i, r := range recs {
		sl := &slots[i]
		sl.rec = r
		var hdr struct {
			ID   string `json:"id"`
			Type Type   `json:"type"`
		}
		if err := json.Unmarshal(r.payload, &hdr); err != nil || hdr.ID == "" || !hdr.Type.Known() {
			// The checksum matched, so this is not disk damage; it cannot
			// be published under a correct subject and id either.
			sl.bad = true
			continue
		}
		sl.id, sl.typ = hdr.ID, hdr.Type
		if sendErr != nil {
			// Once one send failed, sending later records would only let
			// them overtake it; the next window sends them.
			sl.unsent = true
			continue
		}
		sl.ack, sl.err = p.replayJS.PublishMsgAsync(newMsg(hdr.Type.Subject(), hdr.ID, r.payload))
		sendErr = sl.err
	}
	done := 0
	for i := range slots {
		sl := &slots[i]
		if sl.unsent {
			return done, nil
		}
		if sl.bad {
			p.drop()
			p.log.Error("spooled record is not an event, dropped", "bytes", len(sl.rec.payload))
		} else {
			err := sl.err
			if err == nil {
				err = awaitAck(ctx, sl.ack)
			}
			switch {
			case err == nil:
				p.replayed.Add(1)
			case permanent(err):
				p.drop()
				p.setErr(err)
				p.log.Error("spooled event rejected by JetStream, dropped", "id", sl.id, "type", sl.typ, "err", err)
			default:
				return done, fmt.Errorf("events: replay %s: %w", sl.id, err)
			}
		}
		drained, err := p.spool.advance(sl.rec.end)
		if err != nil {
			return done, err
		}
		done++
		if drained {
			p.statMu.Lock()
			since := p.spoolingSince
			p.spoolingSince = time.Time{}
			p.statMu.Unlock()
			p.log.Info("spool drained: every spooled event is in JetStream; publishing directly again",
				"replayed_total", p.replayed.Load(), "spooling_for", time.Since(since).Round(time.Millisecond))
			return done, nil
		}
	}
	if rerr != nil {
		p.drop()
		p.setErr(rerr)
		p.log.Error("spool record damaged on disk; the rest of the spool is saved aside and skipped", "err", rerr)
		if err := p.spool.skipCorrupt(); err != nil {
			return done, err
		}
	}
	return done, nil
}

// awaitAck waits for one async publish's outcome. The replay's JetStream
// context fails a publish whose ack is later than the ack timeout, and every
// pending one when the connection drops, so this ends without a timer of
// its own.
func awaitAck(ctx context.Context, f jetstream.PubAckFuture) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
