package blocklist

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Why a number's history has an index, and how it is kept.
//
// The console used to build a number's history by reading the whole event
// stream on every request: 0.4 s at 15,800 events, and the stream keeps 90
// days, so the wait grew with every call the centre took. The blocklist
// worker already reads every event in stream order and knows each one's
// stream sequence, so it also writes down, for each number, the sequences
// of the number's events; the history page then fetches just those
// messages by sequence (a direct get each), and its cost follows the
// number's events, not the stream's size.
//
// One key per number, whose value is the number's sequences, rather than
// one key per (number, sequence):
//   - the NATS server keeps an index entry in memory for every key of a
//     bucket (about 200 bytes, see CallIndexBucket), so a key per event
//     would cost as much memory as the stream has events; a key per number
//     costs as much as the retention has distinct callers;
//   - reading a history is one get and the direct gets, where keys per
//     event need a filtered listing of the bucket first;
//   - the bound (the newest MaxHistoryEvents) is one slice cut inside the
//     value, where keys per event would have to be counted and deleted.
//
// The price is that each new event rewrites the number's whole value, so
// the value is binary and bounded: a prankster with 10,000 calls keeps the
// newest MaxHistoryEvents sequences, at most about 20 KB, and the history
// says that older events were let go (HistoryRead.Cut).
//
// Several worker instances share one durable consumer, so two may add to
// the same number at once: every write is a compare-and-swap on the key's
// revision, read again and merged on a conflict. The value is a sorted set,
// so adding a sequence twice (a redelivered event, the rebuild meeting the
// live worker) changes nothing, and the order in which writers win does not
// matter.

// HistoryBucket maps a number to the stream sequences of its events (see
// above). Its max_age is the stream's: a key is rewritten with every event
// of its number, so a number whose last event has left the stream leaves
// the bucket too.
const HistoryBucket = "SIAGA112_HISTORY"

// MaxHistoryEvents bounds the sequences kept for one number: the newest
// 4,096. A call leaves four to nine events (started, answered, menu
// attempts, classified, transferred, ended, a verdict), so this is the last
// 450 to 1,000 calls of a number, which covers every caller but the most
// persistent pranksters; their older events stay in the stream and the
// history says they were cut. The value is at most about 20 KB (sequences
// as varint differences), rewritten with each of the number's events.
const MaxHistoryEvents = 4096

// Where a history was read from (HistoryRead.Source).
const (
	// SourceIndex: the number's events were fetched by sequence from the
	// history index.
	SourceIndex = "index"
	// SourceStream: the whole stream was read, because the index is not
	// there yet (a fresh upgrade before the worker has built it).
	SourceStream = "stream"
)

// ErrHistoryNotBuilt is returned by HistoryIndex.Read when the index does
// not cover the stream yet: the bucket is missing, or the rebuild of the
// events stored before the upgrade has not finished.
var ErrHistoryNotBuilt = errors.New("history index not built yet")

// historyStateKey holds the index's historyState. Number keys are "p" and
// digits (Key), so it cannot collide with one.
const historyStateKey = "state"

// historyFormat is the first byte of a number's value; another format
// would be another byte, so an old worker never misreads a new value.
const historyFormat = 1

// seqList is the value of a number's key: its events' stream sequences,
// ascending, and the highest sequence let go for the bound.
type seqList struct {
	// floor is the highest sequence dropped to keep the newest
	// MaxHistoryEvents (0 when none was): a sequence at or below it is not
	// added again, so a redelivered old event cannot push a newer one out.
	floor uint64
	seqs  []uint64
}

// marshal encodes l as the format byte, the floor and the count as
// uvarints, then each sequence as its difference from the previous one.
// A number's events are close together in the stream, so most differences
// take two or three bytes where decimal JSON would take eight or more.
func (l seqList) marshal() []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+3*len(l.seqs))
	b = append(b, historyFormat)
	b = binary.AppendUvarint(b, l.floor)
	b = binary.AppendUvarint(b, uint64(len(l.seqs)))
	var prev uint64
	for _, s := range l.seqs {
		b = binary.AppendUvarint(b, s-prev)
		prev = s
	}
	return b
}

// errHistoryValue is wrapped when a value does not decode.
var errHistoryValue = errors.New("blocklist: history value does not decode")

