package callback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// cluster is a scheduler and several placers over one real store, as
// several IVR instances run them.
type cluster struct {
	t       *testing.T
	st      *events.CallbackStore
	rec     *recorder
	sched   *Scheduler
	placers []*Placer
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

func newCluster(t *testing.T, placers int, d Dialer, mutate func(*PlacerOptions)) *cluster {
	t.Helper()
	c := &cluster{t: t, st: startStore(t), rec: &recorder{t: t}}
	cfg := testConfig()
	c.sched = NewScheduler(SchedulerOptions{Config: cfg, Store: c.st, Publisher: c.rec, Node: "sched"})
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i := range placers {
		o := PlacerOptions{Config: cfg, Store: c.st, Publisher: c.rec, Dialer: d, Country: "62", Name: fmt.Sprintf("ivr%d", i+1)}
		if mutate != nil {
			mutate(&o)
		}
		p := NewPlacer(o)
		c.placers = append(c.placers, p)
		c.done.Go(func() {
			if err := p.Run(ctx); err != nil {
				t.Errorf("placer: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

func (c *cluster) stop() {
	c.cancel()
	c.done.Wait()
}

func (c *cluster) handle(e events.Envelope) {
	c.t.Helper()
	if err := c.sched.Handle(context.Background(), e, events.Meta{}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) attempts() []events.CallbackAttempt {
	var out []events.CallbackAttempt
	for _, e := range c.rec.of(events.TypeCallbackAttempt) {
		var a events.CallbackAttempt
		if err := e.DecodeData(&a); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func (c *cluster) doneReasons() []string {
	var out []string
	for _, e := range c.rec.of(events.TypeCallbackDone) {
		var d events.CallbackDone
		if err := e.DecodeData(&d); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, d.Reason)
	}
	return out
}

func TestTwoPlacersPlaceEachAttemptOnce(t *testing.T) {
	var mu sync.Mutex
	placed := map[string]int{} // "<call>/<attempt>" -> times
	d := fakeDialer{place: func(_ context.Context, req Request) Outcome {
		mu.Lock()
		placed[fmt.Sprintf("%s/%d", req.CallbackOf, req.Attempt)]++
		mu.Unlock()
		return Outcome{Result: events.CallbackNoAnswer, Cause: 19, ChannelID: fmt.Sprintf("cb-%s-%d", req.CallbackOf, req.Attempt)}
	}}
	c := newCluster(t, 2, d, nil)
	const numbers = 6
	for i := range numbers {
		c.handle(dropped(t, fmt.Sprintf("c%d", i), fmt.Sprintf("+62812000000%02d", i)))
	}
	within(t, 10*time.Second, "every call-back done", func() bool { return len(c.rec.of(events.TypeCallbackDone)) == numbers })
	mu.Lock()
	defer mu.Unlock()
	if len(placed) != numbers*3 {
		t.Errorf("%d distinct attempts placed, want %d", len(placed), numbers*3)
	}
	for k, n := range placed {
		if n != 1 {
			t.Errorf("attempt %s placed %d times by two instances", k, n)
		}
	}
	if got := len(c.attempts()); got != numbers*3 {
		t.Errorf("%d callback.attempt events, want %d", got, numbers*3)
	}
	for _, r := range c.doneReasons() {
		if r != events.DoneAttemptsExhausted {
			t.Errorf("done %s, want %s", r, events.DoneAttemptsExhausted)
		}
	}
	var byA, byB uint64 = c.placers[0].Stats().Placed, c.placers[1].Stats().Placed
	t.Logf("instance 1 placed %d, instance 2 placed %d", byA, byB)
}

func TestPlacerWaitsForAFreeOperator(t *testing.T) {
	var free atomic.Bool
	var placed atomic.Int32
	d := fakeDialer{
		free: func(typ string) (bool, bool) {
			if typ != "fire" {
				t.Errorf("asked about queue of %q, want fire", typ)
			}
			return free.Load(), true
		},
		place: func(context.Context, Request) Outcome {
			placed.Add(1)
			return Outcome{Result: events.CallbackPutThrough}
		},
	}
	c := newCluster(t, 1, d, nil)
	c.handle(dropped(t, "c1", testNumber))
	// The call-back is due after 100 ms; the placer scans every 500 ms.
	time.Sleep(3 * scanEvery)
	if placed.Load() != 0 {
		t.Fatal("a call-back was placed while every operator was busy")
	}
	freed := time.Now()
	free.Store(true)
	within(t, 3*scanEvery, "placed once an operator is free", func() bool { return placed.Load() == 1 })
	t.Logf("placed %s after an operator became free", time.Since(freed).Round(time.Millisecond))
	within(t, time.Second, "put through", func() bool {
		r, _ := record(t, c.st, testNumber)
		return r.State == StatePutThrough
	})
}

func TestPutThroughCallbackIsFollowedToTheEnd(t *testing.T) {
	var n atomic.Int32
	d := fakeDialer{place: func(_ context.Context, req Request) Outcome {
		n.Add(1)
		return Outcome{Result: events.CallbackPutThrough, ChannelID: fmt.Sprintf("cb-%d", req.Attempt)}
	}}
	c := newCluster(t, 1, d, nil)
	c.handle(dropped(t, "c1", testNumber))
	within(t, 3*time.Second, "put through", func() bool { r, _ := record(t, c.st, testNumber); return r.State == StatePutThrough })
	// The call-back's own call dropped in the queue: the next attempt.
	c.handle(envelope(t, events.TypeEnded, "cb-1", caller(testNumber), events.Ended{Outcome: events.OutcomeEmergency,
		Callback: true, Where: events.WhereQueue, HangupBy: events.HangupByCaller, CallbackOf: "c1"}))
	within(t, 3*time.Second, "second attempt put through", func() bool {
		r, _ := record(t, c.st, testNumber)
		return r.State == StatePutThrough && len(r.Attempts) == 2
	})
	// An operator answers the second one.
	c.handle(envelope(t, events.TypeOperatorAnswered, "cb-2", caller(testNumber), events.OperatorAnswered{EmergencyType: "fire", CallbackOf: "c1"}))
	r, _ := record(t, c.st, testNumber)
	if r.State != StateDone || r.Done == nil || !r.Done.ReachedPerson || r.Done.Reason != events.DoneOperatorAnswered || r.Done.OtherCallID != "cb-2" {
		t.Fatalf("record %+v done %+v", r.State, r.Done)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d attempts placed, want 2", got)
	}
	// The call-back's queue abandon was not scheduled as a call-back of
	// its own.
	if got := len(c.rec.of(events.TypeCallbackScheduled)); got != 1 {
		t.Errorf("%d callback.scheduled, want 1", got)
	}
}

func TestPlacerTakesOverALostClaim(t *testing.T) {
	var reqs []Request
	var mu sync.Mutex
	d := fakeDialer{place: func(_ context.Context, req Request) Outcome {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		return Outcome{Result: events.CallbackPutThrough}
	}}
	st := startStore(t)
	// An instance claimed attempt 1 and died: its lease ran out.
	k, _ := Key(testNumber)
	now := time.Now()
	lost := Record{CallID: "c1", Caller: caller(testNumber), Outcome: events.OutcomeVoice, Created: now.Add(-time.Minute),
		State: StatePlacing, Placer: "dead", LeaseUntil: now.Add(-time.Second),
		Attempts: []Attempt{{N: 1, At: now.Add(-time.Minute), Placer: "dead"}}}
	if _, err := st.Create(context.Background(), k, encode(lost)); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{t: t}
	p := NewPlacer(PlacerOptions{Config: testConfig(), Store: st, Publisher: rec, Dialer: d, Country: "62", Name: "alive"})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	within(t, 3*time.Second, "attempt 2 placed", func() bool { mu.Lock(); defer mu.Unlock(); return len(reqs) == 1 })
	mu.Lock()
	if reqs[0].Attempt != 2 || reqs[0].Endpoint != "PJSIP/081234567890@telco" || reqs[0].Formats != "ulaw" {
		t.Errorf("request %+v", reqs[0])
	}
	mu.Unlock()
	within(t, time.Second, "two attempt events", func() bool { return len(rec.of(events.TypeCallbackAttempt)) == 2 })
	var first events.CallbackAttempt
	if err := rec.of(events.TypeCallbackAttempt)[0].DecodeData(&first); err != nil {
		t.Fatal(err)
	}
	if first.Attempt != 1 || first.Result != events.CallbackFailed {
		t.Errorf("the lost attempt was published as %+v", first)
	}
}

func TestPlacerBoundsConcurrentCallbacks(t *testing.T) {
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	d := fakeDialer{place: func(ctx context.Context, _ Request) Outcome {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer inFlight.Add(-1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return Outcome{Result: events.CallbackPutThrough}
	}}
	c := newCluster(t, 1, d, func(o *PlacerOptions) { o.Config.MaxConcurrent = 2 })
	for i := range 5 {
		c.handle(dropped(t, fmt.Sprintf("c%d", i), fmt.Sprintf("+62812000000%02d", i)))
	}
	within(t, 3*time.Second, "two in flight", func() bool { return inFlight.Load() == 2 })
	time.Sleep(3 * scanEvery)
	if p := peak.Load(); p != 2 {
		t.Errorf("peak %d call-backs at once, want callback.max_concurrent = 2", p)
	}
	close(release)
	within(t, 5*time.Second, "all five put through", func() bool { return len(c.attempts()) == 5 })
	if p := peak.Load(); p != 2 {
		t.Errorf("peak %d, want 2", p)
	}
}

func TestSwitchAndCancel(t *testing.T) {
	var placed atomic.Int32
	d := fakeDialer{place: func(context.Context, Request) Outcome {
		placed.Add(1)
		return Outcome{Result: events.CallbackNoAnswer, Cause: 19}
	}}
	c := newCluster(t, 1, d, nil)
	ctl := NewControl(c.st, c.rec, true, "console", nil)
	ctx := context.Background()
	if err := ctl.SetEnabled(ctx, false, "sari"); err != nil {
		t.Fatal(err)
	}
	if on, err := ctl.Enabled(ctx); err != nil || on {
		t.Fatalf("enabled %v %v after switching off", on, err)
	}
	within(t, 2*time.Second, "the placer sees the switch", func() bool { return !c.placers[0].Stats().Enabled })
	c.handle(dropped(t, "c1", testNumber))
	time.Sleep(3 * scanEvery)
	if placed.Load() != 0 {
		t.Fatal("a call-back was placed while switched off")
	}
	if err := ctl.SetEnabled(ctx, true, "sari"); err != nil {
		t.Fatal(err)
	}
	within(t, 3*time.Second, "placed once switched on", func() bool { return placed.Load() >= 1 })

	if err := ctl.Cancel(ctx, "c9", testNumber, "sari", "called from the desk phone"); !errors.Is(err, ErrNoCallback) {
		t.Errorf("cancel of another call: %v, want ErrNoCallback", err)
	}
	if err := ctl.Cancel(ctx, "c1", testNumber, "sari", " "); err == nil {
		t.Error("a cancel without a reason was accepted")
	}
	if err := ctl.Cancel(ctx, "c1", testNumber, "sari", "called from the desk phone"); err != nil {
		t.Fatal(err)
	}
	r, _ := record(t, c.st, testNumber)
	if r.State != StateDone || r.Done.Reason != events.DoneCancelled || r.Done.By != "sari" || r.Done.Note == "" {
		t.Fatalf("record after cancel: %s %+v", r.State, r.Done)
	}
	n := placed.Load()
	time.Sleep(3 * scanEvery)
	if placed.Load() != n {
		t.Error("an attempt was placed after the cancel")
	}
	sw, _ := ctl.Switch(ctx)
	b, _ := json.Marshal(sw)
	if !sw.Enabled || sw.By != "sari" {
		t.Errorf("switch %s", b)
	}
}

// TestCallbackSurvivesTheInstanceThatScheduledIt: instance A plans a
// call-back and stops before it is due; instance B, started later on the
// same NATS, places it.
func TestCallbackSurvivesTheInstanceThatScheduledIt(t *testing.T) {
	st := startStore(t)
	rec := &recorder{t: t}
	cfg := testConfig()
	cfg.Delay = time.Second
	var placedBy atomic.Value
	dialer := func(name string) Dialer {
		return fakeDialer{place: func(context.Context, Request) Outcome {
			placedBy.Store(name)
			return Outcome{Result: events.CallbackPutThrough}
		}}
	}
	sched := NewScheduler(SchedulerOptions{Config: cfg, Store: st, Publisher: rec, Node: "A"})
	a := NewPlacer(PlacerOptions{Config: cfg, Store: st, Publisher: rec, Dialer: dialer("A"), Country: "62", Name: "A"})
	ctxA, stopA := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Run(ctxA) })
	if err := sched.Handle(context.Background(), dropped(t, "c1", testNumber), events.Meta{}); err != nil {
		t.Fatal(err)
	}
	stopA()
	wg.Wait()
	b := NewPlacer(PlacerOptions{Config: cfg, Store: st, Publisher: rec, Dialer: dialer("B"), Country: "62", Name: "B"})
	ctxB, stopB := context.WithCancel(context.Background())
	wg.Go(func() { _ = b.Run(ctxB) })
	defer func() { stopB(); wg.Wait() }()
	within(t, 5*time.Second, "placed by B", func() bool { return placedBy.Load() == "B" })
	if a.Stats().Placed != 0 {
		t.Errorf("A placed %d before it stopped, want 0 (not due yet)", a.Stats().Placed)
	}
}
