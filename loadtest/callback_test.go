package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// TestRunDroppersCalledBack: two callers key disaster in the greeting and
// hang up at the location question; the IVR marks both calls for a
// call-back, calls each number back callback.delay later, their phones
// answer and press 1, and they are put through and answered by an
// operator. The run waits for the call-backs, and its summary, text and
// JSON count them, with the time from each drop to the call-back's answer
// and hand-off. The disaster caller of the same run is asked the location
// (the droppers' queue reports no operator free) and answers it; the fire
// caller is not asked.
func TestRunDroppersCalledBack(t *testing.T) {
	cfg := testConfig(t)
	cfg.Callback.Delay = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: cfg, ClockScale: handoffScale, SoundsDir: soundsDir(t), Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	o := e.Options()
	if o.CallbackWait <= cfg.Callback.Delay {
		t.Fatalf("CallbackWait %s with call-backs on", o.CallbackWait)
	}
	o.Mix, o.Calls, o.Rate, o.Concurrency = Mix{KindDropper: 2, KindFire: 1, KindDisaster: 1}, 4, 2, 10
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Lost != 0 || s.Finished != 4 {
		t.Fatalf("finished %d, %d errors %v, %d events lost", s.Finished, s.Errors, s.ErrorSamples, s.Lost)
	}
	c := s.Callbacks
	if c == nil {
		t.Fatal("no call-back figures in the summary")
	}
	t.Logf("call-backs %+v", *c)
	if c.Droppers != 2 || c.Scheduled != 2 || c.Attempts != 2 || c.PutThrough != 2 || c.Pending != 0 {
		t.Errorf("dropped %d, scheduled %d, attempts %d, put through %d, pending %d; want 2, 2, 2, 2, 0",
			c.Droppers, c.Scheduled, c.Attempts, c.PutThrough, c.Pending)
	}
	if c.Done != 2 || c.ReachedPerson != 2 || c.DoneReasons[events.DoneOperatorAnswered] != 2 || c.Cancelled != 0 {
		t.Errorf("done %d (%v), reached a person %d, cancelled %d; want both answered by an operator", c.Done, c.DoneReasons, c.ReachedPerson, c.Cancelled)
	}
	// From the drop: callback.delay, then the placer's scan (every
	// 500 ms), then the phone's 2 s of ringing (100 ms at this scale).
	// The first call-back finds the disaster operator free; the second
	// may wait for them, so only the quicker one is bounded from above.
	ring := time.Duration(float64(2*time.Second) * handoffScale)
	least, most := cfg.Callback.Delay+ring, cfg.Callback.Delay+ring+500*time.Millisecond+time.Second
	first := time.Duration(c.DropToAnswer.P50 * float64(time.Millisecond))
	if c.DropToAnswer.N != 2 || first < least || first > most {
		t.Errorf("drop -> answer %+v; want 2, the quicker within %s-%s", c.DropToAnswer, least, most)
	}
	// The callee listens a second (50 ms here) before pressing 1.
	if c.DropToPutThrough.N != 2 || c.DropToPutThrough.P50 <= c.DropToAnswer.P50 || c.DropToPutThrough.Max <= c.DropToAnswer.Max {
		t.Errorf("drop -> put through %+v is not after drop -> answer %+v", c.DropToPutThrough, c.DropToAnswer)
	}
	origs := e.Sim.Originates()
	if len(origs) != 2 {
		t.Fatalf("%d originates, want one call-back per dropped caller", len(origs))
	}
	if origs[0].Endpoint == origs[1].Endpoint || !strings.HasPrefix(origs[0].Endpoint, "PJSIP/0812") {
		t.Errorf("call-backs dialled %s and %s; want two numbers, national, through callback.endpoint", origs[0].Endpoint, origs[1].Endpoint)
	}
	if n := s.TimeToQueueLocation[KindDisaster].N; n != 1 || s.TimeToQueue[KindFire].N != 1 {
		t.Errorf("disaster callers asked the location %d, fire callers put through without it %d; want 1 and 1", n, s.TimeToQueue[KindFire].N)
	}
	if _, ok := s.TimeToQueue[KindDropper]; ok {
		t.Error("dropped callers have a time to the queue")
	}

	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"call-backs   2 scheduled, 2 attempts: put through 2,", "2 over: reached a person 2, cancelled 0; dropped callers 2, not yet put through 0", "drop -> answer p50"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Callbacks struct {
			Scheduled     int     `json:"scheduled"`
			Attempts      int     `json:"attempts"`
			PutThrough    int     `json:"put_through"`
			NoAnswer      int     `json:"no_answer"`
			ReachedPerson int     `json:"reached_person"`
			Cancelled     int     `json:"cancelled"`
			DropToAnswer  Latency `json:"drop_to_answer"`
			DropToQueue   Latency `json:"drop_to_put_through"`
		} `json:"callbacks"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if cb := j.Callbacks; cb.Scheduled != 2 || cb.Attempts != 2 || cb.PutThrough != 2 || cb.ReachedPerson != 2 || cb.DropToAnswer.N != 2 || cb.DropToQueue.P50 <= 0 {
		t.Errorf("JSON callbacks %+v", cb)
	}
}

// TestRunDroppersNeedTheTarget: a mix with dropped callers is refused by a
// target that cannot ask them the location nor answer their call-backs
// (Options.Droppers unset, as on a real Asterisk).
func TestRunDroppersNeedTheTarget(t *testing.T) {
	_, err := Run(context.Background(), Options{Target: NewSimTarget(), Probe: NewProbe(), Mix: Mix{KindDropper: 1}, Calls: 1})
	if !errors.Is(err, ErrBadMix) {
		t.Fatalf("Run with droppers and no Options.Droppers: %v, want ErrBadMix", err)
	}
}

// TestProbeCountsCallbacks feeds the probe a stream's call-back events:
// each attempt result and end reason lands in its own figure, the times
// run from the dropped call's call.ended to the call-back's answer
// (call.transferred less seconds_to_queue) and hand-off, a runner waiting
// for the call is told once the call-back is over or was put through and
// its own call ended (not at the put-through), and none of these events
// counts as one of the dropped call's own.
func TestProbeCountsCallbacks(t *testing.T) {
	p := NewProbe()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ev := func(typ events.Type, id string, at time.Duration, data any) events.Envelope {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		return events.Envelope{ID: events.NewID(), Type: typ, CallID: id, Time: t0.Add(at), Data: b}
	}
	settledA := p.CallbackSettled("a")
	stream := []events.Envelope{
		ev(events.TypeEnded, "a", 0, events.Ended{Outcome: events.OutcomeEmergency, Callback: true, Where: events.WhereIVR}),
		ev(events.TypeEnded, "b", time.Second, events.Ended{Outcome: events.OutcomeEmergency, Callback: true, Where: events.WhereQueue}),
		ev(events.TypeCallbackScheduled, "a", 0, events.CallbackScheduled{}),
		ev(events.TypeCallbackScheduled, "b", time.Second, events.CallbackScheduled{}),
		ev(events.TypeCallbackAttempt, "b", 31*time.Second, events.CallbackAttempt{Attempt: 1, Result: events.CallbackNoAnswer}),
		ev(events.TypeCallbackAttempt, "b", 32*time.Second, events.CallbackAttempt{Attempt: 2, Result: events.CallbackBusy}),
		ev(events.TypeCallbackAttempt, "b", 33*time.Second, events.CallbackAttempt{Attempt: 3, Result: events.CallbackFailed}),
		ev(events.TypeCallbackAttempt, "b", 34*time.Second, events.CallbackAttempt{Attempt: 4, Result: events.CallbackCancelled}),
		ev(events.TypeCallbackDone, "b", 34*time.Second, events.CallbackDone{Reason: events.DoneCancelled, By: "supervisor"}),
		// The call-back of a: answered 32 s after the drop, put through
		// 4 s later, answered by an operator.
		ev(events.TypeTransferred, "cb-1", 36*time.Second, events.Transferred{SecondsToQueue: 4, CallbackOf: "a"}),
		ev(events.TypeCallbackAttempt, "a", 36*time.Second, events.CallbackAttempt{Attempt: 1, Result: events.CallbackPutThrough}),
		ev(events.TypeOperatorAnswered, "cb-1", 40*time.Second, events.OperatorAnswered{CallbackOf: "a"}),
		ev(events.TypeCallbackDone, "a", 40*time.Second, events.CallbackDone{ReachedPerson: true, Reason: events.DoneOperatorAnswered}),
	}
	for _, e := range stream {
		p.observe(e, e.Time)
	}
	select {
	case <-settledA:
	default:
		t.Fatal("the runner was not told that the call-back of a is over")
	}
	// Without operators a callee put through hangs up in the queue and the
	// next attempt is minutes away: the call-back's own call.ended settles
	// it for the runner.
	settledC := p.CallbackSettled("c")
	p.observe(ev(events.TypeEnded, "c", 0, events.Ended{Callback: true}), t0)
	p.observe(ev(events.TypeCallbackAttempt, "c", time.Minute, events.CallbackAttempt{Attempt: 1, Result: events.CallbackPutThrough}), t0)
	select {
	case <-settledC:
		t.Fatal("settled at the put-through, before the call-back's own call ended")
	default:
	}
	p.observe(ev(events.TypeEnded, "cb-2", time.Minute, events.Ended{Where: events.WhereQueue, CallbackOf: "c"}), t0)
	select {
	case <-settledC:
	default:
		t.Fatal("the runner was not told that the call-back of c was put through and ended")
	}
	c := p.Callbacks()
	if c.Scheduled != 2 || c.Attempts != 6 || c.PutThrough != 2 || c.NoAnswer != 1 || c.Busy != 1 || c.Failed != 1 || c.AttemptCancelled != 1 || c.NoResponse != 0 {
		t.Errorf("attempts %+v", c)
	}
	if c.Done != 2 || c.Cancelled != 1 || c.ReachedPerson != 1 || c.DoneReasons[events.DoneOperatorAnswered] != 1 || c.DoneReasons[events.DoneCancelled] != 1 {
		t.Errorf("ends %+v", c)
	}
	if c.DropToAnswer.N != 1 || c.DropToAnswer.P50 != 32000 || c.DropToPutThrough.N != 1 || c.DropToPutThrough.P50 != 36000 {
		t.Errorf("drop -> answer %+v, -> put through %+v; want 32 s and 36 s", c.DropToAnswer, c.DropToPutThrough)
	}
	if r := p.Result("a"); r.Stored != 1 || !r.Callback || r.Where != events.WhereIVR {
		t.Errorf("dropped call a: %d events stored as its own, callback %v, where %q; want only its call.ended", r.Stored, r.Callback, r.Where)
	}
	if got := p.Counts().Stored; got != 3 {
		t.Errorf("%d events counted as calls' own, want the three dropped calls' call.ended", got)
	}
}

// TestWhoseCallBackIsAnswered: a dropper's phone answers the IVR's
// call-back, and so does the phone of a caller who may give up in the
// queue (one in three of each kind); a patient caller's needs none, and
// with call-backs off nobody's is set.
func TestWhoseCallBackIsAnswered(t *testing.T) {
	cfg := testConfig(t)
	cfg.Callback.Enabled, cfg.Callback.Endpoint = true, "PJSIP/{number}@telco"
	on := &SimTarget{callback: cfg.Callback, country: "62"}
	off := &SimTarget{callback: configs.Callback{}, country: "62"}
	patient := Caller{Kind: KindFire, Number: "+6281200000001", Patience: patientWait}
	impatient := Caller{Kind: KindFire, Number: "+6281200000002", Patience: impatientWaits[0]}
	dropper := Caller{Kind: KindDropper, Number: "+6281200000003", Patience: patientWait}
	for _, tc := range []struct {
		name   string
		target *SimTarget
		c      Caller
		want   string
	}{
		{"patient", on, patient, ""},
		{"impatient", on, impatient, "PJSIP/081200000002@telco"},
		{"dropper", on, dropper, "PJSIP/081200000003@telco"},
		{"impatient, call-backs off", off, impatient, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.target.calleeEndpoint(tc.c)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("callee endpoint %q (%v), want %q", got, ok, tc.want)
			}
		})
	}
}
