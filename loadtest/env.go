package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/internal/stack"
)

// startTimeout bounds how long StartSim waits for the IVR to connect and
// the blocklist cache to load.
const startTimeout = 30 * time.Second

// ScaleTimers multiplies the IVR's own wall-clock timers (key timeouts,
// talk minimum) and the blocklist's "abandoned within" by scale, so that
// calls keep their shape when the simulated Asterisk runs its media at
// ClockScale. Recording limits are not scaled: they are passed to
// Asterisk, whose (simulated) clock is already scaled.
func ScaleTimers(cfg *configs.Config, scale float64) {
	if scale <= 0 || scale == 1 {
		return
	}
	// A scaled timer never falls below a floor of real time: at scale
	// 0.01 the 3 s inter-digit timeout would be 30 ms, which a loaded CPU
	// under -race can miss between the two keys of 5 5 (seen once in CI:
	// a silent-help caller ended invalid). Callers' own waits stay scaled,
	// so a floor only makes the IVR more patient than the script needs.
	floor := func(min time.Duration) func(*time.Duration) {
		return func(d *time.Duration) { *d = max(min, time.Duration(float64(*d)*scale)) }
	}
	s, keys := floor(100*time.Millisecond), floor(250*time.Millisecond)
	iv := &cfg.IVR
	s(&iv.FirstDigitTimeout)
	keys(&iv.InterDigitTimeout)
	s(&iv.TalkMinDuration)
	s(&iv.SilentHelpTimeout)
	s(&iv.BlockedOverrideTimeout)
	s(&cfg.Blocklist.AbandonedWithin)
}

// SimOptions configure an in-process siaga112 against a simulated Asterisk.
type SimOptions struct {
	// Config is the configuration; its ari.nodes are replaced by the sim
	// and its timers scaled by ClockScale. Set the NATS data and spool
	// directories (or nats.url) before.
	Config configs.Config
	// Roles default to IVR and Blocklist (the pranksters get blocked).
	Roles stack.Roles
	// ClockScale of the sim's media (default 1, real time).
	ClockScale float64
	// SoundsDir holds the prompts (asterisk-conf/sounds/<lang>); empty
	// makes every prompt DefaultPlayback long.
	SoundsDir string
	// DefaultPlayback is the length of a prompt without SoundsDir (default 3 s).
	DefaultPlayback time.Duration
	// Listener is passed to the stack for HTTP.
	Listener net.Listener
	// Log receives the components' logs; nil discards them.
	Log *slog.Logger
	// Name is the NATS connection name.
	Name string
	// Probe, when set, is used instead of a new one, so that several IVRs
	// (each with its own sim) can be measured as one.
	Probe *Probe
	// OperatorsBusy makes every simulated operator busy on another call
	// for the whole run, so nobody answers and the callers put through
	// hang up in the queue, and makes the sim report no free operator in
	// any menu entry's queue, so the IVR asks callers for their location;
	// by default each queue reports SimFreeOperators free.
	OperatorsBusy bool
	// NoOperators leaves the sim's queues without operators: a caller put
	// through hangs up as soon as it is in the queue, so a run measures the
	// IVR (answer, keys, time to the queue) and not the operators' pace,
	// and a high rate is not held back by callers waiting for two people.
	// The location question still follows OperatorsBusy.
	NoOperators bool
}

// SimFreeOperators is how many operators the sim reports free in each
// menu entry's queue (QUEUE_MEMBER(<queue>,free)) unless
// SimOptions.OperatorsBusy, whatever its simulated operators are doing:
// the figure decides whether the location question is asked, and a
// caller's script must know that in advance (it answers the question only
// when it is asked), so it stays the same for the whole run.
const SimFreeOperators = 1

// The simulated operators' queues follow asterisk-conf: queues.conf's
// timeout (a ring attempt) and retry, and extensions.conf's 60 s in a
// type's queue before the caller moves on to the general one. Not its
// 5 s wrapuptime: during a member's wrap-up the sim schedules a wake-up
// for every waiting caller each time it looks for a free member, so a long
// queue costs it the square of its length (a default load test, with some
// 370 callers waiting for two operators, took 1 GB of heap and answered
// calls 5 s late; without wrap-up, 42 MiB and 11 ms at p99).
const (
	SimRingTimeout      = 20 * time.Second
	SimRetry            = 2 * time.Second
	SimTypeQueueTimeout = 60 * time.Second
	// SimGeneralQueue is the general operators' queue (extension
	// operator), where the type queues overflow.
	SimGeneralQueue = "siaga112-operator"
)

// SimAnswerAfter is how long each simulated operator's phone rings before
// they answer, by the order in which the menu first names their device:
// a few seconds, as a person at a desk takes.
var SimAnswerAfter = []time.Duration{3 * time.Second, 5 * time.Second, 4 * time.Second, 6 * time.Second}

