// Package blocklist blocks repeat prank callers of the emergency line. It
// keeps the pure policy (policy.go, number.go) apart from its I/O: the
// JetStream KV store (store.go), the in-memory cache the IVR asks on every
// call (cache.go), the worker that turns call events into strikes
// (worker.go) and the admin's actions (admin.go, csv.go). It has no HTTP
// side: web/ serves the blocklist API over Admin and the Store.
package blocklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/phone"
)

// Bucket is the JetStream KV bucket holding one Record per blocked or
// striking number. Records that hold nothing that still matters
// (Policy.Forgettable: a number struck once, a window ago) are deleted by
// the worker's sweep (Store.Prune), so the bucket holds the numbers struck
// within the window and those ever blocked automatically, not every number
// ever struck.
const Bucket = "SIAGA112_BLOCKLIST"

// ErrNotFound is returned when a number has no record.
var ErrNotFound = errors.New("number not in blocklist")

// ErrConflict is returned when a record kept changing under us for longer
// than the update's retries; the caller may try again.
var ErrConflict = errors.New("blocklist record changed concurrently too often")

// keyPrefix stands for the "+" of E.164: KV keys may only hold letters,
// digits and "-/_=.", so "+6281234567890" is stored under "p6281234567890".
// The key stays readable in `nats kv ls` and maps back one to one.
const keyPrefix = "p"

// maxUpdateAttempts bounds the compare-and-swap retries of one update. Each
// conflict means another writer succeeded, so the loop makes progress; the
// bound only stops a livelock from hanging a worker.
const maxUpdateAttempts = 100

// Key returns the KV key of an E.164 number: "+" and 1 to 15 digits, so
// a key is short and holds only characters NATS allows whatever a caller
// id or an admin's input said.
func Key(e164 string) (string, error) {
	digits, ok := strings.CutPrefix(e164, "+")
	if !ok || digits == "" || len(digits) > phone.MaxDigits || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("%w %q", ErrInvalidNumber, e164)
	}
	return keyPrefix + digits, nil
}

// NumberFromKey returns the E.164 number stored under key.
func NumberFromKey(key string) (string, bool) {
	digits, ok := strings.CutPrefix(key, keyPrefix)
	if !ok || digits == "" || len(digits) > phone.MaxDigits || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	return "+" + digits, true
}

// BucketConfig is the KV configuration of Bucket. History is 1: the record
// carries its own history (strikes, seen events, who set the block), and
// updates are checked against the latest revision only.
func BucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "siaga112 blocklist: strikes and blocks per caller number",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
}

// OpenBucket returns the blocklist bucket, creating it when it does not
// exist. An existing bucket is left as it is, so an IVR started with other
// settings cannot change the worker's bucket.
func OpenBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, BucketConfig(replicas))
		if errors.Is(err, jetstream.ErrBucketExists) {
			// Another process created it between our two calls.
			kv, err = js.KeyValue(ctx, Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blocklist: open bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Store reads and writes blocklist records in the KV bucket. Every write is
// a compare-and-swap on the record's revision, so concurrent workers and
// admins never lose each other's changes.
type Store struct {
	kv     jetstream.KeyValue
	policy Policy
	log    *slog.Logger
	now    func() time.Time
}

// NewStore returns a Store over kv (see OpenBucket).
func NewStore(kv jetstream.KeyValue, policy Policy, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{kv: kv, policy: policy, log: log.With("component", "blocklist-store"), now: time.Now}
}

// Policy returns the store's policy.
func (s *Store) Policy() Policy { return s.policy }

// UpdateFunc computes the new record from the current one. It may run more
// than once (after a conflicting write) and must not have side effects.
type UpdateFunc func(Record) (Record, Decision, error)

// Update reads the record of the E.164 number (a fresh one if missing),
// applies fn and writes the result only if the record did not change in
// between; on a conflict it reads again and re-applies fn. Nothing is
// written when fn reports ChangeNone.
func (s *Store) Update(ctx context.Context, e164 string, fn UpdateFunc) (Record, Decision, error) {
	key, err := Key(e164)
	if err != nil {
		return Record{}, Decision{}, err
	}
	for attempt := 1; ; attempt++ {
		cur, rev, err := s.get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			cur = Record{Number: e164}
		case err != nil:
			return Record{}, Decision{}, err
		}
		next, d, err := fn(cur)
		if err != nil || !d.Change.Changed() {
			return next, d, err
		}
		data, err := json.Marshal(next)
		if err != nil {
			return Record{}, Decision{}, fmt.Errorf("blocklist: encode record: %w", err)
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, data)
		} else {
			_, err = s.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return next, d, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return Record{}, Decision{}, fmt.Errorf("blocklist: write %s: %w", phone.Mask(e164), err)
		}
		if attempt >= maxUpdateAttempts {
			return Record{}, Decision{}, fmt.Errorf("blocklist: write %s: %w", phone.Mask(e164), ErrConflict)
		}
		// Another writer won; a short random pause keeps two workers from
		// colliding in lock step.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(attempt, 10))))
		select {
		case <-ctx.Done():
			return Record{}, Decision{}, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// get returns the record under key and its revision.
func (s *Store) get(ctx context.Context, key string) (Record, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Record{}, 0, ErrNotFound
	}
	if err != nil {
		return Record{}, 0, fmt.Errorf("blocklist: read: %w", err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, 0, fmt.Errorf("blocklist: decode record %s: %w", key, err)
	}
	return r, e.Revision(), nil
}

// Get returns the record of an E.164 number, or ErrNotFound.
func (s *Store) Get(ctx context.Context, e164 string) (Record, error) {
	key, err := Key(e164)
	if err != nil {
		return Record{}, err
	}
	r, _, err := s.get(ctx, key)
	return r, err
}

// List returns every record, sorted by number.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("blocklist: list: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []Record
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("blocklist: list: watcher closed")
			}
			if e == nil {
				sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
				return out, nil
			}
			var r Record
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				s.log.Warn("skipping undecodable record", "key", e.Key(), "err", err)
				continue
			}
			out = append(out, r)
		}
	}
}

