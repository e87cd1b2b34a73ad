package arisim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
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

type application struct {
	name string
	conn *wsConn // nil while no WebSocket holds the app
}

type failRule struct {
	method  string
	pattern string
	status  int
	left    int
	// delay, when set, makes the rule hold the request this long (then
	// serve it as usual) instead of failing it.
	delay time.Duration
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

// DropWebSockets closes every events WebSocket abruptly, without a close frame, as a
// network failure would. Channels stay in their Stasis applications; events raised
// while an application has no connection are lost, as with Asterisk.
func (s *Server) DropWebSockets() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SetRESTDelay makes every later REST request wait d (wall time) before it is handled.
func (s *Server) SetRESTDelay(d time.Duration) {
	s.faultMu.Lock()
	s.restDelay = d
	s.faultMu.Unlock()
}

// FailNextREST makes the next REST request matching method ("" for any) and
// pathPattern (path.Match syntax on the path below /ari, e.g. "/channels/*/answer")
// fail with status and an Asterisk-style error body, without taking effect.
func (s *Server) FailNextREST(method, pathPattern string, status int) {
	s.FailREST(method, pathPattern, status, 1)
}

// FailREST is FailNextREST for the next times matching requests.
func (s *Server) FailREST(method, pathPattern string, status, times int) {
	s.faultMu.Lock()
	s.failRules = append(s.failRules, failRule{method: method, pattern: pathPattern, status: status, left: times})
	s.faultMu.Unlock()
}

// DelayREST holds the next times REST requests matching method ("" for
// any) and pathPattern (as for FailNextREST) for d before serving them as
// usual. As with SetRESTDelay, a client that gives up during the delay does
// not stop the request: it takes effect when the delay ends or the client
// closes the connection, whichever comes first — a request that timed out
// for the client may still have been carried out, as on a loaded Asterisk.
func (s *Server) DelayREST(method, pathPattern string, d time.Duration, times int) {
	s.faultMu.Lock()
	s.failRules = append(s.failRules, failRule{method: method, pattern: pathPattern, left: times, delay: d})
	s.faultMu.Unlock()
}

// LoseEvents makes the next times events of type eventType (e.g. "StasisEnd")
// vanish on the way to the application, as events of a connection that
// broke and was re-established in between do. Everything else about them
// (the channel's state) happens as usual.
func (s *Server) LoseEvents(eventType string, times int) {
	s.faultMu.Lock()
	if s.loseEvents == nil {
		s.loseEvents = make(map[string]int)
	}
	s.loseEvents[eventType] += times
	s.faultMu.Unlock()
}

// lost reports whether an encoded event is to be lost (see LoseEvents).
func (s *Server) lost(b []byte) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if len(s.loseEvents) == 0 {
		return false
	}
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &head) != nil || s.loseEvents[head.Type] == 0 {
		return false
	}
	s.loseEvents[head.Type]--
	if s.loseEvents[head.Type] == 0 {
		delete(s.loseEvents, head.Type)
	}
	return true
}

// Restart simulates an Asterisk restart: every channel, playback, live recording and
// bridge vanishes without events (the process died), every WebSocket is dropped,
// applications (and their subscriptions) are forgotten until clients reconnect,
// callers waiting in queues vanish with their channels, and
// asterisk/info reports a new startup time. Stored recordings survive, as files on
// disk do, and so do the queues and device states (SetQueue, SetDeviceState, PUT
// /deviceStates; Asterisk keeps the latter in its database).
//
// The restart is atomic as clients see it: REST requests, WebSocket registrations and
// Calls that arrive meanwhile wait until it is complete. The applications are forgotten
// and the startup time changes before anything else, so no event is emitted by the old
// process once the restart began, and a client reconnecting as soon as its WebSocket
// drops registers with the new process.
func (s *Server) Restart() {
	s.life.Lock()
	defer s.life.Unlock()
	now := time.Now()
	s.mu.Lock()
	// startup_time is reported in milliseconds; make sure it differs.
	if !now.After(s.started.Add(time.Millisecond)) {
		now = s.started.Add(time.Millisecond)
	}
	s.started = now
	s.reloaded = now
	s.apps = make(map[string]*application)
	s.mu.Unlock()
	s.DropWebSockets()
	if s.restartPause != nil {
		s.restartPause()
	}
	s.vanishState(HungUpByRestart)
}

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

