package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Past the hand-off: a scripted caller chooses fire during the greeting and
// is handed to the simulated Asterisk's siaga112-fire queue, whose scripted
// operators answer, stay busy or never answer. The sim runs 100x faster
// than real time (clockScale), so an operator's 2 s of ringing is 20 ms.

// fireQueue defines siaga112-fire with the given members.
func fireQueue(sim *arisim.Server, ops ...arisim.Operator) {
	sim.SetQueue("siaga112-fire", arisim.Queue{Members: ops})
}

// pressFire presses 1 during the greeting, early: half a second of the
// sim's media time after the call is placed.
var pressFire = []arisim.Step{arisim.Wait(500 * time.Millisecond), arisim.Press("1")}

// pressFireAnswered presses 1 half a second after the IVR answered: on a
// loaded machine the IVR may not have answered when pressFire's key comes,
// and a phone sends no keys before the answer (the sim drops them).
var pressFireAnswered = []arisim.Step{arisim.WaitForAnswer(), arisim.Wait(500 * time.Millisecond), arisim.Press("1")}

func TestFollowPastHandoff(t *testing.T) {
	tests := []struct {
		name   string
		ops    []arisim.Operator
		script []arisim.Step
		// busyFor keeps the only operator busy this long (wall time) after
		// the caller joined the queue.
		busyFor time.Duration
		// want: the events after call.transferred, and call.ended's data.
		after    []events.Type
		where    string
		hangupBy string
		callback bool
		operator string
	}{
		{
			name:   "operator free answers",
			ops:    []arisim.Operator{{Device: "PJSIP/op201", AnswerAfter: 2 * time.Second}},
			script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.WaitForOperator(), arisim.Talk(time.Second), arisim.Hangup()}),
			after:  []events.Type{events.TypeOperatorAnswered, events.TypeEnded},
			where:  events.WhereOperator, hangupBy: events.HangupByCaller, operator: "PJSIP/op201",
		},
		{
			name:   "operator ends the conversation",
			ops:    []arisim.Operator{{Device: "PJSIP/op201", TalkFor: 3 * time.Second}},
			script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.WaitForOperator(), arisim.Talk(time.Minute)}),
			after:  []events.Type{events.TypeOperatorAnswered, events.TypeEnded},
			where:  events.WhereOperator, hangupBy: events.HangupBySystem, operator: "PJSIP/op201",
		},
		{
			name:    "all busy, waits, then answered",
			ops:     []arisim.Operator{{Device: "PJSIP/op201", AnswerAfter: time.Second}},
			busyFor: 700 * time.Millisecond,
			script:  slices.Concat(pressFireAnswered, []arisim.Step{arisim.WaitForOperator(), arisim.Hangup()}),
			after:   []events.Type{events.TypeOperatorAnswered, events.TypeEnded},
			where:   events.WhereOperator, hangupBy: events.HangupByCaller, operator: "PJSIP/op201",
		},
		{
			name:   "caller hangs up in the queue",
			ops:    []arisim.Operator{{Device: "PJSIP/op201", NoAnswer: true}},
			script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.Wait(8 * time.Second), arisim.Hangup()}),
			after:  []events.Type{events.TypeQueueAbandoned, events.TypeEnded},
			where:  events.WhereQueue, hangupBy: events.HangupByCaller, callback: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{})
			fireQueue(e.sim, tc.ops...)
			if tc.busyFor > 0 {
				e.sim.SetDeviceState("PJSIP/op201", "INUSE")
			}
			h := e.place(arisim.Caller{Number: "+6281300000001", Script: tc.script})
			if tc.busyFor > 0 {
				eventually(t, "caller in the queue", func() bool { return h.Result().Queue != "" })
				time.Sleep(tc.busyFor)
				e.sim.SetDeviceState("PJSIP/op201", "NOT_INUSE")
			}
			v := e.wait(h)
			evs := e.waitEnded(h.ID())
			got := types(evs)
			i := slices.Index(got, events.TypeTransferred)
			if i < 0 || !slices.Equal(got[i+1:], tc.after) {
				t.Fatalf("events %v, want %v after call.transferred; caller: %s", got, tc.after, fmtView(v))
			}
			tr := dataOf[events.Transferred](t, evs, events.TypeTransferred)
			if tr.Extension != "fire" {
				t.Fatalf("transferred to %q, want fire", tr.Extension)
			}
			ended := dataOf[events.Ended](t, evs, events.TypeEnded)
			if ended.Where != tc.where || ended.HangupBy != tc.hangupBy || ended.Callback != tc.callback || ended.Outcome != events.OutcomeEmergency {
				t.Fatalf("call.ended %+v, want where %s hangup_by %s callback %v", ended, tc.where, tc.hangupBy, tc.callback)
			}
			if v.EndedIn != tc.where {
				t.Fatalf("the sim says the call ended in %q, the events say %q", v.EndedIn, ended.Where)
			}
			if tc.operator != "" {
				oa := dataOf[events.OperatorAnswered](t, evs, events.TypeOperatorAnswered)
				if oa.Operator != tc.operator || oa.EmergencyType != "fire" || oa.Extension != "fire" {
					t.Fatalf("operator_answered %+v", oa)
				}
				// seconds_to_person = answer -> operator's answer: the
				// time to the queue plus the time in it.
				if oa.SecondsInQueue < 0 || oa.SecondsToPerson < tr.SecondsToQueue+oa.SecondsInQueue-0.05 ||
					oa.SecondsToPerson > tr.SecondsToQueue+oa.SecondsInQueue+0.5 {
					t.Fatalf("operator_answered %+v with seconds_to_queue %.3f", oa, tr.SecondsToQueue)
				}
				if tc.busyFor > 0 && oa.SecondsInQueue < tc.busyFor.Seconds() {
					t.Fatalf("answered after %.3f s in the queue, but the operator was busy for %s", oa.SecondsInQueue, tc.busyFor)
				}
				if v.Operator != tc.operator {
					t.Fatalf("sim: answered by %q", v.Operator)
				}
			}
			if tc.callback {
				qa := dataOf[events.QueueAbandoned](t, evs, events.TypeQueueAbandoned)
				if !qa.Callback || qa.SecondsInQueue <= 0 || qa.SecondsSinceAnswer < qa.SecondsInQueue || qa.EmergencyType != "fire" {
					t.Fatalf("queue_abandoned %+v", qa)
				}
			}
			// The session lets go of the call right after publishing its
			// end; the count follows a moment later.
			eventually(t, "nothing followed or active after the call", func() bool {
				st := e.ivr.Stats()
				return st.Following == 0 && st.ActiveCalls == 0
			})
		})
	}
}

