// Package stack wires siaga112's roles — the IVR, the blocklist and reports
// workers and the one HTTP listener — over one NATS connection, for the
// commands that run them in one process: serve, ivr, demo and loadtest.
//
// New starts what must exist before anything can run (the embedded NATS
// server when no URL is configured, the connection, the stream, the
// publisher and spool, the HTTP listener); Run runs every role until its
// context ends and then shuts down in the order that loses nothing: the IVR
// drains first (calls in progress are finished or put through), then the
// publisher flushes its spool to JetStream, then the workers catch up with
// the stream, and only then do the workers, the HTTP listener, the
// connection and the embedded server stop. An IVR stopped on its own
// (IVR().Stop) drains the same way while the other roles keep running
// until Run's context ends.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/phone"
	"github.com/siaga112/siaga112/reports"
)

// Shutdown bounds. The IVR's own drain is bounded by ivr.drain_timeout;
// these bound what follows it.
const (
	// streamCheckTimeout bounds the stream check at start-up.
	streamCheckTimeout = 10 * time.Second
	// ivrStreamCheckTimeout bounds it when the IVR runs: the IVR does not
	// need the stream to take calls (its events wait in the spool), so a
	// NATS that does not answer must not hold up its start for long.
	ivrStreamCheckTimeout = 2 * time.Second
	// blocklistStartTimeout bounds one try of building the blocklist worker
	// (stream, buckets, consumer) when it could not be built at start.
	blocklistStartTimeout = 10 * time.Second
	// flushTimeout bounds how long the publisher tries to empty its spool
	// into JetStream at shutdown; what is left stays on disk and is
	// replayed by the next start.
	flushTimeout = 15 * time.Second
	// catchUpTimeout bounds how long the workers get to consume the events
	// of the last calls before they stop. Their consumers are durable, so
	// anything left is handled on the next start; the wait only makes a
	// clean stop look clean on the dashboard and in the blocklist.
	catchUpTimeout = 5 * time.Second
	// httpShutdownTimeout bounds the HTTP server's graceful shutdown.
	httpShutdownTimeout = 5 * time.Second
)

// ErrNoRoles is returned by New when Options.Roles selects nothing.
var ErrNoRoles = errors.New("stack: no role selected")

// Roles selects what a Stack runs.
type Roles struct {
	// IVR serves the calls of every node in ari.nodes.
	IVR bool
	// Blocklist runs the blocklist worker (strikes and blocks).
	Blocklist bool
	// Reports runs the reports worker (the dashboard's figures).
	Reports bool
	// HTTP serves web's routes on one listener: the board and the reports
	// API (with Reports), the blocklist API and the console (with
	// Blocklist), /healthz and /livez.
	HTTP bool
}

// All is every role: what `siaga112 serve` runs.
func All() Roles { return Roles{IVR: true, Blocklist: true, Reports: true, HTTP: true} }

// Options configure a Stack.
type Options struct {
	// Config is the whole configuration. An empty nats.url starts the
	// embedded server in nats.embedded.data_dir.
	Config configs.Config
	// Log receives every component's logs; nil discards them.
	Log *slog.Logger
	// Roles selects the components.
	Roles Roles
	// Name is the NATS connection name (default "siaga112").
	Name string
	// Listener, when set, is used for HTTP instead of listening on
	// http.listen (tests pass one on port 0).
	Listener net.Listener
	// WrapFlow, when set, wraps the IVR's flow; the load tool uses it to
	// time answers and keys without touching the ari package.
	WrapFlow func(ari.FlowRunner) ari.FlowRunner
	// WrapPublisher, when set, wraps the publisher the IVR uses; the load
	// tool counts the events handed over through it.
	WrapPublisher func(ari.Publisher) ari.Publisher
}

