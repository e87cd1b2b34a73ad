package arisim_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// calleeScale is slower than the other tests' scale so that the ring times
// the tests measure (hundreds of milliseconds of wall time) stand well above
// timer jitter on a loaded machine.
const calleeScale = 0.1

// The call-back the IVR places, as the tests originate it.
const (
	cbEndpoint = "PJSIP/08123456789@telco"
	cbCallerID = `"Siaga 112" <112>`
	cbArgs     = "callback,drop-7,2"
)

func callbackRequest(id string, timeout int) ariv6.OriginateRequest {
	return ariv6.OriginateRequest{Endpoint: cbEndpoint, App: testApp, AppArgs: cbArgs, CallerID: cbCallerID,
		Formats: "ulaw", Timeout: timeout, ChannelID: id}
}

// events lists the events the recorder holds for a channel, in order (media
// events excepted: they name the channel only in their target).
func (r *recorder) events(channelID string) []ariv6.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ariv6.Event
	for _, e := range r.evs {
		for _, k := range e.Keys() {
			if k.Kind == ariv6.ChannelKey && k.ID == channelID {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// describe renders events compactly: the type, with the state, the dial
// status or the cause where the event has one.
func describe(evs []ariv6.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.GetType()
		switch m := e.(type) {
		case *ariv6.ChannelStateChange:
			s += " " + m.Channel.State
		case *ariv6.Dial:
			s += fmt.Sprintf(" %q", m.Dialstatus)
		case *ariv6.ChannelHangupRequest:
			s += fmt.Sprintf(" %d soft=%t", m.Cause, m.Soft)
		case *ariv6.ChannelDestroyed:
			s += fmt.Sprintf(" %d %s", m.Cause, m.CauseTxt)
		}
		out = append(out, s)
	}
	return out
}

// originateFor returns the logged originate that made channel id.
func originateFor(t *testing.T, sim *arisim.Server, id string) arisim.Originate {
	t.Helper()
	for _, o := range sim.Originates() {
		if o.ChannelID == id {
			return o
		}
	}
	t.Fatalf("no originate logged for channel %s (log: %+v)", id, sim.Originates())
	return arisim.Originate{}
}

// TestCalleeAnswers plays call-backs that are answered: the application
// plays the menu, hangs up on a key or when the callee stopped talking, and
// otherwise waits for the callee to hang up.
func TestCalleeAnswers(t *testing.T) {
	const ring = 2 * time.Second
	cases := []struct {
		name   string
		script []arisim.Step
		check  func(t *testing.T, v arisim.CallerView, evs []ariv6.Event)
	}{
		{
			name:   "presses 1 while the menu plays",
			script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("1")},
			check: func(t *testing.T, v arisim.CallerView, evs []ariv6.Event) {
				if v.DTMFSent != "1" || v.HungUpBy != arisim.HungUpByApp || v.Cause != 16 {
					t.Errorf("keys %q, hung up by %q, cause %d; want 1, app, 16", v.DTMFSent, v.HungUpBy, v.Cause)
				}
				// The application hung up on the key, so the key came while the
				// menu still played.
				if len(v.PromptLog) != 1 || v.PromptLog[0].State != "hangup" {
					t.Errorf("prompt log %+v, want the menu cut by the hang-up", v.PromptLog)
				}
				if !slices.Contains(describe(evs), "ChannelDtmfReceived") {
					t.Errorf("no ChannelDtmfReceived in %v", describe(evs))
				}
			},
		},
		{
			name:   "talks after the menu",
			script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Talk(2 * time.Second)},
			check: func(t *testing.T, v arisim.CallerView, evs []ariv6.Event) {
				var got []int
				for _, e := range evs {
					if tf, ok := e.(*ariv6.ChannelTalkingFinished); ok {
						got = append(got, tf.Duration)
					}
				}
				// Talk(2 s) reports 2000 ms, plus timer lateness scaled up by
				// 1/calleeScale (a 10 ms late wake-up reads as 100 ms).
				if len(got) != 1 || got[0] < 2000 || got[0] > 2400 || v.HungUpBy != arisim.HungUpByApp {
					t.Errorf("talking finished %v, hung up by %q; want one of 2000..2400 ms, app", got, v.HungUpBy)
				}
			},
		},
		{
			name:   "stays silent and hangs up",
			script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Silence(3 * time.Second), arisim.Hangup()},
			check: func(t *testing.T, v arisim.CallerView, evs []ariv6.Event) {
				if v.HungUpBy != arisim.HungUpByCaller || v.Cause != 16 || v.DTMFSent != "" {
					t.Errorf("hung up by %q, cause %d, keys %q; want caller, 16, none", v.HungUpBy, v.Cause, v.DTMFSent)
				}
				d := describe(evs)
				for _, unwanted := range []string{"ChannelDtmfReceived", "ChannelTalkingStarted"} {
					if slices.Contains(d, unwanted) {
						t.Errorf("silent callee produced %s: %v", unwanted, d)
					}
				}
				if !slices.Contains(d, "ChannelHangupRequest 16 soft=false") {
					t.Errorf("no caller-side ChannelHangupRequest 16 in %v", d)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: calleeScale})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			sim.SetCallee(cbEndpoint, arisim.Callee{After: ring, Context: "from-trunk", Script: tc.script})
			serveApp(t, cl, func(h *ariv6.ChannelHandle, _ *ariv6.StasisStart) {
				sub := h.Subscribe(ariv6.Events.ChannelDtmfReceived, ariv6.Events.ChannelTalkingFinished, ariv6.Events.StasisEnd)
				defer sub.Cancel()
				if h.SetVariable("TALK_DETECT(set)", "500") != nil {
					return
				}
				if _, err := h.Play("menu-"+h.ID(), "sound:siaga112/menu"); err != nil {
					return
				}
				select {
				case e := <-sub.Events():
					if _, end := e.(*ariv6.StasisEnd); !end {
						_ = h.Hangup()
					}
				case <-time.After(waitMax):
				}
			})

			id := "cb-" + tc.name[:4]
			if _, err := cl.Channel().Originate(nil, callbackRequest(id, 30)); err != nil {
				t.Fatalf("originate: %v", err)
			}
			calls := sim.CalleeCalls(cbEndpoint)
			if len(calls) != 1 || calls[0].ID() != id {
				t.Fatalf("callee calls %v, want the one to %s", calls, id)
			}
			v := waitDone(t, calls[0])
			rec.wait(t, "ChannelDestroyed", func(e ariv6.Event) bool {
				d, ok := e.(*ariv6.ChannelDestroyed)
				return ok && d.Channel.ID == id
			})
			evs := rec.events(id)
			d := describe(evs)
			head := []string{`Dial ""`, "ChannelStateChange Ringing", "ChannelStateChange Up", `Dial "ANSWER"`, "StasisStart"}
			if len(d) < len(head)+2 || !slices.Equal(d[:len(head)], head) ||
				d[len(d)-2] != "StasisEnd" || d[len(d)-1] != "ChannelDestroyed 16 Normal Clearing" {
				t.Errorf("events %v, want %v ... StasisEnd, ChannelDestroyed 16", d, head)
			}
			st := evs[4].(*ariv6.StasisStart)
			if !slices.Equal(st.Args, []string{"callback", "drop-7", "2"}) {
				t.Errorf("StasisStart args %q", st.Args)
			}
			ch := st.Channel
			if ch.State != "Up" || ch.Caller.Number != "112" || ch.Caller.Name != "Siaga 112" ||
				ch.Connected.Number != "112" || ch.Dialplan.Context != "from-trunk" || ch.Dialplan.Exten != "s" ||
				ch.Dialplan.AppName != "Stasis" || ch.Dialplan.AppData != testApp+","+cbArgs {
				t.Errorf("StasisStart channel %+v", ch)
			}
			if dial := evs[0].(*ariv6.Dial); dial.Dialstring != "08123456789@telco" || dial.Caller.ID != "" {
				t.Errorf("Dial dialstring %q caller %q, want the resource and no caller", dial.Dialstring, dial.Caller.ID)
			}
			// Rang for After (2 s × 0.1 = 200 ms of wall time), measured from the originate.
			rang := v.AnsweredAt.Sub(originateFor(t, sim, id).At)
			t.Logf("answered after %v", rang)
			if want := time.Duration(float64(ring) * calleeScale); !v.Answered || rang < want || rang > 2*want {
				t.Errorf("answered %t after %v, want %v..%v", v.Answered, rang, want, 2*want)
			}
			tc.check(t, v, evs)
		})
	}
}