// A caller waiting in the queue is not an IVR call: the drain does not
// wait for them, and stopping the IVR publishes no end for them (the call
// goes on in Asterisk).
func TestFollowedCallsDoNotHoldTheDrain(t *testing.T) {
	e := startEnv(t, envOptions{})
	fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201", NoAnswer: true})
	h := e.place(arisim.Caller{Number: "+6281300000002", Script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.Wait(time.Hour)})})
	eventually(t, "call followed", func() bool { return e.ivr.Stats().Following == 1 })
	if n := e.ivr.Stats().ActiveCalls; n != 0 {
		t.Fatalf("%d active IVR calls while the only caller waits in the queue", n)
	}
	start := time.Now()
	e.stopIVR()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stopping took %s with one caller in the queue", d)
	}
	got := types(e.streamEvents(h.ID()))
	if slices.Contains(got, events.TypeEnded) || slices.Contains(got, events.TypeQueueAbandoned) {
		t.Fatalf("events %v published for a caller still waiting", got)
	}
	h.Hangup()
	<-h.Done()
}

// restartEnv stops the env's IVR and starts a new one on the same sim and
// stream, as a restarted process would be.
func restartIVR(t *testing.T, e *env, following int) {
	t.Helper()
	e.stopIVR()
	pub, err := events.NewPublisher(e.js, e.cfg.NATS, testLogger(t))
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	flow, err := flows.New(e.cfg.IVR, nil, testLogger(t))
	if err != nil {
		t.Fatalf("flows.New: %v", err)
	}
	v, err := New(Options{ARI: e.cfg.ARI, IVR: e.cfg.IVR, Flow: flow, Blocklist: e.bl, Publisher: pub, Followed: e.followed, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("ari.New: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- v.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		if err := v.Stop(ctx); err != nil {
			t.Errorf("second ivr stop: %v", err)
		}
		if err := <-runErr; err != nil {
			t.Errorf("second ivr run: %v", err)
		}
		if err := pub.Close(ctx); err != nil {
			t.Errorf("second publisher close: %v", err)
		}
	})
	eventually(t, "second IVR connected", func() bool { h := v.Health(); return len(h) == 1 && h[0].Connected })
	eventually(t, "second IVR follows the waiting callers", func() bool { return v.Stats().Following == following })
}