// Stack is the set of running roles. Build it with New, then call Run
// once; Run releases everything New acquired.
type Stack struct {
	cfg   configs.Config
	log   *slog.Logger
	roles Roles

	bus *events.Bus

	pub   *events.Publisher // IVR role only
	cache *blocklist.Cache  // IVR role only
	// incidents follows the incident announcement (IVR role only).
	incidents *incident.Watch
	ivr       *ari.IVR // IVR role only
	// Call-backs (IVR role, when callback.endpoint is set).
	cbStore     *events.CallbackStore
	cbScheduler *callback.Scheduler
	cbPlacer    *callback.Placer

	// blMu guards blWorker and store: when NATS is unreachable at start
	// with the IVR role, they are built later by the supervised role.
	blMu     sync.Mutex
	blWorker *blocklist.Worker // Blocklist role only; guarded by blMu
	store    *blocklist.Store  // Blocklist role only; guarded by blMu
	blPolicy blocklist.Policy  // Blocklist role only

	agg *reports.Aggregator // Reports role only
	// rwMu guards rWorker and rStarted: a reports worker runs once, so a
	// restart replaces it (see runReports).
	rwMu     sync.Mutex
	rWorker  *reports.Worker // Reports role only; guarded by rwMu
	rStarted bool            // guarded by rwMu

	// roleMu guards roleStates (see supervise).
	roleMu     sync.Mutex
	roleStates map[string]RoleState
	// backoffMin and backoffMax bound a failing role's restart backoff;
	// healthyAfter is how long a role must run to count as recovered
	// (tests shorten them before Run).
	backoffMin, backoffMax, healthyAfter time.Duration

	probe streamProbe // the event stream's last probe (health.go)

	// running is true from the start of Run until its shutdown has
	// finished: /livez answers 200 only then.
	running atomic.Bool

	ln       net.Listener // HTTP role only
	hs       *http.Server // HTTP role only
	closeMu  sync.Mutex
	closed   bool
	ran      bool
	shutdown []func() // run in reverse order by release
}

// New starts NATS (embedded unless nats.url is set), connects, checks the
// stream and builds every selected role. Nothing handles calls or events
// until Run. On error everything already started is released.
func New(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Roles == (Roles{}) {
		return nil, ErrNoRoles
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := o.Name
	if name == "" {
		name = "siaga112"
	}
	fitFDs(&o.Config, o.Roles, fdLimit(), log)
	s := &Stack{cfg: o.Config, log: log, roles: o.Roles, backoffMin: roleBackoffMin, backoffMax: roleBackoffMax, healthyAfter: roleHealthyAfter}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	cfg := o.Config

	// The IVR must take calls while NATS is down: its events wait in the
	// spool. Workers alone cannot do anything without the stream, so
	// without the IVR they require it; next to the IVR they start (and
	// restart) once NATS answers, and the IVR does not wait for them.
	timeout := streamCheckTimeout
	if o.Roles.IVR {
		timeout = ivrStreamCheckTimeout
	}
	s.bus, err = events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: name, Embedded: events.EmbeddedStart, StreamTimeout: timeout,
		RequireStream: (o.Roles.Blocklist || o.Roles.Reports) && !o.Roles.IVR,
		User:          natsUser(o.Roles),
		Durables:      events.DurablesFor(cfg),
	}, log)
	if err != nil {
		return nil, err
	}
	s.onRelease(s.bus.Close)

	if o.Roles.IVR {
		if err := s.buildIVR(o); err != nil {
			return nil, err
		}
	}
	if o.Roles.Blocklist {
		if err := s.buildBlocklist(ctx); err != nil {
			return nil, err
		}
	}
	if o.Roles.Reports {
		if err := s.buildReports(); err != nil {
			return nil, err
		}
	}
	if o.Roles.HTTP {
		if err := s.buildHTTP(o.Listener); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) buildIVR(o Options) error {
	cfg := s.cfg
	pub, err := events.NewPublisher(s.bus.JS, cfg.NATS, s.log)
	if err != nil {
		return err
	}
	s.pub = pub
	// Registered so a failed New still closes the spool file; Run closes
	// the publisher itself, in its place in the shutdown order.
	s.onRelease(func() { s.closePublisher(context.Background()) })
	s.cache = blocklist.NewCache(s.bus.JS, cfg.NATS.Stream.Replicas, cfg.Blocklist.DefaultCountry, s.log)
	s.incidents = incident.NewWatch(s.bus.JS, cfg.NATS.Stream.Replicas, s.log)
	flow, err := flows.New(cfg.IVR, nil, s.log)
	if err != nil {
		return err
	}
	var runner ari.FlowRunner = flow
	if o.WrapFlow != nil {
		runner = o.WrapFlow(runner)
	}
	var p ari.Publisher = pub
	if o.WrapPublisher != nil {
		p = o.WrapPublisher(p)
	}
	followed := events.NewFollowedStore(s.bus.JS, cfg.NATS.Stream.Replicas)
	s.ivr, err = ari.New(ari.Options{
		ARI: cfg.ARI, IVR: cfg.IVR, Flow: runner, Blocklist: s.cache, Incidents: s.incidents, Publisher: p, Logger: s.log,
		Normalize: phone.E164Func(cfg.Blocklist.DefaultCountry), Followed: followed,
		CallbackFlow: flow, CallbackTag: cfg.Callback.Tag,
	})
	if err != nil {
		return err
	}
	s.buildCallbacks(p)
	return nil
}

