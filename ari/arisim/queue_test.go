package arisim_test

// What an application hears after it hands a caller to the operators' queue,
// as Asterisk 22.10.1 sent it (../shared/asterisk-ari-22/events-after-handoff):
// with a subscription to the caller's channel, Dial for each member rung,
// ANSWER and CANCEL, a few ChannelVarset, ChannelHangupRequest and
// ChannelDestroyed; without one, nothing after StasisEnd.

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// handOff answers each caller, subscribes the application to its channel when
// subscribe is set, and continues it to siaga112-operators,<exten>,1, as the
// IVR does.
func handOff(t *testing.T, cl ariv6.Client, exten string, subscribe bool) {
	t.Helper()
	serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		if err := h.SetVariable("SIAGA112_TYPE", exten); err != nil {
			t.Errorf("set variable: %v", err)
		}
		if subscribe {
			app := cl.Application().Get(ariv6.NewKey(ariv6.ApplicationKey, testApp))
			if err := app.Subscribe("channel:" + st.Channel.ID); err != nil {
				t.Errorf("subscribe: %v", err)
				return
			}
		}
		if err := h.Continue("siaga112-operators", exten, 1); err != nil {
			t.Errorf("continue: %v", err)
		}
	})
}

// dials returns the Dial events whose caller is channelID, in order.
func (r *recorder) dials(channelID string) []*ariv6.Dial {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*ariv6.Dial
	for _, e := range r.evs {
		if d, ok := e.(*ariv6.Dial); ok && d.Caller.ID == channelID {
			out = append(out, d)
		}
	}
	return out
}

// dialSummary renders Dial events as "status@dialstring(peer name prefix)".
func dialSummary(ds []*ariv6.Dial) []string {
	var out []string
	for _, d := range ds {
		peer, _, _ := strings.Cut(d.Peer.Name, "-")
		out = append(out, d.Dialstatus+"@"+d.Dialstring+"("+peer+")")
	}
	return out
}

// varsets lists "NAME=value" of the ChannelVarset events for channelID.
func (r *recorder) varsets(channelID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if v, ok := e.(*ariv6.ChannelVarset); ok && v.Channel.ID == channelID {
			out = append(out, v.Variable+"="+v.Value)
		}
	}
	return out
}

func fireQueue(members ...arisim.Operator) arisim.Queue {
	return arisim.Queue{Members: members, Timeout: 60 * time.Second, Overflow: "siaga112-operator"}
}

