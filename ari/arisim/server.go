package arisim

// This file holds the Server itself: its options, its state and the locks that
// guard it, its life cycle (New, Start, Close), the media clock and the
// goroutines Close waits for. The REST plumbing is in rest.go, the route table
// in routes.go, applications and event emission in applications.go, and fault
// injection, Restart among it, in faults.go.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by operations on a Server that has been closed.
var ErrClosed = errors.New("arisim: server closed")

// ErrChannelExists is returned by Call when the requested channel id is already in use.
var ErrChannelExists = errors.New("arisim: channel id already exists")

// Options configures a simulated Asterisk.
type Options struct {
	// Username and Password are the ARI credentials (ari.conf user). When both are
	// empty every request is accepted.
	Username, Password string

	// Application is the Stasis application scripted calls are sent to, as the
	// dialplan line `exten => 112,1,Stasis(siaga112)` would. Applications are
	// registered when a WebSocket connects with ?app=NAME.
	Application string

	// SoundsDir holds the prompts as WAV files. "sound:siaga112/greeting" is looked up
	// as SoundsDir/siaga112/greeting.wav, then SoundsDir/<lang>/siaga112/greeting.wav,
	// then SoundsDir/greeting.wav. A sound that is not found fails the playback
	// (PlaybackFinished with state "failed"), as Asterisk does when a file is missing.
	// When SoundsDir is empty every sound exists and lasts DefaultPlayback.
	SoundsDir string

	// DefaultPlayback is the length of media whose length cannot be measured
	// (sounds when SoundsDir is empty, number:). digits: and characters: last
	// 600 ms a character. Default 1s.
	DefaultPlayback time.Duration

	// ClockScale multiplies all media time and script waits: 0.001 makes a 30 s call
	// take 30 ms of wall time. Values reported to the application (duration_ms,
	// recording durations) stay in media time. Default 1.
	ClockScale float64

	// Logger receives the sim's own diagnostics. Default: discard.
	Logger *slog.Logger

	// AsteriskID is the asterisk_id carried by every event (Asterisk's entity id).
	// Default "02:42:ac:11:00:02".
	AsteriskID string

	// EntityID is system.entity_id in asterisk/info. Default AsteriskID. On a real
	// Asterisk both are the same value, and the ARI library matches event keys against
	// the entity id, so set them apart only to test that mismatch.
	EntityID string

	// MixMonitor, when set, plays the dialplan's whole-call recording
	// (MixMonitor before Stasis): every scripted call leaves a stored WAV
	// recording named MixMonitor + channel id when it ends, as long as the
	// call lasted (silence), as asterisk-conf's extensions.conf makes it.
	MixMonitor string

	// InboundContext is the dialplan context scripted calls arrive in. Default "from-sip".
	InboundContext string

	// Language is the channel language of scripted calls, as the inbound dialplan
	// sets it before Stasis() (siaga112's dialplan does Set(CHANNEL(language)=id));
	// playbacks without lang= use it. Default "en", Asterisk's own default, which
	// channels made over REST (originate, create) keep.
	Language string

	// Endpoint is the PJSIP endpoint scripted calls come from; channel names are
	// PJSIP/<Endpoint>-<8 hex digits>. Default "trunk".
	Endpoint string

	// AnswerDelay is how long (media time) the far end of an originated or dialled
	// channel rings before it answers. Default 1s.
	AnswerDelay time.Duration

	// OperatorContext is the dialplan context whose extensions put a caller
	// into the operators' queues (see SetQueue): a continue to extension X
	// there joins queue "siaga112-"+X. Default "siaga112-operators".
	OperatorContext string

	// ChannelVars are the variables (or dialplan functions, ending in ")")
	// that every Channel JSON carries in "channelvars", as ari.conf's
	// [general] channelvars makes Asterisk do. Default none (no channelvars).
	ChannelVars []string
}

// Stats counts what the sim has done since it was created.
type Stats struct {
	CallsStarted   int64 // scripted calls placed with Call
	CallsEnded     int64 // scripted calls whose channel is gone
	ActiveChannels int   // channels that exist now (scripted and originated)
	RESTRequests   int64 // REST requests answered, including failures
	EventsSent     int64 // events queued to WebSocket connections
	WebSockets     int   // open event WebSocket connections
}

