package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/stack"
	"github.com/siaga112/siaga112/loadtest"
)

// demoFlags are the flags of `siaga112 demo`.
type demoFlags struct {
	duration    time.Duration
	rate        float64
	mix         string
	scale       float64
	listen      string
	sounds      string
	pranksters  int
	concurrency int
	// incident starts an incident announcement at the start, with share
	// of the callers calling about it (pressing 8).
	incident bool
	share    float64
	// runDir is where the demo leaves its NATS URL (demoURLFile).
	runDir string
}

// Demo defaults: a readable pace that two operators can serve. At a
// quarter of real time a caller who presses a key reaches the queue 2-19 s
// into their call (their own time: half a second to five on the clock), a
// silent caller ends after about 95 s of theirs. The rate is set by the
// operators: the default configuration has two (PJSIP/op201 and op202,
// shared by the queues), and each call put through takes one for about
// 21 s of the callers' time (3-5 s ringing, 10-25 s talk). About three
// fifths of the default mix is put through, so 0.4 calls a second (0.1 a
// second of the callers' time, 0.06 put through) offer them 1.3
// operators' worth of calls, each busy some 60 % of the time: most callers
// are answered once the phone has rung, some wait, and a few impatient
// ones hang up in the queue. At 1.5 a second, this demo's pace before the
// queues were simulated, they would be offered more than twice what they
// can take, and only the callers' patience would bound the queue.
const (
	demoRate        = 0.4
	demoScale       = 0.25
	demoConcurrency = 200
	demoRefresh     = 5 * time.Second
	// demoFinish is the demo's ivr.drain_timeout: once the demo stops
	// placing callers, the calls in progress get this long to finish
	// before the IVR puts the rest through to operators, so that a demo
	// ends a few seconds after --duration, not after its slowest caller.
	demoFinish = 5 * time.Second
	// demoStopMargin bounds, on top of the drain, the wait for the IVR to
	// put the last calls through and stop.
	demoStopMargin = 10 * time.Second
)

