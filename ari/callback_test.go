package ari

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Call-backs end to end: a scripted caller chooses fire and hangs up
// before the queue; the scheduler (a consumer of the env's stream) plans a
// call-back, this IVR's placer originates it to the simulated Asterisk,
// whose scripted callee answers (or not) and acts; a callee who gives a
// sign is put through to the operators and followed like any call.

const (
	cbNumber   = "+6281234567890"
	cbEndpoint = "PJSIP/081234567890@telco"
)

// callbackConfig shortens the call-back's waits for tests.
func callbackConfig(cfg *configs.Config) {
	cfg.Callback.Delay = 300 * time.Millisecond
	cfg.Callback.Retry = []time.Duration{600 * time.Millisecond}
	cfg.Callback.Attempts = 2
	cfg.Callback.RingTimeout = 3 * time.Second
}

// startCallbacks runs the scheduler and a placer over the env's NATS, as
// serve does beside the IVR.
func (e *env) startCallbacks(log *slog.Logger) {
	e.t.Helper()
	st := events.NewCallbackStore(e.js, 1)
	sched := callback.NewScheduler(callback.SchedulerOptions{Config: e.cfg.Callback, Store: st, Publisher: e.pub, Blocklist: e.bl, Node: "test", Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	spec := events.ConsumerSpec{Durable: callback.Durable, Subjects: []string{events.TypeStarted.Subject(), events.TypeEnded.Subject(),
		events.TypeOperatorAnswered.Subject(), events.TypeVerdict.Subject(), events.TypeHandled.Subject()}, MaxAckPending: 64, AckWait: 5 * time.Second}
	cons, err := events.NewConsumer(ctx, e.js, spec, sched.Handle, log)
	if err != nil {
		cancel()
		e.t.Fatalf("scheduler consumer: %v", err)
	}
	placer := callback.NewPlacer(callback.PlacerOptions{Config: e.cfg.Callback, Store: st, Publisher: e.pub, Dialer: e.ivr,
		Blocklist: e.bl, Country: "62", Name: "test/" + e.cfg.ARI.Nodes[0].Name, Log: log})
	var wg sync.WaitGroup
	wg.Go(func() { _ = cons.Run(ctx) })
	wg.Go(func() { _ = placer.Run(ctx) })
	e.cbPlacer = placer
	// Cleanups run last-registered first: this one before e.close.
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

// dropFire is a caller who presses 1 in the greeting and hangs up before
// the hand-off (during the location question).
func dropFire() arisim.Caller {
	return arisim.Caller{Number: cbNumber, Script: []arisim.Step{arisim.WaitForPrompt("siaga112/greeting"), arisim.Press("1"),
		arisim.WaitForPrompt("siaga112/location"), arisim.Hangup()}}
}

// callbackEvents returns the callback.* events of a dropped call.
func (e *env) callbackEvents(callID string) (attempts []events.CallbackAttempt, done []events.CallbackDone, scheduled int) {
	for _, ev := range e.streamEvents(callID) {
		switch ev.Type {
		case events.TypeCallbackScheduled:
			scheduled++
		case events.TypeCallbackAttempt:
			var a events.CallbackAttempt
			if err := ev.DecodeData(&a); err != nil {
				e.t.Fatal(err)
			}
			attempts = append(attempts, a)
		case events.TypeCallbackDone:
			var d events.CallbackDone
			if err := ev.DecodeData(&d); err != nil {
				e.t.Fatal(err)
			}
			done = append(done, d)
		}
	}
	return attempts, done, scheduled
}

func results(as []events.CallbackAttempt) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Result)
	}
	return out
}