// An IVR restarted while a caller waits in the queue finds the call again:
// an operator's answer after the restart is published, and an end nobody
// saw coming is never a false abandon or a false call-back.
func TestFollowAcrossIVRRestart(t *testing.T) {
	t.Run("caller hangs up after the restart", func(t *testing.T) {
		e := startEnv(t, envOptions{})
		fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201", NoAnswer: true})
		h := e.place(arisim.Caller{Number: "+6281300000003", Script: slices.Concat(pressFire, []arisim.Step{arisim.Wait(time.Hour)})})
		eventually(t, "call followed", func() bool { return e.ivr.Stats().Following == 1 })
		restartIVR(t, e, 1)
		h.Hangup()
		v := e.wait(h)
		evs := e.waitEnded(h.ID())
		if slices.Contains(types(evs), events.TypeQueueAbandoned) {
			t.Fatalf("events %v: a queue abandon published although the IVR did not watch the whole wait", types(evs))
		}
		ended := dataOf[events.Ended](t, evs, events.TypeEnded)
		if ended.Where != events.WhereUnknown || ended.Callback {
			t.Fatalf("call.ended %+v, want where unknown and no call-back; caller %s", ended, fmtView(v))
		}
	})
	t.Run("caller hangs up while no IVR runs", func(t *testing.T) {
		e := startEnv(t, envOptions{})
		fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201", NoAnswer: true})
		h := e.place(arisim.Caller{Number: "+6281300000007", Script: slices.Concat(pressFire, []arisim.Step{arisim.Wait(time.Hour)})})
		eventually(t, "call followed", func() bool { return e.ivr.Stats().Following == 1 })
		e.stopIVR()
		h.Hangup()
		e.wait(h)
		if got := types(e.streamEvents(h.ID())); slices.Contains(got, events.TypeEnded) {
			t.Fatalf("events %v: an end published while no IVR ran", got)
		}
		restartIVR(t, e, 0)
		evs := e.waitEnded(h.ID())
		ended := dataOf[events.Ended](t, evs, events.TypeEnded)
		if ended.Where != events.WhereUnknown || ended.Callback || ended.Outcome != events.OutcomeEmergency || slices.Contains(types(evs), events.TypeQueueAbandoned) {
			t.Fatalf("events %v, call.ended %+v: want one end, where unknown, no call-back", types(evs), ended)
		}
		if ended.Where == events.WhereUnknown && ended.DurationS != -1 {
			t.Fatalf("duration %v of a call whose end nobody saw", ended.DurationS)
		}
	})
	t.Run("operator answers after the restart", func(t *testing.T) {
		e := startEnv(t, envOptions{})
		fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201", AnswerAfter: time.Second})
		e.sim.SetDeviceState("PJSIP/op201", "INUSE")
		h := e.place(arisim.Caller{Number: "+6281300000004", Script: slices.Concat(pressFire, []arisim.Step{arisim.WaitForOperator(), arisim.Hangup()})})
		eventually(t, "call followed", func() bool { return e.ivr.Stats().Following == 1 })
		restartIVR(t, e, 1)
		e.sim.SetDeviceState("PJSIP/op201", "NOT_INUSE")
		e.wait(h)
		evs := e.waitEnded(h.ID())
		oa := dataOf[events.OperatorAnswered](t, evs, events.TypeOperatorAnswered)
		// The record of the IVR that handed the call over gives the times.
		tr := dataOf[events.Transferred](t, evs, events.TypeTransferred)
		if oa.Operator != "PJSIP/op201" || oa.SecondsInQueue <= 0 || oa.SecondsToPerson < tr.SecondsToQueue+oa.SecondsInQueue-0.05 || oa.EmergencyType != "fire" {
			t.Fatalf("operator_answered %+v after a restart (transferred %+v)", oa, tr)
		}
		ended := dataOf[events.Ended](t, evs, events.TypeEnded)
		if ended.Where != events.WhereOperator || ended.Callback {
			t.Fatalf("call.ended %+v", ended)
		}
	})
}