func TestQueueDialEvents(t *testing.T) {
	tests := []struct {
		name      string
		members   []arisim.Operator
		script    []arisim.Step
		wantDials []string
		wantTypes []string // the caller's events after StasisEnd
		wantBy    string
		wantIn    string
		wantOp    string
	}{
		{
			name: "operator answers, the other is cancelled, caller hangs up later",
			members: []arisim.Operator{
				{Device: "PJSIP/op201", AnswerAfter: 2 * time.Second},
				{Device: "PJSIP/op202", AnswerAfter: 30 * time.Second},
			},
			script:    []arisim.Step{arisim.WaitForOperator(), arisim.Talk(time.Second), arisim.Hangup()},
			wantDials: []string{"@PJSIP/op201(PJSIP/op201)", "@PJSIP/op202(PJSIP/op202)", "ANSWER@PJSIP/op201(PJSIP/op201)", "CANCEL@(PJSIP/op202)"},
			wantTypes: []string{"ChannelVarset", "Dial", "Dial", "Dial", "Dial", "ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed"},
			wantBy:    arisim.HungUpByCaller, wantIn: arisim.EndedInOperator, wantOp: "PJSIP/op201",
		},
		{
			name: "caller hangs up while members ring",
			members: []arisim.Operator{
				{Device: "PJSIP/op201", NoAnswer: true},
				{Device: "PJSIP/op202", NoAnswer: true},
			},
			script:    []arisim.Step{arisim.WaitForEnd(), arisim.Wait(3 * time.Second), arisim.Hangup()},
			wantDials: []string{"@PJSIP/op201(PJSIP/op201)", "@PJSIP/op202(PJSIP/op202)", "CANCEL@(PJSIP/op201)", "CANCEL@(PJSIP/op202)"},
			wantTypes: []string{"ChannelVarset", "Dial", "Dial", "Dial", "Dial", "ChannelHangupRequest", "ChannelDestroyed"},
			wantBy:    arisim.HungUpByCaller, wantIn: arisim.EndedInQueue,
		},
		{
			name:      "operator hangs up after talking",
			members:   []arisim.Operator{{Device: "PJSIP/op201", AnswerAfter: time.Second, TalkFor: 2 * time.Second}},
			script:    []arisim.Step{arisim.WaitForOperator(), arisim.Wait(time.Hour)},
			wantDials: []string{"@PJSIP/op201(PJSIP/op201)", "ANSWER@PJSIP/op201(PJSIP/op201)"},
			wantTypes: []string{"ChannelVarset", "Dial", "Dial", "ChannelVarset", "ChannelDestroyed"},
			wantBy:    arisim.HungUpByOperator, wantIn: arisim.EndedInOperator, wantOp: "PJSIP/op201",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast})
			sim.SetQueue("siaga112-fire", fireQueue(tc.members...))
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			handOff(t, cl, "fire", true)
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "081300000098", Dialed: "112", Script: tc.script})
			if err != nil {
				t.Fatal(err)
			}
			// While in the queue the channel is listed where Asterisk shows it.
			rec.wait(t, "first Dial", ofType("Dial"))
			ch, err := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID())).Data()
			if err != nil {
				t.Fatalf("channel in queue: %v", err)
			}
			if dp := ch.Dialplan; dp.Context != "siaga112-operators" || dp.Exten != "fire" || dp.Priority != 2 || dp.AppName != "Queue" || dp.AppData != "siaga112-fire,t,,,60" {
				t.Errorf("dialplan in queue = %+v", dp)
			}
			if ch.Caller.Name != "KEBAKARAN 081300000098" {
				t.Errorf("caller name in queue = %q (the dialplan sets KEBAKARAN <num>)", ch.Caller.Name)
			}
			view := waitDone(t, call)
			rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed"))
			rec.drained(t, sim)

			if got := dialSummary(rec.dials(call.ID())); !slices.Equal(got, tc.wantDials) {
				t.Errorf("Dial events = %q, want %q", got, tc.wantDials)
			}
			types := rec.types(call.ID())
			i := slices.Index(types, "StasisEnd")
			if i < 0 || !slices.Equal(types[i+1:], tc.wantTypes) {
				t.Errorf("events = %v, want after StasisEnd %v", types, tc.wantTypes)
			}
			for _, d := range rec.dials(call.ID()) {
				if d.Caller.Dialplan.Context != "siaga112-operators" || d.Caller.Dialplan.AppName != "Queue" {
					t.Errorf("Dial caller dialplan = %+v", d.Caller.Dialplan)
				}
				if d.Peer.ID == "" || d.Peer.ID == call.ID() || d.Peer.Dialplan.AppName != "AppQueue" {
					t.Errorf("Dial peer = id %q dialplan %+v", d.Peer.ID, d.Peer.Dialplan)
				}
			}
			cd := rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed")).(*ariv6.ChannelDestroyed)
			if cd.Cause != 16 || cd.CauseTxt != "Normal Clearing" || cd.Channel.ID != call.ID() {
				t.Errorf("ChannelDestroyed = cause %d %q channel %s", cd.Cause, cd.CauseTxt, cd.Channel.ID)
			}
			if slices.Contains(types, "ChannelHangupRequest") {
				hr := rec.wait(t, "hangup request", ofType("ChannelHangupRequest")).(*ariv6.ChannelHangupRequest)
				if hr.Cause != 16 || hr.Soft {
					t.Errorf("ChannelHangupRequest cause %d soft %v, want 16 false", hr.Cause, hr.Soft)
				}
			}
			if view.HungUpBy != tc.wantBy || view.EndedIn != tc.wantIn || view.Operator != tc.wantOp || view.Queue != "siaga112-fire" {
				t.Errorf("view: by %q in %q operator %q queue %q, want %q %q %q siaga112-fire",
					view.HungUpBy, view.EndedIn, view.Operator, view.Queue, tc.wantBy, tc.wantIn, tc.wantOp)
			}
			if view.QueuedAt.IsZero() || view.QueuedAt.Before(view.AnsweredAt) {
				t.Errorf("QueuedAt %v, answered %v", view.QueuedAt, view.AnsweredAt)
			}
			if tc.wantOp != "" {
				// The operator answers AnswerAfter (scaled) after the caller joined.
				want := time.Duration(float64(tc.members[0].AnswerAfter) * fast)
				if got := view.OperatorAnsweredAt.Sub(view.QueuedAt); got < want || got > 2*want+20*time.Millisecond {
					t.Errorf("operator answered %v after queueing, want about %v", got, want)
				}
			}
			if n := sim.ActiveChannels(); n != 0 {
				t.Errorf("%d channels left (member channels must go with the call)", n)
			}
			for _, m := range tc.members {
				if st := sim.DeviceState(m.Device); st != arisim.DeviceNotInUse {
					t.Errorf("%s is %s after the call, want NOT_INUSE", m.Device, st)
				}
			}
		})
	}
}

