package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// What /healthz judges, and why its answer is what it is.
//
// /healthz is read by docker's healthcheck, systemd watchers, the wall board
// and an on-call engineer. It used to say "ok" whenever the NATS connection
// was up, so the event path could be broken for hours (JetStream gone, every
// event spooling or dropped, the blocklist cache frozen after its watch
// failed, a worker far behind) behind a green light. Each check now judges
// its component and says in words what is wrong:
//
//   - ok: the component does its job.
//   - degraded: it does not, or only late, but calls are not harmed — they
//     are answered and put through, and what is lost is bookkeeping
//     (events late or dropped, blocks late, figures stale). 200, with the
//     reason, so a monitor that restarts on 503 does not restart an IVR in
//     the middle of calls over a problem a restart cannot mend.
//   - down: no call can be served — the IVR reaches no Asterisk node at
//     all. 503. One node of several lost is degraded (200, naming the
//     node): the others' calls go on, and a monitor or orchestrator that
//     restarts on 503 would cut them over a problem the restart cannot mend.
//
// /healthz is for alerting. Whether to restart the process is a different
// question — can it serve at all — answered by /livez (serveLive), which
// container and service checks use.
//
// The body keeps its earlier shape (ok, checks.<name>.ok and .detail, which
// the wall board reads) and adds status and reason to every check and to
// the whole.

// Levels of a check, in the order of their gravity.
const (
	LevelOK       = "ok"
	LevelDegraded = "degraded"
	LevelDown     = "down"
)

// healthTimeout bounds the NATS requests one /healthz makes (the stream
// probe and the workers' lag).
const healthTimeout = 2 * time.Second

// dropRecent is how long after the publisher's last dropped event the
// publisher stays degraded. The drop count only grows; without a window one
// drop months ago would keep the check degraded for ever, and with a window
// shorter than a monitor's poll interval a burst of drops could go unseen.
const dropRecent = 10 * time.Minute

// Check is one component's state in /healthz.
type Check struct {
	// OK is true when Status is ok. It is kept for readers of the earlier
	// shape (the wall board).
	OK bool `json:"ok"`
	// Status is ok, degraded or down (LevelOK, ...).
	Status string `json:"status"`
	// Reason says in words what is wrong and what it means; empty when ok.
	Reason string `json:"reason,omitempty"`
	// Detail carries the component's figures (nodes, counters, lag).
	Detail any `json:"detail,omitempty"`
}

// Health is the composed state of every role, as /healthz serves it.
type Health struct {
	// OK is true when every check is ok.
	OK bool `json:"ok"`
	// Status is the gravest check's level: /healthz answers 503 when it
	// is down, else 200.
	Status string `json:"status"`
	// Reason lists the reasons of the checks that are not ok, the gravest
	// first, each prefixed with its check's name.
	Reason string `json:"reason,omitempty"`
	// Checks are keyed by component: nats, jetstream, ari, publisher,
	// blocklist_cache, blocklist_worker, reports, roles.
	Checks map[string]Check `json:"checks"`
}

func checkOK(detail any) Check { return Check{OK: true, Status: LevelOK, Detail: detail} }

func checkDegraded(detail any, format string, args ...any) Check {
	return Check{Status: LevelDegraded, Reason: fmt.Sprintf(format, args...), Detail: detail}
}

func checkDown(detail any, format string, args ...any) Check {
	return Check{Status: LevelDown, Reason: fmt.Sprintf(format, args...), Detail: detail}
}

func gravity(level string) int {
	switch level {
	case LevelOK:
		return 0
	case LevelDegraded:
		return 1
	default:
		return 2
	}
}

