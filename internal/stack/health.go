package stack

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// healthTimeout bounds the NATS requests a health check makes (worker lag).
const healthTimeout = 2 * time.Second

// Check is one component's state in /healthz.
type Check struct {
	// OK is false when the component cannot do its job now.
	OK bool `json:"ok"`
	// Status is a short word or message: "ok", "connecting", "loading", ...
	Status string `json:"status"`
	// Detail carries the component's figures (nodes, counters, lag).
	Detail any `json:"detail,omitempty"`
}

// Health is the composed state of every role, as /healthz serves it.
type Health struct {
	// OK is true when every check is OK.
	OK bool `json:"ok"`
	// Checks are keyed by component: nats, ari, publisher, blocklist_cache,
	// blocklist_worker, reports.
	Checks map[string]Check `json:"checks"`
}

// Health checks every role the server runs.
func (s *Stack) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := Health{OK: true, Checks: make(map[string]Check)}
	add := func(name string, c Check) {
		h.Checks[name] = c
		h.OK = h.OK && c.OK
	}

	natsCheck := Check{OK: true, Status: "ok", Detail: map[string]any{
		"url": s.bus.Conn.ConnectedUrlRedacted(), "embedded": s.cfg.NATS.URL == "",
	}}
	if err := s.bus.Health(ctx); err != nil {
		natsCheck.OK, natsCheck.Status = false, err.Error()
	}
	add("nats", natsCheck)

	if s.ivr != nil {
		nodes := s.ivr.Health()
		ok := true
		for _, n := range nodes {
			ok = ok && n.Connected
		}
		status := "ok"
		if !ok {
			status = "node disconnected"
		}
		add("ari", Check{OK: ok, Status: status, Detail: map[string]any{"nodes": nodes, "stats": s.ivr.Stats()}})

		ps := s.pub.Stats()
		status = "ok"
		if ps.SpoolBytes > 0 {
			// Spooling is the publisher doing its job while NATS is slow or
			// away; the nats check says whether that is a problem.
			status = "spooling"
		}
		add("publisher", Check{OK: true, Status: status, Detail: ps})

		cs := s.cache.Stats()
		select {
		case <-s.cache.Ready():
			add("blocklist_cache", Check{OK: true, Status: "ok", Detail: cs})
		default:
			// Until the first load nobody is blocked: calls still go
			// through, but the blocklist is not being applied.
			add("blocklist_cache", Check{OK: false, Status: "loading", Detail: cs})
		}
	}

	// The workers are read through their accessors: a supervised role
	// builds or replaces them while /healthz is served (run.go).
	if blw := s.blocklistWorker(); blw != nil {
		lag, err := blw.Lag(ctx)
		c := Check{OK: err == nil, Status: "ok", Detail: map[string]any{"lag": lag, "stats": blw.Stats()}}
		if err != nil {
			c.Status = err.Error()
		}
		add("blocklist_worker", c)
	}
	if rw := s.reportsWorker(); rw != nil {
		c := Check{OK: true, Status: "ok"}
		if err := rw.Health(ctx); err != nil {
			c = Check{OK: false, Status: err.Error()}
		}
		c.Detail = rw.Stats()
		add("reports", c)
	}
	// Supervised roles (run.go): degraded while one waits to be restarted.
	if states := s.RoleStates(); len(states) > 0 {
		add("roles", s.rolesCheck())
	}
	return h
}

// serveHealth is GET /healthz: 200 with every check OK, else 503, with the
// checks as JSON either way.
func (s *Stack) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.Health(r.Context())
	code := http.StatusOK
	if !h.OK {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}