// TestNoEventsAfterStasisEndWithoutSubscription: an application that did not
// subscribe to the channel hears nothing of the queue, as before.
func TestNoEventsAfterStasisEndWithoutSubscription(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-fire", fireQueue(arisim.Operator{Device: "PJSIP/op201", AnswerAfter: time.Second, TalkFor: time.Second}))
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	handOff(t, cl, "fire", false)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	view := waitDone(t, call)
	rec.drained(t, sim)
	if view.Operator != "PJSIP/op201" || view.HungUpBy != arisim.HungUpByOperator {
		t.Fatalf("the call did not go through the queue: %+v", view)
	}
	want := []string{"StasisStart", "ChannelStateChange", "ChannelVarset", "StasisEnd"}
	if got := rec.types(call.ID()); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// rawDo sends a request to an ARI path and returns the status and body.
func rawDo(t *testing.T, sim *arisim.Server, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestQueueMemberFree: QUEUE_MEMBER(<queue>,free) counts the NOT_INUSE
// members of a queue defined with SetQueue, unless SetQueueFree said
// otherwise.
func TestQueueMemberFree(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-fire", fireQueue(arisim.Operator{Device: "PJSIP/op201"}, arisim.Operator{Device: "PJSIP/op202"}))
	sim.SetQueue("siaga112-medical", arisim.Queue{})
	sim.SetQueueFree("siaga112-medical", 3)
	cl := connect(t, sim, testApp)
	ready := make(chan *ariv6.ChannelHandle, 1)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, _ *ariv6.StasisStart) { ready <- h })
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup()
	h := <-ready
	free := func(q string) string {
		t.Helper()
		v, err := h.GetVariable("QUEUE_MEMBER(" + q + ",free)")
		if err != nil {
			t.Fatalf("QUEUE_MEMBER(%s): %v", q, err)
		}
		return v
	}
	steps := []struct {
		set, state string
		fire       string
	}{
		{"", "", "2"},
		{"PJSIP/op201", "INUSE", "1"},
		{"PJSIP/op202", "UNAVAILABLE", "0"},
		{"PJSIP/op201", "NOT_INUSE", "1"},
	}
	for _, st := range steps {
		if st.set != "" {
			sim.SetDeviceState(st.set, st.state)
		}
		if got := free("siaga112-fire"); got != st.fire {
			t.Errorf("after %s %s: fire free = %s, want %s", st.set, st.state, got, st.fire)
		}
	}
	if got := free("siaga112-medical"); got != "3" {
		t.Errorf("queue without members: %s, want SetQueueFree's 3", got)
	}
	// A test's SetQueueFree wins over what the members say.
	sim.SetQueueFree("siaga112-fire", 7)
	if got := free("siaga112-fire"); got != "7" {
		t.Errorf("after SetQueueFree(fire, 7): %s", got)
	}
	if got := free("siaga112-nope"); got != "0" {
		t.Errorf("unknown queue: %s, want 0", got)
	}
}

