package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
	"github.com/siaga112/siaga112/web"
)

// adminTimeout bounds each admin command once NATS has answered the probe,
// so that a server that accepts connections but never replies cannot hang
// the command.
const adminTimeout = 10 * time.Second

// workerStreamTimeout bounds a worker's stream check at start: a worker
// cannot run without the stream, so it fails rather than wait for ever.
const workerStreamTimeout = 10 * time.Second

// numberForms is the hint given with a number that could not be read.
const numberForms = "type it as 0812-3456-7890, +62 812 3456 7890 or 6281234567890"

// oneNumber is the Args check of the commands that take one NUMBER. A
// number typed with spaces arrives as several arguments; the error says to
// quote it, with the command to type.
func oneNumber(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 1:
		return nil
	case len(args) == 0:
		return fmt.Errorf("%s needs a NUMBER, e.g. %s 0812-3456-7890", cmd.CommandPath(), cmd.CommandPath())
	case looksLikeOneNumber(args):
		return fmt.Errorf("%s takes one NUMBER, got %d arguments: a number with spaces must be quoted, e.g. %s \"%s\"",
			cmd.CommandPath(), len(args), cmd.CommandPath(), strings.Join(args, " "))
	default:
		return fmt.Errorf("%s takes one NUMBER, got %d arguments (%s)", cmd.CommandPath(), len(args), strings.Join(args, " "))
	}
}

// looksLikeOneNumber reports whether args are the pieces of one number
// split at spaces: digits, with an optional leading + and separators.
func looksLikeOneNumber(args []string) bool {
	for i, a := range args {
		for j, r := range a {
			switch {
			case r >= '0' && r <= '9', r == '-', r == '.', r == '(', r == ')':
			case r == '+' && i == 0 && j == 0:
			default:
				return false
			}
		}
	}
	return true
}

// parseNumber reads an admin's NUMBER with the configured default country,
// before anything connects, so that a typo is reported as such at once.
func parseNumber(cfg configs.Config, raw string) (phone.Number, error) {
	n, err := phone.Normalize(raw, cfg.Blocklist.DefaultCountry)
	if err != nil {
		return phone.Number{}, fmt.Errorf("%w: %s", err, numberForms)
	}
	return n, nil
}

// blockableNumber is parseNumber for add and rm: withheld numbers have no
// record, and allowlisted ones are never blocked.
func blockableNumber(cfg configs.Config, raw string) (string, error) {
	n, err := parseNumber(cfg, raw)
	if err != nil {
		return "", err
	}
	if n.IsAnonymous() {
		return "", fmt.Errorf("%q is a withheld number: %w", raw, blocklist.ErrAnonymous)
	}
	return n.E164, nil
}

// newBlocklistCmd is `siaga112 blocklist ls|add|rm|check|import|export`.
func newBlocklistCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blocklist",
		Short: "List, add, remove, check, import and export blocked caller numbers",
		Long: `blocklist works on the SIAGA112_BLOCKLIST bucket of the running system. Every
IVR instance sees a change within milliseconds. Numbers may be given in any
usual form (0812-3456-7890, +62 812 3456 7890, 6281234567890); they are stored
as E.164. Quote a number that has spaces.

NATS is found without flags: nats.url when set, else the running serve's
embedded server (nats.embedded.listen), else a running demo's. --nats-url
(or SIAGA112_NATS_URL) points elsewhere.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addNATSURLFlag(cmd)
	cmd.AddCommand(newBlocklistLsCmd(a), newBlocklistAddCmd(a), newBlocklistRmCmd(a), newBlocklistCheckCmd(a),
		newBlocklistImportCmd(a), newBlocklistExportCmd(a))
	return cmd
}

// addNATSURLFlag gives an admin command --nats-url, which the
// configuration loader binds to nats.url by its name.
func addNATSURLFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String("nats-url", "", "NATS of the running system (overrides nats.url; default: find the running serve or demo)")
}

// numberJSON is one number in the --json output of ls and check.
type numberJSON struct {
	Number  string     `json:"number"`
	Blocked bool       `json:"blocked"`
	Until   *time.Time `json:"until,omitempty"`
	// Strikes counts the strikes inside the window now; Threshold of them
	// block the number.
	Strikes   int `json:"strikes"`
	Threshold int `json:"threshold"`
	// Blocks is how many automatic blocks the number has had (the next one
	// is longer).
	Blocks  int        `json:"blocks"`
	Reason  string     `json:"reason,omitempty"`
	SetBy   string     `json:"set_by,omitempty"`
	Manual  bool       `json:"manual,omitempty"`
	Updated *time.Time `json:"updated,omitempty"`
	// StrikeList is the strikes inside the window (check only).
	StrikeList []blocklist.Strike `json:"strike_list,omitempty"`
	// Allowlisted numbers are never blocked (check only).
	Allowlisted bool `json:"allowlisted,omitempty"`
}

func toJSON(r blocklist.Record, p blocklist.Policy, now time.Time) numberJSON {
	out := numberJSON{Number: r.Number, Blocked: r.Blocked(now), Strikes: p.Score(r, now), Threshold: p.Threshold,
		Blocks: r.Level, Reason: r.Reason, SetBy: r.SetBy, Manual: r.Manual}
	if out.Blocked {
		u := r.Until.UTC()
		out.Until = &u
	}
	if !r.Updated.IsZero() {
		u := r.Updated.UTC()
		out.Updated = &u
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newBlocklistLsCmd(a *app) *cobra.Command {
	var onlyBlocked, all, asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the blocked numbers (--all: and those with strikes)",
		Long: `ls lists the numbers blocked now, soonest to be lifted last. Numbers with