// Server is a simulated Asterisk 22 ARI server: REST under /ari, the events WebSocket
// at /ari/events, and scripted callers. It is a test double for the IVR, the demo and
// the load tool. A Server is also an http.Handler, so it can be mounted in httptest.
type Server struct {
	opts  Options
	log   *slog.Logger
	scale float64
	mux   *http.ServeMux

	seq atomic.Uint64 // channel unique-id and name counter

	channels  *shardMap[*channel]
	playbacks *shardMap[*playback]
	liveRecs  *shardMap[*liveRecording]

	// life makes Restart atomic for clients: every REST request, WebSocket
	// registration and Call holds it for reading while it acts on the sim's
	// state, and Restart holds it for writing. A client that reacts to the
	// dropped WebSocket (reconnect, REST hand-off) therefore waits until the
	// restart is complete and then sees only the new process: no old
	// channels, no registered applications, the new startup time. Lock
	// order: life before mu, bridgeMu and any channel's mu. It is never
	// taken twice by one goroutine (a waiting writer blocks new readers).
	life sync.RWMutex

	// queueMu guards queueFree and queueInfo; it is taken under a channel's
	// mu (a QUEUE_MEMBER read, a continue) and never holds another lock.
	queueMu   sync.Mutex
	queueFree map[string]int
	queueInfo map[string]int // defined queues (SetQueue): free members, -1 with none

	// qe runs the simulated queues and device states (queue.go). Its lock
	// comes after life and before bridgeMu, any channel's mu, queueMu and mu:
	// every hangup takes it, so that a queued caller leaves its queue first.
	qe *queueEngine

	mu       sync.RWMutex // guards the fields down to globals
	apps     map[string]*application
	conns    map[*wsConn]struct{}
	started  time.Time
	reloaded time.Time
	httpSrv  *http.Server
	addr     string
	closed   bool
	globals  map[string]string

	// bridgeMu guards bridges and every channel's bridge membership. Lock order:
	// qe's lock before bridgeMu before any channel's mu.
	bridgeMu sync.Mutex
	bridges  map[string]*bridge

	storedMu sync.RWMutex
	stored   map[string]*storedRecording

	// calleeMu guards callees (SetCallee) and originates (the log behind
	// Originates); it never holds another lock.
	calleeMu   sync.Mutex
	callees    map[string]Callee
	originates []Originate

	faultMu   sync.Mutex
	restDelay time.Duration
	failRules []failRule
	// loseEvents counts, per event type, the next events of that type
	// that are not sent (see LoseEvents); guarded by faultMu.
	loseEvents map[string]int

	soundCache sync.Map // path -> time.Duration (negative when missing)

	wg sync.WaitGroup // scripts, WebSocket goroutines and the HTTP server

	// tap, when set before any traffic (tests only), sees every REST response and
	// every event as it is put on the wire.
	tap func(kind, method, path string, status int, body []byte)
	// restartPause, when set before any traffic (tests only), runs inside
	// Restart between dropping the WebSockets and forgetting the channels,
	// widening the moment in which clients react to the drop.
	restartPause func()

	// restConns counts the open HTTP connections that are not WebSockets
	// (see RESTConnections).
	restConns atomic.Int64

	callsStarted atomic.Int64
	callsEnded   atomic.Int64
	restCount    atomic.Int64
	eventCount   atomic.Int64
}