func TestCallbackMatrix(t *testing.T) {
	answerThen := func(steps ...arisim.Step) arisim.Callee {
		return arisim.Callee{After: 2 * time.Second, Script: steps}
	}
	tests := []struct {
		name   string
		callee arisim.Callee
		// want: each attempt's result, and the call-back's end.
		results []string
		reason  string
		reached bool
		// heard: the callee heard the call-back prompt this many times
		// on the first attempt.
		heard int
		cause int
	}{
		{name: "callee presses 1", callee: answerThen(arisim.WaitForPrompt("siaga112/callback"), arisim.Wait(time.Second), arisim.Press("1"), arisim.WaitForOperator(), arisim.Talk(time.Second), arisim.Hangup()),
			results: []string{events.CallbackPutThrough}, reason: events.DoneOperatorAnswered, reached: true, heard: 1},
		{name: "callee talks", callee: answerThen(arisim.WaitForPrompt("siaga112/callback"), arisim.Talk(2*time.Second), arisim.WaitForOperator(), arisim.Hangup()),
			results: []string{events.CallbackPutThrough}, reason: events.DoneOperatorAnswered, reached: true, heard: 1},
		{name: "callee presses 5 5", callee: answerThen(arisim.WaitForPrompt("siaga112/callback"), arisim.Press("55"), arisim.WaitForOperator(), arisim.Hangup()),
			results: []string{events.CallbackPutThrough}, reason: events.DoneOperatorAnswered, reached: true, heard: 1},
		{name: "callee stays silent", callee: answerThen(arisim.WaitForEnd()),
			results: []string{events.CallbackNoResponse, events.CallbackNoResponse}, reason: events.DoneAttemptsExhausted, heard: flowsCallbackPlays},
		{name: "never answers", callee: arisim.Callee{NoAnswer: true},
			results: []string{events.CallbackNoAnswer, events.CallbackNoAnswer}, reason: events.DoneAttemptsExhausted, cause: 19},
		{name: "busy", callee: arisim.Callee{Busy: true, After: time.Second},
			results: []string{events.CallbackBusy, events.CallbackBusy}, reason: events.DoneAttemptsExhausted, cause: 17},
		{name: "busy behind a Local channel (Dial BUSY, destroyed with cause 0)", callee: arisim.Callee{Busy: true, Local: true, After: time.Second},
			results: []string{events.CallbackBusy, events.CallbackBusy}, reason: events.DoneAttemptsExhausted},
		{name: "network refuses", callee: arisim.Callee{FailCause: 34, After: time.Second},
			results: []string{events.CallbackFailed, events.CallbackFailed}, reason: events.DoneAttemptsExhausted, cause: 34},
	}
	// The rows run one after another. Run in parallel (each with its own
	// embedded NATS server) they once left a server's file store and timer
	// goroutines running into a later test's leak check, on a loaded CI
	// machine; the cause was not found, and one after another it was not
	// seen again.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{cfg: callbackConfig, callbacks: true})
			e.sim.SetCallee(cbEndpoint, tc.callee)
			v := e.call(dropFire())
			dropAt := v.EndedAt
			var done []events.CallbackDone
			var attempts []events.CallbackAttempt
			eventually(t, "callback.done", func() bool {
				attempts, done, _ = e.callbackEvents(v.ChannelID)
				return len(done) > 0
			})
			if got := results(attempts); !slices.Equal(got, tc.results) {
				t.Fatalf("attempts %v, want %v", got, tc.results)
			}
			if d := done[0]; d.Reason != tc.reason || d.ReachedPerson != tc.reached {
				t.Errorf("done %+v, want reason %s reached %v", d, tc.reason, tc.reached)
			}
			if tc.cause != 0 && attempts[0].Cause != tc.cause {
				t.Errorf("attempt cause %d, want %d", attempts[0].Cause, tc.cause)
			}
			origs := e.sim.Originates()
			if len(origs) != len(tc.results) {
				t.Fatalf("%d originates, want one per attempt (%d)", len(origs), len(tc.results))
			}
			o := origs[0]
			if o.Endpoint != cbEndpoint || o.Formats != "ulaw" || o.AppArgs != "callback,"+v.ChannelID+",1" || o.CallerID != e.cfg.Callback.CallerID {
				t.Errorf("originate %+v", o)
			}
			// The first attempt comes callback.delay after the drop, within
			// the placer's scan.
			if wait := o.At.Sub(dropAt); wait < e.cfg.Callback.Delay || wait > e.cfg.Callback.Delay+2*time.Second {
				t.Errorf("first attempt %s after the drop, want %s plus at most 2s", wait, e.cfg.Callback.Delay)
			}
			if tc.heard > 0 {
				cv := e.wait(o.Call)
				if got := countPrompt(cv.Prompts, "siaga112/callback"); got != tc.heard {
					t.Errorf("callee heard the call-back prompt %d times, want %d (%v)", got, tc.heard, cv.Prompts)
				}
				if tc.reached {
					if cv.Continued == nil || cv.Continued.Extension != "callback" || cv.Operator == "" {
						t.Errorf("callee not put through to an operator: %s", fmtView(cv))
					}
					if cv.Variables["SIAGA112_CALLBACK_OF"] != v.ChannelID || cv.Variables["SIAGA112_TAG"] != "BALIK" ||
						cv.Variables["SIAGA112_QUEUE"] != "siaga112-fire" || cv.Variables["SIAGA112_CALLBACK_NUMBER"] != "081234567890" {
						t.Errorf("call-back variables %v", cv.Variables)
					}
					own := e.waitEnded(o.ChannelID)
					if got := types(own); !slices.Equal(got, []events.Type{events.TypeTransferred, events.TypeOperatorAnswered, events.TypeEnded}) {
						t.Errorf("the call-back's own events %v", got)
					}
					for _, ev := range own {
						if ev.Caller.Number != cbNumber {
							t.Errorf("%s carries caller %q, want the callee %s", ev.Type, ev.Caller.Number, cbNumber)
						}
					}
					if oa := dataOf[events.OperatorAnswered](t, own, events.TypeOperatorAnswered); oa.CallbackOf != v.ChannelID {
						t.Errorf("operator_answered callback_of %q", oa.CallbackOf)
					}
				}
			}
		})
	}
}