// TestCalleeNotAnswered plays call-backs that never reach the application:
// what the application hears, the cause, who ended it and when.
func TestCalleeNotAnswered(t *testing.T) {
	cases := []struct {
		name    string
		callee  arisim.Callee
		timeout int           // the originate's timeout, seconds
		end     time.Duration // media time from the originate to the end
		events  []string
		cause   int
		by      string
	}{
		{
			name: "never answers", callee: arisim.Callee{NoAnswer: true}, timeout: 3, end: 3 * time.Second,
			events: []string{`Dial ""`, "ChannelStateChange Ringing", "ChannelDestroyed 19 User alerting, no answer"},
			cause:  19, by: arisim.HungUpBySystem,
		},
		{
			name: "would answer after the timeout", callee: arisim.Callee{After: 5 * time.Second}, timeout: 2, end: 2 * time.Second,
			events: []string{`Dial ""`, "ChannelStateChange Ringing", "ChannelDestroyed 19 User alerting, no answer"},
			cause:  19, by: arisim.HungUpBySystem,
		},
		{
			name: "busy", callee: arisim.Callee{Busy: true, After: time.Second}, timeout: 30, end: time.Second,
			events: []string{`Dial ""`, "ChannelHangupRequest 17 soft=false", `Dial "BUSY"`, "ChannelDestroyed 17 User busy"},
			cause:  17, by: arisim.HungUpByCaller,
		},
		{
			name: "congestion", callee: arisim.Callee{FailCause: 34, After: 2 * time.Second}, timeout: 30, end: 2 * time.Second,
			events: []string{`Dial ""`, "ChannelHangupRequest 34 soft=false", `Dial "CONGESTION"`, "ChannelDestroyed 34 Circuit/channel congestion"},
			cause:  34, by: arisim.HungUpByCaller,
		},
		{
			name: "unallocated number", callee: arisim.Callee{FailCause: 1, After: time.Second}, timeout: 30, end: time.Second,
			events: []string{`Dial ""`, "ChannelHangupRequest 1 soft=false", `Dial "NOANSWER"`, "ChannelDestroyed 1 Unallocated (unassigned) number"},
			cause:  1, by: arisim.HungUpByCaller,
		},
		{
			name: "rejected", callee: arisim.Callee{FailCause: 21, After: time.Second}, timeout: 30, end: time.Second,
			events: []string{`Dial ""`, "ChannelHangupRequest 21 soft=false", `Dial "NOANSWER"`, "ChannelDestroyed 21 Call Rejected"},
			cause:  21, by: arisim.HungUpByCaller,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: calleeScale})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			sim.SetCallee(cbEndpoint, tc.callee)
			const id = "cb-unanswered"
			if _, err := cl.Channel().Originate(nil, callbackRequest(id, tc.timeout)); err != nil {
				t.Fatalf("originate: %v", err)
			}
			calls := sim.CalleeCalls(cbEndpoint)
			if len(calls) != 1 {
				t.Fatalf("callee calls %v", calls)
			}
			v := waitDone(t, calls[0])
			rec.wait(t, "ChannelDestroyed", func(e ariv6.Event) bool {
				d, ok := e.(*ariv6.ChannelDestroyed)
				return ok && d.Channel.ID == id
			})
			rec.drained(t, sim)
			if got := describe(rec.events(id)); !slices.Equal(got, tc.events) {
				t.Errorf("events\n got %v\nwant %v", got, tc.events)
			}
			if v.Answered || v.Cause != tc.cause || v.HungUpBy != tc.by || len(v.Prompts) != 0 {
				t.Errorf("view answered %t cause %d by %q prompts %v; want unanswered, %d, %q", v.Answered, v.Cause, v.HungUpBy, v.Prompts, tc.cause, tc.by)
			}
			took := v.EndedAt.Sub(originateFor(t, sim, id).At)
			t.Logf("ended after %v", took)
			if want := time.Duration(float64(tc.end) * calleeScale); took < want || took > 2*want {
				t.Errorf("ended after %v, want %v..%v", took, want, 2*want)
			}
			if sim.ActiveChannels() != 0 {
				t.Errorf("%d channels left", sim.ActiveChannels())
			}
		})
	}
}

