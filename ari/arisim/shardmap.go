package arisim

import "sync"

const shardCount = 32

// shardMap is a string-keyed map split into independently locked shards so that
// thousands of concurrent calls do not serialise on one mutex.
type shardMap[V any] struct {
	shards [shardCount]struct {
		mu sync.RWMutex
		m  map[string]V
	}
}

func newShardMap[V any]() *shardMap[V] {
	sm := &shardMap[V]{}
	for i := range sm.shards {
		sm.shards[i].m = make(map[string]V)
	}
	return sm
}

func shardOf(k string) int {
	// FNV-1a, inlined to avoid an allocation per lookup.
	h := uint32(2166136261)
	for i := 0; i < len(k); i++ {
		h ^= uint32(k[i])
		h *= 16777619
	}
	return int(h % shardCount)
}

func (sm *shardMap[V]) get(k string) (V, bool) {
	sh := &sm.shards[shardOf(k)]
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// add stores v under k unless k is taken; it reports whether v was stored.
func (sm *shardMap[V]) add(k string, v V) bool {
	sh := &sm.shards[shardOf(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; ok {
		return false
	}
	sh.m[k] = v
	return true
}

func (sm *shardMap[V]) set(k string, v V) {
	sh := &sm.shards[shardOf(k)]
	sh.mu.Lock()
	sh.m[k] = v
	sh.mu.Unlock()
}

// delIf removes k if keep reports true for its current value.
func (sm *shardMap[V]) delIf(k string, match func(V) bool) {
	sh := &sm.shards[shardOf(k)]
	sh.mu.Lock()
	if v, ok := sh.m[k]; ok && match(v) {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

// values returns a snapshot of all values.
func (sm *shardMap[V]) values() []V {
	var out []V
	for i := range sm.shards {
		sh := &sm.shards[i]
		sh.mu.RLock()
		for _, v := range sh.m {
			out = append(out, v)
		}
		sh.mu.RUnlock()
	}
	return out
}

func (sm *shardMap[V]) len() int {
	n := 0
	for i := range sm.shards {
		sh := &sm.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// clear empties the map and returns what it held.
func (sm *shardMap[V]) clear() []V {
	var out []V
	for i := range sm.shards {
		sh := &sm.shards[i]
		sh.mu.Lock()
		for _, v := range sh.m {
			out = append(out, v)
		}
		sh.m = make(map[string]V)
		sh.mu.Unlock()
	}
	return out
}