// buildCallbacks builds the call-back scheduler and placer of this IVR
// instance, or says once why call-backs are off.
func (s *Stack) buildCallbacks(pub callback.Publisher) {
	cfg := s.cfg
	if strings.TrimSpace(cfg.Callback.Endpoint) == "" {
		s.log.Warn("automatic call-backs are off: callback.endpoint is empty; dropped callers who asked for help are only listed for operators")
		return
	}
	if !cfg.Callback.Enabled {
		s.log.Info("automatic call-backs start switched off (callback.enabled: false); a supervisor can switch them on from the console")
	}
	s.cbStore = events.NewCallbackStore(s.bus.JS, cfg.NATS.Stream.Replicas)
	names := make([]string, 0, len(cfg.ARI.Nodes))
	for _, n := range cfg.ARI.Nodes {
		names = append(names, n.Name)
	}
	id := events.NewID()
	node := strings.Join(names, "+")
	s.cbScheduler = callback.NewScheduler(callback.SchedulerOptions{
		Config: cfg.Callback, Store: s.cbStore, Publisher: pub, Blocklist: s.cache, Node: node, Log: s.log,
		Numbers: func(ctx context.Context, callID string) (string, error) {
			return blocklist.CallNumber(ctx, s.bus.JS, callID)
		},
	})
	s.cbPlacer = callback.NewPlacer(callback.PlacerOptions{
		Config: cfg.Callback, Store: s.cbStore, Publisher: pub, Dialer: s.ivr, Blocklist: s.cache,
		Country: cfg.Blocklist.DefaultCountry, Name: node + "/" + strings.ToLower(id[len(id)-6:]), Log: s.log,
	})
}

// runCallbackScheduler is the supervised call-back scheduler: a durable
// consumer of the call events it acts on, shared by every IVR instance.
func (s *Stack) runCallbackScheduler(ctx context.Context) error {
	spec := events.ConsumerSpec{
		Durable: callback.Durable,
		Subjects: []string{events.TypeStarted.Subject(), events.TypeEnded.Subject(), events.TypeOperatorAnswered.Subject(),
			events.TypeVerdict.Subject(), events.TypeHandled.Subject()},
		MaxAckPending: s.cfg.NATS.Consumer.MaxAckPending,
		AckWait:       s.cfg.NATS.Consumer.AckWait,
	}
	cons, err := events.NewConsumer(ctx, s.bus.JS, spec, s.cbScheduler.Handle, s.log)
	if err != nil {
		return fmt.Errorf("call-back scheduler: %w", err)
	}
	return cons.Run(ctx)
}