// ---- REST plumbing ----

// reply is what a REST handler answers; the plumbing encodes it the way Asterisk does.
type reply struct {
	status   int
	body     any    // JSON body, nil for none
	raw      []byte // raw body (stored recording files)
	ctype    string
	location string
}

func errReply(status int, msg string) reply {
	return reply{status: status, body: errorJSON{Message: msg}}
}

func okReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// createdReply is 201 with the new resource's URL, as Asterisk answers a
// started playback or recording.
func createdReply(body any, location string) reply {
	return reply{status: http.StatusCreated, body: body, location: location}
}

// missingParam is Asterisk's 400 for a required parameter that is absent.
func missingParam(name string) reply { return errReply(400, name+": Missing required parameter") }

type handlerFunc func(r *http.Request, p *params) reply

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn handlerFunc) { m.Handle(pattern, s.rest(fn)) }

	h("GET /ari/asterisk/info", s.getInfo)
	h("GET /ari/asterisk/ping", s.ping)
	h("GET /ari/asterisk/variable", s.getGlobalVar)
	h("POST /ari/asterisk/variable", s.setGlobalVar)

	h("GET /ari/applications", s.listApplications)
	h("GET /ari/applications/{applicationName}", s.getApplication)
	h("POST /ari/applications/{applicationName}/subscription", s.subscribe)
	h("DELETE /ari/applications/{applicationName}/subscription", s.unsubscribe)

	h("GET /ari/deviceStates", s.listDeviceStates)
	h("GET /ari/deviceStates/{deviceName}", s.getDeviceState)
	h("PUT /ari/deviceStates/{deviceName}", s.putDeviceState)
	h("DELETE /ari/deviceStates/{deviceName}", s.deleteDeviceState)

	h("GET /ari/channels", s.listChannels)
	h("POST /ari/channels", s.originate)
	h("POST /ari/channels/create", s.createChannel)
	h("GET /ari/channels/{channelId}", s.getChannel)
	h("POST /ari/channels/{channelId}", s.originate)
	h("DELETE /ari/channels/{channelId}", s.hangup)
	h("POST /ari/channels/{channelId}/continue", s.continueInDialplan)
	h("POST /ari/channels/{channelId}/move", s.move)
	h("POST /ari/channels/{channelId}/redirect", s.redirect)
	h("POST /ari/channels/{channelId}/answer", s.answer)
	h("POST /ari/channels/{channelId}/ring", s.simpleOp(opRing))
	h("DELETE /ari/channels/{channelId}/ring", s.simpleOp(opRingStop))
	h("POST /ari/channels/{channelId}/progress", s.simpleOp(opProgress))
	h("POST /ari/channels/{channelId}/dtmf", s.sendDTMF)
	h("POST /ari/channels/{channelId}/mute", s.simpleOp(opMute))
	h("DELETE /ari/channels/{channelId}/mute", s.simpleOp(opUnmute))
	h("POST /ari/channels/{channelId}/hold", s.simpleOp(opHold))
	h("DELETE /ari/channels/{channelId}/hold", s.simpleOp(opUnhold))
	h("POST /ari/channels/{channelId}/moh", s.simpleOp(opMOH))
	h("DELETE /ari/channels/{channelId}/moh", s.simpleOp(opMOHStop))
	h("POST /ari/channels/{channelId}/silence", s.simpleOp(opSilence))
	h("DELETE /ari/channels/{channelId}/silence", s.simpleOp(opSilenceStop))
	h("POST /ari/channels/{channelId}/play", s.playOnChannel)
	h("POST /ari/channels/{channelId}/play/{playbackId}", s.playOnChannel)
	h("POST /ari/channels/{channelId}/record", s.recordChannel)
	h("GET /ari/channels/{channelId}/variable", s.getChannelVar)
	h("POST /ari/channels/{channelId}/variable", s.setChannelVar)
	h("POST /ari/channels/{channelId}/dial", s.dial)

	h("GET /ari/playbacks/{playbackId}", s.getPlayback)
	h("DELETE /ari/playbacks/{playbackId}", s.stopPlayback)
	h("POST /ari/playbacks/{playbackId}/control", s.controlPlayback)

	h("GET /ari/recordings/stored", s.listStored)
	h("GET /ari/recordings/stored/{recordingName}", s.getStored)
	h("DELETE /ari/recordings/stored/{recordingName}", s.deleteStored)
	h("GET /ari/recordings/stored/{recordingName}/file", s.getStoredFile)
	h("POST /ari/recordings/stored/{recordingName}/copy", s.copyStored)
	h("GET /ari/recordings/live/{recordingName}", s.getLive)
	h("DELETE /ari/recordings/live/{recordingName}", s.endLive(recCanceled))
	h("POST /ari/recordings/live/{recordingName}/stop", s.endLive(recDone))
	h("POST /ari/recordings/live/{recordingName}/pause", s.pauseLive(true))
	h("DELETE /ari/recordings/live/{recordingName}/pause", s.pauseLive(false))
	h("POST /ari/recordings/live/{recordingName}/mute", s.muteLive(true))
	h("DELETE /ari/recordings/live/{recordingName}/mute", s.muteLive(false))

	h("GET /ari/bridges", s.listBridges)
	h("POST /ari/bridges", s.createBridge)
	h("POST /ari/bridges/{bridgeId}", s.createBridge)
	h("GET /ari/bridges/{bridgeId}", s.getBridge)
	h("DELETE /ari/bridges/{bridgeId}", s.destroyBridge)
	h("POST /ari/bridges/{bridgeId}/addChannel", s.addChannel)
	h("POST /ari/bridges/{bridgeId}/removeChannel", s.removeChannel)
	h("POST /ari/bridges/{bridgeId}/play", s.playOnBridge)
	h("POST /ari/bridges/{bridgeId}/play/{playbackId}", s.playOnBridge)

	m.HandleFunc("GET /ari/events", s.serveEvents)
	m.Handle("/ari/", s.rest(func(r *http.Request, _ *params) reply { return s.unknownRoute(m, r) }))
	return m
}

