package loadtest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// Defaults of Options.
const (
	DefaultCallTimeout   = 10 * time.Minute
	DefaultSettleTimeout = 30 * time.Second
	DefaultPranksterPool = 3
	// maxErrorSamples is how many error messages a summary keeps.
	maxErrorSamples = 10
	// maxKeptLatencies bounds each list of latencies of a run with Forget
	// (a demo or a soak, which run for hours): once full, the older half
	// is dropped, so the figures describe the latest 2,048 to 4,096 calls
	// of each list. At 10 calls/s the list of answers is full within
	// seven minutes, inside a soak's warm-up; with 20,000 the lists still
	// grew by 0.3 MB between minutes 10 and 29 of a soak.
	maxKeptLatencies = 4096
)

// Options configure a run.
type Options struct {
	// Target places the calls.
	Target Target
	// Probe must wrap the IVR's flow and publisher and Watch the stream
	// before Run.
	Probe *Probe
	// Bus is used for the final audit of the stream.
	Bus *events.Bus
	// Mix of callers (default DefaultMix).
	Mix Mix
	// Calls is how many calls to place; 0 means until Duration or ctx.
	Calls int
	// Duration bounds the placing of calls; 0 means no bound.
	Duration time.Duration
	// Concurrency caps the calls in progress (default 100).
	Concurrency int
	// Rate is new calls per second (default 50).
	Rate float64
	// PranksterPool is how many numbers the pranksters call from (default 3).
	PranksterPool int
	// CallTimeout bounds each call (default 10 min).
	CallTimeout time.Duration
	// SettleTimeout bounds the wait for the last calls' events to be stored
	// (default 30 s).
	SettleTimeout time.Duration
	// RunID keeps numbers and channel ids of successive runs apart.
	RunID uint32
	// ClockScale is reported in the summary (the caller sets the sim's).
	ClockScale float64
	// IVRStats, when set, is sampled for live sessions and checked at the
	// end for events dropped inside the IVR.
	IVRStats func() ari.Stats
	// PublisherStats, when set, adds spooled and dropped events.
	PublisherStats func() events.PublisherStats
	// Progress, when set, receives a progress line every ProgressEvery.
	Progress io.Writer
	// ProgressEvery is the progress period (default 250 ms).
	ProgressEvery time.Duration
	// Bar draws a bar that rewrites itself (for a terminal); otherwise
	// each progress line is a new line.
	Bar bool
	// Targets judge the summary (default DefaultTargets).
	Targets Targets
	// OperatorsBusy says that no operator of any queue is free on the
	// target (the sim's QUEUE_MEMBER answers 0): callers who choose a type
	// are then asked for the location, and their scripts answer it. The
	// caller of Run sets the target up to match (SimOptions.OperatorsBusy).
	OperatorsBusy bool
	// Block, when set, blocks the given numbers on the target's blocklist
	// and returns once the IVR sees them blocked. Run calls it with
	// BlockedNumbers before the first call when the mix has blocked kinds,
	// and refuses such a mix without it.
	Block func(ctx context.Context, numbers []string) error
	// Forget makes the runner drop each call's records once counted, so a
	// demo can run for hours; the summary then has no per-call audit.
	Forget bool
	// Drain, when set, is called once when placing ends (Calls, Duration
	// or ctx) with calls still in progress, and must end them in bounded
	// time and then return: the demo stops the IVR, whose drain lets the
	// calls finish within ivr.drain_timeout and puts the rest through to
	// operators. Those calls end with outcome failover, counted in
	// Summary.PutThrough rather than as errors. Without Drain, Run waits
	// for each call for up to CallTimeout.
	Drain func(ctx context.Context, inProgress int) error
	// Incident, when set, starts an incident announcement on the target
	// and returns it once the IVR sees it (IncidentOn): surge mode. Run
	// calls it before the first call, checks that every call's flow
	// started with it on, and reports Summary.Incident. A mix with
	// incident callers needs it.
	Incident func(ctx context.Context) (incident.Incident, error)
	// Strikes, when set, returns each number's blocklist strikes once the
	// blocklist worker has handled every stored event (StrikesOn). Run
	// checks with it that no incident caller was struck; without it that
	// check is reported as not made.
	Strikes func(ctx context.Context, numbers []string) (map[string]int, error)

	// Droppers, when set, makes the target report no operator free in
	// the queue of DropperType, so that the IVR asks the dropped callers
	// (KindDropper) where they are and they can hang up before the
	// hand-off, and sets their phones up to answer the call-back. Run
	// calls it before the first call when the mix has dropped callers, and
	// refuses such a mix without it. Callers of that type are then asked
	// the location too, and answer it.
	Droppers func(ctx context.Context) error
	// CallbackWait, when above 0, is how long Run waits, once the last
	// call ended, for the dropped callers' call-backs to settle
	// (Probe.CallbackSettled: over, or put through and ended); a run with
	// Drain does not wait, as its IVR has stopped and places none. Each
	// one that does not settle within it is an error.
	// SimEnv.Options sets it when call-backs are on.
	CallbackWait time.Duration

	// AsteriskCPU, when set, is the Asterisk process whose CPU the
	// summary reports per live call (Summary.AsteriskCPU); one that cannot
	// be read is reported as not measured, with its reason.
	AsteriskCPU *CPUSource
	// CallsInAsterisk, when set with AsteriskCPU, counts the run's calls
	// the target still carries (ARITarget.CallsInAsterisk); sampled every
	// asteriskCallsEvery, it gives the Asterisk CPU per call it carried,
	// which outlive the load tool's live calls on the operators' side.
	CallsInAsterisk func(ctx context.Context) (int, error)

	// watch, when set (Soak), runs alongside the calls with the run's
	// state until the placing and waiting is over.
	watch func(ctx context.Context, st *runState)
}