strikes but no block are counted on a last line; --all lists them too (on a
busy day there are hundreds, most with one strike). Times are in
reports.time_zone, with its abbreviation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				store := s.admin.Store()
				records, err := store.List(ctx)
				if err != nil {
					return err
				}
				now := time.Now()
				p := store.Policy()
				blocklist.SortForAdmins(records, p, now)
				striking := 0
				if !all || onlyBlocked {
					records = slices.DeleteFunc(records, func(r blocklist.Record) bool {
						if r.Blocked(now) {
							return false
						}
						striking++
						return true
					})
				}
				if asJSON {
					out := make([]numberJSON, 0, len(records))
					for _, r := range records {
						out = append(out, toJSON(r, p, now))
					}
					return writeJSON(a.stdout, out)
				}
				more := func() error {
					if striking == 0 || onlyBlocked {
						return nil
					}
					_, err := fmt.Fprintf(a.stdout, "%d more %s strikes but no block (blocklist ls --all lists them)\n",
						striking, plural(striking, "number has", "numbers have"))
					return err
				}
				if len(records) == 0 {
					what := "no number is blocked or has strikes"
					if !all || onlyBlocked {
						what = "no number is blocked"
					}
					if _, err := fmt.Fprintln(a.stdout, what); err != nil {
						return err
					}
					return more()
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NUMBER\tSTATUS\tSTRIKES\tBLOCKS\tSET BY\tREASON")
				for _, r := range records {
					fmt.Fprintf(tw, "%s\t%s\t%d of %d\t%d\t%s\t%s\n", r.Number, status(r, now, s.loc),
						p.Score(r, now), p.Threshold, r.Level, r.SetBy, r.Reason)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return more()
			})
		},
	}
	cmd.Flags().BoolVar(&onlyBlocked, "blocked", false, "only numbers blocked now, without the count of the others (the default list, for scripts)")
	cmd.Flags().BoolVar(&all, "all", false, "also the numbers with strikes but no block")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// status is "blocked until <time with zone> (<left> left)" or "not
// blocked".
func status(r blocklist.Record, now time.Time, loc *time.Location) string {
	if !r.Blocked(now) {
		return "not blocked"
	}
	return fmt.Sprintf("blocked until %s (%s left)", configs.FormatTime(r.Until, loc), blocklist.HumanDuration(r.Until.Sub(now)))
}