// unknownRoute answers like Asterisk for a path it has no handler for: 405 when the
// path exists with another method, 404 otherwise.
func (s *Server) unknownRoute(m *http.ServeMux, r *http.Request) reply {
	for _, meth := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if meth == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = meth
		if _, pat := m.Handler(probe); pat != "" && pat != "/ari/" {
			return errReply(http.StatusMethodNotAllowed, "Invalid method")
		}
	}
	return errReply(http.StatusNotFound, "Resource not found")
}

// rest wraps a handler with authentication, fault injection, parameter parsing and
// encoding.
func (s *Server) rest(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.restCount.Add(1)
		rep := s.handleREST(r, fn)
		s.writeReply(w, r, rep)
	})
}

func (s *Server) handleREST(r *http.Request, fn handlerFunc) reply {
	if !s.authorized(r) {
		return reply{status: http.StatusUnauthorized, body: errorJSON{Message: "Authentication required"}}
	}
	if rep, failed := s.injectFault(r); failed {
		return rep
	}
	p, err := parseParams(r)
	if err != nil {
		return errReply(http.StatusBadRequest, err.Error())
	}
	// Taken after the injected delay, so that a slow request does not hold
	// up a Restart: it is handled by whichever process is up when it lands.
	s.life.RLock()
	defer s.life.RUnlock()
	return fn(r, p)
}

