package web

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Why the board's streams share their renders, and why they are counted.
//
// Each open /api/stream used to render the whole board for itself, every
// second while events arrived: one render of a three-month range is about
// 8 ms of CPU and 180 KB, so 150 connections (one address was enough) kept
// both cores busy, held the aggregator's lock the reports worker needs, and
// slowed the calls of the same process to several seconds from answer to
// queue. Now:
//
//   - Streams that would render the same board — same range, language,
//     masked or unmasked numbers and console viewer — share one render
//     (boardRenders): a render is reused while it is younger than the
//     range's render interval, or while nothing it shows has changed for
//     up to BoardConfig.Refresh. A hundred wall screens on one range cost
//     one render per change.
//   - A range longer than a month is rendered less often (renderEvery), in
//     proportion to its length, so a long range costs no more per second
//     than the default board; hourly bars over more than a week are shown
//     by day (dashboardRange).
//   - Streams are counted (streamGate): beyond StreamMaxClients in all or
//     StreamMaxPerAddress from one address a stream is refused with 503
//     and Retry-After before anything is rendered.

// Stream caps used when BoardConfig leaves them zero.
const (
	defaultStreamMaxClients    = 32
	defaultStreamMaxPerAddress = 4
)

// longRange is the range length rendered at the stream's poll rate; a
// longer range waits a poll per started longRange between renders.
const longRange = 31 * 24 * time.Hour

// renderEvery is the shortest time between two renders of a board of
// range bq: streamPoll up to longRange, then a poll more per longRange
// (three months: every 3 s). Measured on the demo's figures over 90 days,
// a three-month board by day renders in about 8 ms, the default board in
// about 6 ms.
func renderEvery(bq boardQuery) time.Duration {
	n := int64((bq.to.Sub(bq.from) + longRange - 1) / longRange)
	return streamPoll * time.Duration(max(1, n))
}

// streamKey names one distinct board: everything a render depends on
// besides the time and the aggregator's figures.
type streamKey struct {
	lang string
	// rng is the range's key ("today", "24h", ...), or for a custom range
	// its from, to and bucket size.
	rng      string
	unmasked bool
	// viewer is the signed-in console user (zero for nobody): the board
	// carries their name and form token.
	viewer Viewer
}

// rangeKey is the part of a streamKey that names bq.
func rangeKey(bq boardQuery) string {
	if bq.key != "custom" {
		return bq.key
	}
	return bq.from.UTC().Format(time.RFC3339) + "/" + bq.to.UTC().Format(time.RFC3339) + "/" + string(bq.size)
}

// boardRenders holds one sharedBoard per streamKey in use.
type boardRenders struct {
	mu sync.Mutex
	m  map[streamKey]*sharedBoard // guarded by mu
	// count is the number of renders made, for tests.
	count atomic.Uint64
}

// sharedBoard is the last render of one streamKey.
type sharedBoard struct {
	// users counts the streams holding it; guarded by boardRenders.mu.
	users int
	// mu is held while rendering, so the streams of one key wait for the
	// one render instead of each making their own.
	mu      sync.Mutex
	render  boardRender // guarded by mu
	renders *atomic.Uint64
}

// boardRender is one rendered message and what it was rendered from.
type boardRender struct {
	// seq numbers the renders of a key from 1, so a stream can tell a new
	// render from the one it has sent.
	seq     uint64
	version string
	at      time.Time
	msg     []byte
}

// acquire returns the shared board of k, created on first use; release it
// when the stream ends.
func (b *boardRenders) acquire(k streamKey) *sharedBoard {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[streamKey]*sharedBoard)
	}
	sb := b.m[k]
	if sb == nil {
		sb = &sharedBoard{renders: &b.count}
		b.m[k] = sb
	}
	sb.users++
	return sb
}

// release drops a stream's hold on k's board; the last one out removes it.
func (b *boardRenders) release(k streamKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sb := b.m[k]; sb != nil {
		if sb.users--; sb.users <= 0 {
			delete(b.m, k)
		}
	}
}

// get returns a render of the board at version: the last one if it is
// younger than every, or if it was rendered at version less than refresh
// ago; otherwise a new one made by render.
func (sb *sharedBoard) get(version string, every, refresh time.Duration, render func() ([]byte, error)) (boardRender, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if r := sb.render; r.msg != nil {
		age := time.Since(r.at)
		if age < every || (r.version == version && age < refresh) {
			return r, nil
		}
	}
	msg, err := render()
	if err != nil {
		return boardRender{}, err
	}
	sb.renders.Add(1)
	sb.render = boardRender{seq: sb.render.seq + 1, version: version, at: time.Now(), msg: msg}
	return sb.render, nil
}

// streamGate counts the open streams in all and per client address.
type streamGate struct {
	mu     sync.Mutex
	total  int            // guarded by mu
	byAddr map[string]int // guarded by mu
}

// admit takes a place for a stream from addr, or reports false when a cap
// is reached. The caller calls leave(addr) when the stream ends.
func (g *streamGate) admit(addr string, maxTotal, maxPerAddr int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= maxTotal || g.byAddr[addr] >= maxPerAddr {
		return false
	}
	if g.byAddr == nil {
		g.byAddr = make(map[string]int)
	}
	g.total++
	g.byAddr[addr]++
	return true
}

// leave gives back a place taken by admit.
func (g *streamGate) leave(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.byAddr[addr]--; g.byAddr[addr] <= 0 {
		delete(g.byAddr, addr)
	}
}

// remoteHost is the address a request came from, without the port. No
// proxy header is trusted: behind a reverse proxy every board counts as
// the proxy's address (see the README's Security section).
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
