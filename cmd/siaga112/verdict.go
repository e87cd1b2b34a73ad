package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
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
the call: prank adds blocklist.strikes.verdict_prank strikes; genuine clears
the number's strikes and lifts an automatic block (not one an admin set).

A call the event stream does not know (a typo, or a call older than the
blocklist window) is refused: its verdict would change nothing.`,
		Example: `  siaga112 verdict 1732700000.42 prank --by siti`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("%s needs CALL_ID and prank or genuine, e.g. %s 1732700000.42 prank", cmd.CommandPath(), cmd.CommandPath())
			}
			if v := args[1]; v != events.VerdictPrank && v != events.VerdictGenuine {
				return fmt.Errorf("verdict must be prank or genuine, not %q", v)
			}
			if id := args[0]; strings.TrimSpace(id) == "" || len(id) > 128 {
				return fmt.Errorf("%w %q", blocklist.ErrBadCallID, id)
			}
			return nil
		},
		ValidArgs: []string{events.VerdictPrank, events.VerdictGenuine},
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				e, err := s.admin.Verdict(ctx, args[0], args[1], by)
				if errors.Is(err, blocklist.ErrUnknownCall) {
					return fmt.Errorf("%w; CALL_ID is the SIAGA112_CALL_ID channel variable an operator sees, or the call_id of /api/calls", err)
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "verdict %s for call %s published (event %s)\n", args[1], args[0], e.ID)
				return err
			})
		},
	}
	addNATSURLFlag(cmd)
	cmd.Flags().StringVar(&by, "by", "cli", "operator name recorded with the verdict")
	return cmd
}