func (s *Server) injectFault(r *http.Request) (reply, bool) {
	s.faultMu.Lock()
	delay := s.restDelay
	sub := strings.TrimPrefix(r.URL.Path, "/ari")
	var fail *failRule
	for i := range s.failRules {
		fr := &s.failRules[i]
		if fr.method != "" && !strings.EqualFold(fr.method, r.Method) {
			continue
		}
		if ok, _ := path.Match(fr.pattern, sub); !ok {
			continue
		}
		fr.left--
		rule := *fr
		if rule.delay > 0 {
			delay = max(delay, rule.delay)
		} else {
			fail = &rule
		}
		if fr.left <= 0 {
			s.failRules = append(s.failRules[:i], s.failRules[i+1:]...)
		}
		break
	}
	s.faultMu.Unlock()
	if delay > 0 {
		// Asterisk's HTTP server reads the whole request before ARI handles
		// it. Reading the body first also lets net/http notice a client
		// that gives up and closes the connection during the delay (it
		// watches the connection only once the body is read), so a client
		// that abandons requests instead shows as connections left open.
		if r.Body != nil && r.Method != http.MethodGet {
			data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if fail != nil {
		return errReply(fail.status, http.StatusText(fail.status)), true
	}
	return reply{}, false
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" && s.opts.Password == "" {
		return true
	}
	check := func(u, p string) bool {
		return subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password)) == 1
	}
	if key := r.URL.Query().Get("api_key"); key != "" {
		u, p, _ := strings.Cut(key, ":")
		return check(u, p)
	}
	if u, p, ok := r.BasicAuth(); ok {
		return check(u, p)
	}
	return false
}

func (s *Server) writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	h := w.Header()
	h.Set("Server", "Asterisk/"+asteriskVersion)
	h.Set("Cache-Control", "no-cache, no-store")
	var body []byte
	switch {
	case rep.raw != nil:
		body = rep.raw
		h.Set("Content-Type", rep.ctype)
	case rep.body != nil:
		var err error
		body, err = json.Marshal(rep.body)
		if err != nil {
			s.log.Error("encode reply", "error", err)
			rep.status = http.StatusInternalServerError
			body = []byte(`{"message":"Internal Server Error"}`)
		}
		h.Set("Content-Type", "application/json")
	default:
		// An empty (204) reply: Asterisk sends no Content-Type with it.
	}
	if rep.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
	}
	if rep.location != "" {
		h.Set("Location", rep.location)
	}
	if s.tap != nil {
		kind := "rest"
		if rep.raw != nil {
			kind = "rest-raw"
		}
		s.tap(kind, r.Method, strings.TrimPrefix(r.URL.EscapedPath(), "/ari"), rep.status, body) // as on the wire: PJSIP%2Fop201 is one segment
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(rep.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// ---- applications ----

// registerApp gives app to conn; a previous holder gets ApplicationReplaced, as in Asterisk.
func (s *Server) registerApp(name string, c *wsConn) {
	s.mu.Lock()
	a := s.apps[name]
	if a == nil {
		a = &application{name: name}
		s.apps[name] = a
	}
	old := a.conn
	a.conn = c
	s.mu.Unlock()
	if old != nil && old != c {
		b, err := json.Marshal(eventBase{Type: "ApplicationReplaced", Timestamp: fmtTime(time.Now()), Application: name, AsteriskID: s.opts.AsteriskID})
		if err == nil {
			old.send(b)
		}
	}
}

func (s *Server) unregisterConn(c *wsConn) {
	s.mu.Lock()
	delete(s.conns, c)
	for _, a := range s.apps {
		if a.conn == c {
			a.conn = nil
		}
	}
	s.mu.Unlock()
}

func (s *Server) appRegistered(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[name]
	return a != nil && a.conn != nil
}

// emit sends an event to the connection holding app. The event is encoded once.
func (s *Server) emit(app string, ev any) {
	if app == "" {
		return
	}
	s.mu.RLock()
	var c *wsConn
	if a := s.apps[app]; a != nil {
		c = a.conn
	}
	s.mu.RUnlock()
	if c == nil && s.tap == nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode event", "error", err)
		return
	}
	if s.lost(b) {
		return
	}
	if s.tap != nil {
		s.tap("event", "", "", 0, b)
	}
	if c != nil {
		c.send(b)
		s.eventCount.Add(1)
	}
}

func (s *Server) base(typ, app string) eventBase {
	return eventBase{Type: typ, Timestamp: fmtTime(time.Now()), Application: app, AsteriskID: s.opts.AsteriskID}
}

// ---- background work ----

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

// drainBody discards a request body so keep-alive connections can be reused.
func drainBody(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}