// callbackControl is the supervisors' side of the call-backs for the
// console, or nil when call-backs are off (no callback.endpoint).
func (s *Stack) callbackControl(pub callback.Publisher) *callback.Control {
	if strings.TrimSpace(s.cfg.Callback.Endpoint) == "" {
		return nil
	}
	st := s.cbStore
	if st == nil {
		st = events.NewCallbackStore(s.bus.JS, s.cfg.NATS.Stream.Replicas)
	}
	return callback.NewControl(st, pub, s.cfg.Callback.Enabled, "console", s.log)
}

func (s *Stack) buildBlocklist(ctx context.Context) error {
	policy, err := blocklist.NewPolicy(s.cfg.Blocklist)
	if err != nil {
		return err
	}
	s.blPolicy = policy
	if s.roles.IVR && !s.bus.Conn.IsConnected() {
		// NATS is unreachable: the supervised role builds the worker when
		// it answers (runBlocklist); the IVR starts now.
		s.log.Warn("nats unreachable; the blocklist worker starts when it answers")
		return nil
	}
	_, err = s.startBlocklist(ctx)
	return err
}

// startBlocklist opens the buckets and creates the worker and its consumer;
// the stream must exist.
func (s *Stack) startBlocklist(ctx context.Context) (*blocklist.Worker, error) {
	cfg := s.cfg
	kv, err := blocklist.OpenBucket(ctx, s.bus.JS, cfg.NATS.Stream.Replicas)
	if err != nil {
		return nil, err
	}
	store := blocklist.NewStore(kv, s.blPolicy, s.log)
	// The worker's announcements go straight to JetStream: the spool
	// belongs to the IVR's publisher and a worker cannot work without NATS.
	w, err := blocklist.NewWorker(ctx, s.bus.JS, store, blocklist.JSPublisher{JS: s.bus.JS}, cfg.NATS, s.log)
	if err != nil {
		return nil, err
	}
	s.blMu.Lock()
	s.store, s.blWorker = store, w
	s.blMu.Unlock()
	return w, nil
}

// runBlocklist is the supervised blocklist role: it builds the worker if
// NATS was unreachable at start, then runs it. A worker's consumer finds
// or re-creates its durable consumer on every Run after the first.
func (s *Stack) runBlocklist(ctx context.Context) error {
	w := s.blocklistWorker()
	if w == nil {
		sctx, cancel := context.WithTimeout(ctx, blocklistStartTimeout)
		_, err := events.EnsureStream(sctx, s.bus.JS, s.cfg.NATS.Stream)
		if err == nil {
			w, err = s.startBlocklist(sctx)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("blocklist worker start: %w", err)
		}
		s.log.Info("blocklist worker started")
	}
	return w.Run(ctx)
}

// runReports is the supervised reports role. A reports.Worker runs once
// over an empty aggregator (it replays the stream into it), so a restart
// empties the aggregator and replays into it with a new worker; the
// dashboard shows the replay's progress as it does after a start.
func (s *Stack) runReports(ctx context.Context) error {
	s.rwMu.Lock()
	w := s.rWorker
	if s.rStarted {
		s.agg.Reset()
		w = s.newReportsWorker()
		s.rWorker = w
	}
	s.rStarted = true
	s.rwMu.Unlock()
	return w.Run(ctx)
}

func (s *Stack) newReportsWorker() *reports.Worker {
	cfg := s.cfg
	return reports.NewWorker(s.bus.JS, s.agg, reports.WorkerConfig{
		Durable: cfg.Reports.Durable, Stream: cfg.NATS.Stream, Consumer: cfg.NATS.Consumer,
	}, s.log)
}

func (s *Stack) blocklistWorker() *blocklist.Worker {
	s.blMu.Lock()
	defer s.blMu.Unlock()
	return s.blWorker
}

func (s *Stack) reportsWorker() *reports.Worker {
	s.rwMu.Lock()
	defer s.rwMu.Unlock()
	return s.rWorker
}