// TestCalleeHungUpByAppWhileRinging: the application gives up on a ringing
// call-back with DELETE /channels/{id}.
func TestCalleeHungUpByAppWhileRinging(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: calleeScale})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	sim.SetCallee(cbEndpoint, arisim.Callee{NoAnswer: true})
	h, err := cl.Channel().Originate(nil, callbackRequest("cb-ringing", -1))
	if err != nil {
		t.Fatalf("originate: %v", err)
	}
	rec.wait(t, "Ringing", func(e ariv6.Event) bool {
		sc, ok := e.(*ariv6.ChannelStateChange)
		return ok && sc.Channel.ID == h.ID() && sc.Channel.State == "Ringing"
	})
	if err := h.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	v := waitDone(t, sim.CalleeCalls(cbEndpoint)[0])
	rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed"))
	rec.drained(t, sim)
	want := []string{`Dial ""`, "ChannelStateChange Ringing", "ChannelHangupRequest 32 soft=true", `Dial "NOANSWER"`, "ChannelDestroyed 16 Normal Clearing"}
	if got := describe(rec.events(h.ID())); !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	if v.HungUpBy != arisim.HungUpByApp || v.Cause != 16 || v.Answered {
		t.Errorf("view %+v, want hung up by the app with cause 16, unanswered", v)
	}
}

