package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// adminTimeout bounds each admin command, so that a CLI pointed at a NATS
// that is not running says so instead of waiting for it forever.
const adminTimeout = 10 * time.Second

// workerStreamTimeout bounds a worker's stream check at start: a worker
// cannot run without the stream, so it fails rather than wait for ever.
const workerStreamTimeout = 10 * time.Second

// checkNumber normalises raw before any connection is made, so that a typo
// is reported as such even when NATS is not reachable.
func checkNumber(a *app, cmd *cobra.Command, raw string) error {
	cfg, _, err := a.load(cmd)
	if err != nil {
		return err
	}
	n, err := blocklist.Normalize(raw, cfg.Blocklist.DefaultCountry)
	if err != nil {
		return err
	}
	if n.IsAnonymous() {
		return blocklist.ErrAnonymous
	}
	return nil
}

// adminSession is a short-lived connection with the blocklist tools on it.
type adminSession struct {
	bus   *events.Bus
	admin *blocklist.Admin
}

// openAdmin connects for one admin command; close the session when done.
// It finds NATS at nats.url, else attaches to the embedded server of the
// running siaga112 on nats.embedded.listen: a CLI never starts its own
// embedded server (it would compete for the data directory), and it leaves
// the stream as the running system made it.
func openAdmin(ctx context.Context, cfg configs.Config, log *slog.Logger) (*adminSession, error) {
	policy, err := blocklist.NewPolicy(cfg.Blocklist)
	if err != nil {
		return nil, err
	}
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: "siaga112-admin", Embedded: events.EmbeddedAttach, SkipStream: true,
	}, log)
	if err != nil {
		return nil, err
	}
	kv, err := blocklist.OpenBucket(ctx, bus.JS, cfg.NATS.Stream.Replicas)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("%w (is NATS running at %s?)", err, bus.URL)
	}
	store := blocklist.NewStore(kv, policy, log)
	return &adminSession{bus: bus, admin: blocklist.NewAdmin(store, blocklist.JSPublisher{JS: bus.JS}, log)}, nil
}

func (s *adminSession) close() { s.bus.Close() }

// withAdmin loads the configuration, opens a session bounded by
// adminTimeout and runs fn in it.
func withAdmin(a *app, cmd *cobra.Command, fn func(ctx context.Context, s *adminSession) error) error {
	cfg, log, err := a.load(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
	defer cancel()
	s, err := openAdmin(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(ctx, s)
}

// changeBlock is the common part of blocklist add and rm: it checks number
// before connecting, runs change in an admin session and prints the
// number's status afterwards.
func changeBlock(a *app, cmd *cobra.Command, number string, change func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error)) error {
	if err := checkNumber(a, cmd, number); err != nil {
		return err
	}
	return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
		r, err := change(ctx, s.admin)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s %s\n", r.Number, status(r, time.Now()))
		return err
	})
}

// newBlocklistCmd is `siaga112 blocklist ls|add|rm|check`.
func newBlocklistCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blocklist",
		Short: "List, add, remove and check blocked caller numbers",
		Long: `blocklist works on the SIAGA112_BLOCKLIST bucket of the running system (nats.url,
or the embedded server at nats.embedded.listen). Every IVR instance sees a
change within milliseconds. Numbers may be given in any usual form
(0812-3456-7890, +62 812 3456 7890, 6281234567890); they are stored as E.164.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBlocklistLsCmd(a), newBlocklistAddCmd(a), newBlocklistRmCmd(a), newBlocklistCheckCmd(a))
	return cmd
}

func newBlocklistLsCmd(a *app) *cobra.Command {
	var onlyBlocked bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List numbers with a block or strikes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				store := s.admin.Store()
				records, err := store.List(ctx)
				if err != nil {
					return err
				}
				now := time.Now()
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NUMBER\tSTATUS\tLEVEL\tPOINTS\tSET BY\tREASON")
				for _, r := range records {
					if onlyBlocked && !r.Blocked(now) {
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.Number, status(r, now), r.Level,
						store.Policy().Score(r, now), r.SetBy, r.Reason)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&onlyBlocked, "blocked", false, "only numbers blocked now")
	return cmd
}

// status is "blocked until <time> (<left>)" or "not blocked".
func status(r blocklist.Record, now time.Time) string {
	if !r.Blocked(now) {
		return "not blocked"
	}
	return fmt.Sprintf("blocked until %s (%s left)", r.Until.Local().Format(time.DateTime), r.Until.Sub(now).Round(time.Second))
}

func newBlocklistAddCmd(a *app) *cobra.Command {
	var length, reason, by string
	cmd := &cobra.Command{
		Use:   "add NUMBER",
		Short: "Block a number (default for 24h)",
		Long: `add blocks NUMBER for --for (a Go duration such as 90m or 24h, or days such as
7d). The block replaces any current block of the number; a genuine verdict
does not lift it, blocklist rm does. Allowlisted and withheld numbers are
refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := blocklist.ParseLength(length)
			if err != nil {
				return fmt.Errorf("--for: %w", err)
			}
			return changeBlock(a, cmd, args[0], func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error) {
				return admin.Block(ctx, args[0], d, reason, by)
			})
		},
	}
	cmd.Flags().StringVar(&length, "for", "24h", "block length, e.g. 90m, 24h, 7d")
	cmd.Flags().StringVar(&reason, "reason", "", "why, shown to admins and in blocklist.changed")
	cmd.Flags().StringVar(&by, "by", "cli", "who blocks (recorded as admin:<by>)")
	return cmd
}

