package blocklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
)

// Why the index is rebuilt from the stream once.
//
// An upgrade finds a stream full of events the index never saw, and the
// worker's durable consumer is already past them: the worker's consumer
// only ever hands it events stored after its position. So on start, a
// worker that finds no index state reads the stream once, from its first
// event to the last one stored at that moment (Target), and indexes what
// it reads. The live consumer indexes everything after, and meets the
// rebuild harmlessly where the two overlap (adding a sequence twice changes
// nothing). Until the rebuild has finished the console reads the whole
// stream as it did before, and says so.
//
// The rebuild is bounded: it reads a fixed range, holds at most
// rebuildChunk sequences in memory before writing them (one
// compare-and-swap per number of the chunk), and remembers the calls of
// one policy window only, which is as late as a verdict or a tick is
// accepted (Admin.FindCall). It logs its progress after every chunk and
// saves it in the index's state, so a worker stopped half-way is followed
// by one that goes on from there (after rebuildStale without word from the
// first).

// rebuildChunk is how many events the rebuild reads before it writes their
// sequences to the index and saves its progress.
const rebuildChunk = 20000

// rebuildStale is how long a rebuild may go without saving its progress
// before another worker takes it over. A chunk takes well under a second
// to read and a few seconds to write, so this is a stopped worker, not a
// slow one.
const rebuildStale = 2 * time.Minute

// rebuildWriters is how many numbers of a chunk are written at once: the
// writes are to different keys, so they never conflict with each other.
const rebuildWriters = 8

// RebuildStats says what a rebuild did.
type RebuildStats struct {
	// Skipped is true when there was nothing to do: the index is built,
	// or another worker is building it.
	Skipped bool
	// Events counts the stream messages read; Indexed those that belonged
	// to a number.
	Events, Indexed int
	// Target is the last stream sequence the rebuild covers.
	Target uint64
}

// RebuildHistory builds the history index from the events stored before it
// existed, unless it is built or another worker is building it (see above).
// The worker runs it on start, beside its consumer.
func (w *Worker) RebuildHistory(ctx context.Context) (RebuildStats, error) {
	x := w.history
	st, rev, ok, err := x.state(ctx)
	if err != nil {
		return RebuildStats{}, err
	}
	stream, err := x.js.Stream(ctx, events.StreamName)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("blocklist: history rebuild: %w", err)
	}
	created := streamCreated(stream)
	now := time.Now().UTC()
	if ok && st.Stream != created {
		// The stream was deleted and made again since the index was
		// built: its sequences name other events now.
		return w.resetHistory(ctx, st, rev, stream)
	}
	if ok && st.Built {
		return RebuildStats{Skipped: true, Target: st.Target}, nil
	}
	if ok && now.Sub(st.At) < rebuildStale {
		return RebuildStats{Skipped: true, Target: st.Target}, nil
	}
	if !ok {
		st = rangeOf(stream)
	}
	st.Owner, st.At = w.owner, now
	rev, err = x.putState(ctx, st, rev, ok)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// Another worker started or took it over first.
		return RebuildStats{Skipped: true, Target: st.Target}, nil
	}
	if err != nil || st.Built {
		return RebuildStats{Target: st.Target}, err
	}
	w.log.Info("history index: indexing the events stored before it", "from_seq", st.Done+1, "target_seq", st.Target)
	r := &rebuild{w: w, st: st, rev: rev, calls: map[string]callSeen{}, started: time.Now()}
	return r.run(ctx)
}

// rangeOf is the state of a rebuild of stream as it is now: from its first
// message to its last. An empty stream has nothing to rebuild.
func rangeOf(stream jetstream.Stream) historyState {
	info := stream.CachedInfo()
	return historyState{
		Stream: streamCreated(stream), Target: info.State.LastSeq,
		Done: info.State.FirstSeq - min(info.State.FirstSeq, 1), Built: info.State.Msgs == 0,
	}
}

