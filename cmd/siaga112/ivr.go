package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/internal/stack"
)

// newIVRCmd is `siaga112 ivr`: serve the emergency IVR on every configured
// Asterisk node until SIGINT/SIGTERM, then drain the calls in progress.
func newIVRCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "ivr",
		Short: "Serve the emergency IVR on the configured Asterisk nodes",
		Long: `ivr connects to every Asterisk node in ari.nodes, answers the calls that reach
the Stasis application ari.application and publishes their events to NATS
(the embedded server when nats.url is empty). On SIGINT/SIGTERM it stops taking
calls and gives the calls in progress ivr.drain_timeout to finish; the rest are
put through to operators.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := a.load(cmd)
			if err != nil {
				return err
			}
			return runIVR(cmd.Context(), cfg, log)
		},
	}
}

// runIVR runs the IVR role alone until ctx ends.
func runIVR(ctx context.Context, cfg configs.Config, log *slog.Logger) error {
	return runRoles(ctx, cfg, log, stack.Roles{IVR: true}, "siaga112-ivr")
}

// runRoles builds the selected roles and runs them until ctx ends.
func runRoles(ctx context.Context, cfg configs.Config, log *slog.Logger, roles stack.Roles, name string) error {
	srv, err := stack.New(ctx, stack.Options{Config: cfg, Log: log, Roles: roles, Name: name})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