// runState is what the runner counts while calls go on; guarded by mu.
type runState struct {
	mu       sync.Mutex
	placed   int
	finished int
	live     int
	placing  time.Duration // how long placing lasted, once it is over
	draining bool          // Drain was called: failover means put through by the drain
	drained  int           // calls put through by the drain
	peakLive int
	peakIVR  int
	outcomes map[events.Outcome]int
	byKind   map[Kind]int
	// answers, keys and the queue samples below gain one entry per call;
	// with Options.Forget each holds at most maxKeptLatencies (keepLatency).
	answers []time.Duration
	keys    []time.Duration
	// queue and queueLoc are the times to the operators' queue by kind,
	// without and with the location question.
	queue    map[Kind]*queueSamples
	queueLoc map[Kind]*queueSamples
	// person are the times to a person by kind (call.operator_answered's
	// seconds_to_person, in callers' time); abandoned counts the callers
	// of each kind who hung up in the operators' queue, and where the
	// calls by call.ended's where.
	person    map[Kind][]time.Duration
	abandoned map[Kind]int
	where     map[string]int
	// ivrStopped is closed once Options.Drain returned: the IVR no longer
	// follows the calls it handed to the operators, and letGo counts those
	// it let go before they ended (no call.ended comes for them).
	ivrStopped chan struct{}
	letGo      int
	errors     int
	samples    []string
	// ids holds every call placed, for the final audit; with Options.Forget
	// a call leaves it once counted.
	ids      map[string]bool
	inFlight map[string]Call // calls placed and not yet counted
	mem      memSampler
	// liveSum and liveSamples give the mean number of live calls over the
	// run, for the CPU per live call.
	liveSum     int
	liveSamples int
	// inAsteriskSum and inAsteriskSamples give the mean number of calls
	// the target carried (Options.CallsInAsterisk); inAsteriskErr is the
	// last failed count.
	inAsteriskSum     int
	inAsteriskSamples int
	inAsteriskErr     error

	// droppers are the dropped callers placed, by call id, and
	// droppersPlaced how many; a run that waits for their call-backs
	// (Options.CallbackWait) keeps each with the probe's channel.
	droppers       map[string]dropper
	droppersPlaced int

	// incident is the announcement of a surge run ("" otherwise);
	// incidentNumbers the incident callers' numbers, for the strike check.
	incident        string
	incidentNumbers []string
	// afterStop counts the calls that started after the announcement was
	// stopped, and noOffer holds the numbers of the incident callers among
	// them, who heard no offer to press the key for.
	afterStop int
	noOffer   map[string]bool
	// incidentEnded is Probe.IncidentEnded: whether the stream said an
	// announcement ended.
	incidentEnded func(id string) bool
	// reached counts the calls put through to operators (Continue into
	// their context, or a failover); others the calls of every kind but
	// the incident callers, and othersHeard those of them whose
	// call.classified says they heard the announcement.
	reached, others, othersHeard int
}