// resetHistory empties an index built for an earlier stream and rebuilds
// it from the stream there is now. The state is claimed first (so only one
// worker resets, and readers go to the stream meanwhile), then every
// number's key is purged, and only then is the rebuild's range read: an
// event the live worker indexed before its key was purged is at or below
// that range's end, so the rebuild puts it back.
func (w *Worker) resetHistory(ctx context.Context, old historyState, rev uint64, stream jetstream.Stream) (RebuildStats, error) {
	x := w.history
	st := historyState{Stream: streamCreated(stream), Owner: w.owner, At: time.Now().UTC()}
	rev, err := x.putState(ctx, st, rev, true)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return RebuildStats{Skipped: true}, nil
	}
	if err != nil {
		return RebuildStats{}, err
	}
	w.log.Warn("history index was built for an earlier stream; emptying it and indexing the stream there is now",
		"old_stream_created", old.Stream, "stream_created", st.Stream)
	keys, err := x.kv.ListKeys(ctx)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("blocklist: history reset: %w", err)
	}
	purged := 0
	for k := range keys.Keys() {
		if k == historyStateKey {
			continue
		}
		if err := x.kv.Purge(ctx, k); err != nil {
			_ = keys.Stop()
			return RebuildStats{}, fmt.Errorf("blocklist: history reset: %w", err)
		}
		purged++
	}
	// Info refreshes the stream's cached info, which rangeOf reads.
	if _, err := stream.Info(ctx); err != nil {
		return RebuildStats{}, fmt.Errorf("blocklist: history reset: %w", err)
	}
	next := rangeOf(stream)
	next.Owner, next.At = w.owner, time.Now().UTC()
	if rev, err = x.putState(ctx, next, rev, true); err != nil {
		return RebuildStats{}, fmt.Errorf("blocklist: history reset: %w", err)
	}
	w.log.Info("history index emptied", "numbers", purged, "target_seq", next.Target)
	if next.Built {
		return RebuildStats{Target: next.Target}, nil
	}
	r := &rebuild{w: w, st: next, rev: rev, calls: map[string]callSeen{}, started: time.Now()}
	return r.run(ctx)
}

// callSeen is a call the rebuild has read the call.started of.
type callSeen struct {
	number string
	at     time.Time
}

// rebuild is one run of RebuildHistory.
type rebuild struct {
	w     *Worker
	st    historyState
	rev   uint64
	stats RebuildStats
	// calls maps the call ids of the last policy window (by event time)
	// to their numbers; order lists them oldest first, to forget them.
	calls   map[string]callSeen
	order   []string
	started time.Time
}

func (r *rebuild) run(ctx context.Context) (RebuildStats, error) {
	x := r.w.history
	r.stats.Target = r.st.Target
	cons, err := x.js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: historySubjects(),
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    r.st.Done + 1,
	})
	if err != nil {
		return r.stats, fmt.Errorf("blocklist: history rebuild: %w", err)
	}
	chunk := map[string][]uint64{}
	pending := 0
	// ask is the next batch's size: no more than the consumer says are
	// left, so a batch fills and returns at once instead of waiting out
	// its time for messages that are not there.
	info, err := cons.Info(ctx)
	if err != nil {
		return r.stats, fmt.Errorf("blocklist: history rebuild: %w", err)
	}
	ask := int(min(info.NumPending, 500))
	if ask == 0 {
		// Nothing on the rebuild's subjects from Done on.
		r.st.Done = r.st.Target
	}
	for r.st.Done < r.st.Target {
		batch, err := cons.Fetch(ask, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return r.stats, fmt.Errorf("blocklist: history rebuild: %w", err)
		}
		n := 0
		end := false
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > r.st.Target {
				end = true
				break
			}
			n++
			r.stats.Events++
			if num := r.numberOf(ctx, m.Data()); num != "" {
				chunk[num] = append(chunk[num], seq)
				pending++
				r.stats.Indexed++
			}
			r.st.Done = seq
			if md.NumPending == 0 {
				end = true
			}
			ask = int(min(md.NumPending, 500))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return r.stats, fmt.Errorf("blocklist: history rebuild: %w", err)
		}
		// Nothing more on the rebuild's subjects up to Target: the last
		// messages before it were of other subjects.
		if n == 0 || end {
			r.st.Done = r.st.Target
		}
		if pending >= rebuildChunk || r.st.Done >= r.st.Target {
			if err := r.flush(ctx, chunk); err != nil {
				return r.stats, err
			}
			clear(chunk)
			pending = 0
		}
	}
	r.st.Built = true
	if err := r.save(ctx); err != nil {
		return r.stats, err
	}
	r.w.log.Info("history index built", "events", r.stats.Events, "indexed", r.stats.Indexed,
		"target_seq", r.st.Target, "took", time.Since(r.started).Round(time.Millisecond))
	return r.stats, nil
}