func TestQueueOverflow(t *testing.T) {
	tests := []struct {
		name       string
		fire       arisim.Queue
		before     map[string]string // device states before the call
		during     map[string]string // device states set while the caller waits
		wantStatus string            // QUEUESTATUS when leaving siaga112-fire
		wantDials  []string
		minWait    time.Duration // media time from queueing to the operator's answer
	}{
		{
			name:       "timeout",
			fire:       arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201", NoAnswer: true}}, Timeout: 4 * time.Second, Overflow: "siaga112-operator"},
			wantStatus: "TIMEOUT",
			wantDials:  []string{"@PJSIP/op201(PJSIP/op201)", "CANCEL@(PJSIP/op201)", "@PJSIP/op202(PJSIP/op202)", "ANSWER@PJSIP/op202(PJSIP/op202)"},
			minWait:    5 * time.Second,
		},
		{
			name:       "every member away",
			fire:       fireQueue(arisim.Operator{Device: "PJSIP/op201"}),
			before:     map[string]string{"PJSIP/op201": "UNAVAILABLE"},
			wantStatus: "JOINEMPTY",
			wantDials:  []string{"@PJSIP/op202(PJSIP/op202)", "ANSWER@PJSIP/op202(PJSIP/op202)"},
			minWait:    time.Second,
		},
		{
			name:       "members leave while the caller waits",
			fire:       fireQueue(arisim.Operator{Device: "PJSIP/op201"}),
			before:     map[string]string{"PJSIP/op201": "INUSE"},
			during:     map[string]string{"PJSIP/op201": "UNAVAILABLE"},
			wantStatus: "LEAVEEMPTY",
			wantDials:  []string{"@PJSIP/op202(PJSIP/op202)", "ANSWER@PJSIP/op202(PJSIP/op202)"},
			minWait:    time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast})
			sim.SetQueue("siaga112-fire", tc.fire)
			sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op202", AnswerAfter: time.Second}}})
			for d, st := range tc.before {
				sim.SetDeviceState(d, st)
			}
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			handOff(t, cl, "fire", true)
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
				arisim.WaitForOperator(), arisim.Talk(time.Second), arisim.Hangup()}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.during != nil {
				eventually(t, "caller waiting", func() bool { return call.Result().Queue == "siaga112-fire" })
				for d, st := range tc.during {
					sim.SetDeviceState(d, st)
				}
			}
			view := waitDone(t, call)
			rec.drained(t, sim)
			if got := dialSummary(rec.dials(call.ID())); !slices.Equal(got, tc.wantDials) {
				t.Errorf("Dial events = %q, want %q", got, tc.wantDials)
			}
			if vs := rec.varsets(call.ID()); !slices.Contains(vs, "QUEUESTATUS="+tc.wantStatus) {
				t.Errorf("ChannelVarset = %v, want QUEUESTATUS=%s", vs, tc.wantStatus)
			}
			if view.Queue != "siaga112-operator" || view.Operator != "PJSIP/op202" || view.EndedIn != arisim.EndedInOperator {
				t.Errorf("view: queue %q operator %q in %q", view.Queue, view.Operator, view.EndedIn)
			}
			want := time.Duration(float64(tc.minWait) * fast)
			if got := view.OperatorAnsweredAt.Sub(view.QueuedAt); got < want || got > 2*want+20*time.Millisecond {
				t.Errorf("answered %v after queueing, want about %v", got, want)
			}
		})
	}
}