// New builds a Server; it serves nothing until Start is called or it is mounted as an
// http.Handler.
func New(opts Options) *Server {
	if opts.DefaultPlayback <= 0 {
		opts.DefaultPlayback = time.Second
	}
	if opts.ClockScale <= 0 {
		opts.ClockScale = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AsteriskID == "" {
		opts.AsteriskID = opts.EntityID
	}
	if opts.AsteriskID == "" {
		opts.AsteriskID = "02:42:ac:11:00:02"
	}
	if opts.EntityID == "" {
		opts.EntityID = opts.AsteriskID
	}
	if opts.InboundContext == "" {
		opts.InboundContext = "from-sip"
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "trunk"
	}
	if opts.Language == "" {
		opts.Language = defaultLanguage
	}
	if opts.AnswerDelay <= 0 {
		opts.AnswerDelay = time.Second
	}
	if opts.OperatorContext == "" {
		opts.OperatorContext = "siaga112-operators"
	}
	now := time.Now()
	s := &Server{
		opts:      opts,
		log:       opts.Logger.With("component", "arisim"),
		scale:     opts.ClockScale,
		channels:  newShardMap[*channel](),
		playbacks: newShardMap[*playback](),
		liveRecs:  newShardMap[*liveRecording](),
		apps:      make(map[string]*application),
		conns:     make(map[*wsConn]struct{}),
		started:   now,
		reloaded:  now,
		globals:   make(map[string]string),
		bridges:   make(map[string]*bridge),
		stored:    make(map[string]*storedRecording),
	}
	s.qe = newQueueEngine(s)
	s.mux = s.routes()
	return s
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("arisim: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: s.trackConn}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.httpSrv = srv
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	s.goTracked(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "error", err)
		}
	})
	return nil
}

// trackConn counts connections as they open and close; a WebSocket leaves
// the count when it is hijacked from the HTTP server.
func (s *Server) trackConn(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.restConns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.restConns.Add(-1)
	}
}

// RESTConnections is the number of HTTP connections open to the server now,
// WebSockets excepted (after Start; a mounted handler counts nothing). A
// client that abandons requests it stopped waiting for, instead of closing
// them, shows here as connections that pile up while the sim hangs.
func (s *Server) RESTConnections() int { return int(s.restConns.Load()) }

// Addr is the host:port the server listens on after Start.
func (s *Server) Addr() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.addr
}

// URL is the ARI base URL after Start, e.g. http://127.0.0.1:PORT/ari.
func (s *Server) URL() string { return "http://" + s.Addr() + "/ari" }

// WSURL is the events WebSocket URL after Start, e.g. ws://127.0.0.1:PORT/ari/events.
func (s *Server) WSURL() string { return "ws://" + s.Addr() + "/ari/events" }

// Close stops serving, drops every WebSocket, ends every call (as if Asterisk stopped)
// and waits for the sim's goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.httpSrv
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.vanishAll(HungUpByShutdown)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("arisim: close: %w", err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// ServeHTTP serves ARI (REST and the events WebSocket) under /ari.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Stats reports counters and current sizes.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	ws := len(s.conns)
	s.mu.RUnlock()
	return Stats{
		CallsStarted:   s.callsStarted.Load(),
		CallsEnded:     s.callsEnded.Load(),
		ActiveChannels: s.channels.len(),
		RESTRequests:   s.restCount.Load(),
		EventsSent:     s.eventCount.Load(),
		WebSockets:     ws,
	}
}

// ActiveChannels is the number of channels that exist now.
func (s *Server) ActiveChannels() int { return s.channels.len() }

// vanishAll drops the WebSockets and forgets every channel, playback, live
// recording and bridge, without events.
func (s *Server) vanishAll(by string) {
	s.DropWebSockets()
	s.vanishState(by)
}

func (s *Server) vanishState(by string) {
	s.bridgeMu.Lock()
	s.bridges = make(map[string]*bridge)
	s.bridgeMu.Unlock()
	for _, ch := range s.channels.clear() {
		ch.vanish(by)
	}
	for _, pb := range s.playbacks.clear() {
		pb.stopTimer()
	}
	for _, rec := range s.liveRecs.clear() {
		rec.stopTimers()
	}
	s.qe.reset()
}

// scaled converts media time to wall time.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// media converts wall time to media time.
func (s *Server) media(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.scale)
}

// goTracked runs fn on a goroutine that Close waits for; it reports false (and runs
// nothing) once the server is closed. The check and the WaitGroup increment happen
// under mu so that they cannot interleave with Close's Wait.
func (s *Server) goTracked(fn func()) bool {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false
	}
	s.wg.Add(1)
	s.mu.RUnlock()
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// sleep waits d of media time; it returns early with false when done closes or ctx ends.
func (s *Server) sleep(ctx context.Context, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(s.scaled(d))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	case <-ctx.Done():
		return false
	}
}
