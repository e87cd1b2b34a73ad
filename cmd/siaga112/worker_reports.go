package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// HTTP server timeouts for the reports listener. The dashboard and API
// answer from memory, so generous bounds only guard against slow clients.
const (
	reportsReadHeaderTimeout = 5 * time.Second
	reportsShutdownTimeout   = 5 * time.Second
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
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: "siaga112-reports", Embedded: events.EmbeddedStart, StreamTimeout: workerStreamTimeout, RequireStream: true,
	}, log)
	if err != nil {
		return err
	}
	defer bus.Close()

	agg := reports.NewAggregator(reports.Options{Location: loc, RecentCalls: cfg.Reports.RecentCalls, Retention: cfg.Reports.Retention, DefaultCountry: cfg.Blocklist.DefaultCountry})
	worker := reports.NewWorker(bus.JS, agg, reports.WorkerConfig{
		Durable: cfg.Reports.Durable, Stream: cfg.NATS.Stream, Consumer: cfg.NATS.Consumer,
	}, log)
	srv, err := reports.NewServer(agg, reports.ServerConfig{
		AdminToken: cfg.HTTP.AdminToken, Refresh: cfg.Reports.Refresh, TopCallers: cfg.Reports.TopCallers,
		Lag: worker.Lag, Ready: worker.Ready, Log: log,
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

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: reportsReadHeaderTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	// A listener that fails ends the worker too: a reports process without
	// its HTTP side is of no use.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	httpDone := make(chan error, 1)
	go func() {
		err := hs.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			stop()
		}
		httpDone <- err
	}()
	log.Info("reports dashboard listening", "addr", ln.Addr().String())

	workerErr := worker.Run(wctx)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportsShutdownTimeout)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if err := <-httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		shutErr = errors.Join(shutErr, fmt.Errorf("reports http: %w", err))
	}
	return errors.Join(workerErr, shutErr)
}
