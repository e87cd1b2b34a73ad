package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Publisher publishes incident.started and incident.ended.
type Publisher interface {
	Publish(ctx context.Context, e events.Envelope) error
}

// OpenBucket opens the incident bucket, creating it when missing.
func OpenBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: Bucket, Description: "siaga112 incident announcement", History: 5,
			Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("incident: open bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Store starts and stops the announcement.
type Store struct {
	kv  jetstream.KeyValue
	pub Publisher
	now func() time.Time
	log *slog.Logger
}

// NewStore returns a store over kv publishing through pub.
func NewStore(kv jetstream.KeyValue, pub Publisher, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{kv: kv, pub: pub, now: time.Now, log: log.With("component", "incident")}
}

// Current returns the announcement stored now (active or expired);
// ErrNone when there is none.
func (s *Store) Current(ctx context.Context) (Incident, error) {
	e, err := s.kv.Get(ctx, activeKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Incident{}, ErrNone
	}
	if err != nil {
		return Incident{}, fmt.Errorf("incident: read: %w", err)
	}
	var i Incident
	if err := json.Unmarshal(e.Value(), &i); err != nil || i.ID == "" {
		return Incident{}, ErrNone
	}
	return i, nil
}

// Start replaces any announcement with a new one and publishes
// incident.started (and incident.ended for the one it replaced).
func (s *Store) Start(ctx context.Context, title, media string, length time.Duration, by string) (Incident, error) {
	i, err := New(title, media, length, by, s.now())
	if err != nil {
		return Incident{}, err
	}
	if old, err := s.Current(ctx); err == nil && old.Active(s.now()) {
		s.publish(ctx, events.TypeIncidentEnded, old, by)
	}
	b, _ := json.Marshal(i)
	if _, err := s.kv.Put(ctx, activeKey, b); err != nil {
		return Incident{}, fmt.Errorf("incident: store: %w", err)
	}
	s.publish(ctx, events.TypeIncidentStarted, i, by)
	s.log.Info("incident announcement started", "id", i.ID, "title", i.Title, "media", i.Media, "by", by, "expires", i.Expires)
	return i, nil
}

// Stop ends the announcement; ErrNone when none plays.
func (s *Store) Stop(ctx context.Context, by string) (Incident, error) {
	i, err := s.Current(ctx)
	if err != nil {
		return Incident{}, err
	}
	if err := s.kv.Delete(ctx, activeKey); err != nil {
		return Incident{}, fmt.Errorf("incident: stop: %w", err)
	}
	if !i.Active(s.now()) {
		return Incident{}, ErrNone
	}
	s.publish(ctx, events.TypeIncidentEnded, i, by)
	s.log.Info("incident announcement stopped", "id", i.ID, "by", by)
	return i, nil
}

// publish reports a start or stop on the stream; the KV record is what the
// IVR follows, so a failed publish is logged, not returned.
func (s *Store) publish(ctx context.Context, t events.Type, i Incident, by string) {
	if s.pub == nil {
		return
	}
	e, err := events.New(t, "", "", events.Caller{}, events.Incident{ID: i.ID, Title: i.Title, Media: i.Media, By: by, Expires: i.Expires})
	if err == nil {
		err = s.pub.Publish(ctx, e)
	}
	if err != nil {
		s.log.Warn("incident event not published", "type", t, "id", i.ID, "err", err)
	}
}

// Watch keeps the IVR's copy of the announcement: a watch of the bucket's
// one key, re-established with backoff when it ends. Active never touches
// the network.
type Watch struct {
	open    func(context.Context) (jetstream.KeyValue, error)
	log     *slog.Logger
	current atomic.Pointer[Incident]
	ready   chan struct{}
	once    sync.Once
	live    atomic.Bool
}

// NewWatch returns a watch of the bucket reached through js.
func NewWatch(js jetstream.JetStream, replicas int, log *slog.Logger) *Watch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watch{
		open:  func(ctx context.Context) (jetstream.KeyValue, error) { return OpenBucket(ctx, js, replicas) },
		log:   log.With("component", "incident-watch"),
		ready: make(chan struct{}),
	}
}

// Active returns the announcement playing at now.
func (w *Watch) Active(now time.Time) (Incident, bool) {
	i := w.current.Load()
	if i == nil || !i.Active(now) {
		return Incident{}, false
	}
	return *i, true
}

// Ready is closed once the first state was read.
func (w *Watch) Ready() <-chan struct{} { return w.ready }

// Live reports whether the watch follows the bucket now.
func (w *Watch) Live() bool { return w.live.Load() }

// Run follows the bucket until ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.follow(ctx)
		w.live.Store(false)
		if ctx.Err() != nil {
			break
		}
		w.log.Warn("incident watch ended; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (w *Watch) follow(ctx context.Context) error {
	kv, err := w.open(ctx)
	if err != nil {
		return err
	}
	watcher, err := kv.Watch(ctx, activeKey)
	if err != nil {
		return err
	}
	defer func() { _ = watcher.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-watcher.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil {
				// End of the initial values: the state is known.
				w.live.Store(true)
				w.once.Do(func() { close(w.ready) })
				continue
			}
			w.apply(e)
		}
	}
}

func (w *Watch) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		w.current.Store(nil)
		w.log.Info("incident announcement ended")
		return
	}
	var i Incident
	if err := json.Unmarshal(e.Value(), &i); err != nil || i.ID == "" || CheckMedia(i.Media) != nil {
		// A record the IVR cannot play safely is ignored: callers hear
		// the normal flow.
		w.log.Warn("incident record ignored: not a valid announcement", "err", err)
		w.current.Store(nil)
		return
	}
	w.current.Store(&i)
	w.log.Info("incident announcement active", "id", i.ID, "title", i.Title, "expires", i.Expires)
}

// Announcement is the IVR's view of the incident playing at now
// (ari.Incidents).
func (w *Watch) Announcement(now time.Time) (flows.Announcement, bool) {
	i, ok := w.Active(now)
	if !ok {
		return flows.Announcement{}, false
	}
	return flows.Announcement{ID: i.ID, Media: i.Media}, true
}