func (s *Stack) buildReports() error {
	cfg := s.cfg
	loc, err := time.LoadLocation(cfg.Reports.TimeZone)
	if err != nil {
		return fmt.Errorf("reports.time_zone: %w", err)
	}
	types := make([]string, 0, len(cfg.IVR.Menu))
	for _, m := range cfg.IVR.Menu {
		types = append(types, m.Type)
	}
	s.agg = reports.NewAggregator(reports.Options{
		Location: loc, RecentCalls: cfg.Reports.RecentCalls, Retention: cfg.Reports.Retention,
		DefaultCountry: cfg.Blocklist.DefaultCountry, EmergencyTypes: types,
	})
	s.rWorker = s.newReportsWorker()
	return nil
}

func (s *Stack) buildHTTP(ln net.Listener) error {
	mux := http.NewServeMux()
	if err := s.buildWeb(mux); err != nil {
		return err
	}
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen %s: %w", s.cfg.HTTP.Listen, err)
		}
	}
	ln = LimitListener(ln, s.cfg.HTTP.MaxConnections)
	s.ln = ln
	s.onRelease(func() { _ = ln.Close() })
	s.hs = NewHTTPServer(s.cfg.HTTP, mux, s.log)
	return nil
}

func (s *Stack) newAdmin(store *blocklist.Store) *blocklist.Admin {
	return blocklist.NewAdmin(store, blocklist.JSPublisher{JS: s.bus.JS}, s.log)
}

// onRelease registers a clean-up step of New; release runs them in reverse.
func (s *Stack) onRelease(fn func()) { s.shutdown = append(s.shutdown, fn) }

// release runs the registered clean-up steps once, newest first.
func (s *Stack) release() {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return
	}
	s.closed = true
	steps := s.shutdown
	s.closeMu.Unlock()
	for i := len(steps) - 1; i >= 0; i-- {
		steps[i]()
	}
}

// closePublisher flushes the spool (bounded by ctx and flushTimeout) and
// closes the publisher; Close is idempotent.
func (s *Stack) closePublisher(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := s.pub.Close(cctx); err != nil {
		st := s.pub.Stats()
		s.log.Warn("publisher closed with events left in the spool; the next start replays them",
			"error", err, "spool_bytes", st.SpoolBytes)
	}
}

// Close releases a Stack that was built but never run. After Run it does
// nothing.
func (s *Stack) Close() { s.release() }

// HTTPAddr is the address the HTTP listener is bound to ("" without the
// HTTP role).
func (s *Stack) HTTPAddr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// NATSURL is the URL the server connected to (the embedded server's when
// nats.url is empty).
func (s *Stack) NATSURL() string { return s.bus.URL }

// Bus is the server's link to NATS: its connection and JetStream context.
func (s *Stack) Bus() *events.Bus { return s.bus }

// IVR is the IVR (nil without the IVR role).
func (s *Stack) IVR() *ari.IVR { return s.ivr }

// Publisher is the IVR's event publisher (nil without the IVR role).
func (s *Stack) Publisher() *events.Publisher { return s.pub }

// Cache is the IVR's blocklist cache (nil without the IVR role).
func (s *Stack) Cache() *blocklist.Cache { return s.cache }

// Store is the blocklist store (nil without the Blocklist role, and until
// the blocklist worker could be built when NATS was unreachable at start).
func (s *Stack) Store() *blocklist.Store {
	s.blMu.Lock()
	defer s.blMu.Unlock()
	return s.store
}

// BlocklistWorker is the blocklist worker (nil without the Blocklist role,
// and until it could be built when NATS was unreachable at start).
func (s *Stack) BlocklistWorker() *blocklist.Worker { return s.blocklistWorker() }

// ReportsWorker is the reports worker running now (nil without the
// Reports role); a restart of the role replaces it.
func (s *Stack) ReportsWorker() *reports.Worker { return s.reportsWorker() }

// Aggregator is the reports' in-memory figures (nil without the Reports role).
func (s *Stack) Aggregator() *reports.Aggregator { return s.agg }