// numberOf returns the number an event read by the rebuild belongs to,
// as the live worker would find it, with the calls the rebuild has read
// standing in for the call index (which keeps one window only).
func (r *rebuild) numberOf(ctx context.Context, data []byte) string {
	e, err := events.Decode(data)
	if err != nil {
		return ""
	}
	e = events.Sanitize(e)
	if e.Type == events.TypeStarted {
		if n := r.w.number(e.Caller); n != "" && e.CallID != "" {
			r.remember(e.CallID, n, e.Time)
		}
	}
	n, _ := r.w.historyNumber(ctx, e, func(ctx context.Context, callID string) (string, error) {
		if c, ok := r.calls[callID]; ok {
			return c.number, nil
		}
		// A call started before the rebuild's range (a rebuild taken
		// over half-way) may still be in the call index.
		return r.w.indexedNumber(ctx, callID)
	})
	return n
}

// remember keeps callID's number for one policy window of event time.
func (r *rebuild) remember(callID, number string, at time.Time) {
	r.calls[callID] = callSeen{number: number, at: at}
	r.order = append(r.order, callID)
	window := r.w.store.policy.Window
	i := 0
	for ; i < len(r.order); i++ {
		c, ok := r.calls[r.order[i]]
		if ok && at.Sub(c.at) <= window {
			break
		}
		if ok {
			delete(r.calls, r.order[i])
		}
	}
	r.order = r.order[i:]
}

// flush writes a chunk's sequences, several numbers at once, then saves
// the progress and logs it.
func (r *rebuild) flush(ctx context.Context, chunk map[string][]uint64) error {
	x := r.w.history
	work := make(chan string)
	errs := make(chan error, rebuildWriters)
	var wg sync.WaitGroup
	for range rebuildWriters {
		wg.Go(func() {
			for n := range work {
				if err := x.Add(ctx, n, chunk[n]...); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for n := range chunk {
		work <- n
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("blocklist: history rebuild: %w", err)
	default:
	}
	if err := r.save(ctx); err != nil {
		return err
	}
	r.w.log.Info("history index: rebuilding", "done_seq", r.st.Done, "target_seq", r.st.Target,
		"events", r.stats.Events, "indexed", r.stats.Indexed, "numbers", len(chunk))
	return nil
}

// save writes the rebuild's progress; it fails when another worker took
// the rebuild over, which then goes on from the progress saved last.
func (r *rebuild) save(ctx context.Context) error {
	r.st.At = time.Now().UTC()
	rev, err := r.w.history.putState(ctx, r.st, r.rev, true)
	if err != nil {
		return fmt.Errorf("blocklist: history rebuild: save progress: %w", err)
	}
	r.rev = rev
	return nil
}

// putState writes st: created when exists is false, else compared and
// swapped against rev. It returns the new revision.
func (x *HistoryIndex) putState(ctx context.Context, st historyState, rev uint64, exists bool) (uint64, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	if !exists {
		return x.kv.Create(ctx, historyStateKey, data)
	}
	return x.kv.Update(ctx, historyStateKey, data, rev)
}

// touchState rewrites a built index's state once a day, or four times
// within the bucket's max_age when that is shorter, so that the max_age
// (the stream's) never expires it while the index is in use: without it
// the index would look unbuilt after one retention and be read around.
func (x *HistoryIndex) touchState(ctx context.Context) error {
	every := 24 * time.Hour
	if x.ttl > 0 {
		every = min(every, x.ttl/4)
	}
	st, rev, ok, err := x.state(ctx)
	if err != nil || !ok || !st.Built || time.Since(st.At) < every {
		return err
	}
	st.At = time.Now().UTC()
	_, err = x.putState(ctx, st, rev, true)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// Another worker touched it first.
		return nil
	}
	return err
}
