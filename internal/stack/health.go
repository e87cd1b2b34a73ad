package stack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
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
// question — can it serve at all — answered by /livez (Live), which
// container and service checks use.
//
// The checks are built here, where the components are known, in the
// model of package health; web/ serves them as /healthz's JSON and words
// them on the wall board.

// healthTimeout bounds the NATS requests one /healthz makes (the stream
// probe and the workers' lag).
const healthTimeout = 2 * time.Second

// dropRecent is how long after the publisher's last dropped event the
// publisher stays degraded. The drop count only grows; without a window one
// drop months ago would keep the check degraded for ever, and with a window
// shorter than a monitor's poll interval a burst of drops could go unseen.
const dropRecent = 10 * time.Minute

// Health checks every role the server runs.
func (s *Stack) Health(ctx context.Context) health.Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	checks := make(map[string]health.Check)
	add := func(name string, c health.Check) { checks[name] = c }

	// Without a connection every NATS request would wait out
	// healthTimeout; the checks that need one say so instead.
	connErr := s.bus.Health(ctx)
	natsDetail := map[string]any{"url": s.bus.Conn.ConnectedUrlRedacted(), "embedded": s.cfg.NATS.URL == ""}
	if connErr != nil {
		add("nats", health.Degraded(natsDetail, "%v: %s", connErr, s.eventsHeld()))
	} else {
		add("nats", health.OK(natsDetail))
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
		add("roles", s.rolesCheck())
	}
	return health.Compose(checks)
}

// ariCheck is down when no node is connected: no caller reaches the IVR.
// A node lost among several is degraded: its callers do not reach the IVR
// (Asterisk answers Stasis() of an application with no connection with a
// failure, so the dialplan's fallback, if any, is all those callers get),
// but the other nodes' calls go on, and nothing in this process mends a
// node that went away.
func (s *Stack) ariCheck() health.Check {
	nodes := s.ivr.Health()
	detail := map[string]any{"nodes": nodes, "stats": s.ivr.Stats()}
	var lost []string
	facts := make([]health.Node, len(nodes))
	for i, n := range nodes {
		facts[i] = health.Node{Name: n.Name, Connected: n.Connected}
		if !n.Connected {
			lost = append(lost, n.Name)
		}
	}
	var c health.Check
	switch {
	case len(nodes) == 0:
		c = health.Down(detail, "no Asterisk node is configured: the IVR takes no calls")
	case len(lost) == len(nodes):
		c = health.Down(detail, "every Asterisk node is disconnected (%s): the IVR takes no calls", strings.Join(lost, ", "))
	case len(lost) > 0:
		c = health.Degraded(detail, "Asterisk node %s disconnected: its calls do not reach the IVR; %d of %d nodes serve calls",
			strings.Join(lost, ", "), len(nodes)-len(lost), len(nodes))
	default:
		c = health.OK(detail)
	}
	c.Nodes = facts
	return c
}

// publisherCheck judges the IVR's publisher by what it does with events:
// a short spell in the spool is its job under a slow ack; a long one means
// the events are not reaching the workers; drops are events lost for good.
func (s *Stack) publisherCheck(now time.Time) health.Check {
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
	c := health.OK(ps)
	if len(why) > 0 {
		c = health.Degraded(ps, "%s", strings.Join(why, "; "))
	}
	c.Spool = &health.Spool{Dropped: ps.Dropped, Bytes: ps.SpoolBytes, Spooling: ps.Spooling, Full: ps.SpoolFull}
	return c
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
func (s *Stack) cacheCheck(bucketErr error) health.Check {
	cs := s.cache.Stats()
	select {
	case <-s.cache.Ready():
	default:
		r := "loading: nobody is blocked until the blocklist is loaded"
		if cs.WatchError != "" {
			r += " (" + cs.WatchError + ")"
		}
		return health.Degraded(cs, "%s", r)
	}
	if bucketErr != nil {
		return health.Degraded(cs, "the blocklist bucket does not answer (%v), so its watch is not live: the %d blocks known still apply, changes made since are not seen",
			bucketErr, cs.Blocked)
	}
	// A watch that is not live with no failure recorded is being
	// restarted after a reconnect: it reloads within milliseconds.
	if !cs.Watching && !cs.WatchDownSince.IsZero() {
		return health.Degraded(cs, "the blocklist watch is down since %s (%s): the %d blocks known then still apply, changes made since are not seen",
			cs.WatchDownSince.UTC().Format(time.RFC3339), cs.WatchError, cs.Blocked)
	}
	return health.OK(cs)
}

// blocklistCheck judges the blocklist worker by its lag: events waiting
// are strikes not yet counted and blocks not yet made.
func (s *Stack) blocklistCheck(ctx context.Context, connErr error) health.Check {
	w := s.blocklistWorker()
	if w == nil {
		return health.Degraded(nil, "not started: it starts once NATS answers; no strikes are counted until then")
	}
	detail := map[string]any{"stats": w.Stats(), "max_lag": s.cfg.Health.MaxWorkerLag}
	if connErr != nil {
		return health.Degraded(detail, "no connection to NATS: no strikes are counted")
	}
	lag, err := w.Lag(ctx)
	if err != nil {
		return health.Degraded(detail, "cannot read its consumer (%v): strikes may not be counted", err)
	}
	detail["lag"] = lag
	if lag > uint64(s.cfg.Health.MaxWorkerLag) {
		return health.Degraded(detail, "%d events behind (over health.max_worker_lag %d): blocks come late", lag, s.cfg.Health.MaxWorkerLag)
	}
	return health.OK(detail)
}

// reportsCheck judges whether the dashboard's figures are fresh: the worker
// has replayed the history, follows the stream, and is not far behind. Its
// own Ready flag stays true once set, so the lag is judged every time.
func (s *Stack) reportsCheck(ctx context.Context, w *reports.Worker, connErr error) health.Check {
	detail := map[string]any{"stats": w.Stats(), "max_lag": s.cfg.Health.MaxWorkerLag}
	if connErr != nil {
		return health.Degraded(detail, "no connection to NATS: the figures are not updated")
	}
	ready := w.Ready(ctx)
	lag, err := w.Lag(ctx)
	if err != nil {
		return health.Degraded(detail, "not following the event stream (%v): the figures are stale", err)
	}
	detail["lag"] = lag
	switch {
	case !ready:
		return health.Degraded(detail, "replaying history, %d events to go: the figures are incomplete", lag)
	case lag > uint64(s.cfg.Health.MaxWorkerLag):
		return health.Degraded(detail, "%d events behind (over health.max_worker_lag %d): the figures are late", lag, s.cfg.Health.MaxWorkerLag)
	}
	return health.OK(detail)
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
	stream health.Check
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
func (s *Stack) probeStream(ctx context.Context, connErr error) health.Check {
	lost := s.eventsHeld()
	if connErr != nil {
		return health.Degraded(nil, "not probed: no connection to NATS: %s", lost)
	}
	start := time.Now()
	st, err := s.bus.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return health.Degraded(nil, "stream %s does not answer (%v): %s", events.StreamName, err, lost)
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
			return health.Degraded(detail, "stream %s has no leader: %s", events.StreamName, lost)
		}
	}
	if info.Config.Sealed {
		return health.Degraded(detail, "stream %s is sealed and takes no writes: %s", events.StreamName, lost)
	}
	// A full stream drops its oldest events (discard-old): warned of
	// before it happens, calls unharmed.
	if err := events.CheckStreamUsage(info.State.Bytes, info.Config.MaxBytes); err != nil {
		return health.Degraded(detail, "stream %s: %v", events.StreamName, err)
	}
	return health.OK(detail)
}
