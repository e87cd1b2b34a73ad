package blocklist

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/phone"
)

// Re-watch backoff after the watch could not be set up or ended.
const (
	cacheRetryMin = 100 * time.Millisecond
	cacheRetryMax = 5 * time.Second
)

// blocks maps an E.164 number to the end of its block. A published map is
// never modified: writers copy it, so readers need no lock.
type blocks map[string]time.Time

// Cache is the IVR's view of the blocklist: a watch of the KV bucket kept in
// memory. Check never touches the network, so a call is never delayed by
// NATS, and the last known state survives a NATS outage. Blocks end at their
// Until even when no update arrives.
type Cache struct {
	open           func(context.Context) (jetstream.KeyValue, error)
	conn           *nats.Conn // nil in unit tests without a server
	defaultCountry string
	log            *slog.Logger

	// current is replaced, never modified, by the Run goroutine.
	current atomic.Pointer[blocks]

	readyOnce sync.Once
	ready     chan struct{}

	updates atomic.Uint64
	watches atomic.Uint64

	// watching is true while a watch is live: it has delivered the
	// bucket's records and follows its changes.
	watching atomic.Bool
	// watchMu guards watchErr and downSince, which say why and since when
	// the watch is not live after it failed (for health checks).
	watchMu   sync.Mutex
	watchErr  string    // guarded by watchMu
	downSince time.Time // guarded by watchMu; zero until a watch fails
}

// NewCache returns a cache of the blocklist bucket reached through js
// (created with replicas if missing). Call Run to fill and follow it.
func NewCache(js jetstream.JetStream, replicas int, defaultCountry string, log *slog.Logger) *Cache {
	c := newCache(func(ctx context.Context) (jetstream.KeyValue, error) {
		return OpenBucket(ctx, js, replicas)
	}, defaultCountry, log)
	c.conn = js.Conn()
	return c
}

func newCache(open func(context.Context) (jetstream.KeyValue, error), defaultCountry string, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{
		open:           open,
		defaultCountry: defaultCountry,
		log:            log.With("component", "blocklist-cache"),
		ready:          make(chan struct{}),
	}
	c.current.Store(&blocks{})
	return c
}

// Ready is closed once the cache holds every record that existed when it
// first connected. Before that, Check answers "not blocked" for everyone,
// which is the safe side for an emergency line.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Check reports whether number is blocked at now and until when. number may
// be E.164 or any form Normalize accepts; anonymous and invalid numbers are
// never blocked. It is safe for concurrent use and does no I/O.
func (c *Cache) Check(number string, now time.Time) (until time.Time, blocked bool) {
	key := number
	if !isE164(number) {
		n, err := Normalize(number, c.defaultCountry)
		if err != nil || n.IsAnonymous() {
			return time.Time{}, false
		}
		key = n.E164
	}
	until, ok := (*c.current.Load())[key]
	if !ok || !now.Before(until) {
		return time.Time{}, false
	}
	return until, true
}

// isE164 is the fast path of Check: "+" and digits need no normalising.
func isE164(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CacheStats describes the cache for health checks and metrics.
type CacheStats struct {
	// Blocked is how many numbers have a block in the cache (some may have expired).
	Blocked int `json:"blocked"`
	// Updates counts KV entries applied.
	Updates uint64 `json:"updates"`
	// Watches counts watches started; more than one means the watch was re-established.
	Watches uint64 `json:"watches"`
	// Watching is true while the watch is live: changes made anywhere reach
	// this cache within milliseconds. While it is false the cache answers
	// from the last state it saw.
	Watching bool `json:"watching"`
	// WatchError is why the watch last ended or could not start; it is kept
	// after recovery (compare Watching).
	WatchError string `json:"watch_error,omitempty"`
	// WatchDownSince is when the watch, after it failed, stopped being live
	// (zero while it is live, and before the first failure).
	WatchDownSince time.Time `json:"watch_down_since,omitzero"`
}

// Stats returns the cache's counters and the state of its watch.
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Blocked: len(*c.current.Load()), Updates: c.updates.Load(), Watches: c.watches.Load(),
		Watching: c.watching.Load()}
	c.watchMu.Lock()
	st.WatchError = c.watchErr
	if !st.Watching {
		st.WatchDownSince = c.downSince
	}
	c.watchMu.Unlock()
	return st
}