func parseSeqList(b []byte) (seqList, error) {
	if len(b) == 0 || b[0] != historyFormat {
		return seqList{}, fmt.Errorf("%w: unknown format", errHistoryValue)
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	var l seqList
	floor, ok1 := next()
	count, ok2 := next()
	// Each sequence takes at least a byte, so a count larger than what is
	// left is a broken value, not a reason to allocate.
	if !ok1 || !ok2 || count > uint64(len(b)) {
		return seqList{}, fmt.Errorf("%w: bad header", errHistoryValue)
	}
	l.floor = floor
	l.seqs = make([]uint64, 0, count)
	var prev uint64
	for range count {
		d, ok := next()
		if !ok || (d == 0 && len(l.seqs) > 0) {
			return seqList{}, fmt.Errorf("%w: bad sequence", errHistoryValue)
		}
		prev += d
		l.seqs = append(l.seqs, prev)
	}
	return l, nil
}

// insert adds seqs and keeps the newest max; it reports whether l changed.
func (l *seqList) insert(max int, seqs ...uint64) bool {
	changed := false
	for _, s := range seqs {
		if s == 0 || s <= l.floor {
			continue
		}
		i, found := slices.BinarySearch(l.seqs, s)
		if found {
			continue
		}
		l.seqs = slices.Insert(l.seqs, i, s)
		changed = true
	}
	if over := len(l.seqs) - max; over > 0 {
		l.floor = l.seqs[over-1]
		l.seqs = slices.Delete(l.seqs, 0, over)
	}
	return changed
}

// historyState says how far the index covers the stream. It is written
// by the rebuild (history_rebuild.go).
type historyState struct {
	// Built is true once every event stored before the index existed has
	// been indexed; from then on the worker keeps it current.
	Built bool `json:"built"`
	// Target is the last stream sequence the rebuild covers: the stream's
	// last sequence when it began. Later events reach the index through
	// the worker's consumer.
	Target uint64 `json:"target"`
	// Done is the last sequence the rebuild has indexed; a rebuild taken
	// over from a stopped worker goes on after it.
	Done uint64 `json:"done"`
	// Stream is when the stream the sequences point into was created: a
	// stream deleted and made again numbers its messages from 1, and
	// sequences of the old one would name other events of the new.
	Stream string `json:"stream"`
	// Owner names the worker rebuilding, and At is when it last said so;
	// another worker takes over a rebuild whose At is older than
	// rebuildStale.
	Owner string    `json:"owner,omitempty"`
	At    time.Time `json:"at"`
}

// HistoryIndex is the history bucket: it records which stream sequences
// belong to which number, and reads a number's events back by sequence.
type HistoryIndex struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	max int
	// ttl is the bucket's max_age (0: none), which the index's state must
	// be rewritten within (touchState).
	ttl time.Duration
}

// HistoryBucketConfig is the KV configuration of HistoryBucket: one
// revision per key (the value is rewritten whole, and compare-and-swap
// checks the latest only) and the stream's max_age.
func HistoryBucketConfig(replicas int, maxAge time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      HistoryBucket,
		Description: "siaga112: number -> stream sequences of its events, for its history",
		History:     1,
		TTL:         maxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
}

// OpenHistoryIndex opens the history bucket, creating it when it is
// missing (see HistoryBucketConfig).
func OpenHistoryIndex(ctx context.Context, js jetstream.JetStream, replicas int, maxAge time.Duration) (*HistoryIndex, error) {
	kv, err := js.KeyValue(ctx, HistoryBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, HistoryBucketConfig(replicas, maxAge))
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, HistoryBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blocklist: open bucket %s: %w", HistoryBucket, err)
	}
	x := &HistoryIndex{js: js, kv: kv, max: MaxHistoryEvents, ttl: maxAge}
	// A bucket made earlier keeps the max_age it was made with.
	if st, err := kv.Status(ctx); err == nil {
		x.ttl = st.TTL()
	}
	return x, nil
}

// Add records that the stream messages seqs are events of the E.164
// number e164. Adding a sequence twice changes nothing; of a number's
// sequences only the newest MaxHistoryEvents are kept.
func (x *HistoryIndex) Add(ctx context.Context, e164 string, seqs ...uint64) error {
	key, err := Key(e164)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		var l seqList
		var rev uint64
		entry, err := x.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("blocklist: history of %s: %w", Mask(e164), err)
		default:
			rev = entry.Revision()
			if l, err = parseSeqList(entry.Value()); err != nil {
				// A broken value would stop the number's history for
				// good; starting again from this event loses only what
				// could not be read anyway.
				l = seqList{}
			}
		}
		if !l.insert(x.max, seqs...) {
			return nil
		}
		if rev == 0 {
			_, err = x.kv.Create(ctx, key, l.marshal())
		} else {
			_, err = x.kv.Update(ctx, key, l.marshal(), rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("blocklist: history of %s: %w", Mask(e164), err)
		}
		if attempt >= maxUpdateAttempts {
			return fmt.Errorf("blocklist: history of %s: %w", Mask(e164), ErrConflict)
		}
		// Another worker wrote the number first: read its value again,
		// after a short random pause so the two do not collide in step.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(attempt, 10))))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Seqs returns the stream sequences recorded for e164, ascending, and the
// highest one let go for the bound (0 when none was).
func (x *HistoryIndex) Seqs(ctx context.Context, e164 string) (seqs []uint64, floor uint64, err error) {
	key, err := Key(e164)
	if err != nil {
		return nil, 0, err
	}
	entry, err := x.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blocklist: history of %s: %w", Mask(e164), err)
	}
	l, err := parseSeqList(entry.Value())
	if err != nil {
		return nil, 0, err
	}
	return l.seqs, l.floor, nil
}

// state reads the index's state; ok is false when there is none yet.
func (x *HistoryIndex) state(ctx context.Context) (st historyState, rev uint64, ok bool, err error) {
	entry, err := x.kv.Get(ctx, historyStateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return historyState{}, 0, false, nil
	}
	if err != nil {
		return historyState{}, 0, false, fmt.Errorf("blocklist: history state: %w", err)
	}
	if err := json.Unmarshal(entry.Value(), &st); err != nil {
		return historyState{}, 0, false, fmt.Errorf("blocklist: history state: %w", err)
	}
	return st, entry.Revision(), true, nil
}

// Built reports whether the index covers the whole stream.
func (x *HistoryIndex) Built(ctx context.Context) (bool, error) {
	st, _, ok, err := x.state(ctx)
	return ok && st.Built, err
}

// streamCreated identifies the stream by its creation time, which a
// stream deleted and made again does not keep.
func streamCreated(s jetstream.Stream) string {
	return s.CachedInfo().Created.UTC().Format(time.RFC3339Nano)
}