// Add blocks a number for length on an admin's order. raw is normalised;
// anonymous and allowlisted numbers are refused.
func (s *Store) Add(ctx context.Context, raw string, length time.Duration, reason, by string) (Record, Decision, error) {
	n, err := s.number(raw)
	if err != nil {
		return Record{}, Decision{}, err
	}
	now := s.now()
	return s.Update(ctx, n, func(r Record) (Record, Decision, error) {
		return s.policy.AddManual(r, now, length, reason, by)
	})
}

// Remove lifts the block of a number and clears its strikes on an admin's
// order. A number without a record gives ErrNotFound.
func (s *Store) Remove(ctx context.Context, raw, by string) (Record, Decision, error) {
	n, err := s.number(raw)
	if err != nil {
		return Record{}, Decision{}, err
	}
	if _, err := s.Get(ctx, n); err != nil {
		return Record{}, Decision{}, err
	}
	now := s.now()
	return s.Update(ctx, n, func(r Record) (Record, Decision, error) {
		r, d := s.policy.RemoveManual(r, now, by)
		return r, d, nil
	})
}

// number normalises an admin's input and refuses anonymous callers.
func (s *Store) number(raw string) (string, error) {
	n, err := s.policy.Normalize(raw)
	if err != nil {
		return "", err
	}
	if n.IsAnonymous() {
		return "", ErrAnonymous
	}
	return n.E164, nil
}

// Purger is the part of a JetStream stream that Prune uses: the bucket's
// stream, KV_SIAGA112_BLOCKLIST.
type Purger interface {
	Purge(ctx context.Context, opts ...jetstream.StreamPurgeOpt) error
}

// PruneStats says what one sweep did.
type PruneStats struct {
	// Records is how many records the sweep read.
	Records int
	// Forgotten is how many it deleted.
	Forgotten int
}

// Prune deletes the records that are Forgettable at the store's clock.
// Each record is purged from the bucket's stream only up to the revision
// that was judged: a strike written since (a newer revision) survives, so
// a sweep never loses an update, and a worker that read the old revision
// just finds the key gone and creates it again. Nothing is left behind, not
// even a delete marker: the IVRs' caches hold only blocked numbers, which
// are never forgettable, so they have nothing to drop.
func (s *Store) Prune(ctx context.Context, stream Purger) (PruneStats, error) {
	var st PruneStats
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return st, fmt.Errorf("blocklist: prune: %w", err)
	}
	type victim struct {
		key string
		rev uint64
	}
	var victims []victim
	now := s.now()
	func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				err = ctx.Err()
				return
			case e, ok := <-w.Updates():
				if !ok {
					err = errors.New("watcher closed")
					return
				}
				if e == nil {
					return
				}
				st.Records++
				var r Record
				if json.Unmarshal(e.Value(), &r) != nil {
					continue // kept: an admin should see what it is
				}
				if s.policy.Forgettable(r, now) {
					victims = append(victims, victim{e.Key(), e.Revision()})
				}
			}
		}
	}()
	if err != nil {
		return st, fmt.Errorf("blocklist: prune: %w", err)
	}
	for _, v := range victims {
		if err := s.forget(ctx, stream, v.key, v.rev); err != nil {
			return st, err
		}
		st.Forgotten++
	}
	return st, nil
}

// forget purges key's messages up to and including revision rev.
func (s *Store) forget(ctx context.Context, stream Purger, key string, rev uint64) error {
	err := stream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+Bucket+"."+key), jetstream.WithPurgeSequence(rev+1))
	if err != nil {
		return fmt.Errorf("blocklist: prune %s: %w", key, err)
	}
	return nil
}