// simQueues defines on the sim the queue of every menu entry with members
// (ivr.menu[].members): one operator per device, a device in several
// queues being one person who takes one call at a time, as with
// queues.conf's PJSIP/op201 in the fire, police and general queues. The
// operator stays on the line until the caller hangs up (the caller's
// Talk). With busy, every operator is on another call for the whole run.
// A menu without members leaves the sim without queues, as before they
// were simulated: a caller put through then ends its script and hangs up.
func simQueues(sim *arisim.Server, menu []configs.MenuEntry, busy, operators bool) {
	free := SimFreeOperators
	if busy {
		free = 0
	}
	answerAfter := map[string]time.Duration{}
	queues := map[string][]string{}
	var order []string
	for _, m := range menu {
		if m.Queue == "" {
			continue
		}
		sim.SetQueueFree(m.Queue, free)
		if _, seen := queues[m.Queue]; !seen {
			order = append(order, m.Queue)
		}
		for _, d := range m.Members {
			if _, ok := answerAfter[d]; !ok {
				answerAfter[d] = SimAnswerAfter[len(answerAfter)%len(SimAnswerAfter)]
			}
			if !slices.Contains(queues[m.Queue], d) {
				queues[m.Queue] = append(queues[m.Queue], d)
			}
		}
	}
	if len(answerAfter) == 0 || !operators {
		return
	}
	_, general := queues[SimGeneralQueue]
	for _, name := range order {
		q := arisim.Queue{RingTimeout: SimRingTimeout, Retry: SimRetry}
		for _, d := range queues[name] {
			q.Members = append(q.Members, arisim.Operator{Device: d, AnswerAfter: answerAfter[d]})
		}
		if general && name != SimGeneralQueue {
			q.Timeout, q.Overflow = SimTypeQueueTimeout, SimGeneralQueue
		}
		sim.SetQueue(name, q)
	}
	if busy {
		for d := range answerAfter {
			sim.SetDeviceState(d, arisim.DeviceInUse)
		}
	}
}

// blockLength is how long Block blocks the blocked callers' numbers: far
// longer than any run.
const blockLength = 24 * time.Hour

// SimEnv is siaga112 running in this process against a simulated Asterisk,
// with a probe on its flow, publisher and stream.
type SimEnv struct {
	Sim    *arisim.Server
	Stack  *stack.Stack
	Probe  *Probe
	Target *SimTarget
	Config configs.Config
	scale  float64
	busy   bool
	log    *slog.Logger

	cancel context.CancelFunc
	runErr chan error
}