// TestQueueOrderOfArrival: one operator takes the callers in the order they
// joined, the next when the previous call ended; a device that becomes free
// is rung at once.
func TestQueueOrderOfArrival(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op202", AnswerAfter: time.Second, TalkFor: 3 * time.Second}}})
	sim.SetDeviceState("PJSIP/op202", "INUSE") // busy on another line
	cl := connect(t, sim, testApp)
	handOff(t, cl, "operator", false)
	var calls []*arisim.CallHandle
	for _, n := range []string{"0811", "0812", "0813"} {
		c, err := sim.Call(context.Background(), arisim.Caller{Number: n, Dialed: "112", Script: []arisim.Step{
			arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "caller queued", func() bool { return c.Result().Queue == "siaga112-operator" })
		calls = append(calls, c)
	}
	if got := calls[0].Result().Operator; got != "" {
		t.Fatalf("a busy operator was rung: %s", got)
	}
	free := time.Now()
	sim.SetDeviceState("PJSIP/op202", "NOT_INUSE")
	var prevEnd time.Time
	for i, c := range calls {
		v := waitDone(t, c)
		if v.Operator != "PJSIP/op202" || v.HungUpBy != arisim.HungUpByOperator {
			t.Fatalf("caller %d: operator %q by %q", i, v.Operator, v.HungUpBy)
		}
		if i == 0 && v.OperatorAnsweredAt.Before(free) {
			t.Errorf("caller 0 answered before the operator was free")
		}
		if i > 0 && v.OperatorAnsweredAt.Before(prevEnd) {
			t.Errorf("caller %d answered at %v, before caller %d's call ended at %v", i, v.OperatorAnsweredAt, i-1, prevEnd)
		}
		prevEnd = v.EndedAt
	}
	if v := calls[0].Result(); v.Variables["QUEUEPOSITION"] != "1" || calls[2].Result().Variables["QUEUEPOSITION"] != "3" {
		t.Errorf("QUEUEPOSITION %q / %q, want 1 / 3", v.Variables["QUEUEPOSITION"], calls[2].Result().Variables["QUEUEPOSITION"])
	}
}

// TestQueueRingAttempts: with queues.conf's timeout and retry, an unanswered
// member gets NOANSWER after each attempt and rings again after the pause.
func TestQueueRingAttempts(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-fire", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201", NoAnswer: true}},
		Overflow: "siaga112-operator", RingTimeout: 4 * time.Second, Retry: 3 * time.Second})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	handOff(t, cl, "fire", true)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForEnd(), arisim.Wait(20 * time.Second), arisim.Hangup()}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, call)
	rec.drained(t, sim)
	dials := rec.dials(call.ID())
	got := dialSummary(dials)
	if len(got) < 4 {
		t.Fatalf("Dial events = %q, want at least two attempts", got)
	}
	for i, d := range got {
		want := "@PJSIP/op201(PJSIP/op201)"
		if i%2 == 1 {
			want = "NOANSWER@(PJSIP/op201)"
			if i == len(got)-1 {
				want = "CANCEL@(PJSIP/op201)" // ringing when the caller hung up
			}
		}
		if d != want && (i != len(got)-1 || d != "NOANSWER@(PJSIP/op201)") {
			t.Errorf("Dial %d = %q, want %q (all: %q)", i, d, want, got)
		}
	}
	// A ring attempt lasts RingTimeout, the pause after it Retry.
	ts := func(i int) time.Time { return time.Time(dials[i].Timestamp) }
	if d := ts(1).Sub(ts(0)); d < time.Duration(4*float64(time.Second)*fast)-time.Millisecond {
		t.Errorf("attempt lasted %v, want RingTimeout", d)
	}
	if d := ts(2).Sub(ts(1)); d < time.Duration(3*float64(time.Second)*fast)-time.Millisecond {
		t.Errorf("pause lasted %v, want Retry", d)
	}
}