// TestOriginateLog checks what the log keeps, that endpoints without a
// callee keep the plain originate, and that REST faults apply to originates.
func TestOriginateLog(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	sim.SetCallee(cbEndpoint, arisim.Callee{Script: []arisim.Step{arisim.Hangup()}})

	if _, err := cl.Channel().Originate(nil, callbackRequest("cb-log", 25)); err != nil {
		t.Fatalf("originate: %v", err)
	}
	plain := ariv6.OriginateRequest{Endpoint: "PJSIP/0811@telco", App: testApp, AppArgs: "callback,drop-8,1", ChannelID: "plain-1"}
	if _, err := cl.Channel().Originate(nil, plain); err != nil {
		t.Fatalf("plain originate: %v", err)
	}
	st := rec.wait(t, "plain StasisStart", func(e ariv6.Event) bool {
		s, ok := e.(*ariv6.StasisStart)
		return ok && s.Channel.ID == "plain-1"
	}).(*ariv6.StasisStart)
	// The plain originate is unchanged: no events before StasisStart, which
	// finds the channel already Up, and the connected line empty.
	if got := rec.types("plain-1"); !slices.Equal(got, []string{"StasisStart"}) || st.Channel.State != "Up" || st.Channel.Connected.Number != "" {
		t.Errorf("plain originate: events %v, channel %+v", got, st.Channel)
	}

	// A failed request leaves no trace; a delayed one is carried out when
	// the delay ends.
	sim.FailNextREST(http.MethodPost, "/channels", http.StatusInternalServerError)
	if _, err := cl.Channel().Originate(nil, callbackRequest("cb-failed", 30)); code(err) != http.StatusInternalServerError {
		t.Errorf("failed originate: %v, want 500", err)
	}
	const delay = 150 * time.Millisecond
	sim.DelayREST(http.MethodPost, "/channels", delay, 1)
	sent := time.Now()
	if _, err := cl.Channel().Originate(nil, callbackRequest("cb-delayed", 30)); err != nil {
		t.Fatalf("delayed originate: %v", err)
	}

	log := sim.Originates()
	if len(log) != 3 {
		t.Fatalf("originates %+v, want 3", log)
	}
	o := log[0]
	if o.Endpoint != cbEndpoint || o.CallerID != cbCallerID || o.Formats != "ulaw" || o.App != testApp ||
		o.AppArgs != cbArgs || o.Timeout != 25 || o.ChannelID != "cb-log" || o.Call == nil || o.At.IsZero() {
		t.Errorf("logged callback %+v", o)
	}
	if p := log[1]; p.ChannelID != "plain-1" || p.AppArgs != "callback,drop-8,1" || p.Timeout != 30 || p.Call != nil {
		t.Errorf("logged plain originate %+v", p)
	}
	if d := log[2]; d.ChannelID != "cb-delayed" || d.At.Sub(sent) < delay {
		t.Errorf("delayed originate logged %+v, %v after it was sent, want at least %v", d, d.At.Sub(sent), delay)
	}
	calls := sim.CalleeCalls(cbEndpoint)
	if len(calls) != 2 || calls[0] != o.Call || calls[1].ID() != "cb-delayed" {
		t.Errorf("callee calls %v", calls)
	}
	for _, c := range calls {
		if v := waitDone(t, c); v.HungUpBy != arisim.HungUpByCaller || !v.Answered {
			t.Errorf("callee %s: %+v, want answered and hung up by the callee", c.ID(), v)
		}
	}

	// Without callees an originate to the same endpoint is plain again.
	sim.ClearCallees()
	if _, err := cl.Channel().Originate(nil, callbackRequest("cb-cleared", 30)); err != nil {
		t.Fatalf("originate after clear: %v", err)
	}
	if o := originateFor(t, sim, "cb-cleared"); o.Call != nil {
		t.Errorf("originate after ClearCallees has a callee: %+v", o)
	}
}

