package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Why call-backs are kept in a KV bucket.
//
// A call-back outlives the call that asked for it (minutes of attempts and
// waits), may be placed by any IVR instance of a cluster, and must be placed
// once: not twice by two instances, and not never because the instance that
// planned it restarted. Each open call-back is one record in
// SIAGA112_CALLBACKS, keyed by the caller's number (one call-back per
// number at a time). Every change is a compare-and-swap on the record's
// revision (KV Create and Update), the engine's own way to let exactly one
// of several writers win: the instance whose claim lands places the attempt,
// the others see the claim in their watch. A claim carries a lease; an
// instance that dies mid-attempt leaves a claim whose lease runs out, and
// another one takes the record over. The callback package owns the records'
// content; this store only moves bytes with their revisions.

// CallbacksBucket is the KV bucket of call-backs.
const CallbacksBucket = "SIAGA112_CALLBACKS"

// CallbacksMaxAge is how long a record is kept after its last change: done
// call-backs stay visible that long, and a record nobody touches for so
// long belongs to a number nobody can still call back.
const CallbacksMaxAge = 7 * 24 * time.Hour

// Errors of CallbackStore, wrapped with the key.
var (
	// ErrNoRecord: the key holds no record.
	ErrNoRecord = errors.New("no such record")
	// ErrRevision: Create found a record, or Update found a newer one than
	// the revision given: someone else wrote first; read and decide again.
	ErrRevision = errors.New("record changed meanwhile")
)

// KVEntry is one record with its revision, as read or watched.
type KVEntry struct {
	Key      string
	Value    []byte
	Revision uint64
	// Deleted marks a watched delete or purge (Value is empty).
	Deleted bool
}

// CallbackStore reads and writes records of CallbacksBucket. Like
// FollowedStore it opens the bucket on first use and again after a failure.
type CallbackStore struct {
	b lazyBucket
}

// NewCallbackStore returns a store over js; nothing is requested yet.
func NewCallbackStore(js jetstream.JetStream, replicas int) *CallbackStore {
	return &CallbackStore{b: lazyBucket{js: js, cfg: jetstream.KeyValueConfig{
		Bucket: CallbacksBucket, Description: "automatic call-backs of callers who asked for help and dropped",
		TTL: CallbacksMaxAge, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	}}}
}

func (s *CallbackStore) bucket(ctx context.Context) (jetstream.KeyValue, error) { return s.b.open(ctx) }

// Get reads one record; a missing one is ErrNoRecord.
func (s *CallbackStore) Get(ctx context.Context, key string) (KVEntry, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return KVEntry{}, err
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return KVEntry{}, fmt.Errorf("events: call-back %s: %w", key, ErrNoRecord)
	}
	if err != nil {
		return KVEntry{}, fmt.Errorf("events: read call-back %s: %w", key, err)
	}
	return KVEntry{Key: key, Value: e.Value(), Revision: e.Revision()}, nil
}

// Create writes a record where none is (or only a deleted one); an
// existing record is ErrRevision.
func (s *CallbackStore) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return 0, err
	}
	rev, err := kv.Create(ctx, key, value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("events: create call-back %s: %w", key, ErrRevision)
	}
	if err != nil {
		return 0, fmt.Errorf("events: create call-back %s: %w", key, err)
	}
	return rev, nil
}

// Update replaces the record at revision rev; a newer record is
// ErrRevision.
func (s *CallbackStore) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return 0, err
	}
	next, err := kv.Update(ctx, key, value, rev)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("events: update call-back %s: %w", key, ErrRevision)
	}
	if err != nil {
		return 0, fmt.Errorf("events: update call-back %s: %w", key, err)
	}
	return next, nil
}

// Watch sends every record, then nil-free live changes, until ctx ends or
// the watch fails; the channel is closed then. initial is closed once the
// records present at the start were sent.
func (s *CallbackStore) Watch(ctx context.Context) (entries <-chan KVEntry, initial <-chan struct{}, err error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return nil, nil, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("events: watch %s: %w", CallbacksBucket, err)
	}
	out := make(chan KVEntry, 64)
	init := make(chan struct{})
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		initDone := false
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					if !initDone {
						initDone = true
						close(init)
					}
					continue
				}
				ent := KVEntry{Key: e.Key(), Value: e.Value(), Revision: e.Revision(),
					Deleted: e.Operation() != jetstream.KeyValuePut}
				select {
				case out <- ent:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, init, nil
}