func (st *runState) fail(format string, a ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.failLocked(format, a...)
}

func (st *runState) failLocked(format string, a ...any) {
	st.errors++
	if len(st.samples) < maxErrorSamples {
		st.samples = append(st.samples, fmt.Sprintf(format, a...))
	}
}

// Run places the calls, waits for them and for their events, audits the
// stream and returns the summary. It returns an error only when the run
// could not be made at all; problems with calls are counted in the summary.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Target == nil || o.Probe == nil {
		return nil, fmt.Errorf("loadtest: Target and Probe are required")
	}
	if o.Mix == nil {
		o.Mix = DefaultMix()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 100
	}
	if o.Rate <= 0 {
		o.Rate = 50
	}
	if o.PranksterPool <= 0 {
		o.PranksterPool = DefaultPranksterPool
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = DefaultSettleTimeout
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 250 * time.Millisecond
	}
	if o.Targets == (Targets{}) {
		o.Targets = DefaultTargets()
	}
	onARI := o.Target.Name() == "ari"
	if o.Mix.hasIncident() && o.Incident == nil {
		return nil, fmt.Errorf("loadtest: %w: %s callers, and no incident announcement to call about", ErrBadMix, KindIncidentCaller)
	}
	if o.Mix.hasDroppers() {
		if o.Droppers == nil {
			return nil, fmt.Errorf("loadtest: %w: %s callers, and the target can neither ask them the location nor answer their call-backs", ErrBadMix, KindDropper)
		}
		if err := o.Droppers(ctx); err != nil {
			return nil, fmt.Errorf("loadtest: set the dropped callers up: %w", err)
		}
	}
	if o.Forget {
		o.Probe.boundCallbacks()
	}
	if o.Mix.hasBlocked() {
		// Blocked callers need numbers that are blocked before they call,
		// not after a prankster's strikes some time into the run.
		if o.Block == nil {
			return nil, fmt.Errorf("loadtest: %w: blocked kinds, and the target cannot block numbers", ErrBadMix)
		}
		if err := o.Block(ctx, BlockedNumbers()); err != nil {
			return nil, fmt.Errorf("loadtest: block the blocked callers' numbers: %w", err)
		}
	}
	var inc incident.Incident
	if o.Incident != nil {
		var err error
		if inc, err = o.Incident(ctx); err != nil {
			return nil, fmt.Errorf("loadtest: start the incident announcement: %w", err)
		}
	}
	st := &runState{
		outcomes: make(map[events.Outcome]int), byKind: make(map[Kind]int),
		ids: make(map[string]bool), inFlight: make(map[string]Call),
		queue: make(map[Kind]*queueSamples), queueLoc: make(map[Kind]*queueSamples),
		person: make(map[Kind][]time.Duration), abandoned: make(map[Kind]int), where: make(map[string]int),
		ivrStopped: make(chan struct{}), incident: inc.ID, noOffer: make(map[string]bool), incidentEnded: o.Probe.IncidentEnded, droppers: make(map[string]dropper),
	}
	st.mem.start()
	// CPU is read from here to the end of the last call, as the live
	// calls are sampled.
	selfCPU := startCPU(SelfCPU())
	var astCPU *cpuMeter
	if o.AsteriskCPU != nil {
		astCPU = startCPU(*o.AsteriskCPU)
	}

	// Samplers and progress stop when the placing and waiting is over.
	sctx, stopSampling := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { sample(sctx, o, st) })
	if o.watch != nil {
		bg.Go(func() { o.watch(sctx, st) })
	}
	if astCPU != nil && astCPU.src.Dir != "" && o.CallsInAsterisk != nil {
		bg.Go(func() { sampleInAsterisk(sctx, o, st) })
	}
	if o.Progress != nil {
		bg.Go(func() { progress(sctx, o, st) })
	}

	start := time.Now()
	gen := newCallers(o.Mix, o.PranksterPool, o.RunID, o.OperatorsBusy)
	if o.Mix.hasDroppers() {
		gen.busyTypes = map[string]bool{DropperType: true}
	}
	slots := make(chan struct{}, o.Concurrency)
	interval := time.Duration(float64(time.Second) / o.Rate)
	tick := time.NewTicker(interval)
	var deadline <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		deadline = t.C
	}
	var calls sync.WaitGroup
	// A target whose Place waits on the network has each call placed in
	// its own goroutine (never with a Drain, which counts the calls in
	// progress when placing ends).
	cp, ok := o.Target.(concurrentPlacer)
	async := ok && cp.PlacesConcurrently() && o.Drain == nil