func newBlocklistRmCmd(a *app) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "rm NUMBER",
		Short: "Lift the block of a number and clear its strikes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeBlock(a, cmd, args[0], func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error) {
				return admin.Unblock(ctx, args[0], by)
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "cli", "who unblocks (recorded as admin:<by>)")
	return cmd
}

func newBlocklistCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check NUMBER",
		Short: "Show whether a number is blocked, and its strikes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				store := s.admin.Store()
				n, err := store.Policy().Normalize(args[0])
				if err != nil {
					return err
				}
				if n.IsAnonymous() {
					_, err = fmt.Fprintln(a.stdout, "anonymous: withheld numbers are never blocked")
					return err
				}
				if store.Policy().Allowlisted(n.E164) {
					_, err = fmt.Fprintf(a.stdout, "%s is on the allowlist: never blocked\n", n.E164)
					return err
				}
				r, err := store.Get(ctx, n.E164)
				if errors.Is(err, blocklist.ErrNotFound) {
					_, err = fmt.Fprintf(a.stdout, "%s not blocked, no strikes\n", n.E164)
					return err
				}
				if err != nil {
					return err
				}
				now := time.Now()
				p := store.Policy()
				fmt.Fprintf(a.stdout, "%s %s\n", r.Number, status(r, now))
				fmt.Fprintf(a.stdout, "level %d, %d of %d points within %s\n", r.Level, p.Score(r, now), p.Threshold, p.Window)
				if r.Reason != "" {
					fmt.Fprintf(a.stdout, "last decision: %s (%s)\n", r.Reason, r.SetBy)
				}
				for _, st := range r.Strikes {
					if p.Score(blocklist.Record{Strikes: []blocklist.Strike{st}}, now) > 0 {
						fmt.Fprintf(a.stdout, "  strike %s %-13s +%d call %s\n", st.At.Local().Format(time.DateTime), st.Reason, st.Points, st.CallID)
					}
				}
				return nil
			})
		},
	}
}

// newWorkerBlocklistCmd is `siaga112 worker blocklist`.
func newWorkerBlocklistCmd(a *app) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "blocklist",
		Short: "Turn call events into strikes and blocks",
		Long: `blocklist consumes call.started, call.classified, call.ended and call.verdict on
the durable consumer "blocklist" (run as many instances as you like: they share
the work), keeps strikes and blocks in the SIAGA112_BLOCKLIST bucket and
publishes blocklist.changed when a block is set, extended or lifted.

With --listen it also serves the blocklist HTTP API on that address:
GET /api/blocklist, POST /api/blocklist, DELETE /api/blocklist/{number},
POST /api/calls/{id}/verdict (writes need http.admin_token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := a.load(cmd)
			if err != nil {
				return err
			}
			return runBlocklistWorker(cmd.Context(), cfg, listen, log)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "also serve the blocklist HTTP API on host:port")
	return cmd
}

// runBlocklistWorker wires NATS, the store and the worker (and optionally
// the HTTP API), and runs until ctx ends.
func runBlocklistWorker(ctx context.Context, cfg configs.Config, listen string, log *slog.Logger) error {
	policy, err := blocklist.NewPolicy(cfg.Blocklist)
	if err != nil {
		return err
	}
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: "siaga112-blocklist", Embedded: events.EmbeddedStart, StreamTimeout: workerStreamTimeout, RequireStream: true,
	}, log)
	if err != nil {
		return err
	}
	defer bus.Close()
	js := bus.JS
	kv, err := blocklist.OpenBucket(ctx, js, cfg.NATS.Stream.Replicas)
	if err != nil {
		return err
	}
	store := blocklist.NewStore(kv, policy, log)
	// The worker's announcements go straight to JetStream: it cannot work
	// without NATS anyway, and a spool shared with an IVR on the same host
	// would be one file written by two processes.
	pub := blocklist.JSPublisher{JS: js}
	worker, err := blocklist.NewWorker(ctx, js, store, pub, cfg.NATS, log)
	if err != nil {
		return err
	}
	if listen == "" {
		return worker.Run(ctx)
	}

	mux := http.NewServeMux()
	blocklist.NewAPI(blocklist.NewAdmin(store, pub, log), cfg.HTTP.AdminToken, log).Register(mux)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	return runWithHTTP(ctx, ln, mux, log, "blocklist API", worker.Run)
}
