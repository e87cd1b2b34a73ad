package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/internal/logging"
	"github.com/siaga112/siaga112/internal/stack"
	"github.com/siaga112/siaga112/loadtest"
)

// ErrLoadTestFailed is returned by loadtest when calls failed or events
// were lost; missed latency or memory targets are only reported.
var ErrLoadTestFailed = errors.New("load test: calls failed or events were lost")

// ErrTarget is returned for an unknown --target.
var ErrTarget = errors.New("--target must be sim or ari")

// ErrBusyOnARI is returned for --operators-busy with --target ari, where
// the real Asterisk's queues say who is free.
var ErrBusyOnARI = errors.New("--operators-busy is for --target sim; a real Asterisk's queues say who is free")

// loadtestFlags are the flags of `siaga112 loadtest`.
type loadtestFlags struct {
	target      string
	calls       int
	concurrency int
	rate        float64
	duration    time.Duration
	mix         string
	scale       float64
	pranksters  int
	sounds      string
	node        string
	vars        map[string]string
	asteriskPID int
	timeout     time.Duration
	json        bool
	busy        bool
	operators   bool
	// callbacks keeps call-backs on with --target ari.
	callbacks bool
	incident  bool
	share     float64

	soak         time.Duration
	sample       time.Duration
	warmup       time.Duration
	profiles     string
	scaleChanged bool // --clock-scale was given
	rateChanged  bool // --rate was given
}

