package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// newConfigCmd groups the commands about the configuration itself.
func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigCheckCmd(a))
	return cmd
}

func newConfigCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it as YAML, secrets hidden",
		Long: `check loads the configuration exactly as the other commands do (defaults, file,
SIAGA112_* environment variables, flags), reports every problem at once and
exits with status 2 if there is any. It then runs the checks the roles run
when they start (the blocklist policy and its allowlist numbers, the call
flow, the reports time zone, the embedded NATS listen address), so a
configuration it passes is one serve accepts. Otherwise it prints the
effective configuration as YAML with passwords, tokens, key paths and URL
passwords shown as ***.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := a.load(cmd)
			if err != nil {
				return err
			}
			if err := preflight(cfg); err != nil {
				return err
			}
			out, err := cfg.Redacted().YAML()
			if err != nil {
				return err
			}
			source := a.file
			if source == "" {
				source = "none, built-in defaults"
			}
			_, err = fmt.Fprintf(a.stdout, "# siaga112 effective configuration (file: %s); secrets shown as ***\n%s", source, out)
			return err
		},
	}
}

// preflight runs the checks the roles' constructors make on their part of
// cfg beyond configs.Validate (each package knows its own rules: blocklist
// which numbers it can normalise, flows what a menu needs), without
// starting anything. Every failure is reported, wrapped in
// configs.ErrInvalid so that the exit status is 2 as for any invalid
// configuration.
func preflight(cfg configs.Config) error {
	var errs []error
	if _, err := blocklist.NewPolicy(cfg.Blocklist); err != nil {
		errs = append(errs, err)
	}
	if _, err := flows.New(cfg.IVR, nil, nil); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.LoadLocation(cfg.Reports.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("reports.time_zone: %w", err))
	}
	if cfg.NATS.URL == "" {
		if err := events.CheckEmbedded(cfg.NATS.Embedded); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", configs.ErrInvalid, errors.Join(errs...))
}