// Health checks every role the server runs.
func (s *Stack) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := Health{Checks: make(map[string]Check)}
	add := func(name string, c Check) { h.Checks[name] = c }

	// Without a connection every NATS request would wait out
	// healthTimeout; the checks that need one say so instead.
	connErr := s.bus.Health(ctx)
	natsDetail := map[string]any{"url": s.bus.Conn.ConnectedUrlRedacted(), "embedded": s.cfg.NATS.URL == ""}
	if connErr != nil {
		add("nats", checkDegraded(natsDetail, "%v: %s", connErr, s.eventsHeld()))
	} else {
		add("nats", checkOK(natsDetail))
	}
	probe := s.probeOften(ctx, connErr)
	add("jetstream", probe.stream)

	if s.ivr != nil {
		add("ari", s.ariCheck())
		add("publisher", s.publisherCheck(time.Now()))
		add("blocklist_cache", s.cacheCheck(probe.bucket))
	}
	// The workers are read through their accessors: a supervised role
	// builds or replaces them while /healthz is served (run.go).
	if s.roles.Blocklist {
		add("blocklist_worker", s.blocklistCheck(ctx, connErr))
	}
	if rw := s.reportsWorker(); rw != nil {
		add("reports", s.reportsCheck(ctx, rw, connErr))
	}
	// Supervised roles (run.go): degraded while one waits to be restarted.
	if states := s.RoleStates(); len(states) > 0 {
		c := s.rolesCheck()
		if !c.OK {
			// rolesCheck words its state as "degraded: restarting …".
			c.Status, c.Reason = LevelDegraded, strings.TrimPrefix(c.Status, LevelDegraded+": ")
		}
		add("roles", c)
	}

	h.Status = LevelOK
	names := make([]string, 0, len(h.Checks))
	for name, c := range h.Checks {
		if gravity(c.Status) > gravity(h.Status) {
			h.Status = c.Status
		}
		if c.Status != LevelOK {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := gravity(h.Checks[b].Status) - gravity(h.Checks[a].Status); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	reasons := make([]string, len(names))
	for i, name := range names {
		reasons[i] = name + ": " + h.Checks[name].Reason
	}
	h.Reason = strings.Join(reasons, "; ")
	h.OK = h.Status == LevelOK
	return h
}

// ariCheck is down when no node is connected: no caller reaches the IVR.
// A node lost among several is degraded: its callers do not reach the IVR
// (Asterisk answers Stasis() of an application with no connection with a
// failure, so the dialplan's fallback, if any, is all those callers get),
// but the other nodes' calls go on, and nothing in this process mends a
// node that went away.
func (s *Stack) ariCheck() Check {
	nodes := s.ivr.Health()
	detail := map[string]any{"nodes": nodes, "stats": s.ivr.Stats()}
	var lost []string
	for _, n := range nodes {
		if !n.Connected {
			lost = append(lost, n.Name)
		}
	}
	switch {
	case len(nodes) == 0:
		return checkDown(detail, "no Asterisk node is configured: the IVR takes no calls")
	case len(lost) == len(nodes):
		return checkDown(detail, "every Asterisk node is disconnected (%s): the IVR takes no calls", strings.Join(lost, ", "))
	case len(lost) > 0:
		return checkDegraded(detail, "Asterisk node %s disconnected: its calls do not reach the IVR; %d of %d nodes serve calls",
			strings.Join(lost, ", "), len(nodes)-len(lost), len(nodes))
	}
	return checkOK(detail)
}

// publisherCheck judges the IVR's publisher by what it does with events:
// a short spell in the spool is its job under a slow ack; a long one means
// the events are not reaching the workers; drops are events lost for good.
func (s *Stack) publisherCheck(now time.Time) Check {
	ps := s.pub.Stats()
	var why []string
	if ps.SpoolFull {
		why = append(why, fmt.Sprintf("the spool is full (%d of %d bytes): new events are dropped", ps.SpoolBytes, ps.SpoolMaxBytes))
	}
	if !ps.LastDrop.IsZero() && now.Sub(ps.LastDrop) < dropRecent {
		why = append(why, fmt.Sprintf("%d events dropped since start, the last %s ago: they are in no report and gave no strike",
			ps.Dropped, now.Sub(ps.LastDrop).Round(time.Second)))
	}
	if ps.Spooling && now.Sub(ps.SpoolingSince) > s.cfg.Health.MaxSpooling {
		w := fmt.Sprintf("spooling for %s (over health.max_spooling %s): %d events (%d bytes) wait for JetStream",
			now.Sub(ps.SpoolingSince).Round(time.Second), s.cfg.Health.MaxSpooling, ps.SpoolEvents, ps.SpoolBytes)
		if ps.LastError != "" {
			w += "; last error: " + ps.LastError
		}
		why = append(why, w)
	}
	if len(why) > 0 {
		return checkDegraded(ps, "%s", strings.Join(why, "; "))
	}
	return checkOK(ps)
}

// cacheCheck judges the IVR's blocklist cache. Calls never wait on it, so it
// is at worst degraded: before its first load nobody is blocked, and while
// its watch is down blocks and lifts made elsewhere are not seen.
//
// The cache knows when its watch ended or could not start. It cannot know
// when its watch silently stopped delivering: the client library's ordered
// consumer keeps the updates channel open while JetStream is gone. So the
// bucket the watch reads is probed with the stream (bucketErr): a bucket
// that does not answer has no live watch, whatever the cache believes.
func (s *Stack) cacheCheck(bucketErr error) Check {
	cs := s.cache.Stats()
	select {
	case <-s.cache.Ready():
	default:
		r := "loading: nobody is blocked until the blocklist is loaded"
		if cs.WatchError != "" {
			r += " (" + cs.WatchError + ")"
		}
		return checkDegraded(cs, "%s", r)
	}
	if bucketErr != nil {
		return checkDegraded(cs, "the blocklist bucket does not answer (%v), so its watch is not live: the %d blocks known still apply, changes made since are not seen",
			bucketErr, cs.Blocked)
	}
	// A watch that is not live with no failure recorded is being
	// restarted after a reconnect: it reloads within milliseconds.
	if !cs.Watching && !cs.WatchDownSince.IsZero() {
		return checkDegraded(cs, "the blocklist watch is down since %s (%s): the %d blocks known then still apply, changes made since are not seen",
			cs.WatchDownSince.UTC().Format(time.RFC3339), cs.WatchError, cs.Blocked)
	}
	return checkOK(cs)
}

// blocklistCheck judges the blocklist worker by its lag: events waiting
// are strikes not yet counted and blocks not yet made.
func (s *Stack) blocklistCheck(ctx context.Context, connErr error) Check {
	w := s.blocklistWorker()
	if w == nil {
		return checkDegraded(nil, "not started: it starts once NATS answers; no strikes are counted until then")
	}
	detail := map[string]any{"stats": w.Stats(), "max_lag": s.cfg.Health.MaxWorkerLag}
	if connErr != nil {
		return checkDegraded(detail, "no connection to NATS: no strikes are counted")
	}
	lag, err := w.Lag(ctx)
	if err != nil {
		return checkDegraded(detail, "cannot read its consumer (%v): strikes may not be counted", err)
	}
	detail["lag"] = lag
	if lag > uint64(s.cfg.Health.MaxWorkerLag) {
		return checkDegraded(detail, "%d events behind (over health.max_worker_lag %d): blocks come late", lag, s.cfg.Health.MaxWorkerLag)
	}
	return checkOK(detail)
}

// reportsCheck judges whether the dashboard's figures are fresh: the worker
// has replayed the history, follows the stream, and is not far behind. Its
// own Ready flag stays true once set, so the lag is judged every time.
func (s *Stack) reportsCheck(ctx context.Context, w *reports.Worker, connErr error) Check {
	detail := map[string]any{"stats": w.Stats(), "max_lag": s.cfg.Health.MaxWorkerLag}
	if connErr != nil {
		return checkDegraded(detail, "no connection to NATS: the figures are not updated")
	}
	ready := w.Ready(ctx)
	lag, err := w.Lag(ctx)
	if err != nil {
		return checkDegraded(detail, "not following the event stream (%v): the figures are stale", err)
	}
	detail["lag"] = lag
	switch {
	case !ready:
		return checkDegraded(detail, "replaying history, %d events to go: the figures are incomplete", lag)
	case lag > uint64(s.cfg.Health.MaxWorkerLag):
		return checkDegraded(detail, "%d events behind (over health.max_worker_lag %d): the figures are late", lag, s.cfg.Health.MaxWorkerLag)
	}
	return checkOK(detail)
}

// streamProbe keeps the last answer of the JetStream probe: /healthz is
// asked every second by every open wall board, and the state of a stream
// does not need JetStream API requests each time.
type streamProbe struct {
	// run is held while a probe runs, so concurrent /healthz share one.
	run sync.Mutex
	mu  sync.Mutex
	at  time.Time   // guarded by mu; when last probed
	res probeResult // guarded by mu
}

// probeResult is what one probe found.
type probeResult struct {
	// stream is the jetstream check.
	stream Check
	// bucket is nil when the blocklist bucket answered (probed only with
	// the IVR role, whose cache watches it).
	bucket error
}

// probeOften probes JetStream at most once per health.stream_probe and
// otherwise repeats the last result.
func (s *Stack) probeOften(ctx context.Context, connErr error) probeResult {
	p := &s.probe
	fresh := func() (probeResult, bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.res, !p.at.IsZero() && time.Since(p.at) < s.cfg.Health.StreamProbe
	}
	if r, ok := fresh(); ok {
		return r
	}
	p.run.Lock()
	defer p.run.Unlock()
	if r, ok := fresh(); ok {
		return r // probed meanwhile by another /healthz
	}
	r := probeResult{stream: s.probeStream(ctx, connErr)}
	if s.cache != nil {
		r.bucket = connErr
		if r.bucket == nil {
			_, r.bucket = s.bus.JS.KeyValue(ctx, blocklist.Bucket)
		}
	}
	p.mu.Lock()
	p.at, p.res = time.Now(), r
	p.mu.Unlock()
	return r
}

// eventsHeld says what becomes of events while they cannot be stored.
func (s *Stack) eventsHeld() string {
	if s.pub != nil {
		return "events wait in the IVR's spool; blocks and figures are not updated"
	}
	return "blocks and figures are not updated"
}

// probeStream asks JetStream for the event stream's info. It is the
// cheapest honest probe: in a cluster the info comes from the stream's
// leader, so an answer means JetStream is enabled, the stream exists and
// has a leader to take writes; a sealed stream takes none. A probe publish
// would prove more, but it would put messages every worker has to read into
// the stream the workers count, and the IVR's user may not publish it.
// Writes that fail for other reasons show as the publisher's spooling and
// last error.
func (s *Stack) probeStream(ctx context.Context, connErr error) Check {
	lost := s.eventsHeld()
	if connErr != nil {
		return checkDegraded(nil, "not probed: no connection to NATS: %s", lost)
	}
	start := time.Now()
	st, err := s.bus.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return checkDegraded(nil, "stream %s does not answer (%v): %s", events.StreamName, err, lost)
	}
	info := st.CachedInfo()
	detail := map[string]any{
		"stream": events.StreamName, "messages": info.State.Msgs, "bytes": info.State.Bytes,
		"last_seq": info.State.LastSeq, "probe_ms": time.Since(start).Milliseconds(),
		"max_bytes": info.Config.MaxBytes,
	}
	if info.Cluster != nil {
		detail["leader"] = info.Cluster.Leader
		if info.Cluster.Leader == "" {
			return checkDegraded(detail, "stream %s has no leader: %s", events.StreamName, lost)
		}
	}
	if info.Config.Sealed {
		return checkDegraded(detail, "stream %s is sealed and takes no writes: %s", events.StreamName, lost)
	}
	// A full stream drops its oldest events (discard-old): warned of
	// before it happens, calls unharmed.
	if err := events.CheckStreamUsage(info.State.Bytes, info.Config.MaxBytes); err != nil {
		return checkDegraded(detail, "stream %s: %v", events.StreamName, err)
	}
	return checkOK(detail)
}

// serveLive is GET /livez: 200 while Run runs (the roles are up and the
// shutdown has not finished), 503 before and after. It asks nothing of
// NATS or Asterisk, so neither a lost node nor a slow JetStream can make a
// probe restart a process that still serves calls; that the answer came
// at all shows the listener and the scheduler work.
func (s *Stack) serveLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.running.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "stopped\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// serveHealth is GET /healthz: 503 when a check is down (no call can be
// served), else 200 — degraded included — with the checks as JSON.
func (s *Stack) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.Health(r.Context())
	code := http.StatusOK
	if h.Status == LevelDown {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}