// newLoadtestCmd is `siaga112 loadtest`.
func newLoadtestCmd(a *app) *cobra.Command {
	f := loadtestFlags{}
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Place synthetic 112 callers through the IVR and measure it",
		Long: `loadtest places scripted callers through a complete IVR running in this
process and reports calls by outcome, StasisStart->answer and DTMF->classified
latency (p50/p95/p99), the time each kind of caller takes to reach the
operators' queue (time_to_queue) and then a person (time_to_person: from the
answer to an operator's, p50/p95/max), the callers who hung up in the queue
(queue_abandoned), events per second, events lost, peak heap and RSS, this
process's CPU per live call, and errors. Progress is drawn on a terminal;
--json prints the summary for machines.

--target sim (default): a simulated Asterisk, the IVR, the blocklist worker and
an embedded NATS, all in this process, in a temporary directory. --clock-scale
speeds the callers' media up (and the IVR's key timeouts with it); 1 is real
time. By default a caller put through hangs up as soon as it is in the queue:
the run measures the IVR, and a high --rate is not held back by callers
waiting for two people. With --operators the sim's queues have the operators
of ivr.menu[].members (one person per device, whatever queues it serves), who
answer after 3-6 s; a caller put through waits for one, talks 10-25 s and
hangs up, or, one in three, hangs up after 8-16 s in the queue without an
answer (the others after 90 s) — time_to_person and queue_abandoned then
measure the centre, at a rate two operators can serve (about 0.4 calls/s).
The sim reports an operator free in each queue, so callers who choose a type
are put through without the location question; --operators-busy makes every
operator busy on another call for the whole run, so they are asked it,
nobody answers and every caller put through hangs up in the queue.

--target ari: a real Asterisk. This process runs the IVR against the node of
ari.nodes named by --node (the first by default) and originates
Local/<script>@siaga112-loadtest channels there, as described in
asterisk-conf/README.md ("Load test callers"); --var sets their LT_* timings.
There the real queues apply: a caller put through stays in them (or with the
operator who answers) for its LT_HOLD, and its call ends, for the load tool
too, when Asterisk destroys the channel. Use a test PBX, or stop the production IVR first: only one IVR can hold the
Stasis application. Events go to a private embedded NATS in a temporary
directory, never to nats.url. When the node is on this host, the summary
gives the Asterisk process's CPU (from /proc/<pid>/stat) in ms per second
and per live call; --asterisk-pid names the process when it cannot be
found by name. A remote node's CPU is not reported (one line says so).

--incident: surge mode. Before the first call the tool starts an incident
announcement of the first prepared prompt (ivr.incident_prompts), as a
supervisor would, and --incident-share of the callers (incident_caller) call
about it and press the incident key during the offer; the others keep their
scripts and hear the announcement after the greeting unless they key or talk
before it. The summary adds the calls resolved without an operator
(incident_ack), the operator load avoided and the incident callers' blocklist
strikes (there must be none); time_to_queue is then the other callers' with
the announcement on.

Call-backs: the IVR calls back callers who asked for help and reached no
person (callback.endpoint; on by default), and the summary counts them from
the event stream: scheduled, attempts by result (put through, no response,
no answer, busy, failed, cancelled), those over, cancelled and that reached a
person, and the time from the drop to the call-back's answer and hand-off
(wall time). The dropped kind (not in the default mix; --mix
...,dropped=N) keys disaster in the greeting and hangs up at the location
question, before the hand-off; on the sim its phone answers the call-back
after 2 s and presses 1, the sim reports no operator free in the disaster
queue (so the IVR asks the location, of the run's disaster callers too), and
the run waits, after the last call, for each dropped caller's call-back to
be put through and end (at least callback.delay: 30 s by default). With
--target ari call-backs go out through callback.endpoint to real numbers:
the load tool cannot answer them unless that endpoint loops back into a
script of your own, so the dropped kind is refused there, and call-backs
are off for such a run (they would dial the run's made-up numbers for real)
unless --callbacks keeps them on, for a callback.endpoint that is a test
trunk.

--soak DURATION: soak mode, for a line that runs for months. Calls are
placed at --rate (default ` + fmt.Sprint(soakRate) + `/s) for DURATION at clock scale 1
unless --clock-scale is given, each call's records dropped once it is
counted, and every --sample the process is measured after a forced garbage
collection: live heap, RSS, goroutines, open files, with the calls live and
the calls served so far, one line each; a JSON report with every sample
follows the summary. After --warmup (default 10m, or a sixth of the run
when shorter) the mean of the last third of the samples is compared with
the first third's: heap, RSS, goroutines or open files that grew by more
than 10 % (plus what the live calls grew by) grew with the calls served,
and the command exits 1 naming them. --soak-profiles DIR writes a heap
profile at each sample, for go tool pprof -base. Sim target only.

Exits 1 when a call did not end as its script says or an event was lost.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadForCallers(a, cmd)
			if err != nil {
				return err
			}
			f.scaleChanged, f.rateChanged = cmd.Flags().Changed("clock-scale"), cmd.Flags().Changed("rate")
			if f.soak > 0 {
				return runSoak(cmd.Context(), a.stdout, cfg, log, f)
			}
			return runLoadtest(cmd.Context(), a.stdout, cfg, log, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "sim", "sim (in process) or ari (a real Asterisk)")
	fl.IntVar(&f.calls, "calls", 1000, "calls to place")
	fl.IntVar(&f.concurrency, "concurrency", 500, "most calls in progress at once")
	fl.Float64Var(&f.rate, "rate", 100, "new calls per second")
	fl.DurationVar(&f.duration, "duration", 0, "stop placing calls after this long (0: after --calls)")
	fl.StringVar(&f.mix, "mix", "default", "caller mix as kind=weight,... (kinds: "+kindNames()+")")
	fl.Float64Var(&f.scale, "clock-scale", 0.2, "sim only: speed of the callers' media; 1 is real time")
	fl.IntVar(&f.pranksters, "pranksters", loadtest.DefaultPranksterPool, "numbers the repeat pranksters call from")
	fl.StringVar(&f.sounds, "sounds", "", "sim only: prompts directory (default asterisk-conf/sounds/<ivr.language> if present)")
	fl.StringVar(&f.node, "node", "", "ari only: name of the ari.nodes entry to load (default the first)")
	fl.StringToStringVar(&f.vars, "var", nil, "ari only: originate variables for the scripts, e.g. LT_HOLD=5")
	fl.IntVar(&f.asteriskPID, "asterisk-pid", 0, "ari only: the Asterisk process whose CPU to report (default: the asterisk process of this host, when the node is on it)")
	fl.DurationVar(&f.timeout, "call-timeout", loadtest.DefaultCallTimeout, "longest a call may last")
	fl.BoolVar(&f.json, "json", false, "print the summary as JSON")
	fl.BoolVar(&f.busy, "operators-busy", false, "sim only: every operator is busy, so callers who choose a type are asked the location and nobody answers in the queue")
	fl.BoolVar(&f.operators, "operators", false, "sim only: the queues have the operators of ivr.menu[].members, who answer and talk (time_to_person, queue abandons); without it a caller put through hangs up in the queue at once and the run measures the IVR alone")
	fl.BoolVar(&f.callbacks, "callbacks", false, "ari only: keep call-backs on (they dial the run's made-up numbers through callback.endpoint: only for a test trunk)")
	fl.BoolVar(&f.incident, "incident", false, "surge mode: start an incident announcement before the first call")
	fl.Float64Var(&f.share, "incident-share", 0.6, "with --incident: share of the callers who call about the incident and press its key")
	fl.DurationVar(&f.soak, "soak", 0, "soak mode: place calls for this long and judge memory, goroutines and open files (sim only)")
	fl.DurationVar(&f.sample, "sample", loadtest.DefaultSoakSample, "with --soak: time between samples")
	fl.DurationVar(&f.warmup, "warmup", 0, "with --soak: samples not judged at the start (default 10m, or a sixth of the run when shorter)")
	fl.StringVar(&f.profiles, "soak-profiles", "", "with --soak: write a heap profile at each sample into this directory")
	return cmd
}

func kindNames() string {
	s := ""
	for i, k := range loadtest.Kinds {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}

// loadForCallers loads the configuration without its warnings, as demo
// and loadtest replace part of it before they run it, and builds a logger
// with the per-call info logs off (they would cost more than the calls and
// hide the progress) unless --log-level was given.
func loadForCallers(a *app, cmd *cobra.Command) (configs.Config, *slog.Logger, error) {
	cfg, _, err := a.loadQuiet(cmd)
	if err != nil {
		return configs.Config{}, nil, err
	}
	level := "warn"
	if cmd.Flags().Changed("log-level") {
		level = cfg.Log.Level
	}
	log, err := logging.New(a.stderr, level, cfg.Log.Format)
	if err != nil {
		return configs.Config{}, nil, err
	}
	return cfg, log, nil
}

// soundsDir is the --sounds flag when given, else asterisk-conf/sounds/<lang>
// when the command runs in a checkout of the repository, else "" (every
// prompt then lasts 3 s).
func soundsDir(flag, lang string) string {
	if flag != "" {
		return flag
	}
	dir := filepath.Join("asterisk-conf", "sounds", lang)
	if _, err := os.Stat(filepath.Join(dir, "siaga112", "greeting.wav")); err != nil {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return abs
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// privateNATS points cfg at a private embedded NATS and spool in a new
// temporary directory, which the returned function removes.
func privateNATS(cfg *configs.Config, prefix string) (func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	cfg.NATS.URL = ""
	cfg.NATS.Stream.Replicas = 1
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.DataDir = filepath.Join(dir, "nats")
	cfg.NATS.Spool.Dir = filepath.Join(dir, "spool")
	return func() { _ = os.RemoveAll(dir) }, nil
}

func runLoadtest(ctx context.Context, stdout io.Writer, cfg configs.Config, log *slog.Logger, f loadtestFlags) error {
	mix, err := loadtest.ParseMix(f.mix)
	if err != nil {
		return err
	}
	if f.incident {
		if mix, err = mix.WithShare(loadtest.KindIncidentCaller, f.share); err != nil {
			return fmt.Errorf("--incident-share: %w", err)
		}
	}
	cleanup, err := privateNATS(&cfg, "siaga112-loadtest-")
	if err != nil {
		return err
	}
	defer cleanup()

	var (
		opts loadtest.Options
		stop func() error
	)
	switch f.target {
	case "sim":
		// Warnings are for what runs: the private NATS and no HTTP
		// listener, and no ARI nodes (the simulated Asterisk replaces them).
		warnSettings(log, cfg, "ari.nodes", "http.")
		env, err := loadtest.StartSim(ctx, loadtest.SimOptions{
			Config: cfg, ClockScale: f.scale, SoundsDir: soundsDir(f.sounds, cfg.IVR.Language), Log: log, Name: "siaga112-loadtest",
			OperatorsBusy: f.busy, NoOperators: !f.operators && !f.busy,
		})
		if err != nil {
			return err
		}
		opts, stop = env.Options(), env.Stop
		if f.incident {
			opts.Incident = env.StartIncident
		}
	case "ari":
		if f.busy {
			return ErrBusyOnARI
		}
		opts, stop, err = startARITarget(ctx, cfg, log, f)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w, got %q", ErrTarget, f.target)
	}
	opts.Mix, opts.Calls, opts.Duration = mix, f.calls, f.duration
	opts.Concurrency, opts.Rate, opts.PranksterPool, opts.CallTimeout = f.concurrency, f.rate, f.pranksters, f.timeout
	opts.RunID = rand.Uint32()
	opts.Targets = loadtest.DefaultTargets()
	opts.Targets.TalkerToQueueP95 = loadtest.TalkerTarget(cfg.IVR.TalkMinDuration)
	if !f.json && isTerminal(stdout) {
		opts.Progress, opts.Bar = stdout, true
	}
	s, runErr := loadtest.Run(ctx, opts)
	stopErr := stop()
	if runErr != nil {
		return errors.Join(runErr, stopErr)
	}
	if stopErr != nil {
		log.Warn("shutdown after the load test", "error", stopErr)
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return err
		}
	} else {
		if err := s.WriteText(stdout); err != nil {
			return err
		}
		if f.target == "sim" && !f.operators && !f.busy {
			fmt.Fprintln(stdout, "                  (no simulated operators: each caller put through hung up in the queue at once; --operators adds them)")
		}
	}
	if s.Errors > 0 || s.Lost > 0 || s.Dropped > 0 {
		return ErrLoadTestFailed
	}
	return nil
}

// startARITarget runs the IVR and the blocklist worker against the chosen
// Asterisk node and returns options that originate calls there.
func startARITarget(ctx context.Context, cfg configs.Config, log *slog.Logger, f loadtestFlags) (loadtest.Options, func() error, error) {
	i, err := pickNode(cfg.ARI.Nodes, f.node)
	if err != nil {
		return loadtest.Options{}, nil, err
	}
	// Warnings are for what runs: the private NATS, no HTTP listener and
	// only the chosen node.
	skip := []string{"http."}
	for j := range cfg.ARI.Nodes {
		if j != i {
			skip = append(skip, fmt.Sprintf("ari.nodes[%d].", j))
		}
	}
	warnSettings(log, cfg, skip...)
	node := cfg.ARI.Nodes[i]
	cfg.ARI.Nodes = []configs.ARINode{node}
	if cfg.Callback.On() {
		// The load tool's numbers are made up, but a trunk behind
		// callback.endpoint would dial them all the same: real phones
		// of strangers. So a run on a real Asterisk places none unless
		// asked to.
		if f.callbacks {
			log.Warn("call-backs are on (--callbacks): callers of this run who hang up in the queue are called back through callback.endpoint at their made-up numbers, which the load tool cannot answer",
				"endpoint", cfg.Callback.Endpoint)
		} else {
			// No endpoint builds no placer at all: a supervisor's switch
			// in the bucket could turn a merely disabled one back on.
			cfg.Callback.Endpoint = ""
			log.Info("call-backs are off for this run: its numbers are made up and callback.endpoint would dial them (--callbacks keeps them on, for a test trunk)")
		}
	}
	probe := loadtest.NewProbe()
	srv, err := stack.New(ctx, stack.Options{
		Config: cfg, Log: log, Roles: stack.Roles{IVR: true, Blocklist: true}, Name: "siaga112-loadtest",
		WrapFlow: probe.WrapFlow, WrapPublisher: probe.WrapPublisher,
	})
	if err != nil {
		return loadtest.Options{}, nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(runCtx) }()
	stop := func() error { cancel(); return <-runErr }
	if err := probe.Watch(runCtx, srv.Bus()); err != nil {
		return loadtest.Options{}, nil, errors.Join(err, stop())
	}
	if err := waitConnected(ctx, srv); err != nil {
		return loadtest.Options{}, nil, errors.Join(err, stop())
	}
	target := loadtest.NewARITarget(node, probe, cfg.ARI.RequestTimeout, rand.Uint32())
	target.Vars = f.vars
	astCPU := loadtest.AsteriskCPU("/proc", node.URL, f.asteriskPID)
	o := loadtest.Options{
		Target: target, Probe: probe, Bus: srv.Bus(), ClockScale: 1,
		AsteriskCPU: &astCPU, CallsInAsterisk: target.CallsInAsterisk,
		IVRStats: srv.IVR().Stats, PublisherStats: srv.Publisher().Stats,
		Block: loadtest.BlockOn(srv), Strikes: loadtest.StrikesOn(srv),
	}
	if f.incident {
		o.Incident = loadtest.IncidentOn(srv, cfg, log)
	}
	return o, stop, nil
}

// ErrNode is returned when --node names no configured node.
var ErrNode = errors.New("no such node in ari.nodes")

// pickNode is the index in nodes of the node named name (the first when
// name is empty).
func pickNode(nodes []configs.ARINode, name string) (int, error) {
	if name == "" && len(nodes) > 0 {
		return 0, nil
	}
	for i, n := range nodes {
		if n.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrNode, name)
}

// connectWait bounds how long loadtest waits for the IVR to connect to a
// real Asterisk and for the blocklist cache.
const connectWait = 30 * time.Second

func waitConnected(ctx context.Context, srv *stack.Stack) error {
	ctx, cancel := context.WithTimeout(ctx, connectWait)
	defer cancel()
	select {
	case <-srv.Cache().Ready():
	case <-ctx.Done():
		return fmt.Errorf("blocklist cache not loaded: %w", ctx.Err())
	}
	for {
		h := srv.IVR().Health()
		if len(h) > 0 && h[0].Connected {
			return nil
		}
		select {
		case <-ctx.Done():
			if len(h) == 0 {
				return fmt.Errorf("IVR has no node: %w", ctx.Err())
			}
			return fmt.Errorf("IVR not connected to Asterisk node %s (%s): %w", h[0].Name, h[0].LastError, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// soakRate is --rate's default with --soak: a busy centre's steady load.
const soakRate = 10.0

// soakProfileRate is the heap profile's sampling rate with --soak-profiles.
const soakProfileRate = 64 << 10

// ErrSoakTarget is returned for --soak with a target other than the sim.
var ErrSoakTarget = errors.New("--soak runs against the simulated Asterisk only (--target sim)")

// runSoak is loadtest --soak: the sim target, calls at the soak's rate
// and clock scale unless given, and the soak's verdict.
func runSoak(ctx context.Context, stdout io.Writer, cfg configs.Config, log *slog.Logger, f loadtestFlags) error {
	if f.target != "sim" {
		return ErrSoakTarget
	}
	mix, err := loadtest.ParseMix(f.mix)
	if err != nil {
		return err
	}
	cleanup, err := privateNATS(&cfg, "siaga112-soak-")
	if err != nil {
		return err
	}
	defer cleanup()
	scale, rate := 1.0, soakRate
	if f.scaleChanged {
		scale = f.scale
	}
	if f.rateChanged {
		rate = f.rate
	}
	if f.profiles != "" {
		// Finer heap samples than the default one per 512 KiB, so that
		// two profiles minutes apart show small steady growth.
		runtime.MemProfileRate = soakProfileRate
	}
	warnSettings(log, cfg, "ari.nodes", "http.")
	// Every worker runs, as on a node of a real centre: what grows with
	// the calls served may be in any of them.
	env, err := loadtest.StartSim(ctx, loadtest.SimOptions{
		Config: cfg, ClockScale: scale, SoundsDir: soundsDir(f.sounds, cfg.IVR.Language), Log: log, Name: "siaga112-soak",
		OperatorsBusy: f.busy, NoOperators: !f.operators && !f.busy, Roles: stack.Roles{IVR: true, Blocklist: true, Reports: true},
	})
	if err != nil {
		return err
	}
	env.Target.DropRecordings = true
	opts := env.Options()
	opts.Mix, opts.Concurrency, opts.Rate, opts.PranksterPool, opts.CallTimeout = mix, f.concurrency, rate, f.pranksters, f.timeout
	opts.RunID = rand.Uint32()
	opts.Targets = loadtest.DefaultTargets()
	opts.Targets.TalkerToQueueP95 = loadtest.TalkerTarget(cfg.IVR.TalkMinDuration)
	so := loadtest.SoakOptions{
		Duration: f.soak, Sample: f.sample, Warmup: f.warmup, ProfileDir: f.profiles, Extra: env.Counts,
	}
	if !f.json {
		so.Lines = stdout
		fmt.Fprintf(stdout, "soak: %s at %g calls/s, clock scale %g, mix %s, a sample every %s\n",
			f.soak, rate, scale, mix, so.Sample)
	}
	rep, runErr := loadtest.Soak(ctx, opts, so)
	stopErr := env.Stop()
	if runErr != nil {
		return errors.Join(runErr, stopErr)
	}
	if stopErr != nil {
		log.Warn("shutdown after the soak", "error", stopErr)
	}
	if !f.json {
		if err := rep.Summary.WriteText(stdout); err != nil {
			return err
		}
		if err := rep.Verdict.WriteText(stdout); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	s := rep.Summary
	if s.Errors > 0 || s.Lost > 0 || s.Dropped > 0 {
		return ErrLoadTestFailed
	}
	if !rep.Verdict.OK {
		return fmt.Errorf("%w: %s", loadtest.ErrSoakGrew, rep.Verdict.Message)
	}
	return nil
}