// watchFailed records why the watch is not live; the first failure of an
// episode dates it.
func (c *Cache) watchFailed(err error) {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.watchErr = err.Error()
	if c.downSince.IsZero() {
		c.downSince = time.Now()
	}
}

// watchLive marks the watch live again.
func (c *Cache) watchLive() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.downSince = time.Time{}
	c.watching.Store(true)
}

// Run fills the cache and follows the bucket until ctx ends. When the watch
// cannot be set up or ends (the connection was closed, the bucket deleted),
// it keeps the last state and tries again with backoff; the client library
// itself rides out ordinary reconnects. It returns nil when ctx ends.
//
// After a reconnect the watch is started afresh at once: the library's own
// recovery of a watch waits for missed heartbeats (many seconds), while a new
// watch reloads every record within milliseconds.
func (c *Cache) Run(ctx context.Context) error {
	var reconnected chan nats.Status
	if c.conn != nil {
		reconnected = c.conn.StatusChanged(nats.CONNECTED)
		defer c.conn.RemoveStatusListener(reconnected)
	}
	retry := cacheRetryMin
	for {
		start := time.Now()
		err := c.watch(ctx, reconnected)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errReconnected) {
			c.log.Info("nats reconnected; reloading the blocklist")
			retry = cacheRetryMin
			continue
		}
		c.watchFailed(err)
		if time.Since(start) > cacheRetryMax {
			retry = cacheRetryMin // it ran for a while; this is a fresh failure
		}
		c.log.Warn("blocklist watch ended; keeping the last known blocks and retrying", "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
		retry = min(retry*2, cacheRetryMax)
	}
}

// watch runs one KV watch. The initial values go into a fresh map that
// replaces the current one at the end-of-initial-values marker, so a record
// deleted while we were away disappears, and lookups meanwhile use the old map.
func (c *Cache) watch(ctx context.Context, reconnected <-chan nats.Status) error {
	kv, err := c.open(ctx)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() {
		c.watching.Store(false)
		_ = w.Stop()
	}()
	c.watches.Add(1)
	initial := blocks{}
	loading := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-reconnected:
			if ok {
				return errReconnected
			}
			reconnected = nil // listener removed; stop selecting on it
		case e, ok := <-w.Updates():
			if !ok {
				return errWatchClosed
			}
			if e == nil {
				if loading {
					loading = false
					c.current.Store(&initial)
					c.watchLive()
					c.readyOnce.Do(func() { close(c.ready) })
					c.log.Info("blocklist cache loaded", "blocked", len(initial))
				}
				continue
			}
			c.updates.Add(1)
			if loading {
				apply(initial, e, c.log, time.Now())
				continue
			}
			now := time.Now()
			next := cloneLive(*c.current.Load(), now)
			apply(next, e, c.log, now)
			c.current.Store(&next)
		}
	}
}

// errWatchClosed: the library closed the updates channel, for example
// because the connection was closed.
var errWatchClosed = errors.New("blocklist watch closed")

// errReconnected ends a watch so that it is started afresh after a reconnect.
var errReconnected = errors.New("nats reconnected")

// cloneLive copies m without the blocks that have ended by now, so numbers
// whose block expired do not pile up between reloads.
func cloneLive(m blocks, now time.Time) blocks {
	out := make(blocks, len(m)+1)
	for n, until := range m {
		if now.Before(until) {
			out[n] = until
		}
	}
	return out
}

// apply puts one KV entry into m. Expired blocks are dropped so the map only
// grows with numbers blocked now.
func apply(m blocks, e jetstream.KeyValueEntry, log *slog.Logger, now time.Time) {
	number, ok := NumberFromKey(e.Key())
	if !ok {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(m, number)
		return
	}
	var r struct {
		Until time.Time `json:"until"`
	}
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		log.Warn("skipping undecodable blocklist record", "number", phone.Mask(number), "err", err)
		return
	}
	if !now.Before(r.Until) {
		delete(m, number)
		return
	}
	m[number] = r.Until
}