place:
	for o.Calls == 0 || st.placed < o.Calls {
		select {
		case <-ctx.Done():
			break place
		case <-deadline:
			break place
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break place
		case <-deadline:
			break place
		}
		c := gen.next()
		st.mu.Lock()
		st.placed++
		st.byKind[c.Kind]++
		st.mu.Unlock()
		if async {
			calls.Go(func() {
				defer func() { <-slots }()
				if call, ok := place(ctx, o, st, c); ok {
					follow(o, st, c, call, onARI)
				}
			})
			continue
		}
		call, ok := place(ctx, o, st, c)
		if !ok {
			<-slots
			continue
		}
		calls.Go(func() {
			defer func() { <-slots }()
			follow(o, st, c, call, onARI)
		})
	}
	tick.Stop()
	placing := time.Since(start)
	st.mu.Lock()
	st.placing = placing
	live := st.live
	st.draining = o.Drain != nil && live > 0
	st.mu.Unlock()
	if o.Drain != nil && live > 0 {
		waitReached(o, st)
		if err := o.Drain(context.WithoutCancel(ctx), live); err != nil {
			st.fail("drain: %v", err)
		}
		close(st.ivrStopped)
		// The callers the drain put through are with the operators now;
		// their part in the run is over.
		st.mu.Lock()
		left := slices.Collect(maps.Values(st.inFlight))
		st.mu.Unlock()
		for _, c := range left {
			c.Hangup()
		}
	}
	calls.Wait()
	if o.CallbackWait > 0 && o.Drain == nil {
		waitCallbacks(o, st)
	}
	stopSampling()
	bg.Wait()
	elapsed := time.Since(start)

	s := &Summary{
		Target: o.Target.Name(), Mix: o.Mix.String(), ClockScale: o.ClockScale,
		Concurrency: o.Concurrency, Rate: o.Rate, CPUs: runtime.NumCPU(), Targets: o.Targets,
		AnswerAt:      "IVR (flow start -> Answer returned)",
		OperatorsBusy: o.OperatorsBusy,
		TimeToQueueMeasured: "callers' time (wall time / clock scale), from the answer as the IVR saw it " +
			"(Answer returned) to the IVR's Continue into the operators' context returned",
		TimeToPersonMeasured: timeToPersonMeasured,
	}
	if !onARI {
		s.AnswerAt = "sim (StasisStart sent -> answer request handled)"
		s.TimeToQueueMeasured = "callers' time (wall time / clock scale), from the answer as the caller heard it " +
			"(the sim handled the answer request) to the IVR's Continue into the operators' context returned"
	}
	st.mu.Lock()
	meanLive, meanInAsterisk := 0.0, 0.0
	if st.liveSamples > 0 {
		meanLive = float64(st.liveSum) / float64(st.liveSamples)
	}
	if st.inAsteriskSamples > 0 {
		meanInAsterisk = float64(st.inAsteriskSum) / float64(st.inAsteriskSamples)
	}
	inAsteriskErr := st.inAsteriskErr
	st.mu.Unlock()
	s.ProcessCPU = selfCPU.finish(meanLive)
	if astCPU != nil {
		s.AsteriskCPU = astCPU.finish(meanLive)
		s.AsteriskCPU.withInAsterisk(meanInAsterisk, inAsteriskErr)
	}
	// Each call waited for its own events; now check the stream as a whole.
	audit(ctx, o, st, s)
	struck := -1 // not checked
	if o.Incident != nil && o.Strikes != nil {
		struck = checkStrikes(ctx, o, st)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	s.Placed, s.Finished, s.PeakLive, s.PeakIVR = st.placed, st.finished, st.peakLive, st.peakIVR
	s.Outcomes, s.ByKind = st.outcomes, st.byKind
	s.Answer, s.Classified = Summarize(st.answers), Summarize(st.keys)
	s.TimeToQueue, s.TimeToQueueLocation = summarizeQueue(st.queue), summarizeQueue(st.queueLoc)
	s.PutThrough = st.drained
	s.TimeToPerson = make(map[Kind]Latency, len(st.person))
	for k, l := range st.person {
		s.TimeToPerson[k] = Summarize(l)
	}
	s.QueueAbandoned, s.EndedWhere, s.LetGo = st.abandoned, st.where, st.letGo
	if o.Incident != nil {
		s.Incident = incidentSummary(inc, st, struck)
		s.Incident.OthersTimeToQueue = s.TimeToQueue
	}
	// Calls are placed at the rate asked for only while placing goes on;
	// they finish over the whole run, which lasts until the last call
	// ended. Each rate is taken over its own span.
	s.Placing, s.Elapsed = placing.Seconds(), elapsed.Seconds()
	if s.Placing > 0 {
		s.PlacedPerSec = float64(s.Placed) / s.Placing
	}
	if s.Elapsed > 0 {
		s.FinishedPerSec = float64(s.Finished) / s.Elapsed
		s.EventsPerSec = float64(s.Events) / s.Elapsed
	}
	if o.PublisherStats != nil {
		ps := o.PublisherStats()
		s.Spooled, s.Dropped = ps.Spooled, ps.Dropped
	}
	if o.IVRStats != nil {
		ev := o.IVRStats().Events
		if ev.InboxFull > 0 || ev.Unrouted > 0 || ev.Undecodable > 0 {
			st.failLocked("IVR dropped ARI events: inbox full %d, unrouted %d, undecodable %d", ev.InboxFull, ev.Unrouted, ev.Undecodable)
		}
	}
	if c := o.Probe.Counts(); c.PublishErrors > 0 {
		st.failLocked("%d events lost at publish (last: %s)", c.PublishErrors, c.LastError)
	}
	s.PeakHeap, s.PeakRSS, s.HeapPerCall = st.mem.peakHeap, peakRSS(), st.mem.perCall()
	if t, ok := o.Target.(interface{ LateOriginates() int }); ok {
		s.LateOriginates = t.LateOriginates()
	}
	cb := o.Probe.Callbacks()
	if cb.Scheduled > 0 || st.droppersPlaced > 0 {
		cb.Droppers, cb.Pending = st.droppersPlaced, len(st.droppers)
		s.Callbacks = &cb
	}
	s.Errors, s.ErrorSamples = st.errors, st.samples
	s.judge()
	return s, nil
}