// The operators' device states are published when the IVR connects and
// on every change.
func TestOperatorStates(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		c.IVR.Menu = c.IVR.Menu[:1]
		c.IVR.Menu[0].Members = []string{"PJSIP/op201", "PJSIP/op202"}
	}})
	states := func() map[string][]string {
		out := map[string][]string{}
		for _, ev := range e.streamEvents("") {
			if ev.Type != events.TypeOperatorState {
				continue
			}
			var d events.OperatorState
			if err := ev.DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			if ev.Node != "test-node" || !slices.Equal(d.Queues, []string{"siaga112-fire"}) {
				t.Fatalf("operator.state %+v on node %q", d, ev.Node)
			}
			out[d.Device] = append(out[d.Device], d.State+"/"+d.AsteriskState)
		}
		return out
	}
	eventually(t, "both devices read on connection", func() bool {
		s := states()
		return len(s["PJSIP/op201"]) == 1 && len(s["PJSIP/op202"]) == 1
	})
	e.sim.SetDeviceState("PJSIP/op201", "UNAVAILABLE")
	e.sim.SetDeviceState("PJSIP/op202", "INUSE")
	e.sim.SetDeviceState("PJSIP/op202", "NOT_INUSE")
	eventually(t, "changes published", func() bool {
		s := states()
		// Each change, in order, after the read on connection. A read
		// again after a reconnection (a probe that timed out on a loaded
		// machine) repeats a state, which Compact folds away.
		a, b := slices.Compact(s["PJSIP/op201"]), slices.Compact(s["PJSIP/op202"])
		return len(a) == 2 && a[1] == "away/UNAVAILABLE" &&
			len(b) == 3 && slices.Equal(b[1:], []string{"busy/INUSE", "free/NOT_INUSE"})
	})
	// After a lost connection the states are read again: changes made
	// while nobody listened are not lost.
	e.sim.DropWebSockets()
	e.waitConnected(2)
	eventually(t, "states read again on reconnection", func() bool {
		s := states()
		a := s["PJSIP/op201"]
		return len(a) >= 3 && a[len(a)-1] == "away/UNAVAILABLE" && a[len(a)-2] == "away/UNAVAILABLE"
	})
}

// A continue whose reply comes after the request timeout but that Asterisk
// carried out is a hand-off: call.transferred is published and the call is
// followed to the operator, not failed over.
func TestContinueTimedOutButDone(t *testing.T) {
	e := startEnv(t, envOptions{})
	fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201"})
	e.sim.DelayREST("POST", "/channels/*/continue", 4*e.cfg.ARI.RequestTimeout, 1)
	h := e.place(arisim.Caller{Number: "+6281300000005", Script: slices.Concat(pressFireAnswered, []arisim.Step{arisim.WaitForOperator(), arisim.Hangup()})})
	v := e.wait(h)
	evs := e.waitEnded(h.ID())
	want := []events.Type{events.TypeStarted, events.TypeAnswered, events.TypeMenu, events.TypeClassified, events.TypeTransferred, events.TypeOperatorAnswered, events.TypeEnded}
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v; caller %s", got, want, fmtView(v))
	}
	c := dataOf[events.Classified](t, evs, events.TypeClassified)
	tr := dataOf[events.Transferred](t, evs, events.TypeTransferred)
	ended := dataOf[events.Ended](t, evs, events.TypeEnded)
	if c.Outcome != events.OutcomeEmergency || c.Callback || tr.Extension != "fire" || ended.Where != events.WhereOperator || ended.Callback {
		t.Fatalf("classified %+v, transferred %+v, ended %+v", c, tr, ended)
	}
	// The hand-off is counted from when Asterisk's StasisEnd confirmed it:
	// after the request timeout, well before the sim's delay ran out.
	if tr.SecondsToQueue < e.cfg.ARI.RequestTimeout.Seconds() || tr.SecondsToQueue > 3*e.cfg.ARI.RequestTimeout.Seconds() {
		t.Fatalf("seconds_to_queue %.2f with a %s request timeout", tr.SecondsToQueue, e.cfg.ARI.RequestTimeout)
	}
	if v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("continued %+v", v.Continued)
	}
}

