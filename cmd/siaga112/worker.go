package main

import "github.com/spf13/cobra"

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
