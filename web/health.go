package web

import (
	"context"
	"io"
	"net/http"

	"github.com/siaga112/siaga112/health"
)

// /healthz and /livez answer two different questions. /healthz is for
// alerting: it says what is wrong, and answers 503 only when no call can be
// served, so a monitor that restarts on 503 does not restart an IVR in the
// middle of calls over a problem a restart cannot mend. /livez is for
// restarting: it asks nothing of NATS or Asterisk, so neither a lost node
// nor a slow JetStream can make a probe restart a process that still
// serves calls; that the answer came at all shows the listener and the
// scheduler work.

// HealthzHandler serves GET /healthz from fn: the checks as JSON (package
// health's field names), 503 when the whole is down, else 200 — degraded
// included.
func HealthzHandler(fn func(ctx context.Context) health.Health) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := fn(r.Context())
		code := http.StatusOK
		if h.Status == health.LevelDown {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, h)
	})
}

// livezHandler serves GET /livez: 200 "ok" while live reports true (the
// process's roles run and its shutdown has not finished), 503 "stopped"
// before and after.
func livezHandler(live func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !live() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "stopped\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
}