// TestFollowLeavesNothingBehind: after many calls followed to their end,
// no session, goroutine or subscription of theirs is left: the followed
// count is 0, the application is subscribed to no channel, and the
// goroutines are back to what the idle IVR runs.
func TestFollowLeavesNothingBehind(t *testing.T) {
	e := startEnv(t, envOptions{})
	fireQueue(e.sim, arisim.Operator{Device: "PJSIP/op201", AnswerAfter: 20 * time.Second, TalkFor: 2 * time.Second},
		arisim.Operator{Device: "PJSIP/op202", AnswerAfter: 20 * time.Second, TalkFor: 2 * time.Second})
	const calls = 24
	handles := make([]*arisim.CallHandle, calls)
	// Placed all at once, the callers wait for the greeting to press.
	press := []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Press("1")}
	for i := range handles {
		script := slices.Concat(press, []arisim.Step{arisim.WaitForOperator(), arisim.Talk(time.Minute)})
		if i%2 == 1 {
			// Half hang up in the queue before an operator answers.
			script = slices.Concat(press, []arisim.Step{arisim.WaitForEnd(), arisim.Wait(time.Second), arisim.Hangup()})
		}
		handles[i] = e.place(arisim.Caller{Number: fmt.Sprintf("+62813000%05d", i), Script: script})
	}
	// While the calls are followed their goroutines show (so the check at
	// the end can see a leaked one).
	eventually(t, "calls followed", func() bool { return e.ivr.Stats().Following > 0 && callGoroutines() > 0 })
	var answered, abandoned int
	for _, h := range handles {
		e.wait(h)
		evs := e.waitEnded(h.ID())
		switch {
		case slices.Contains(types(evs), events.TypeOperatorAnswered):
			answered++
		case slices.Contains(types(evs), events.TypeQueueAbandoned):
			abandoned++
		default:
			t.Logf("call %s: %v ended %+v", h.ID(), types(evs), dataOf[events.Ended](t, evs, events.TypeEnded))
		}
	}
	if answered == 0 || abandoned == 0 || answered+abandoned != calls {
		t.Fatalf("%d answered and %d abandoned of %d calls", answered, abandoned, calls)
	}
	eventually(t, "no call followed", func() bool { st := e.ivr.Stats(); return st.Following == 0 && st.ActiveCalls == 0 })
	var app ariv6.ApplicationData
	if code := getJSON(t, e.sim.URL()+"/applications/"+simApp, &app); code != 200 || len(app.ChannelIDs) != 0 {
		t.Fatalf("GET /applications/%s: %d, still subscribed to %v", simApp, code, app.ChannelIDs)
	}
	// The REST connection pool keeps idle keep-alive connections (bounded
	// by the node's cap); no call's own goroutine may be left.
	eventually(t, "no call's goroutine left", func() bool { return callGoroutines() == 0 })
}

// callGoroutines counts the goroutines running a session or a call's
// event publisher.
func callGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ari.(*session)") || strings.Contains(g, "ari.(*callEmitter).loop") {
			count++
		}
	}
	return count
}

// getJSON GETs an ARI path of the sim as the IVR's user.
func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(simUser, simPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

// interruptedPromptFlow answers, starts the greeting and gives up on it after
// a moment, leaving the playback running, as a flow interrupted by an
// error mid-prompt does; the session then fails the call over.
type interruptedPromptFlow struct{}

func (interruptedPromptFlow) Run(ctx context.Context, c flows.Call, _ flows.Input, _ flows.Emitter) flows.Result {
	if err := c.Answer(ctx); err != nil {
		return flows.Result{Outcome: events.OutcomeAbandoned}
	}
	pctx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
	defer cancel()
	_, err := c.Prompt(pctx, flows.PromptSpec{Sounds: []string{"sound:siaga112/greeting"}})
	return flows.Result{Outcome: events.OutcomeFailover, Reason: fmt.Sprintf("test: prompt interrupted: %v", err)}
}

// A continue that Asterisk accepted (204) but queued behind a playback
// that could not be stopped, and that the caller's hang-up overtook, is no
// hand-off: no call.transferred, the call ended in the IVR by the caller.
func TestContinueOvertakenByHangup(t *testing.T) {
	e := startEnv(t, envOptions{flow: interruptedPromptFlow{}, clockScale: 0.2, soundsDir: "../asterisk-conf/sounds", language: "id"})
	e.sim.FailREST("DELETE", "/playbacks/*", http.StatusInternalServerError, 5)
	// The greeting plays 5.9 s x 0.2 = 1.18 s; the flow gives up on it
	// after 0.4 s and the caller hangs up 0.8 s into it, before the
	// continue queued behind the greeting could run.
	h := e.place(arisim.Caller{Number: "+6281300000006", Script: []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(4 * time.Second), arisim.Hangup()}})
	v := e.wait(h)
	if v.Continued != nil || v.EndedIn != arisim.EndedInIVR {
		t.Fatalf("caller %s ended in %q: the continue should never have run", fmtView(v), v.EndedIn)
	}
	evs := e.waitEnded(h.ID())
	if got := types(evs); slices.Contains(got, events.TypeTransferred) || slices.Contains(got, events.TypeQueueAbandoned) {
		t.Fatalf("events %v: a hand-off published for a caller who hung up before it ran", got)
	}
	ended := dataOf[events.Ended](t, evs, events.TypeEnded)
	if ended.Where != events.WhereIVR || ended.HangupBy != events.HangupByCaller {
		t.Fatalf("call.ended %+v, want ended in the IVR by the caller", ended)
	}
}