// StartSim starts the sim and the stack and waits until the IVR is
// connected, the blocklist cache loaded and the probe watching.
func StartSim(ctx context.Context, o SimOptions) (_ *SimEnv, err error) {
	if o.ClockScale <= 0 {
		o.ClockScale = 1
	}
	if o.DefaultPlayback <= 0 {
		o.DefaultPlayback = 3 * time.Second
	}
	if o.Roles == (stack.Roles{}) {
		o.Roles = stack.Roles{IVR: true, Blocklist: true}
	}
	o.Roles.IVR = true
	cfg := o.Config
	ScaleTimers(&cfg, o.ClockScale)
	secret := make([]byte, 12)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	pass := hex.EncodeToString(secret)

	sim := arisim.New(arisim.Options{
		Username: "siaga112", Password: pass, Application: cfg.ARI.Application,
		SoundsDir: o.SoundsDir, DefaultPlayback: o.DefaultPlayback, ClockScale: o.ClockScale,
		// Each call leaves its whole-call recording, as the sample
		// dialplan's MixMonitor does, so the console can play it.
		MixMonitor: cfg.IVR.CallRecordingPrefix, Logger: o.Log,
	})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("loadtest: start simulated asterisk: %w", err)
	}
	simQueues(sim, cfg.IVR.Menu, o.OperatorsBusy, !o.NoOperators)
	cfg.ARI.Nodes = []configs.ARINode{{
		Name: "sim-1", URL: sim.URL(), WSURL: sim.WSURL(), Username: "siaga112", Password: pass,
	}}
	probe := o.Probe
	if probe == nil {
		probe = NewProbe()
	}
	target := NewSimTarget(sim)
	target.user, target.pass, target.mixMonitor = "siaga112", pass, cfg.IVR.CallRecordingPrefix
	target.ClockScale = o.ClockScale
	target.callback, target.country = cfg.Callback, cfg.Blocklist.DefaultCountry
	e := &SimEnv{Sim: sim, Probe: probe, Target: target, Config: cfg, scale: o.ClockScale, busy: o.OperatorsBusy, log: o.Log, runErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			_ = sim.Close()
		}
	}()
	e.Stack, err = stack.New(ctx, stack.Options{
		Config: cfg, Log: o.Log, Roles: o.Roles, Name: o.Name, Listener: o.Listener,
		WrapFlow: e.Probe.WrapFlow, WrapPublisher: e.Probe.WrapPublisher,
	})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	go func() { e.runErr <- e.Stack.Run(runCtx) }()
	defer func() {
		if err != nil {
			cancel()
			<-e.runErr
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, startTimeout)
	defer wcancel()
	if err := e.Probe.Watch(runCtx, e.Stack.Bus()); err != nil {
		return nil, err
	}
	if err := waitReady(wctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// ErrNotReady is returned by StartSim when the IVR did not connect to the
// sim or the blocklist cache did not load in time.
var ErrNotReady = errors.New("loadtest: siaga112 not ready")

func waitReady(ctx context.Context, e *SimEnv) error {
	select {
	case <-e.Stack.Cache().Ready():
	case <-ctx.Done():
		return fmt.Errorf("%w: blocklist cache not loaded: %w", ErrNotReady, ctx.Err())
	case err := <-e.runErr:
		e.runErr <- err
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	for {
		all := true
		for _, n := range e.Stack.IVR().Health() {
			all = all && n.Connected
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: IVR not connected to the simulated Asterisk: %w", ErrNotReady, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Options returns run options wired to this environment: the sim as
// target, the probe, the stream for the audit, the IVR's and publisher's
// counters, the operators' state and the blocklist. A surge run also sets
// Options.Incident to StartIncident.
func (e *SimEnv) Options() Options {
	return Options{
		Target: e.Target, Probe: e.Probe, Bus: e.Stack.Bus(), ClockScale: e.scale,
		IVRStats: e.Stack.IVR().Stats, PublisherStats: e.Stack.Publisher().Stats,
		OperatorsBusy: e.busy, Block: e.Block, Strikes: StrikesOn(e.Stack),
		Droppers: e.Droppers, CallbackWait: callbackWait(e.Config.Callback),
	}
}

// callbackWaitMargin is what callbackWait allows, beyond callback.delay
// and one attempt's ringing, for the IVR to see the drop, the placer's
// scan, a free operator and the prompt: a minute, plenty at any clock
// scale the load tool uses.
const callbackWaitMargin = time.Minute

// callbackWait is Options.CallbackWait for the call-back settings: 0 when
// call-backs are off (no endpoint), so a run does not wait for any.
func callbackWait(cb configs.Callback) time.Duration {
	if !cb.On() {
		return 0
	}
	return cb.Delay + cb.RingTimeout + callbackWaitMargin
}

// ErrNoDropperQueue is returned by Droppers when the menu has no entry of
// DropperType with a queue.
var ErrNoDropperQueue = errors.New("loadtest: the menu has no queue for the dropped callers' type")

// Droppers has the sim report no free operator in DropperType's queue for
// the rest of its life, so that the IVR asks the dropped callers where
// they are, and they hang up then, before the hand-off (see DropperType);
// set as Options.Droppers. SimTarget sets each one's phone up as it places
// the call. The queue's own operators still take the calls put through to
// it and answer call-backs: only the figure the IVR reads changes.
func (e *SimEnv) Droppers(context.Context) error {
	for _, m := range e.Config.IVR.Menu {
		if m.Type == DropperType && m.Queue != "" {
			e.Sim.SetQueueFree(m.Queue, 0)
			return nil
		}
	}
	return fmt.Errorf("%w (%s)", ErrNoDropperQueue, DropperType)
}

// ErrNoBlocklist is returned by Block and Strikes when the stack runs no
// blocklist worker (Roles without Blocklist).
var ErrNoBlocklist = errors.New("loadtest: no blocklist store in this stack")

// Block blocks numbers in the blocklist store, as an admin would, and
// waits until the IVR's cache holds every block (BlockOn).
func (e *SimEnv) Block(ctx context.Context, numbers []string) error {
	return BlockOn(e.Stack)(ctx, numbers)
}

// StartIncident starts an incident announcement of the first prepared
// prompt and waits until it is seen active (IncidentOn): set it as
// Options.Incident for a surge run.
func (e *SimEnv) StartIncident(ctx context.Context) (incident.Incident, error) {
	return IncidentOn(e.Stack, e.Config, e.log)(ctx)
}

// Stop shuts the stack down in order (the IVR drains, the spool is
// flushed) and closes the sim. It returns the stack's error.
func (e *SimEnv) Stop() error {
	e.cancel()
	err := <-e.runErr
	e.runErr <- err // Stop may be called again
	return errors.Join(err, e.Sim.Close())
}

// Counts are the sim's own per-call stores, for a soak's samples: its
// channels (the calls in progress on the sim's side) and its stored
// recordings (the whole-call and location recordings it keeps, as a real
// Asterisk keeps files on disk).
func (e *SimEnv) Counts() map[string]int {
	c := map[string]int{"sim_channels": e.Sim.ActiveChannels(), "sim_recordings": e.Target.StoredRecordings()}
	if n, ok := e.blocklistRecords(); ok {
		c["blocklist_records"] = n
	}
	return c
}

// blocklistRecords is how many records the blocklist bucket holds (the
// worker's sweep keeps it to the numbers struck within the window and
// those ever blocked), when the stack's NATS answers within a second.
func (e *SimEnv) blocklistRecords() (int, bool) {
	if e.Stack == nil || e.Stack.Bus() == nil || e.Stack.Bus().JS == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	kv, err := e.Stack.Bus().JS.KeyValue(ctx, blocklist.Bucket)
	if err != nil {
		return 0, false
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, false
	}
	return int(st.Values()), true
}
