package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// How the admin commands (blocklist, verdict) find the running system.
//
// A new administrator types `siaga112 blocklist ls` while `serve` or `demo`
// runs, with no flags and no environment. So, unless nats.url says where
// NATS is, the command looks where a running siaga112 would be: the
// embedded server's address (nats.embedded.listen, where `serve` listens
// and where `demo` listens too when that address is free) and the server
// a running demo described in demoURLFile: its URL, the data directory
// whose credentials file logs the admin in, and its pid (a dead demo's file
// is ignored). A live demo that holds nats.embedded.listen is tried first
// there, with its own credentials. Each candidate is probed with a TCP
// connect of at most probeTimeout before the NATS client, which retries for
// ever by design, is given it; one that answers must let the admin in and
// have the event stream. A command whose NATS is not there fails at once
// and says where it looked and what to pass instead.

// probeTimeout bounds the TCP probe of one candidate NATS address.
const probeTimeout = 500 * time.Millisecond

// natsTarget is one place an admin command may find NATS, and why it looks
// there (for messages).
type natsTarget struct {
	url, source string
	// dataDir is the embedded server's data directory, which holds the
	// credentials file; "" means nats.embedded.data_dir.
	dataDir string
	// demo is true for a running demo's server.
	demo bool
}

// demoURLFile is where a running demo leaves its NATS address for the
// admin commands of the same user: under $XDG_RUNTIME_DIR when set (private
// to the user), else in the temporary directory with the user id in the
// name.
func demoURLFile(runDir string) string {
	if runDir == "" {
		runDir = os.Getenv("XDG_RUNTIME_DIR")
	}
	if runDir == "" {
		return filepath.Join(os.TempDir(), fmt.Sprintf("siaga112-demo-%d.url", os.Getuid()))
	}
	return filepath.Join(runDir, "siaga112-demo.url")
}

// demoInfo is what a running demo leaves in demoURLFile: its NATS URL, the
// data directory of its embedded server (which holds the credentials file
// the admin commands log in with) and its process id.
type demoInfo struct {
	URL     string `json:"url"`
	DataDir string `json:"data_dir"`
	PID     int    `json:"pid"`
}

// readDemoInfo returns what a demo left in path, or false when there is
// nothing usable: no file, a file that is not the user's own (in a shared
// temporary directory another user could otherwise point this user's
// admin commands at their server), or one left by a demo that is gone.
func readDemoInfo(path string) (demoInfo, bool) {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o022 != 0 || !ownedByMe(info) || info.Size() > 4096 {
		return demoInfo{}, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return demoInfo{}, false
	}
	var d demoInfo
	if json.Unmarshal(data, &d) != nil || !strings.HasPrefix(d.URL, "nats://") || strings.ContainsAny(d.URL, " \n,") ||
		d.PID <= 0 || !processAlive(d.PID) {
		return demoInfo{}, false
	}
	return d, true
}

// errDemoRunning is wrapped by the error of a demo started while another
// live demo holds the same discovery file.
var errDemoRunning = errors.New("another siaga112 demo is running")

// runningDemoError says which demo holds path and how to start a second one
// beside it.
func runningDemoError(path string, d demoInfo) error {
	return fmt.Errorf("%w (pid %d, NATS at %s, described in %s): stop it first, or give this one its own XDG_RUNTIME_DIR so that the admin commands can tell them apart",
		errDemoRunning, d.PID, d.URL, path)
}

