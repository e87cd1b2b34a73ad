package ari

import (
	"sync"
	"time"
)

// Blocklist answers whether a caller number is blocked. It is consulted on
// StasisStart, on the call path, so implementations must answer from memory
// and never touch the network (the blocklist package's KV-watching cache
// does exactly that).
type Blocklist interface {
	// Check reports whether number is blocked at now and until when.
	Check(number string, now time.Time) (until time.Time, blocked bool)
}

// StaticBlocklist is an in-memory Blocklist: number -> blocked until. It is
// used by tests and until the KV-backed cache is wired in. Safe for
// concurrent use.
type StaticBlocklist struct {
	mu    sync.RWMutex
	until map[string]time.Time // guarded by mu
}

// NewStaticBlocklist returns a blocklist holding the given blocks.
func NewStaticBlocklist(blocks map[string]time.Time) *StaticBlocklist {
	b := &StaticBlocklist{until: make(map[string]time.Time, len(blocks))}
	for n, u := range blocks {
		b.until[n] = u
	}
	return b
}

// Set blocks number until the given time (a zero time lifts the block).
func (b *StaticBlocklist) Set(number string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.IsZero() {
		delete(b.until, number)
		return
	}
	b.until[number] = until
}

// Check implements Blocklist.
func (b *StaticBlocklist) Check(number string, now time.Time) (time.Time, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	u, ok := b.until[number]
	if !ok || !now.Before(u) {
		return time.Time{}, false
	}
	return u, true
}
