package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/web"
)

// startJetStream runs a NATS server with JetStream the test can switch off
// and on again while the connections to it stay up. It is shut down after
// the stacks of the test (cleanups run last registered first).
func startJetStream(t *testing.T) (*server.Server, *server.JetStreamConfig) {
	t.Helper()
	js := &server.JetStreamConfig{StoreDir: t.TempDir()}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: js.StoreDir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(waitMax) {
		t.Fatal("nats server not ready")
	}
	return ns, js
}

// waitCheck polls /healthz until cond holds for it, and fails the test with
// the last body otherwise.
func (sv *served) waitCheck(what string, cond func(code int, h health.Health) bool) (int, health.Health) {
	sv.t.Helper()
	var (
		code int
		h    health.Health
		body string
	)
	deadline := time.Now().Add(waitMax)
	for {
		code, h, body = sv.health()
		if cond(code, h) {
			return code, h
		}
		if time.Now().After(deadline) {
			sv.t.Fatalf("timed out after %s waiting for %s; last /healthz %d:\n%s", waitMax, what, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// degradedWith reports whether check name is degraded with a reason
// containing every part of want.
func degradedWith(h health.Health, name string, want ...string) bool {
	c, ok := h.Checks[name]
	if !ok || c.OK || c.Status != health.LevelDegraded {
		return false
	}
	for _, w := range want {
		if !strings.Contains(c.Reason, w) {
			return false
		}
	}
	return true
}

// JetStream stops (the server and every connection to it stay up): the
// stream probe, the publisher, the blocklist cache's watch and both workers
// each say so in /healthz, which stays 200 because calls are still answered
// and put through; the spool, bounded small, fills and the drops are
// reported. When JetStream is back the probe says so again.
func TestHealthJetStreamOff(t *testing.T) {
	ns, jsCfg := startJetStream(t)
	sim := startSim(t)
	cfg := serveConfig(t, sim)
	cfg.NATS.URL = ns.ClientURL()
	cfg.Health.StreamProbe = 20 * time.Millisecond
	cfg.Health.MaxSpooling = 100 * time.Millisecond
	// Room for a few events: one call's events overflow it.
	cfg.NATS.Spool.MaxBytes = 1500
	sv := startServed(t, sim, cfg)

	_, h := sv.waitCheck("every check ok", func(code int, h health.Health) bool { return code == http.StatusOK && h.OK })
	if h.Status != health.LevelOK || h.Reason != "" {
		t.Fatalf("healthy stack: status %q, reason %q", h.Status, h.Reason)
	}
	for _, name := range []string{"nats", "jetstream", "ari", "publisher", "blocklist_cache", "blocklist_worker", "reports", "roles"} {
		if c, ok := h.Checks[name]; !ok || c.Status != health.LevelOK {
			t.Fatalf("check %s = %+v (present %v), want ok", name, c, ok)
		}
	}

	if err := ns.DisableJetStream(); err != nil {
		t.Fatalf("disable JetStream: %v", err)
	}
	_, h = sv.waitCheck("the stream probe degraded", func(code int, h health.Health) bool {
		return code == http.StatusOK && degradedWith(h, "jetstream", "does not answer", "spool")
	})
	if !h.Checks["nats"].OK {
		t.Fatalf("the connection is up, yet nats = %+v", h.Checks["nats"])
	}
	if h.Status != health.LevelDegraded || !strings.Contains(h.Reason, "jetstream: stream SIAGA112_CALLS does not answer") {
		t.Fatalf("whole health: status %q, reason %q", h.Status, h.Reason)
	}

	// A call is still served (sv.call fails the test otherwise); its events
	// overflow the small spool.
	sv.call("081200000031")
	code, h := sv.waitCheck("the publisher degraded with drops, the cache and workers degraded", func(code int, h health.Health) bool {
		return degradedWith(h, "publisher", "spool is full", "events dropped", "spooling for") &&
			degradedWith(h, "blocklist_cache", "bucket does not answer", "watch is not live") &&
			degradedWith(h, "blocklist_worker", "cannot read its consumer") &&
			degradedWith(h, "reports", "not following the event stream")
	})
	if code != http.StatusOK || h.Status != health.LevelDegraded {
		t.Fatalf("/healthz %d %s with only the event path broken, want 200 degraded", code, h.Status)
	}
	var ps events.PublisherStats
	raw, _ := json.Marshal(h.Checks["publisher"].Detail)
	if err := json.Unmarshal(raw, &ps); err != nil {
		t.Fatal(err)
	}
	if ps.Dropped == 0 || !ps.SpoolFull || ps.SpoolMaxBytes != 1500 {
		t.Fatalf("publisher detail %+v, want drops and a full spool of 1500 bytes", ps)
	}
	if !strings.Contains(h.Checks["publisher"].Reason, fmt.Sprintf("%d events dropped", ps.Dropped)) {
		t.Fatalf("publisher reason %q does not count %d drops", h.Checks["publisher"].Reason, ps.Dropped)
	}

	if err := ns.EnableJetStream(jsCfg); err != nil {
		t.Fatalf("enable JetStream: %v", err)
	}
	sv.waitCheck("the stream probe ok again", func(code int, h health.Health) bool {
		return code == http.StatusOK && h.Checks["jetstream"].Status == health.LevelOK
	})
}

// An Asterisk node that goes away harms calls: /healthz answers 503, says
// down and names the node.
func TestHealthARIDisconnected(t *testing.T) {
	sim := startSim(t)
	sv := startServed(t, sim, serveConfig(t, sim))
	sv.waitCheck("200", func(code int, h health.Health) bool { return code == http.StatusOK && h.Checks["ari"].OK })
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	_, h := sv.waitCheck("503 with ari down", func(code int, h health.Health) bool {
		return code == http.StatusServiceUnavailable && h.Checks["ari"].Status == health.LevelDown
	})
	if h.Status != health.LevelDown || !strings.Contains(h.Checks["ari"].Reason, "stack-node") ||
		!strings.HasPrefix(h.Reason, "ari: ") {
		t.Fatalf("health %q, reason %q; ari %+v", h.Status, h.Reason, h.Checks["ari"])
	}
}

// Two Asterisk nodes, one stopped: the other's calls go on, so /healthz
// says degraded with the lost node's name and answers 200; /livez, which
// container and service checks use, stays 200. Only with both stopped is
// /healthz down (503) — and /livez still 200, since a restart mends neither.
func TestHealthOneNodeOfTwo(t *testing.T) {
	sim1, sim2 := startSim(t), startSim(t)
	cfg := serveConfig(t, sim1)
	cfg.ARI.Nodes = append(cfg.ARI.Nodes, configs.ARINode{Name: "stack-node-2", URL: sim2.URL(), WSURL: sim2.WSURL(), Username: simUser, Password: simPass})
	sv := startServed(t, sim1, cfg)
	sv.waitCheck("200 with both nodes", func(code int, h health.Health) bool { return code == http.StatusOK && h.Checks["ari"].OK })
	if err := sim2.Close(); err != nil {
		t.Fatal(err)
	}
	_, h := sv.waitCheck("200 with ari degraded", func(code int, h health.Health) bool {
		return code == http.StatusOK && h.Checks["ari"].Status == health.LevelDegraded
	})
	if h.Status != health.LevelDegraded || !strings.Contains(h.Checks["ari"].Reason, "stack-node-2") ||
		!strings.Contains(h.Checks["ari"].Reason, "1 of 2 nodes serve calls") {
		t.Fatalf("health %q, reason %q; ari %+v", h.Status, h.Reason, h.Checks["ari"])
	}
	// The remaining node still serves a caller.
	sv.call("+6281200000031")
	if code := sv.live(); code != http.StatusOK {
		t.Fatalf("/livez %d with one node of two", code)
	}
	if err := sim1.Close(); err != nil {
		t.Fatal(err)
	}
	sv.waitCheck("503 with ari down", func(code int, h health.Health) bool {
		return code == http.StatusServiceUnavailable && h.Checks["ari"].Status == health.LevelDown
	})
	if code := sv.live(); code != http.StatusOK {
		t.Fatalf("/livez %d with no node", code)
	}
	sv.stop()
}

// live GETs /livez and returns its status.
func (sv *served) live() int {
	sv.t.Helper()
	resp, err := http.Get("http://" + sv.s.HTTPAddr() + "/livez")
	if err != nil {
		sv.t.Fatalf("livez: %v", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A worker behind the stream by more than health.max_worker_lag is
// degraded with its lag; a reports worker that does not follow the stream
// is degraded as stale; both are ok once they run and catch up.
func TestHealthWorkerLag(t *testing.T) {
	cfg := testConfig(t)
	cfg.Health.MaxWorkerLag = 5
	ctx := context.Background()
	s, err := New(ctx, Options{Config: cfg, Roles: Roles{Blocklist: true, Reports: true}, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Built, not run: the blocklist worker's durable consumer exists and
	// nothing reads it, so its lag is exactly what is published.
	const published = 12
	sent := 0
	publish := func(n int) {
		t.Helper()
		for range n {
			sent++
			e, err := events.New(events.TypeStarted, fmt.Sprintf("lag-%d", sent), "stack-node",
				events.Caller{Number: "+6281200000040", Presentation: "allowed"}, map[string]any{"dialed": "112"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Bus().JS.Publish(ctx, e.Subject(), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(published)
	rec := httptest.NewRecorder()
	web.HealthzHandler(s.Health).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var h health.Health
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if rec.Code != http.StatusOK || h.Status != health.LevelDegraded {
		t.Fatalf("/healthz %d %q, want 200 degraded: %s", rec.Code, h.Status, rec.Body)
	}
	if !degradedWith(h, "blocklist_worker", fmt.Sprintf("%d events behind (over health.max_worker_lag 5)", published)) {
		t.Fatalf("blocklist_worker = %+v", h.Checks["blocklist_worker"])
	}
	if !degradedWith(h, "reports", "not following the event stream", "stale") {
		t.Fatalf("reports = %+v", h.Checks["reports"])
	}

	runStack(t, s)
	waitHealth := func(what string, cond func(h health.Health) bool) health.Health {
		t.Helper()
		deadline := time.Now().Add(waitMax)
		for {
			h := s.Health(ctx)
			if cond(h) {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitHealth("both workers ok", func(h health.Health) bool { return h.Checks["blocklist_worker"].OK && h.Checks["reports"].OK })
	if !s.ReportsWorker().Ready(ctx) {
		t.Fatal("reports worker ok but not ready")
	}

	// The reports worker, caught up and ready, falls behind: its consumer
	// is paused (as a stuck worker would stop taking events) while events
	// arrive. Its ready flag stays set; the lag alone says it is stale.
	if _, err := s.Bus().JS.PauseConsumer(ctx, events.StreamName, cfg.Reports.Durable, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	publish(published)
	// The blocklist worker, not paused, handles the same events meanwhile:
	// its lag counts them until each is acknowledged, so it is ok once it
	// has applied them, while the paused one stays degraded.
	waitHealth("reports degraded by its lag, the blocklist worker (not paused) ok", func(h health.Health) bool {
		return degradedWith(h, "reports", fmt.Sprintf("%d events behind (over health.max_worker_lag 5)", published), "late") &&
			h.Checks["blocklist_worker"].OK
	})
	// Resumed, the worker takes the events at its next pull request
	// (seconds later); it was seen ok after catching up above already.
	if _, err := s.Bus().JS.ResumeConsumer(ctx, events.StreamName, cfg.Reports.Durable); err != nil {
		t.Fatal(err)
	}
}

// With NATS unreachable at start the IVR takes calls: /healthz is 200 and
// degraded, and says why for each part of the event path — the connection,
// the stream not probed, the blocklist cache still loading (nobody is
// blocked) and the blocklist worker not started.
func TestHealthWithoutNATS(t *testing.T) {
	sim := startSim(t)
	cfg := serveConfig(t, sim)
	cfg.NATS.URL = "nats://" + freeAddr(t)
	sv := startServed(t, sim, cfg)
	_, h := sv.waitCheck("degraded with the reasons", func(code int, h health.Health) bool {
		return code == http.StatusOK && h.Status == health.LevelDegraded &&
			degradedWith(h, "nats", "nats not connected", "spool") &&
			degradedWith(h, "jetstream", "not probed") &&
			degradedWith(h, "blocklist_cache", "loading", "nobody is blocked") &&
			degradedWith(h, "blocklist_worker", "not started")
	})
	if !h.Checks["ari"].OK || !h.Checks["publisher"].OK {
		t.Fatalf("ari %+v, publisher %+v: want ok (calls are answered, events spooled)", h.Checks["ari"], h.Checks["publisher"])
	}
	// No call is placed: its events would wait in the spool, and the stop
	// would give them flushTimeout to reach a NATS that is not there.
}

// The IVR's blocklist cache whose watch ended and cannot be set up again
// (its connection closed) keeps answering from its last blocks; the check
// says the watch is down, since when and why, instead of ok for ever after
// the first load.
func TestHealthCacheWatchDown(t *testing.T) {
	ns, _ := startJetStream(t)
	cfg := testConfig(t)
	cfg.NATS.URL = ns.ClientURL()
	ctx := context.Background()
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{Name: t.Name(), SkipStream: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	c := blocklist.NewCache(bus.JS, 1, "62", testLogger(t))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	s := &Stack{cfg: cfg, cache: c}
	eventually(t, "the cache loaded and ok", func() bool { return s.cacheCheck(nil).OK })

	bus.Close() // ends the watch; a new one cannot be set up
	var ch health.Check
	eventually(t, "the cache check degraded", func() bool {
		ch = s.cacheCheck(nil)
		return ch.Status == health.LevelDegraded
	})
	if !strings.Contains(ch.Reason, "blocklist watch is down since") || !strings.Contains(ch.Reason, "closed") {
		t.Fatalf("reason %q, want the watch down, since when and why", ch.Reason)
	}
}
