package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/events"
)

// newVerdictCmd is `siaga112 verdict CALL_ID prank|genuine`.
func newVerdictCmd(a *app) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "verdict CALL_ID prank|genuine",
		Short: "Mark a call as prank or genuine",
		Long: `verdict publishes call.verdict for CALL_ID (the SIAGA112_CALL_ID channel
variable an operator sees). The blocklist worker finds the caller's number from
the call: prank adds blocklist.strikes.verdict_prank points; genuine clears the
number's strikes and lifts an automatic block (not one an admin set).`,
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{events.VerdictPrank, events.VerdictGenuine},
		RunE: func(cmd *cobra.Command, args []string) error {
			if v := args[1]; v != events.VerdictPrank && v != events.VerdictGenuine {
				return fmt.Errorf("verdict must be prank or genuine, not %q", v)
			}
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				e, err := s.admin.Verdict(ctx, args[0], args[1], by)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "verdict %s for call %s published (event %s)\n", args[1], args[0], e.ID)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "cli", "operator name recorded with the verdict")
	return cmd
}