// writeDemoInfo leaves d in path for the admin commands and returns the
// function that removes it again. It refuses with errDemoRunning when a
// live demo's file is already there.
//
// One file per run directory, claimed rather than overwritten: with two
// files, `siaga112 blocklist ls` (no flags, by design) would have to guess
// which demo the administrator means, and a wrong guess blocks or clears a
// number on the wrong system with no error. Refusing the second demo is
// loud and cheap, and a second one is still possible with its own
// XDG_RUNTIME_DIR. A dead demo's file is taken over.
func writeDemoInfo(path string, d demoInfo) (func(), error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	// The file is written whole under a temporary name and then linked
	// into place: a link, unlike a rename, fails when path exists, so of
	// two demos starting at once exactly one claims it.
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	_, werr := f.Write(append(data, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	for attempt := 0; ; attempt++ {
		err := os.Link(tmp, path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, err
		}
		if cur, ok := readDemoInfo(path); ok {
			return nil, runningDemoError(path, cur)
		}
		// Left by a demo that is gone (or not usable): take it over.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return func() {
		if cur, ok := readDemoInfo(path); ok && cur == d {
			_ = os.Remove(path)
		}
	}, nil
}

// adminTargets lists where an admin command looks for NATS, in order. A
// demo that holds nats.embedded.listen comes first there: only one process
// can hold the address, and a live demo says it is that one.
func adminTargets(cfg configs.Config, runDir string) []natsTarget {
	file := demoURLFile(runDir)
	d, ok := readDemoInfo(file)
	if cfg.NATS.URL != "" {
		t := natsTarget{url: cfg.NATS.URL, source: "nats.url"}
		if ok && d.URL == cfg.NATS.URL {
			// --nats-url of a running demo, as its banner says to type:
			// log in with the demo's credentials.
			t.dataDir, t.demo = d.DataDir, true
		}
		return []natsTarget{t}
	}
	serve := natsTarget{url: embeddedURL(cfg.NATS.Embedded.Listen), source: "nats.embedded.listen, where siaga112 serve listens"}
	if !ok {
		return []natsTarget{serve}
	}
	demo := natsTarget{url: d.URL, source: "the running demo, from " + file, dataDir: d.DataDir, demo: true}
	if d.URL == serve.url {
		return []natsTarget{demo, serve}
	}
	return []natsTarget{serve, demo}
}

// embeddedURL is the client URL of an embedded server listening on listen;
// a wildcard host is reached on loopback.
func embeddedURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "nats://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, port)
}

// reachable reports whether one of the servers of a NATS URL list accepts
// a TCP connection within probeTimeout.
func reachable(ctx context.Context, urls string) bool {
	for _, u := range strings.Split(urls, ",") {
		u = strings.TrimSpace(u)
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			continue
		}
		host := pu.Host
		if pu.Port() == "" {
			host = net.JoinHostPort(pu.Hostname(), "4222")
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		conn, err := (&net.Dialer{}).DialContext(pctx, "tcp", host)
		cancel()
		if err == nil {
			_ = conn.Close()
			return true
		}
	}
	return false
}

// errNoNATS is wrapped by the error of an admin command that found no NATS.
var errNoNATS = errors.New("no NATS server answering")

// errNotSiaga112 is wrapped by the error of an admin command whose NATS
// answered but could not be used: a login refused, no event stream.
var errNotSiaga112 = errors.New("no usable siaga112 NATS")

// findNATS returns the candidates that accept a connection, in order, or
// an error that says where it looked and what to pass instead.
func findNATS(ctx context.Context, cfg configs.Config, runDir string) ([]natsTarget, error) {
	targets := adminTargets(cfg, runDir)
	var up []natsTarget
	for _, t := range targets {
		if reachable(ctx, t.url) {
			up = append(up, t)
		}
	}
	if len(up) > 0 {
		return up, nil
	}
	return nil, fmt.Errorf("%w at %s: %s", errNoNATS, describe(targets), natsHint(cfg))
}

// describe lists targets for an error message.
func describe(targets []natsTarget) string {
	var where []string
	for _, t := range targets {
		where = append(where, fmt.Sprintf("%s (%s)", redactUserinfo(t.url), t.source))
	}
	return strings.Join(where, ", nor at ")
}

// natsHint says what to do when no NATS was found.
func natsHint(cfg configs.Config) string {
	if cfg.NATS.URL != "" {
		return "check that NATS runs there, or pass the right --nats-url nats://HOST:PORT"
	}
	return "start siaga112 serve (or siaga112 demo), or pass --nats-url nats://HOST:PORT (or set SIAGA112_NATS_URL)"
}

// redactUserinfo hides a password or token in a URL list for messages.
func redactUserinfo(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if pu, err := url.Parse(strings.TrimSpace(u)); err == nil && pu.User != nil {
			pu.User = url.User("***")
			parts[i] = pu.String()
		}
	}
	return strings.Join(parts, ",")
}

// adminSession is a short-lived connection with the blocklist tools on it.
type adminSession struct {
	bus   *events.Bus
	admin *blocklist.Admin
	// loc is the one clock the CLI writes times in (reports.time_zone).
	loc *time.Location
}

func (s *adminSession) close() { s.bus.Close() }

// openAdmin connects for one admin command at target; close the session
// when done. It never starts an embedded server (it would compete for the
// data directory) and leaves the stream as the running system made it.
func openAdmin(ctx context.Context, cfg configs.Config, target natsTarget, log *slog.Logger) (*adminSession, error) {
	policy, err := blocklist.NewPolicy(cfg.Blocklist)
	if err != nil {
		return nil, err
	}
	cfg.NATS.URL = target.url
	if target.dataDir != "" {
		cfg.NATS.Embedded.DataDir = target.dataDir
	}
	bus, err := events.Open(ctx, cfg.NATS, events.OpenOptions{
		Name: "siaga112-admin", Embedded: events.EmbeddedAttach, SkipStream: true,
	}, log)
	if err != nil {
		return nil, err
	}
	if err := waitLoggedIn(ctx, bus); err != nil {
		bus.Close()
		return nil, err
	}
	kv, err := blocklist.OpenBucket(ctx, bus.JS, cfg.NATS.Stream.Replicas)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("%w (NATS at %s, %s)", err, redactUserinfo(target.url), target.source)
	}
	store := blocklist.NewStore(kv, policy, log)
	return &adminSession{loc: cfg.Location(), bus: bus, admin: blocklist.NewAdmin(store, blocklist.JSPublisher{JS: bus.JS}, log)}, nil
}