const flowsCallbackPlays = 2

func countPrompt(prompts []string, name string) int {
	n := 0
	for _, p := range prompts {
		if p == name {
			n++
		}
	}
	return n
}

// TestCallbackNotNeeded: a dropped caller who rings again and reaches an
// operator is not called back.
func TestCallbackNotNeeded(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		callbackConfig(c)
		c.Callback.Delay = 2 * time.Second
	}, callbacks: true})
	e.sim.SetCallee(cbEndpoint, arisim.Callee{After: time.Second, Script: []arisim.Step{arisim.Press("1")}})
	first := e.call(dropFire())
	again := e.call(arisim.Caller{Number: cbNumber, Script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.WaitForOperator(), arisim.Hangup()})})
	if again.Operator == "" {
		t.Fatalf("the second call did not reach an operator: %s", fmtView(again))
	}
	var done []events.CallbackDone
	eventually(t, "callback.done", func() bool { _, done, _ = e.callbackEvents(first.ChannelID); return len(done) > 0 })
	if d := done[0]; d.Reason != events.DoneCalledAgain || !d.ReachedPerson || d.OtherCallID != again.ChannelID || d.Attempts != 0 {
		t.Errorf("done %+v, want called_again on %s with no attempt", d, again.ChannelID)
	}
	time.Sleep(e.cfg.Callback.Delay + time.Second)
	if n := len(e.sim.Originates()); n != 0 {
		t.Errorf("%d call-backs placed to a caller who had reached a person", n)
	}
}

