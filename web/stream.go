package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// /api/stream keeps an open board up to date with server-sent events. Each
// message is the board rendered by the same templates as the page, in the
// page's language, plus the health level for the root element: the script
// in the page only swaps HTML, so no word or number format lives in
// JavaScript. EventSource reconnects by itself; while it is disconnected the
// page marks its figures stale.
//
// The handler looks for a change once a second (events applied, health)
// and sends the board when something changed, and at least every
// BoardConfig.Refresh, so a client that hears nothing for a few intervals
// knows the stream is dead rather than the centre quiet. The renders are
// shared between streams and the streams are counted (streamshare.go).

// streamPoll is how often a stream looks for a change.
const streamPoll = time.Second

// streamWriteTimeout bounds one message's write to a slow client. The
// server's http.write_timeout would end the stream, which outlives any
// fixed bound, so each message sets its own deadline and clears it once
// sent: a deadline left in place would cut a quiet board's next message,
// sent only after BoardConfig.Refresh.
const streamWriteTimeout = 10 * time.Second

// streamMessage is the data of one "board" event.
type streamMessage struct {
	// Health is ok, degraded or down (the root element's data-health).
	Health string `json:"health"`
	// Live tells whether the figures are fresh and everything is ok.
	Live bool `json:"live"`
	// Now is the header's status strip, Board the wall board and More the
	// panels below it, as HTML.
	Now   string `json:"now"`
	Board string `json:"board"`
	More  string `json:"more"`
}

func (s *Board) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := negotiate(r, s.cfg.Language)
	bq, err := s.dashboardRange(l, q)
	if err != nil {
		var re *rangeError
		if errors.As(err, &re) {
			err = &paramError{param: "range", msg: err.Error(), status: http.StatusBadRequest}
		}
		s.fail(w, err)
		return
	}
	addr := remoteHost(r)
	if !s.gate.admit(addr, s.cfg.StreamMaxClients, s.cfg.StreamMaxPerAddress) {
		// EventSource gives up on an error answer; the page then reloads
		// after a while and tries again.
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.Refresh.Seconds())))
		http.Error(w, "too many open board streams; try again later", http.StatusServiceUnavailable)
		return
	}
	defer s.gate.leave(addr)
	viewer := s.viewer(r)
	key := streamKey{lang: l.Tag, rng: rangeKey(bq), unmasked: s.unmasked(r, viewer)}
	if viewer != nil {
		key.viewer = *viewer
	}
	board := s.renders.acquire(key)
	defer s.renders.release(key)
	every := renderEvery(bq)
	// The render is shared with other streams: it must not end with the
	// request that happened to make it.
	rctx := context.WithoutCancel(r.Context())
	render := func() ([]byte, error) { return s.streamMessage(r.WithContext(rctx), q) }

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	// Tell a reverse proxy (nginx) not to buffer the stream.
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// retry: how long EventSource waits before reconnecting.
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", streamPoll.Milliseconds()*3); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		s.cfg.Log.Warn("board stream cannot flush", "err", err)
		return
	}
	_ = rc.SetWriteDeadline(time.Time{})

	ctx := r.Context()
	shutdown := s.shutdownSignal(r)
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	var (
		// last is the version of the render sent last, which may be older
		// than the version asked for when the shared render was younger
		// than every; the next poll asks again.
		last     string
		sent     uint64 // seq of the render sent last
		lastSent time.Time
	)
	for {
		h := s.health(ctx)
		version := fmt.Sprint(s.agg.Counters().Events, h.Level, h.Fresh, h.Problems)
		refresh := time.Since(lastSent) >= s.cfg.Refresh
		if version != last || refresh {
			m, err := board.get(version, every, s.cfg.Refresh, render)
			if err != nil {
				s.cfg.Log.Warn("board stream render", "err", err)
				return
			}
			last = m.version
			if m.seq != sent || refresh {
				_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
				if _, err := fmt.Fprintf(w, "event: board\ndata: %s\n\n", m.msg); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
				_ = rc.SetWriteDeadline(time.Time{})
				sent, lastSent = m.seq, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-shutdown:
			return
		case <-tick.C:
		}
	}
}

// shutdowns closes one channel per http.Server when that server begins
// Shutdown. http.Server.Shutdown waits for every connection to go idle and
// does not cancel the requests in progress, so an open board's stream, which
// never ends by itself, would hold every orderly shutdown for its whole
// timeout; a stream ends as soon as its server begins shutting down instead.
// Registering once per server keeps RegisterOnShutdown's list bounded.
type shutdowns struct {
	mu sync.Mutex
	ch map[*http.Server]chan struct{} // guarded by mu
}

// shutdownSignal returns a channel closed when the http.Server serving r
// begins Shutdown (nil, which never fires, when r carries no server).
func (s *Board) shutdownSignal(r *http.Request) <-chan struct{} {
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return nil
	}
	s.sd.mu.Lock()
	defer s.sd.mu.Unlock()
	if s.sd.ch == nil {
		s.sd.ch = make(map[*http.Server]chan struct{})
	}
	ch, ok := s.sd.ch[hs]
	if !ok {
		ch = make(chan struct{})
		s.sd.ch[hs] = ch
		hs.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// streamMessage renders one message for the request's range and language.
// Numbers are unmasked only for a request with the admin token, as on the
// page; a browser's EventSource cannot send one, a reverse proxy can.
func (s *Board) streamMessage(r *http.Request, q map[string][]string) ([]byte, error) {
	l := negotiate(r, s.cfg.Language)
	// The range is computed again each time: "today" moves at midnight.
	bq, err := s.dashboardRange(l, q)
	if err != nil {
		return nil, err
	}
	viewer := s.viewer(r)
	d, err := s.board(r.Context(), l, bq, s.unmasked(r, viewer), viewer)
	if err != nil {
		return nil, err
	}
	var now, board, more bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&now, "now", d); err != nil {
		return nil, err
	}
	if err := s.tmpl.ExecuteTemplate(&board, "board", d); err != nil {
		return nil, err
	}
	if err := s.tmpl.ExecuteTemplate(&more, "more", d); err != nil {
		return nil, err
	}
	return json.Marshal(streamMessage{
		Health: d.Health.Level, Live: d.Health.Live(),
		Now: strings.TrimSpace(now.String()), Board: strings.TrimSpace(board.String()),
		More: strings.TrimSpace(more.String()),
	})
}
