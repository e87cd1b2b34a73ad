package arisim_test

// Application subscriptions, device states and channelvars.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// TestSubscribedChannelWithoutQueue: a subscribed channel hung up in Stasis, or
// continued where no queue is simulated, also gets ChannelDestroyed.
func TestSubscribedChannelWithoutQueue(t *testing.T) {
	tests := []struct {
		name      string
		continue_ bool
		want      []string
	}{
		{"caller hangs up in Stasis", false, []string{"StasisStart", "ChannelStateChange", "ChannelVarset", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"}},
		// WaitForOperator gives up at once: no queue is simulated, so the
		// caller hangs up as soon as the app continued the call.
		{"caller hangs up after continue", true, []string{"StasisStart", "ChannelStateChange", "ChannelVarset", "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			if tc.continue_ {
				handOff(t, cl, "fire", true)
			} else {
				serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
					must(t, "answer", h.Answer())
					must(t, "set", h.SetVariable("SIAGA112_TYPE", "fire"))
					must(t, "subscribe", cl.Application().Subscribe(ariv6.NewKey(ariv6.ApplicationKey, testApp), "channel:"+st.Channel.ID))
				})
			}
			script := []arisim.Step{arisim.WaitForAnswer(), arisim.Wait(time.Second), arisim.Hangup()}
			if tc.continue_ {
				script = []arisim.Step{arisim.WaitForOperator(), arisim.Wait(time.Hour)}
			}
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: script})
			if err != nil {
				t.Fatal(err)
			}
			view := waitDone(t, call)
			rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed"))
			rec.drained(t, sim)
			if got := rec.types(call.ID()); !slices.Equal(got, tc.want) {
				t.Errorf("events = %v, want %v", got, tc.want)
			}
			wantIn := arisim.EndedInIVR
			if tc.continue_ {
				wantIn = arisim.EndedInQueue
			}
			if view.EndedIn != wantIn || view.HungUpBy != arisim.HungUpByCaller || view.Operator != "" {
				t.Errorf("view: in %q by %q operator %q", view.EndedIn, view.HungUpBy, view.Operator)
			}
		})
	}
}

func TestSubscriptionErrors(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	connect(t, sim, testApp)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup()
	id := call.ID()
	sub := "/applications/" + testApp + "/subscription?eventSource="
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/applications/" + testApp + "/subscription", 400},
		{http.MethodPost, "/applications/nope/subscription?eventSource=channel:" + id, 404},
		{http.MethodPost, sub + "channel:no-such-channel", 422},
		{http.MethodPost, sub + "bogus:" + id, 400},
		{http.MethodPost, sub + "endpoint:PJSIP/trunk", 422},
		{http.MethodDelete, sub + "channel:" + id, 422}, // not subscribed: res_stasis answers 422, not the swagger's 409
		{http.MethodDelete, sub + "channel:no-such-channel", 422},
		{http.MethodPost, sub + "channel:" + id + ",deviceState:PJSIP%2Fop201", 200},
		{http.MethodPost, sub + "channel:" + id, 200}, // again: still one subscription
		{http.MethodDelete, sub + "deviceState:PJSIP%2Fop201", 200},
		{http.MethodDelete, sub + "deviceState:PJSIP%2Fop201", 422},
		{http.MethodDelete, sub + "bogus:1", 400},
	}
	var last []byte
	for _, tc := range tests {
		st, body := rawDo(t, sim, tc.method, tc.path)
		if st != tc.want {
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, st, body, tc.want)
		}
		if st == 200 {
			last = body
		}
	}
	var app struct {
		Name        string   `json:"name"`
		ChannelIDs  []string `json:"channel_ids"`
		DeviceNames []string `json:"device_names"`
	}
	if err := json.Unmarshal(last, &app); err != nil || app.Name != testApp || !slices.Equal(app.ChannelIDs, []string{id}) || len(app.DeviceNames) != 0 {
		t.Errorf("Application after the changes = %s (%v)", last, err)
	}

	// Subscriptions survive a dropped WebSocket, and vanish with a restart.
	sim.DropWebSockets()
	if st, _ := rawDo(t, sim, http.MethodDelete, sub+"channel:"+id); st != 200 {
		t.Errorf("unsubscribe after a dropped WebSocket: %d, want 200 (the subscription survives)", st)
	}
	st, _ := rawDo(t, sim, http.MethodPost, sub+"deviceState:PJSIP%2Fop201")
	if st != 200 {
		t.Fatalf("subscribe: %d", st)
	}
	sim.Restart()
	connect(t, sim, testApp)
	_, body := rawDo(t, sim, http.MethodGet, "/applications/"+testApp)
	if !strings.Contains(string(body), `"device_names":[]`) {
		t.Errorf("after Restart: %s, want no device subscription", body)
	}
}