// TestQueueWrapUp: a member is not rung again by the queue until its
// wrap-up time after a call has passed.
func TestQueueWrapUp(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-operator", arisim.Queue{WrapUp: 5 * time.Second,
		Members: []arisim.Operator{{Device: "PJSIP/op202", TalkFor: 2 * time.Second}}})
	cl := connect(t, sim, testApp)
	handOff(t, cl, "operator", false)
	var views []arisim.CallerView
	var calls []*arisim.CallHandle
	for _, n := range []string{"0811", "0812"} {
		c, err := sim.Call(context.Background(), arisim.Caller{Number: n, Dialed: "112", Script: []arisim.Step{
			arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	for _, c := range calls {
		views = append(views, waitDone(t, c))
	}
	first, second := views[0], views[1]
	if first.OperatorAnsweredAt.After(second.OperatorAnsweredAt) {
		first, second = second, first
	}
	wrap := time.Duration(5 * float64(time.Second) * fast)
	if gap := second.OperatorAnsweredAt.Sub(first.EndedAt); gap < wrap-time.Millisecond {
		t.Errorf("second caller answered %v after the first call ended, want at least the wrap-up %v", gap, wrap)
	}
	if first.Operator != "PJSIP/op202" || second.Operator != "PJSIP/op202" {
		t.Errorf("operators %q %q", first.Operator, second.Operator)
	}
}

// TestQueueCancelAndRestart: cancelling a waiting caller's context hangs up
// as a caller hang-up does (CANCEL first); a Restart forgets the callers in
// the queues and the members' calls, and the queues work on afterwards.
func TestQueueCancelAndRestart(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	sim.SetQueue("siaga112-fire", fireQueue(arisim.Operator{Device: "PJSIP/op201", NoAnswer: true}))
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	handOff(t, cl, "fire", true)
	ctx, cancel := context.WithCancel(context.Background())
	call, err := sim.Call(ctx, arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.WaitForOperator()}})
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "member rung", ofType("Dial"))
	cancel()
	view := waitDone(t, call)
	rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed"))
	rec.drained(t, sim)
	if got, want := dialSummary(rec.dials(call.ID())), []string{"@PJSIP/op201(PJSIP/op201)", "CANCEL@(PJSIP/op201)"}; !slices.Equal(got, want) {
		t.Errorf("Dial events = %q, want %q", got, want)
	}
	if view.HungUpBy != arisim.HungUpByCaller || view.EndedIn != arisim.EndedInQueue {
		t.Errorf("view: by %q in %q", view.HungUpBy, view.EndedIn)
	}

	c2, err := sim.Call(context.Background(), arisim.Caller{Number: "0812", Dialed: "112", Script: []arisim.Step{arisim.WaitForOperator()}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "member ringing", func() bool { return sim.DeviceState("PJSIP/op201") == arisim.DeviceRinging })
	sim.Restart()
	waitDone(t, c2)
	if st := sim.DeviceState("PJSIP/op201"); st != arisim.DeviceNotInUse {
		t.Errorf("member after Restart: %s, want NOT_INUSE", st)
	}
	if n := sim.ActiveChannels(); n != 0 {
		t.Errorf("%d channels after Restart", n)
	}
	sim.SetQueue("siaga112-fire", fireQueue(arisim.Operator{Device: "PJSIP/op201", AnswerAfter: time.Second, TalkFor: time.Second}))
	cl2 := connect(t, sim, testApp)
	handOff(t, cl2, "fire", false)
	c3, err := sim.Call(context.Background(), arisim.Caller{Number: "0813", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if v := waitDone(t, c3); v.Operator != "PJSIP/op201" || v.HungUpBy != arisim.HungUpByOperator {
		t.Errorf("call after Restart: operator %q by %q", v.Operator, v.HungUpBy)
	}
}

// TestQueueCallerDisplay: the dialplan marks the caller id name for the
// operator's phone: per type extension, and on extension operator per
// SIAGA112_TYPE.
func TestQueueCallerDisplay(t *testing.T) {
	tests := []struct{ exten, want string }{
		{"fire", "KEBAKARAN 0811"},     // no siaga112-fire queue: on to the operators, still marked
		{"operator", ""},               // SIAGA112_TYPE=operator: no mark
		{"silent_help", "SENYAP 0811"}, // no such extension: i -> operator
	}
	for _, tc := range tests {
		t.Run(tc.exten, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast})
			sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op202", NoAnswer: true}}})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			handOff(t, cl, tc.exten, true)
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.WaitForOperator()}})
			if err != nil {
				t.Fatal(err)
			}
			defer call.Hangup()
			d := rec.wait(t, "Dial", ofType("Dial")).(*ariv6.Dial)
			if d.Caller.Caller.Name != tc.want {
				t.Errorf("caller name %q, want %q", d.Caller.Caller.Name, tc.want)
			}
			if dp := d.Caller.Dialplan; dp.Exten != "operator" || dp.Priority != 5 || dp.AppData != "siaga112-operator,t" {
				t.Errorf("dialplan %+v, want the operator queue line", dp)
			}
		})
	}
}