// TestCallbackWaitsForAFreeOperator: while every operator of the queue is
// busy, the call-back waits; it is placed once one is free.
func TestCallbackWaitsForAFreeOperator(t *testing.T) {
	e := startEnv(t, envOptions{cfg: callbackConfig, callbacks: true})
	e.sim.SetQueue("siaga112-fire", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201"}}})
	e.sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201"}, {Device: "PJSIP/op202"}}})
	e.sim.SetDeviceState("PJSIP/op201", arisim.DeviceInUse)
	e.sim.SetDeviceState("PJSIP/op202", arisim.DeviceInUse)
	e.sim.SetCallee(cbEndpoint, arisim.Callee{After: time.Second, Script: []arisim.Step{arisim.WaitForPrompt("siaga112/callback"), arisim.Press("1"), arisim.WaitForOperator(), arisim.Hangup()}})
	v := e.call(dropFire())
	eventually(t, "the operators' busy state seen by the IVR", func() bool { free, known := e.ivr.OperatorFree("fire"); return known && !free })
	time.Sleep(e.cfg.Callback.Delay + 2*time.Second)
	if n := len(e.sim.Originates()); n != 0 {
		t.Fatalf("%d call-backs placed while every operator was busy", n)
	}
	freed := time.Now()
	e.sim.SetDeviceState("PJSIP/op201", arisim.DeviceNotInUse)
	eventually(t, "the call-back placed", func() bool { return len(e.sim.Originates()) == 1 })
	t.Logf("call-back placed %s after an operator became free", e.sim.Originates()[0].At.Sub(freed).Round(time.Millisecond))
	if wait := e.sim.Originates()[0].At.Sub(freed); wait > 2*time.Second {
		t.Errorf("placed %s after an operator became free, want within the placer's scan (2s bound)", wait)
	}
	var done []events.CallbackDone
	eventually(t, "callback.done", func() bool { _, done, _ = e.callbackEvents(v.ChannelID); return len(done) > 0 })
	if !done[0].ReachedPerson {
		t.Errorf("done %+v", done[0])
	}
}

// TestTwoIVRInstancesPlaceEachCallbackOnce: two IVR instances, each beside
// its own Asterisk node and each running the scheduler and a placer on one
// NATS, place every attempt of every call-back exactly once between them.
func TestTwoIVRInstancesPlaceEachCallbackOnce(t *testing.T) {
	e := startEnv(t, envOptions{cfg: callbackConfig, callbacks: true})
	log := testLogger(t)
	sim2 := arisim.New(arisim.Options{Username: simUser, Password: simPass, Application: simApp, ClockScale: clockScale, Logger: log})
	if err := sim2.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cfg2 := e.cfg
	cfg2.ARI.Nodes = []configs.ARINode{{Name: "test-node-b", URL: sim2.URL(), WSURL: sim2.WSURL(), Username: simUser, Password: simPass}}
	cfg2.NATS.Spool.Dir = t.TempDir()
	pub2, err := events.NewPublisher(e.js, cfg2.NATS, log)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := flowsFor(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	ivr2, err := New(Options{ARI: cfg2.ARI, IVR: cfg2.IVR, Flow: flow, Publisher: pub2, Blocklist: e.bl, CallbackFlow: flow, CallbackTag: "BALIK", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	run2 := make(chan error, 1)
	go func() { run2 <- ivr2.Run(context.Background()) }()
	e2 := &env{t: t, cfg: cfg2, js: e.js, pub: pub2, bl: e.bl, ivr: ivr2, sim: sim2}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		_ = ivr2.Stop(ctx)
		<-run2
		_ = pub2.Close(ctx)
		_ = sim2.Close()
	})
	eventually(t, "second IVR connected", func() bool { return ivr2.Health()[0].Connected && appRegistered(t, sim2) })
	e2.startCallbacks(log)

	numbers := []string{"+6281200000001", "+6281200000002", "+6281200000003", "+6281200000004"}
	for _, sim := range []*arisim.Server{e.sim, sim2} {
		for _, n := range numbers {
			sim.SetCallee("PJSIP/0"+n[3:]+"@telco", arisim.Callee{NoAnswer: true})
		}
	}
	var dropped []string
	var hs []*arisim.CallHandle
	for i, n := range numbers {
		c := dropFire()
		c.Number = n
		sim := e.sim
		if i%2 == 1 {
			sim = sim2
		}
		// Two sims started in the same second make the same unique ids;
		// two Asterisk nodes would not (their system names differ).
		h, err := sim.Call(context.Background(), arisim.Caller{Number: c.Number, Dialed: "112", Script: c.Script, ID: fmt.Sprintf("drop-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		dropped = append(dropped, e.wait(h).ChannelID)
	}
	for _, id := range dropped {
		eventually(t, "callback.done of "+id, func() bool { _, d, _ := e.callbackEvents(id); return len(d) == 1 })
	}
	placed := map[string]int{}
	total := 0
	for _, sim := range []*arisim.Server{e.sim, sim2} {
		for _, o := range sim.Originates() {
			placed[o.AppArgs]++
			total++
		}
	}
	want := len(numbers) * e.cfg.Callback.Attempts
	if total != want || len(placed) != want {
		t.Errorf("%d originates (%d distinct), want %d: %v", total, len(placed), want, placed)
	}
	for args, n := range placed {
		if n != 1 {
			t.Errorf("%s placed %d times", args, n)
		}
	}
	for _, id := range dropped {
		a, d, s := e.callbackEvents(id)
		if s != 1 || len(a) != e.cfg.Callback.Attempts || len(d) != 1 {
			t.Errorf("%s: %d scheduled, %d attempts, %d done; want 1, %d, 1", id, s, len(a), len(d), e.cfg.Callback.Attempts)
		}
	}
	t.Logf("originates: instance A %d, instance B %d", len(e.sim.Originates()), len(sim2.Originates()))
}

// flowsFor builds the real flow for cfg.
func flowsFor(cfg configs.Config) (*flows.Flow, error) { return flows.New(cfg.IVR, nil, nil) }

// TestCallbackCalleeNeverLeftInSilence: the callee presses 1 but Asterisk
// refuses every continue the call-back session makes; once the session
// gives up, the node's sweep puts the callee through to the operators.
func TestCallbackCalleeNeverLeftInSilence(t *testing.T) {
	e := startEnv(t, envOptions{cfg: callbackConfig, callbacks: true})
	e.sim.SetCallee(cbEndpoint, arisim.Callee{After: time.Second, Script: []arisim.Step{
		arisim.WaitForPrompt("siaga112/callback"), arisim.Press("1"), arisim.Wait(time.Hour)}})
	// The flow's continue and the session's failover continue both fail
	// (only the call-back's channel matches; set before the call, so a
	// fast call-back cannot be put through before they are in place).
	e.sim.FailREST("POST", "/channels/cb-*/continue", http.StatusInternalServerError, 2)
	e.call(dropFire())
	eventually(t, "the call-back answered", func() bool { return len(e.sim.Originates()) == 1 })
	callee := e.sim.Originates()[0].Call
	eventually(t, "the callee put through all the same", func() bool {
		r := callee.Result()
		return r.Continued != nil
	})
	// The sweep counts the orphan once Asterisk has answered its continue,
	// a moment after the sim recorded it.
	eventually(t, "the sweep counted it (orphans put through 1)", func() bool { return e.ivr.Stats().Orphans == 1 })
}
