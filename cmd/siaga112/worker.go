package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/internal/stack"
)

// workerShutdownTimeout bounds the graceful shutdown of the listener a
// worker serves next to its consumer.
const workerShutdownTimeout = 5 * time.Second

// newWorkerCmd is `siaga112 worker`, the parent of the event-stream
// workers. Each worker adds itself with one line in the AddCommand list.
func newWorkerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker that reacts to the call event stream",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newWorkerReportsCmd(a),
		newWorkerBlocklistCmd(a),
	)
	return cmd
}

// runWithHTTP serves h on ln while run consumes, until ctx ends. A listener
// that fails ends run too (a worker asked to serve HTTP and unable to is
// broken); when run returns the server is shut down within
// workerShutdownTimeout. name labels the log line and the serve error.
func runWithHTTP(ctx context.Context, cfg configs.HTTP, ln net.Listener, h http.Handler, log *slog.Logger, name string, run func(context.Context) error) error {
	// The same bounds as serve's listener (timeouts, connection cap).
	ln = stack.LimitListener(ln, cfg.MaxConnections)
	// Liveness, as serve's: 200 while this process serves, whatever NATS
	// does; /healthz, if h has one, is for alerting.
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, "ok\n")
	})
	hs := stack.NewHTTPServer(cfg, mux, log)
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
	log.Info(name+" listening", "addr", ln.Addr().String())
	runErr := run(wctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workerShutdownTimeout)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if err := <-httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		shutErr = errors.Join(shutErr, fmt.Errorf("%s http: %w", name, err))
	}
	return errors.Join(runErr, shutErr)
}