// TestCalleeEventsConform checks the JSON of every event a call-back
// produces (answered, busy, rung out, hung up while ringing) against
// Asterisk 22's models.
func TestCalleeEventsConform(t *testing.T) {
	spec := loadSpec(t)
	var (
		mu     sync.Mutex
		events [][]byte
	)
	sim := arisim.New(arisim.Options{Username: testUser, Password: testPass, Application: testApp, ClockScale: fast})
	arisim.SetTap(sim, func(kind, _, _ string, _ int, body []byte) {
		if kind == "event" {
			mu.Lock()
			events = append(events, bytes.Clone(body))
			mu.Unlock()
		}
	})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cl := connect(t, sim, testApp)

	endpoints := map[string]arisim.Callee{
		"PJSIP/081@telco": {After: time.Second, Script: []arisim.Step{arisim.Press("1"), arisim.Hangup()}},
		"PJSIP/082@telco": {Busy: true},
		"PJSIP/083@telco": {NoAnswer: true},
		"PJSIP/084@telco": {FailCause: 34},
	}
	for ep, c := range endpoints {
		sim.SetCallee(ep, c)
		if _, err := cl.Channel().Originate(nil, ariv6.OriginateRequest{Endpoint: ep, App: testApp, AppArgs: "callback,x,1",
			CallerID: "112", Timeout: 2}); err != nil {
			t.Fatalf("originate %s: %v", ep, err)
		}
	}
	ringing := ariv6.OriginateRequest{Endpoint: "PJSIP/083@telco", App: testApp, Timeout: -1, ChannelID: "cb-cancel"}
	h, err := cl.Channel().Originate(nil, ringing)
	if err != nil {
		t.Fatalf("originate: %v", err)
	}
	eventually(t, "cb-cancel ringing", func() bool { d, err := h.Data(); return err == nil && d.State == "Ringing" })
	if err := h.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	for ep := range endpoints {
		for _, c := range sim.CalleeCalls(ep) {
			waitDone(t, c)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]int{}
	for _, b := range events {
		v, err := decodeJSON(b)
		if err != nil {
			t.Errorf("event is not JSON: %s", b)
			continue
		}
		obj, _ := v.(map[string]any)
		typ, _ := obj["type"].(string)
		seen[typ]++
		for _, e := range spec.check(v, typ, typ) {
			t.Errorf("event: %s", e)
		}
	}
	for _, want := range []string{"Dial", "ChannelStateChange", "StasisStart", "ChannelDtmfReceived", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"} {
		if seen[want] == 0 {
			t.Errorf("no %s event checked (seen %v)", want, seen)
		}
	}
}

// TestCalleeRestartWhileRinging: a ringing call-back vanishes with the
// process, and its handle says so.
func TestCalleeRestartWhileRinging(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: calleeScale})
	cl := connect(t, sim, testApp)
	sim.SetCallee(cbEndpoint, arisim.Callee{NoAnswer: true})
	h, err := cl.Channel().Originate(nil, callbackRequest("cb-restart", -1))
	if err != nil {
		t.Fatalf("originate: %v", err)
	}
	eventually(t, "ringing", func() bool { d, err := h.Data(); return err == nil && d.State == "Ringing" })
	sim.Restart()
	if v := waitDone(t, sim.CalleeCalls(cbEndpoint)[0]); v.HungUpBy != arisim.HungUpByRestart || v.Answered {
		t.Errorf("view %+v, want vanished by the restart, unanswered", v)
	}
}
