package blocklist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
)

// The worker's side of the history index (history.go): which number an
// event belongs to, recording it, and keeping the rebuild going.

// historySubjects are the subjects a number's history is made of: every
// call event (call-backs included) and the blocklist's changes.
func historySubjects() []string {
	return []string{events.SubjectAllCalls, events.SubjectBlocklist}
}

// recordHistory adds the event at stream sequence seq to its number's
// history. Sequence 0 is an event handed over by a test, not read from
// the stream.
func (w *Worker) recordHistory(ctx context.Context, e events.Envelope, seq uint64) error {
	if seq == 0 {
		return nil
	}
	n, err := w.historyNumber(ctx, e, w.liveCallNumber(e))
	if err != nil || n == "" {
		return err
	}
	return w.history.Add(ctx, n, seq)
}

// historyNumber returns the E.164 number whose history e belongs to, or ""
// when it belongs to none: a block change names its number; a call event
// with a caller belongs to the caller (none when withheld); a call event
// without one (a verdict, a tick) belongs to its call's caller, which
// callNumber finds.
func (w *Worker) historyNumber(ctx context.Context, e events.Envelope, callNumber func(context.Context, string) (string, error)) (string, error) {
	if e.Type == events.TypeBlocklistChanged {
		var d events.BlocklistChanged
		if e.DecodeData(&d) != nil {
			return "", nil
		}
		n, err := w.store.policy.Normalize(d.Number)
		if err != nil || n.IsAnonymous() {
			return "", nil
		}
		return n.E164, nil
	}
	if e.Caller.Number != "" || e.Caller.Presentation != "" {
		return w.number(e.Caller), nil
	}
	if e.CallID == "" {
		return "", nil
	}
	return callNumber(ctx, e.CallID)
}

// liveCallNumber finds the number of a caller-less event's call in the
// call index. A call not indexed yet is waited for as a verdict is (its
// call.started may be with another worker instance); after that the event
// belongs to no history, like a verdict on an unknown call.
func (w *Worker) liveCallNumber(e events.Envelope) func(context.Context, string) (string, error) {
	return func(ctx context.Context, callID string) (string, error) {
		n, err := w.indexedNumber(ctx, callID)
		if err == nil && n == "" && time.Since(e.Time) < verdictIndexWait {
			return "", fmt.Errorf("blocklist: history of call %s: call not indexed yet", callID)
		}
		return n, err
	}
}

// indexedNumber returns the number of callID from the call index, "" when
// the index does not hold it.
func (w *Worker) indexedNumber(ctx context.Context, callID string) (string, error) {
	entry, err := w.index.Get(ctx, callKey(callID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("blocklist: look up call: %w", err)
	}
	return string(entry.Value()), nil
}

// rebuildHistory runs RebuildHistory, and again after a failure (NATS
// away, another worker's rebuild stopped) until the index is built or ctx
// ends. Until then histories are read from the whole stream.
func (w *Worker) rebuildHistory(ctx context.Context) {
	for {
		st, err := w.RebuildHistory(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			w.log.Warn("history index rebuild failed; histories are read from the whole stream until it is built", "err", err)
		case !st.Skipped:
			return
		default:
			// Built, or another worker is building it: look again in a
			// while in case that worker stops.
			if built, err := w.history.Built(ctx); err == nil && built {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rebuildStale / 2):
		}
	}
}

// workerName names this worker in the history index's state: host and
// process, and a random part for several workers in one process (tests).
func workerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