func TestDeviceStates(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	const dev = "PJSIP/op201"
	get := func() string {
		t.Helper()
		st, err := cl.DeviceState().Data(ariv6.NewKey(ariv6.DeviceStateKey, url.PathEscape(dev)))
		if err != nil {
			t.Fatalf("GET device state: %v", err)
		}
		if st.Name != dev {
			t.Errorf("device name %q", st.Name)
		}
		return st.State
	}
	if st := get(); st != "UNKNOWN" {
		t.Errorf("never seen: %s, want UNKNOWN", st)
	}
	sim.SetQueue("siaga112-fire", fireQueue(arisim.Operator{Device: dev, AnswerAfter: 2 * time.Second, TalkFor: 2 * time.Second}))
	if st := get(); st != "NOT_INUSE" {
		t.Errorf("member: %s, want NOT_INUSE", st)
	}
	must(t, "subscribe", cl.Application().Subscribe(ariv6.NewKey(ariv6.ApplicationKey, testApp), "deviceState:"+dev))
	sim.SetDeviceState(dev, "UNAVAILABLE")
	sim.SetDeviceState(dev, "NOT_INUSE")
	handOff(t, cl, "fire", false)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, call)
	eventually(t, "device free again", func() bool { return sim.DeviceState(dev) == "NOT_INUSE" })
	rec.drained(t, sim)
	var got []string
	rec.mu.Lock()
	for _, e := range rec.evs {
		if d, ok := e.(*ariv6.DeviceStateChanged); ok && d.DeviceState.Name == dev {
			got = append(got, d.DeviceState.State)
		}
	}
	rec.mu.Unlock()
	if want := []string{"UNAVAILABLE", "NOT_INUSE", "RINGING", "INUSE", "NOT_INUSE"}; !slices.Equal(got, want) {
		t.Errorf("DeviceStateChanged = %v, want %v", got, want)
	}

	// The list holds only the devices ARI controls, as in Asterisk.
	must(t, "put", cl.DeviceState().Update(ariv6.NewKey(ariv6.DeviceStateKey, "Stasis:desk1"), "BUSY"))
	keys, err := cl.DeviceState().List(nil)
	if err != nil || len(keys) != 1 || keys[0].ID != "Stasis:desk1" {
		t.Errorf("list = %v %v, want only Stasis:desk1", keys, err)
	}
	if code(cl.DeviceState().Update(ariv6.NewKey(ariv6.DeviceStateKey, url.PathEscape(dev)), "BUSY")) != 409 {
		t.Errorf("PUT on a device ARI does not control: want 409")
	}
	must(t, "delete", cl.DeviceState().Delete(ariv6.NewKey(ariv6.DeviceStateKey, "Stasis:desk1")))
	if st, _ := rawDo(t, sim, http.MethodDelete, "/deviceStates/Stasis:desk1"); st != 404 {
		t.Errorf("DELETE twice: %d, want 404", st)
	}
	app, err := cl.Application().Data(ariv6.NewKey(ariv6.ApplicationKey, testApp))
	if err != nil || !slices.Equal(app.DeviceNames, []string{dev}) {
		t.Errorf("application device_names = %v (%v), want [%s]", app.DeviceNames, err, dev)
	}
}

func TestChannelVars(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast, ChannelVars: []string{"SIAGA112_CALL_ID", "CALLERID(num)"}})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup()
	st := rec.wait(t, "StasisStart", ofType("StasisStart")).(*ariv6.StasisStart)
	if got := st.Channel.ChannelVars; len(got) != 2 || got["SIAGA112_CALL_ID"] != "" || got["CALLERID(num)"] != "0811" {
		t.Errorf("StasisStart channelvars = %v", got)
	}
	h := cl.Channel().Get(st.Key(ariv6.ChannelKey, call.ID()))
	must(t, "set", h.SetVariable("SIAGA112_CALL_ID", "c-9"))
	d, err := h.Data()
	if err != nil {
		t.Fatal(err)
	}
	if d.ChannelVars["SIAGA112_CALL_ID"] != "c-9" {
		t.Errorf("GET channel channelvars = %v", d.ChannelVars)
	}
	// Without the option there is no channelvars at all.
	plain := startSim(t, arisim.Options{ClockScale: fast})
	c2, err := plain.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, c2)
	_, body := rawDo(t, plain, http.MethodGet, "/channels")
	if strings.Contains(string(body), "channelvars") {
		t.Errorf("channelvars without the option: %s", body)
	}
}