// loadAdmin loads the configuration for an admin command: without the
// warnings about settings the command does not use (the sample ARI
// password says nothing about the blocklist), and with a logger that keeps
// routine INFO lines (NATS connected, closed; "number blocked") at debug,
// so that stdout holds only the answer and stderr only what concerns it.
func loadAdmin(a *app, cmd *cobra.Command) (configs.Config, *slog.Logger, error) {
	cfg, log, err := a.loadAdminConfig(cmd)
	if err != nil {
		return configs.Config{}, nil, err
	}
	return cfg, slog.New(demoteInfo{log.Handler()}), nil
}

// streamCheckTimeout bounds the check that a NATS which answered is a
// siaga112 one (it lets the admin in and has the event stream), when
// another candidate is left to try.
const streamCheckTimeout = time.Second

// withAdmin finds the running system's NATS, opens a session bounded by
// adminTimeout and runs fn in it. Arguments must be checked before: nothing
// here is worth a connection attempt for a typo. A server that answers but
// has no SIAGA112_CALLS stream (another application's NATS on the same
// port) is passed over for the next candidate.
func withAdmin(a *app, cmd *cobra.Command, fn func(ctx context.Context, s *adminSession) error) error {
	cfg, log, err := loadAdmin(a, cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
	defer cancel()
	targets, err := findNATS(ctx, cfg, a.runDir)
	if err != nil {
		return err
	}
	var tried []string
	loginRefused := false
	for i, target := range targets {
		// A healthy server on this host answers in milliseconds; one that
		// does not let the admin in (a demo's, tried with serve's
		// credentials) is given up quickly when another candidate is left.
		timeout := streamCheckTimeout
		if i == len(targets)-1 {
			timeout = adminTimeout
		}
		tctx, tcancel := context.WithTimeout(ctx, timeout)
		s, err := openAdmin(tctx, cfg, target, log)
		if err == nil {
			_, err = s.bus.JS.Stream(tctx, events.StreamName)
			if err != nil {
				s.close()
			}
		}
		tcancel()
		if err == nil {
			defer s.close()
			if target.demo {
				// Say so: the answer comes from a demo, not from the
				// system the configuration describes.
				fmt.Fprintf(a.stderr, "using the running demo's NATS at %s\n", target.url)
			}
			return fn(ctx, s)
		}
		tried = append(tried, fmt.Sprintf("%s (%s) answers, but not as a siaga112 NATS that lets the admin in: %v",
			redactUserinfo(target.url), target.source, err))
		if strings.Contains(strings.ToLower(err.Error()), "authorization") {
			loginRefused = true
		}
	}
	hint := natsHint(cfg)
	if loginRefused {
		hint = fmt.Sprintf("the admin logs in with the credentials file in nats.embedded.data_dir (%s): point it at the running server's data directory (SIAGA112_NATS_EMBEDDED_DATA_DIR), or run this command as the user siaga112 runs as", cfg.NATS.Embedded.DataDir)
	}
	return fmt.Errorf("%w: %s; %s", errNotSiaga112, strings.Join(tried, "; "), hint)
}

// loginTimeout bounds the wait for a server that accepted the TCP probe to
// accept the admin too; a refused login (no or wrong credentials) is
// retried by the client for ever, so without this bound the command would
// wait out adminTimeout and report only a timeout.
const loginTimeout = 2 * time.Second

// waitLoggedIn waits until bus is connected (logged in), or reports why
// not.
func waitLoggedIn(ctx context.Context, bus *events.Bus) error {
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if bus.Health(ctx) == nil {
			return nil
		}
		if bus.Conn.IsClosed() {
			// The client gives up after the server refused the same
			// login twice.
			return fmt.Errorf("not connected: %w", bus.Conn.LastError())
		}
		select {
		case <-ctx.Done():
			if last := bus.Conn.LastError(); last != nil {
				return fmt.Errorf("not connected: %w", last)
			}
			return fmt.Errorf("not connected within %s", loginTimeout)
		case <-t.C:
		}
	}
}

// demoteInfo is a slog handler that logs INFO records at DEBUG: what a
// long-running role reports as news is chatter in a one-shot command.
type demoteInfo struct{ h slog.Handler }

func (d demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return d.h.Enabled(ctx, l)
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{d.h.WithAttrs(attrs)}
}

func (d demoteInfo) WithGroup(name string) slog.Handler { return demoteInfo{d.h.WithGroup(name)} }
