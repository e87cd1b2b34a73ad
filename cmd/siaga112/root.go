package main

import "github.com/spf13/cobra"

// newRootCmd builds the command tree. Each sub-command lives in its own
// file as newXxxCmd(a *app) *cobra.Command; adding one is one line in the
// AddCommand list below.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "siaga112",
		Short: "Emergency-line (112) IVR for Asterisk, with events on NATS JetStream",
		Long: `siaga112 answers 112 calls on Asterisk over ARI, asks callers for the type of
emergency, filters silent and repeat prank calls before they reach an operator
and publishes every step as an event on NATS JetStream.

Configuration comes from built-in defaults, a YAML file (--config, else
./siaga112.yaml, else /etc/siaga112/siaga112.yaml; the blocklist, verdict and
user commands read ./siaga112.yaml only when it is named with --config),
SIAGA112_* environment variables and flags, in that order of precedence.`,
		// Errors are printed once by main, and a failed command is not a
		// usage problem worth a screen of help.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)

	pf := root.PersistentFlags()
	pf.String("config", "", "config file (default ./siaga112.yaml, else /etc/siaga112/siaga112.yaml; blocklist, verdict and user: only /etc/siaga112/siaga112.yaml)")
	// These two are bound to log.level and log.format by name (see
	// configs.LoadOptions.Flags), so they need no code of their own.
	pf.String("log-level", "", "log level: debug, info, warn or error (overrides log.level)")
	pf.String("log-format", "", "log format: text or json (overrides log.format)")

	root.AddCommand(
		newVersionCmd(a),
		newConfigCmd(a),
		newServeCmd(a),
		newIVRCmd(a),
		newDemoCmd(a),
		newLoadtestCmd(a),
		newWorkerCmd(a),
		newBlocklistCmd(a),
		newVerdictCmd(a),
		newUserCmd(a),
	)
	return root
}
