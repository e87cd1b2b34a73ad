package main

import (
	"fmt"

	"github.com/spf13/cobra"
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
exits with status 2 if there is any. Otherwise it prints the effective
configuration as YAML with passwords, tokens and key paths shown as ***.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := a.load(cmd)
			if err != nil {
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