// newDemoCmd is `siaga112 demo`.
func newDemoCmd(a *app) *cobra.Command {
	f := demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything with a simulated Asterisk and a stream of synthetic callers",
		Long: `demo runs what serve runs — the IVR, embedded NATS, both workers, the
dashboard and API — against a simulated Asterisk in the same process (the real
ARI client talks to it over loopback HTTP and WebSocket), and places a steady
stream of synthetic callers: fire, medical, police and disaster emergencies,
callers who ask for an operator, callers who speak instead of pressing, silent
callers (some press 55 for silent help), children who hang up, callers who
press wrong keys, a few repeat pranksters who get blocked after three
strikes — one of whom presses 9 once blocked and is put through — and
callers who choose disaster and hang up at the location question, before an
operator. The IVR calls those back callback.delay after they dropped (30 s by
default; the demo keeps the configured wait): their phones answer after 2 s
and they press 1 at the call-back prompt and are put through. The first of
them calls some 20 s into the demo, so its call-back comes within the first
minute; a console line announces each drop, each attempt ("called back
081...: put through") and each call-back's end. So that the IVR asks them the
location, the simulated Asterisk reports no operator free in the disaster
queue: the disaster callers of a demo are asked it too. The
simulated Asterisk has the operators of ivr.menu[].members in its queues:
they answer after a few seconds and talk with each caller 10-25 s, and
callers put through wait for them; one in three gives up after 8-16 s in
the queue without an answer (a queue abandon: a caller to call back).

It prints the dashboard URL and one line of progress. After --duration (0: on
Ctrl-C) it stops placing callers and gives the calls in progress up to 5s to
finish; the IVR then puts those still in it through to operators, as its drain
does on any shutdown, and the demo stops. A demo therefore lasts --duration
plus a few seconds. The last lines give calls placed and finished (each with
its own rate), the outcomes, the time to the queue and to a person per kind
of caller, the queue abandons, the calls the IVR let go in the queue as it
stopped (they go on in Asterisk), and the call-backs (scheduled, attempts,
put through, no answer, cancelled, reached a person, time from the drop to
the hand-off). Call-backs are turned on for the demo when the configuration
has them off (no callback.endpoint, or callback.enabled false).

Data lives in a temporary directory that is removed on exit, so a demo never
touches /var/lib/siaga112. The simulated Asterisk replaces ari.nodes, so the
configuration's ARI nodes are neither used nor warned about. --clock-scale
sets the pace (1 is real time: a caller then hears the prompts at their real
length).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Log lines (on stderr, often the same terminal) must not land
			// inside the progress line either.
			con := newDemoConsole(a.stdout, isTerminal(a.stdout))
			if isTerminal(a.stderr) {
				a.stderr = con.Stderr(a.stderr)
			}
			cfg, log, err := loadForCallers(a, cmd)
			if err != nil {
				return err
			}
			f.runDir = a.runDir
			return runDemo(cmd.Context(), con, cfg, slog.New(quietDemo{log.Handler()}), f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", 0, "stop placing callers after this long, then finish within "+demoFinish.String()+" (0: run until Ctrl-C)")
	fl.Float64Var(&f.rate, "rate", demoRate, "new calls per second")
	fl.StringVar(&f.mix, "mix", "default", "caller mix as kind=weight,... (kinds: "+kindNames()+"); default is the load test's default mix with "+string(loadtest.KindDropper)+" callers, who are called back")
	fl.Float64Var(&f.scale, "clock-scale", demoScale, "speed of the callers' media and the IVR's timeouts; 1 is real time")
	fl.StringVar(&f.listen, "listen", "", "dashboard address (default http.listen)")
	fl.StringVar(&f.sounds, "sounds", "", "prompts directory (default asterisk-conf/sounds/<ivr.language> if present)")
	fl.IntVar(&f.pranksters, "pranksters", loadtest.DefaultPranksterPool, "numbers the repeat pranksters call from")
	fl.IntVar(&f.concurrency, "concurrency", demoConcurrency, "most calls in progress at once")
	fl.BoolVar(&f.incident, "incident", false, "start an incident announcement (the first of ivr.incident_prompts) at the start; a share of the callers call about it and press 8")
	fl.Float64Var(&f.share, "incident-share", 0.3, "with --incident: share of the callers who call about the incident")
	return cmd
}

func runDemo(ctx context.Context, con *demoConsole, cfg configs.Config, log *slog.Logger, f demoFlags) error {
	stdout := con.out
	mix, err := demoMix(f.mix)
	if err != nil {
		return err
	}
	if f.incident {
		if mix, err = mix.WithShare(loadtest.KindIncidentCaller, f.share); err != nil {
			return fmt.Errorf("--incident-share: %w", err)
		}
	}
	// A second demo on the same run directory is refused before anything
	// starts (writeDemoInfo says why); the claim after the start settles
	// two demos started at the same moment.
	if d, ok := readDemoInfo(demoURLFile(f.runDir)); ok {
		return runningDemoError(demoURLFile(f.runDir), d)
	}
	// The admin commands look for NATS at nats.embedded.listen: the demo
	// listens there when it can (on loopback), so that `siaga112 blocklist
	// ls` finds it with no flags. Its NATS is still private: a new store in
	// a temporary directory.
	userURL, wanted := cfg.NATS.URL, loopbackListen(cfg.NATS.Embedded.Listen)
	cleanup, err := privateNATS(&cfg, "siaga112-demo-")
	if err != nil {
		return err
	}
	defer cleanup()
	if addrFree(wanted) {
		cfg.NATS.Embedded.Listen = wanted
	}
	cfg.Reports.Refresh = demoRefresh
	listen := f.listen
	if listen == "" {
		listen = cfg.HTTP.Listen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("dashboard listener %s: %w (use --listen 127.0.0.1:0 for any free port)", listen, err)
	}
	// Warnings are for what runs: the private NATS, this listener, and no
	// ARI nodes (the simulated Asterisk replaces them).
	running := cfg
	running.HTTP.Listen = listen
	warnSettings(log, running, "ari.nodes")
	cfg.IVR.DrainTimeout = demoFinish
	cbNote := demoCallbacks(&cfg)
	// A supervisor account for this run only, so the console can be tried:
	// its file lives in the demo's private directory and goes with it.
	demoPassword, err := demoAccount(&cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	env, err := loadtest.StartSim(ctx, loadtest.SimOptions{
		Config: cfg, Roles: stack.All(), ClockScale: f.scale, SoundsDir: soundsDir(f.sounds, cfg.IVR.Language),
		Listener: ln, Log: log, Name: "siaga112-demo",
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	natsURL := env.Stack.NATSURL()
	info := demoInfo{URL: natsURL, DataDir: cfg.NATS.Embedded.DataDir, PID: os.Getpid()}
	if remove, err := writeDemoInfo(demoURLFile(f.runDir), info); err == nil {
		defer remove()
	} else if errors.Is(err, errDemoRunning) {
		_ = env.Stop()
		return err
	} else {
		log.Warn("could not leave the NATS URL for the admin commands", "err", err)
	}
	fmt.Fprintf(stdout, "siaga112 demo: simulated Asterisk at %s, NATS at %s\n", env.Sim.URL(), natsURL)
	fmt.Fprintf(stdout, "dashboard:     http://%s/\n", env.Stack.HTTPAddr())
	fmt.Fprintf(stdout, "health:        http://%s/healthz   blocklist: http://%s/api/blocklist\n", env.Stack.HTTPAddr(), env.Stack.HTTPAddr())
	fmt.Fprintf(stdout, "console:       http://%s/login   supervisor / %s   (an account for this run only)\n", env.Stack.HTTPAddr(), demoPassword)
	fmt.Fprintf(stdout, "opening:       prankster %s calls silently three times at the start; watch for its block\n", openingNumber(f.pranksters))
	if cbNote != "" {
		fmt.Fprintf(stdout, "note:          %s\n", cbNote)
	}
	if mix[loadtest.KindDropper] > 0 {
		fmt.Fprintf(stdout, "call-backs:    %s callers hang up before an operator; each is called back %s later (callback.delay); watch for \"called back\"\n",
			loadtest.KindDropper, blocklist.HumanDuration(cfg.Callback.Delay))
	}
	if userURL == "" && natsURL == embeddedURL(wanted) {
		fmt.Fprintf(stdout, "admin:         siaga112 blocklist ls   (in another terminal; no flags needed)\n")
	} else {
		fmt.Fprintf(stdout, "admin:         siaga112 blocklist ls --nats-url %s   (in another terminal)\n", natsURL)
	}
	fmt.Fprintf(stdout, "callers:       %.1f/s, mix %s, clock scale %g; ", f.rate, mix, f.scale)
	if f.duration > 0 {
		fmt.Fprintf(stdout, "for %s (Ctrl-C stops earlier)\n", blocklist.HumanDuration(f.duration))
	} else {
		fmt.Fprintln(stdout, "press Ctrl-C to stop")
	}

	o := env.Options()
	o.Mix, o.Rate, o.Duration, o.Concurrency, o.PranksterPool = mix, f.rate, f.duration, f.concurrency, f.pranksters
	if f.incident {
		o.Incident = env.StartIncident
	}
	o.RunID, o.Forget = rand.Uint32(), true
	o.Progress, o.Bar = con.Progress(), con.tty
	o.ProgressEvery = time.Second
	if !o.Bar {
		o.ProgressEvery = 10 * time.Second
	}
	// When placing ends, the IVR drains: calls in progress get demoFinish
	// to end, the rest are put through to operators, never cut.
	o.Drain = func(ctx context.Context, inProgress int) error {
		con.Notice("finishing %d calls in progress (up to %s)", inProgress, blocklist.HumanDuration(demoFinish))
		sctx, cancel := context.WithTimeout(ctx, demoFinish+demoStopMargin)
		defer cancel()
		return env.Stack.IVR().Stop(sctx)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	if pub := env.Stack.Publisher(); pub != nil {
		watchers.Go(func() { watchSpool(wctx, con, pub.Stats, cfg.NATS.Publish.MaxBlock) })
	}
	if err := announceBlocks(wctx, con, env.Stack.Bus()); err != nil {
		log.Warn("blocks will not be announced", "err", err)
	}
	if err := announceCallbacks(wctx, con, env.Stack.Bus(), cfg); err != nil {
		log.Warn("call-backs will not be announced", "err", err)
	}
	opened := 0
	watchers.Go(func() { opened = openingPrank(wctx, con, env.Target, f.pranksters) })
	s, runErr := loadtest.Run(ctx, o)
	stopWatch()
	watchers.Wait()
	stopErr := env.Stop()
	if runErr != nil {
		return errors.Join(runErr, stopErr)
	}
	fmt.Fprintf(stdout, "\ndemo over: %d calls placed in %.1fs (%.2f/s), %d finished in %.1fs (%.2f/s)",
		s.Placed, s.Placing, s.PlacedPerSec, s.Finished, s.Elapsed, s.FinishedPerSec)
	if s.PutThrough > 0 {
		fmt.Fprintf(stdout, ", %d of them put through to operators by the drain", s.PutThrough)
	}
	fmt.Fprint(stdout, "\noutcomes:")
	for _, out := range events.AllOutcomes {
		if n := s.Outcomes[out]; n > 0 {
			fmt.Fprintf(stdout, " %s %d", out, n)
		}
	}
	fmt.Fprintf(stdout, "; %d events, %d lost; errors %d\n", s.Events, s.Lost, s.Errors)
	if opened > 0 {
		fmt.Fprintf(stdout, "(besides these, the opening prankster's %d calls)\n", opened)
	}
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(stdout, "  - %s\n", e)
	}
	// How fast each kind of caller reached the operators, as loadtest
	// prints it (callers' time, so comparable at any clock scale).
	if err := s.WriteTimeToQueue(stdout); err != nil {
		return errors.Join(stopErr, err)
	}
	// And how long they waited for a person, who hung up in the queue,
	// and the calls the IVR let go as it stopped.
	if err := s.WriteTimeToPerson(stdout); err != nil {
		return errors.Join(stopErr, err)
	}
	writeDemoCallbacks(stdout, s.Callbacks)
	return stopErr
}

// demoMix is the --mix flag's mix: "default" (or nothing) is the demo's
// own, loadtest.DemoMix, which has dropped callers to call back.
func demoMix(flag string) (loadtest.Mix, error) {
	if f := strings.TrimSpace(flag); f == "" || f == "default" {
		return loadtest.DemoMix(), nil
	}
	return loadtest.ParseMix(flag)
}

// loopbackListen is listen with its host made loopback: the demo's NATS is
// private to this host whatever nats.embedded.listen says.
func loopbackListen(listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "127.0.0.1:0"
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// addrFree reports whether a TCP listener could be opened on addr now.
func addrFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// announceBlocks prints a line for every block the blocklist worker (or
// an admin) sets while the demo runs: the headline feature should not be
// hidden in the dashboard.
func announceBlocks(ctx context.Context, con *demoConsole, bus *events.Bus) error {
	start := time.Now()
	return bus.Follow(ctx, []string{events.TypeBlocklistChanged.Subject()}, func(e events.Envelope) {
		var c events.BlocklistChanged
		if err := e.DecodeData(&c); err != nil || c.Until == nil {
			return
		}
		con.Notice("%s  blocked %s until %s (%s): %s", blocklist.HumanDuration(time.Since(start)), c.Number,
			c.Until.Local().Format("15:04:05"), blocklist.HumanDuration(time.Until(*c.Until)), c.Reason)
	})
}

// openingNumber is the number of the opening prankster: a pool member that
// does not press 9, when there is one.
func openingNumber(pool int) string { return loadtest.PranksterNumber(min(1, max(pool, 1)-1)) }

// openingSpacing is the time between the opening prankster's calls.
const openingSpacing = time.Second

// openingPrank places the demo's opening: one of the pranksters calls
// three times in a row at the start, silent each time, so that the first
// automatic block comes about 30 s after the start (a silent call takes
// some 25 s to end at the demo's clock scale) instead of after the minute
// or so the random mix takes. The policy is untouched: three no_input
// strikes, the first rung of the ladder. The calls are not the runner's, so
// the demo's last lines count them apart.
// It returns how many calls it placed.
func openingPrank(ctx context.Context, con *demoConsole, target loadtest.Target, pool int) int {
	number := openingNumber(pool)
	for i := range 3 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return i
			case <-time.After(openingSpacing):
			}
		}
		c := loadtest.Caller{Seq: -1 - i, Kind: loadtest.KindPrankster, Number: number}
		if _, err := target.Place(context.WithoutCancel(ctx), c); err != nil {
			con.Notice("opening prank call %d of 3 not placed: %v", i+1, err)
			return i
		}
	}
	return 3
}

// demoAccount writes an accounts file with one supervisor, "supervisor",
// and a random password into the demo's private data directory, and points
// http.accounts_file at it.
func demoAccount(cfg *configs.Config) (string, error) {
	b := make([]byte, 9)
	if _, err := cryptorand.Read(b); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(b)
	hash, err := console.HashPassword(password)
	if err != nil {
		return "", err
	}
	accs := &console.Accounts{}
	if err := accs.Set(console.Account{Name: "supervisor", Role: console.RoleSupervisor, Hash: hash}); err != nil {
		return "", err
	}
	path := filepath.Join(cfg.NATS.Embedded.DataDir, "demo-accounts.yaml")
	if err := accs.Save(path); err != nil {
		return "", err
	}
	cfg.HTTP.AccountsFile = path
	return password, nil
}
