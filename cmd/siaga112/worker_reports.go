package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
	"github.com/siaga112/siaga112/web"
)

// newWorkerReportsCmd is `siaga112 worker reports`: rebuild the statistics
// from the event stream and serve the dashboard, API and metrics.
func newWorkerReportsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reports",
		Short: "Serve the supervisor dashboard, the JSON/CSV API and /metrics from the event stream",
		Long: `reports reads the whole SIAGA112_CALLS stream into memory (it rebuilds its
figures on every start, so nothing is counted twice), keeps following it on the
durable consumer reports.durable, and serves on http.listen:

  /               dashboard for a wall screen (refreshes every reports.refresh)
  /api/stats      ?from&to&bucket=hour|day     statistics as JSON
  /api/calls      ?from&to&outcome&type&number&limit   recent calls as JSON
  /api/calls.csv  the same as CSV
  /metrics        Prometheus
  /healthz        NATS connection and replay state

Phone numbers show their last 4 digits unless the request carries
"Authorization: Bearer <http.admin_token>".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := a.load(cmd)
			if err != nil {
				return err
			}
			return runReports(cmd.Context(), cfg, log)
		},
	}
}

// runReports wires NATS, the aggregator, the worker and the HTTP listener,
// and runs until ctx ends.
func runReports(ctx context.Context, cfg configs.Config, log *slog.Logger) error {
	loc, err := time.LoadLocation(cfg.Reports.TimeZone)
	if err != nil {
		return fmt.Errorf("reports.time_zone: %w", err)
	}
	// The listener is opened before anything connects: a busy http.listen
	// is reported at once, not after NATS answered.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	served := false
	defer func() {
		if !served {
			_ = ln.Close()
		}
	}()
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: "siaga112-reports", Embedded: events.EmbeddedStart, StreamTimeout: workerStreamTimeout, RequireStream: true,
		Durables: events.DurablesFor(cfg),
	}, log)
	if err != nil {
		return err
	}
	defer bus.Close()

	types := make([]string, 0, len(cfg.IVR.Menu))
	for _, m := range cfg.IVR.Menu {
		types = append(types, m.Type)
	}
	agg := reports.NewAggregator(reports.Options{Location: loc, RecentCalls: cfg.Reports.RecentCalls, Retention: cfg.Reports.Retention,
		DefaultCountry: cfg.Blocklist.DefaultCountry, EmergencyTypes: types})
	worker := reports.NewWorker(bus.JS, agg, reports.WorkerConfig{
		Durable: cfg.Reports.Durable, Stream: cfg.NATS.Stream, Consumer: cfg.NATS.Consumer,
	}, log)
	srv, err := web.New(web.Options{
		AdminToken: cfg.HTTP.AdminToken, Language: cfg.Reports.Language, Log: log, Aggregator: agg,
		Board: web.BoardConfig{
			Refresh: cfg.Reports.Refresh, TopCallers: cfg.Reports.TopCallers, Lag: worker.Lag, Ready: worker.Ready,
			StreamMaxClients: cfg.HTTP.StreamMaxClients, StreamMaxPerAddress: cfg.HTTP.StreamMaxPerAddress,
			Thresholds: web.Thresholds(cfg.Reports.Thresholds),
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]string{"nats": "ok", "reports": "ok"}
		status := http.StatusOK
		if err := bus.Health(r.Context()); err != nil {
			checks["nats"], status = err.Error(), http.StatusServiceUnavailable
		}
		if err := worker.Health(r.Context()); err != nil {
			checks["reports"], status = err.Error(), http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(checks)
	})

	served = true
	return runWithHTTP(ctx, cfg.HTTP, ln, mux, log, "reports dashboard", worker.Run)
}
