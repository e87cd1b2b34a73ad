package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Why the calls an IVR follows are kept in a KV bucket.
//
// An IVR follows each call it hands to the operators until Asterisk
// destroys the channel, and publishes how it ended. When the IVR stops,
// the calls in the queue go on in Asterisk without it. A restarted IVR
// finds those still there in Asterisk's channel list, but a call that
// ended while no IVR ran leaves no trace there, and would never get its
// call.ended. So each followed call has a record in SIAGA112_FOLLOWED,
// written when following begins and deleted when its end is published: a
// restarted IVR publishes "ended, where unknown" for the records of its
// node whose channels Asterisk no longer has, and adopts the others with
// what the record knows (type, outcome, when it was answered and handed
// over). Records expire after FollowedMaxAge, so a node that never comes
// back does not keep them for ever.

// FollowedBucket is the KV bucket of followed calls.
const FollowedBucket = "SIAGA112_FOLLOWED"

// FollowedMaxAge is how long a followed call's record is kept at most: no
// call waits in a queue or talks to an operator that long.
const FollowedMaxAge = 24 * time.Hour

// FollowedCall is what an IVR keeps of a call it follows past the hand-off.
type FollowedCall struct {
	CallID        string    `json:"call_id"`
	Node          string    `json:"node"`
	Caller        Caller    `json:"caller"`
	Outcome       Outcome   `json:"outcome"`
	EmergencyType string    `json:"emergency_type"`
	Extension     string    `json:"extension"`
	Started       time.Time `json:"started"`
	Answered      time.Time `json:"answered,omitzero"`
	Queued        time.Time `json:"queued"`
	// CallbackOf is set for a call-back's own call: the dropped call.
	CallbackOf string `json:"callback_of,omitempty"`
}

// FollowedStore keeps FollowedCall records in FollowedBucket. It opens the
// bucket on first use and again after a failure, so an IVR that starts
// while NATS is down serves calls at once and keeps records once NATS is
// back.
type FollowedStore struct {
	b lazyBucket
}

// NewFollowedStore returns a store over js; nothing is requested yet.
func NewFollowedStore(js jetstream.JetStream, replicas int) *FollowedStore {
	return &FollowedStore{b: lazyBucket{js: js, cfg: jetstream.KeyValueConfig{
		Bucket: FollowedBucket, Description: "calls an IVR follows past the hand-off",
		TTL: FollowedMaxAge, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	}}}
}

// bucket returns the bucket, opening (and creating) it when needed.
func (s *FollowedStore) bucket(ctx context.Context) (jetstream.KeyValue, error) { return s.b.open(ctx) }

// lazyBucket is a KV bucket opened (and created with cfg when missing) on
// first use, and again after a failure: a role that starts while NATS is
// down works at once and keeps its records once NATS is back.
type lazyBucket struct {
	js  jetstream.JetStream
	cfg jetstream.KeyValueConfig

	mu sync.Mutex
	kv jetstream.KeyValue // guarded by mu; nil until opened
}

func (b *lazyBucket) open(ctx context.Context) (jetstream.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kv != nil {
		return b.kv, nil
	}
	kv, err := b.js.KeyValue(ctx, b.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.js.CreateKeyValue(ctx, b.cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = b.js.KeyValue(ctx, b.cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", b.cfg.Bucket, err)
	}
	b.kv = kv
	return kv, nil
}

// Put records a followed call.
func (s *FollowedStore) Put(ctx context.Context, c FollowedCall) error {
	if err := token("call_id", c.CallID, 1, MaxCallIDLen); err != nil {
		return err
	}
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("events: encode followed call: %w", err)
	}
	if _, err := kv.Put(ctx, c.CallID, b); err != nil {
		return fmt.Errorf("events: record followed call %s: %w", c.CallID, err)
	}
	return nil
}

// Delete forgets a followed call; a missing record is no error.
func (s *FollowedStore) Delete(ctx context.Context, callID string) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	if err := kv.Delete(ctx, callID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("events: forget followed call %s: %w", callID, err)
	}
	return nil
}

// List returns the followed calls of one node. A record that cannot be
// decoded is skipped (and deleted: nothing could ever use it).
func (s *FollowedStore) List(ctx context.Context, node string) ([]FollowedCall, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: list followed calls: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []FollowedCall
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("events: read followed call %s: %w", k, err)
		}
		var c FollowedCall
		if err := json.Unmarshal(e.Value(), &c); err != nil || c.CallID != k {
			_ = kv.Delete(ctx, k)
			continue
		}
		if c.Node == node {
			out = append(out, c)
		}
	}
	return out, nil
}