// plural picks the singular or plural words for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newBlocklistAddCmd(a *app) *cobra.Command {
	var length, reason, by string
	cmd := &cobra.Command{
		Use:   "add NUMBER",
		Short: "Block a number (default for 24 h)",
		Long: `add blocks NUMBER for --for (90m, 24h, or days such as 7d). The block replaces
any current block of the number; a genuine verdict does not lift it,
blocklist rm does. Allowlisted and withheld numbers are refused.`,
		Example: `  siaga112 blocklist add 0812-3456-7890 --for 7d --reason "threats to operators"
  siaga112 blocklist add "+62 812 3456 7890"`,
		Args: oneNumber,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := blocklist.ParseLength(length)
			if err != nil {
				return fmt.Errorf("--for: %w", err)
			}
			if err := blocklist.CheckReason(reason); err != nil {
				return fmt.Errorf("--reason: %w", err)
			}
			cfg, _, err := loadAdmin(a, cmd)
			if err != nil {
				return err
			}
			n, err := blockableNumber(cfg, args[0])
			if err != nil {
				return err
			}
			if p, err := blocklist.NewPolicy(cfg.Blocklist); err == nil && p.Allowlisted(n) {
				return fmt.Errorf("%w: %s (blocklist.allowlist): it is never blocked", blocklist.ErrAllowlisted, n)
			}
			return changeBlock(a, cmd, func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error) {
				return admin.Block(ctx, n, d, reason, by)
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
		Use:     "rm NUMBER",
		Aliases: []string{"remove"},
		Short:   "Lift the block of a number and clear its strikes",
		Example: `  siaga112 blocklist rm 0812-3456-7890
  siaga112 blocklist rm "0812 3456 7890"`,
		Args: oneNumber,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadAdmin(a, cmd)
			if err != nil {
				return err
			}
			n, err := blockableNumber(cfg, args[0])
			if err != nil {
				return err
			}
			return changeBlock(a, cmd, func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error) {
				r, err := admin.Unblock(ctx, n, by)
				if errors.Is(err, blocklist.ErrNotFound) {
					return r, fmt.Errorf("%s has no block and no strikes: %w", n, err)
				}
				return r, err
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "cli", "who unblocks (recorded as admin:<by>)")
	return cmd
}

// changeBlock is the common part of blocklist add and rm, whose number is
// already checked: it runs change in an admin session and prints the
// number's status afterwards.
func changeBlock(a *app, cmd *cobra.Command, change func(ctx context.Context, admin *blocklist.Admin) (blocklist.Record, error)) error {
	return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
		r, err := change(ctx, s.admin)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s %s\n", r.Number, status(r, time.Now(), s.loc))
		return err
	})
}

func newBlocklistCheckCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check NUMBER",
		Short: "Show whether a number is blocked, and its strikes",
		Args:  oneNumber,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadAdmin(a, cmd)
			if err != nil {
				return err
			}
			n, err := parseNumber(cfg, args[0])
			if err != nil {
				return err
			}
			if n.IsAnonymous() {
				_, err = fmt.Fprintln(a.stdout, "withheld number: withheld numbers are never blocked")
				return err
			}
			// The allowlist is configuration: no need to ask the system.
			if p, err := blocklist.NewPolicy(cfg.Blocklist); err == nil && p.Allowlisted(n.E164) {
				if asJSON {
					return writeJSON(a.stdout, numberJSON{Number: n.E164, Allowlisted: true, Threshold: p.Threshold})
				}
				_, err = fmt.Fprintf(a.stdout, "%s is on the allowlist (blocklist.allowlist): never blocked\n", n.E164)
				return err
			}
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				store := s.admin.Store()
				p := store.Policy()
				now := time.Now()
				r, err := store.Get(ctx, n.E164)
				if errors.Is(err, blocklist.ErrNotFound) {
					r, err = blocklist.Record{Number: n.E164}, nil
				}
				if err != nil {
					return err
				}
				if asJSON {
					j := toJSON(r, p, now)
					for _, st := range r.Strikes {
						if p.Score(blocklist.Record{Strikes: []blocklist.Strike{st}}, now) > 0 {
							j.StrikeList = append(j.StrikeList, st)
						}
					}
					return writeJSON(a.stdout, j)
				}
				fmt.Fprintf(a.stdout, "%s %s\n", r.Number, status(r, now, s.loc))
				fmt.Fprintf(a.stdout, "strikes: %d of %d within %s", p.Score(r, now), p.Threshold, blocklist.HumanDuration(p.Window))
				if r.Level > 0 {
					fmt.Fprintf(a.stdout, "; automatic blocks so far: %d", r.Level)
				}
				fmt.Fprintln(a.stdout)
				if r.Reason != "" {
					fmt.Fprintf(a.stdout, "last decision: %s (%s)\n", r.Reason, r.SetBy)
				}
				for _, st := range r.Strikes {
					if p.Score(blocklist.Record{Strikes: []blocklist.Strike{st}}, now) > 0 {
						fmt.Fprintf(a.stdout, "  strike %s %-13s +%d call %s\n", configs.FormatTime(st.At, s.loc), st.Reason, st.Points, st.CallID)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBlocklistImportCmd(a *app) *cobra.Command {
	var dryRun bool
	var by string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Block every number of a CSV file (number, until, reason)",
		Long: `import reads a CSV file with one block per row: number, until, reason. The
number may be in any usual form; until is a time (2026-12-31T18:00:00Z,
"2026-12-31 18:00" or 2026-12-31, local time) or a length from now (7d, 24h,
90m); reason is optional. A first row starting with "number" is a header;
empty lines and lines starting with # are skipped. "-" reads standard input.

Every row is checked first. If any row is bad, each bad row is reported with
its line number and nothing is imported. --dry-run checks and shows the blocks
without connecting. A row replaces any current block of its number.
blocklist export writes the same format.`,
		Example: `  siaga112 blocklist import --dry-run blocked.csv
  siaga112 blocklist import blocked.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadAdmin(a, cmd)
			if err != nil {
				return err
			}
			p, err := blocklist.NewPolicy(cfg.Blocklist)
			if err != nil {
				return err
			}
			rows, err := readImport(a, args[0], p, cfg.Location())
			if err != nil {
				return err
			}
			if dryRun {
				now := time.Now()
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LINE\tNUMBER\tUNTIL\tREASON")
				for _, r := range rows {
					fmt.Fprintf(tw, "%d\t%s\t%s (%s)\t%s\n", r.Line, r.Number, configs.FormatTime(r.Until, cfg.Location()),
						blocklist.HumanDuration(r.Until.Sub(now)), r.Reason)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "dry run: %d rows are good; nothing imported\n", len(rows))
				return err
			}
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				n, err := s.admin.Import(ctx, rows, by)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "imported %d blocks from %s\n", n, args[0])
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the file and show the blocks; import nothing")
	cmd.Flags().StringVar(&by, "by", "import", "who blocks (recorded as admin:<by>)")
	return cmd
}

// readImport reads and checks an import file ("-": standard input).
func readImport(a *app, path string, p blocklist.Policy, loc *time.Location) ([]blocklist.ImportRow, error) {
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	rows, err := blocklist.ParseImport(r, p, time.Now(), loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func newBlocklistExportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Write the numbers blocked now as CSV (number, until, reason)",
		Long: `export writes every number blocked now to standard output as CSV with a
header row: number (E.164), until (RFC 3339, UTC), reason. blocklist import
reads it back, so it serves as a backup and to move a list between systems.
Strikes are not exported.`,
		Example: `  siaga112 blocklist export > blocked.csv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(a, cmd, func(ctx context.Context, s *adminSession) error {
				records, err := s.admin.Store().List(ctx)
				if err != nil {
					return err
				}
				return blocklist.WriteCSV(a.stdout, records, s.admin.Store().Policy(), time.Now())
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
	// The listener is opened before anything connects: a busy or mistyped
	// --listen is reported at once, not after NATS answered.
	var ln net.Listener
	if listen != "" {
		if ln, err = net.Listen("tcp", listen); err != nil {
			return fmt.Errorf("--listen %s: %w", listen, err)
		}
		defer func() {
			if ln != nil {
				_ = ln.Close()
			}
		}()
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
	if ln == nil {
		return worker.Run(ctx)
	}

	srv, err := web.New(web.Options{AdminToken: cfg.HTTP.AdminToken, Log: log, Blocklist: blocklist.NewAdmin(store, pub, log), Records: store, Location: cfg.Location()})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	serving := ln
	ln = nil // runWithHTTP owns it now
	return runWithHTTP(ctx, cfg.HTTP, serving, mux, log, "blocklist API", worker.Run)
}
