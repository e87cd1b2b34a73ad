package blocklist

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
)

// Reading a number's history: from the index by sequence, or from the
// whole stream while there is no index (see history.go).

// historyFetchers is how many direct gets a history read keeps in flight.
// The gets are independent, so their round trips overlap instead of adding
// up; a few dozen are enough to keep one server busy without one history
// crowding out the workers' requests.
const historyFetchers = 32

// HistoryRead says how a number's history was read.
type HistoryRead struct {
	// Source is SourceIndex or SourceStream.
	Source string
	// Cut is true when the stream still holds older events of the number
	// that the index let go to stay within MaxHistoryEvents: the history
	// shows the newest ones only.
	Cut bool
	// Events counts the events handed to fn.
	Events int
}

// Read hands fn, in stream order, the events of e164 the index records and
// the stream still holds. It returns an error wrapping ErrHistoryNotBuilt
// while the index does not cover the stream. Messages that no longer
// exist (gone with the stream's retention) or do not decode are skipped.
func (x *HistoryIndex) Read(ctx context.Context, e164 string, fn func(events.Envelope)) (HistoryRead, error) {
	st, _, ok, err := x.state(ctx)
	if err != nil {
		return HistoryRead{}, err
	}
	if !ok || !st.Built {
		return HistoryRead{}, ErrHistoryNotBuilt
	}
	stream, err := x.js.Stream(ctx, events.StreamName)
	if err != nil {
		return HistoryRead{}, fmt.Errorf("blocklist: history: %w", err)
	}
	if st.Stream != streamCreated(stream) {
		// Built for a stream since deleted and made again: its sequences
		// name other events until the worker has indexed the new one.
		return HistoryRead{}, fmt.Errorf("%w: it was built for an earlier stream", ErrHistoryNotBuilt)
	}
	seqs, floor, err := x.Seqs(ctx, e164)
	if err != nil {
		return HistoryRead{}, err
	}
	read := HistoryRead{Source: SourceIndex}
	if len(seqs) == 0 && floor == 0 {
		return read, nil
	}
	// The sequence let go last is the newest of those cut: if the stream
	// still holds it, the history is missing events the stream has.
	read.Cut = floor > 0 && floor >= stream.CachedInfo().State.FirstSeq
	msgs, err := fetchSeqs(ctx, stream, seqs)
	if err != nil {
		return HistoryRead{}, err
	}
	for _, data := range msgs {
		if data == nil {
			continue
		}
		if e, err := events.Decode(data); err == nil {
			read.Events++
			fn(e)
		}
	}
	return read, nil
}

// fetchSeqs gets the messages seqs from stream, historyFetchers at a time,
// and returns their data in the order of seqs; a message the stream no
// longer holds is nil.
func fetchSeqs(ctx context.Context, stream jetstream.Stream, seqs []uint64) ([][]byte, error) {
	out := make([][]byte, len(seqs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range min(historyFetchers, len(seqs)) {
		wg.Go(func() {
			for i := range next {
				m, err := stream.GetMsg(ctx, seqs[i])
				switch {
				case errors.Is(err, jetstream.ErrMsgNotFound):
				case err != nil:
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("blocklist: history: get message %d: %w", seqs[i], err)
					}
					mu.Unlock()
					cancel()
				default:
					out[i] = m.Data
				}
			}
		})
	}
feed:
	for i := range seqs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		// The caller's context ended: the read is incomplete.
		firstErr = fmt.Errorf("blocklist: history: %w", context.Cause(ctx))
	}
	return out, firstErr
}

// StreamReader reads every stored event of some subjects (events.Bus).
type StreamReader interface {
	ReadAll(ctx context.Context, subjects []string, fn func(events.Envelope)) error
}

// HistoryReader reads a number's events for its history: from the history
// index when it is built, else, as before the index, from the whole stream.
// It is also a StreamReader, so it can stand where the console was given
// the stream.
type HistoryReader struct {
	js     jetstream.JetStream
	stream StreamReader

	// mu guards idx, the index once found: opening it costs a request, and
	// the bucket, once there, stays.
	mu  sync.Mutex
	idx *HistoryIndex
}

// NewHistoryReader returns a reader of the history index on js that falls
// back to stream.
func NewHistoryReader(js jetstream.JetStream, stream StreamReader) *HistoryReader {
	return &HistoryReader{js: js, stream: stream}
}

// ReadAll reads the stream (StreamReader).
func (r *HistoryReader) ReadAll(ctx context.Context, subjects []string, fn func(events.Envelope)) error {
	return r.stream.ReadAll(ctx, subjects, fn)
}

// ReadNumber hands fn, in stream order, the events of the E.164 number
// e164: those the index records, or, while the index is missing or not yet
// built, every event of the stream's calls and blocklist subjects (fn must
// then pick the number's own). The answer says which.
func (r *HistoryReader) ReadNumber(ctx context.Context, e164 string, fn func(events.Envelope)) (HistoryRead, error) {
	idx, err := r.index(ctx)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
	case err != nil:
		return HistoryRead{}, err
	default:
		// Read hands fn nothing unless it read everything, so falling
		// back after an error never hands an event twice.
		read, err := idx.Read(ctx, e164, fn)
		if !errors.Is(err, ErrHistoryNotBuilt) {
			return read, err
		}
	}
	read := HistoryRead{Source: SourceStream}
	err = r.stream.ReadAll(ctx, historySubjects(), func(e events.Envelope) {
		read.Events++
		fn(e)
	})
	return read, err
}

func (r *HistoryReader) index(ctx context.Context) (*HistoryIndex, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idx != nil {
		return r.idx, nil
	}
	kv, err := r.js.KeyValue(ctx, HistoryBucket)
	if err != nil {
		return nil, err
	}
	r.idx = &HistoryIndex{js: r.js, kv: kv, max: MaxHistoryEvents}
	return r.idx, nil
}
