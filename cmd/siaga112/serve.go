package main

import (
	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/internal/stack"
)

// newServeCmd is `siaga112 serve`: every role in one process.
func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run every role in one process: IVR, workers, dashboard and API",
		Long: `serve runs everything a small centre needs in one process:

  - the IVR on every Asterisk node in ari.nodes;
  - NATS: the embedded server (JetStream in nats.embedded.data_dir) unless
    nats.url points at an external server or cluster;
  - the blocklist worker (strikes and blocks) and the reports worker;
  - one HTTP listener on http.listen with the dashboard, /api/stats,
    /api/calls(.csv), /metrics, the blocklist API and /healthz (per-check JSON:
    nats, ari nodes, publisher, blocklist cache and worker, reports; 503 when
    any check fails).

On SIGINT/SIGTERM the IVR stops taking calls and gives the calls in progress
ivr.drain_timeout to finish; the rest are put through to operators. Then the
publisher flushes its spool into JetStream (what cannot be sent stays on disk
and is replayed on the next start), the workers catch up with the stream, and
the process exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := a.load(cmd)
			if err != nil {
				return err
			}
			return runRoles(cmd.Context(), cfg, log, stack.All(), "siaga112-serve")
		},
	}
}
