package arisim_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// TestRestartIsAtomic: clients that react to the dropped WebSocket at once
// (the native client redials after 10 ms; an IVR hands its callers off over
// REST) only ever meet the restarted process. Many channels make the restart
// and a pause inside Restart give a reaction every chance to land in the
// middle of it if it were not atomic.
func TestRestartIsAtomic(t *testing.T) {
	const calls = 200
	sim := arisim.New(arisim.Options{Username: testUser, Password: testPass, Application: testApp, ClockScale: fast})
	// The pause inside Restart gives the clients' reactions to the drop
	// (the native client redials after 10 ms) ample time to land in the
	// middle of the restart; an atomic restart holds them until it is done.
	arisim.SetRestartPause(sim, func() { time.Sleep(200 * time.Millisecond) })
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close sim: %v", err)
		}
	})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	before, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	handles := make([]*arisim.CallHandle, 0, calls)
	for i := range calls {
		h, err := sim.Call(context.Background(), arisim.Caller{Number: fmt.Sprintf("0811%07d", i), Dialed: "112"})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		handles = append(handles, h)
	}
	// Call puts each channel into Stasis before it returns.
	if n := sim.ActiveChannels(); n != calls {
		t.Fatalf("%d channels, want %d", n, calls)
	}
	old := make(map[string]bool, calls)
	for _, h := range handles {
		old[h.ID()] = true
	}

	// The hand-off client waits for the WebSocket to drop, then tries to
	// put every caller through and lists the channels, as an IVR would.
	type handoff struct {
		continued int   // hand-offs Asterisk accepted
		listed    []int // old channels seen by each GET /channels
		infos     []time.Time
	}
	var (
		got  handoff
		wg   sync.WaitGroup
		drop = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-drop
		for _, h := range handles {
			ch := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, h.ID()))
			if err := ch.Continue("siaga112-operators", "operator", 1); err == nil {
				got.continued++
			}
			if len(got.listed) < 20 {
				keys, err := cl.Channel().List(nil)
				if err != nil {
					continue
				}
				n := 0
				for _, k := range keys {
					if old[k.ID] {
						n++
					}
				}
				got.listed = append(got.listed, n)
				if info, err := cl.Asterisk().Info(nil); err == nil {
					got.infos = append(got.infos, time.Time(info.StatusInfo.StartupTime))
				}
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(drop)
		deadline := time.Now().Add(waitMax)
		for sim.Stats().WebSockets != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	}()

	sim.Restart()
	wg.Wait()

	if got.continued != 0 {
		t.Errorf("%d callers were put through by a hand-off sent after the WebSocket dropped; the restart ended them", got.continued)
	}
	for i, n := range got.listed {
		if n != 0 {
			t.Errorf("GET /channels #%d after the drop listed %d channels of the old process", i, n)
		}
	}
	for i, st := range got.infos {
		if !st.After(time.Time(before.StatusInfo.StartupTime)) {
			t.Errorf("asterisk/info #%d after the drop reported the old startup time %v", i, st)
		}
	}
	for _, h := range handles {
		if v := waitDone(t, h); v.HungUpBy != arisim.HungUpByRestart || v.Continued != nil {
			t.Fatalf("call %s: hung up by %q, continued %+v; want ended by the restart", h.ID(), v.HungUpBy, v.Continued)
		}
	}
	keys, err := cl.Channel().List(nil)
	if err != nil {
		t.Fatalf("list channels: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("GET /channels after Restart lists %d channels, want none", len(keys))
	}
	for id := range old {
		if types := rec.types(id); slices.Contains(types, "StasisEnd") || slices.Contains(types, "ChannelDestroyed") {
			t.Fatalf("the restarted process reported %v for channel %s", types, id)
		}
	}

	// The native client redials 10 ms after the drop; its application must
	// be held by the new process (before the fix the restart could forget a
	// registration made in its middle, and the client, connected, never
	// registered again).
	eventually(t, "application registered with the new process", func() bool {
		apps, err := cl.Application().List(nil)
		return err == nil && len(apps) == 1
	})
	after, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatalf("info after restart: %v", err)
	}
	if !time.Time(after.StatusInfo.StartupTime).After(time.Time(before.StatusInfo.StartupTime)) {
		t.Errorf("startup time %v after the restart, want later than %v", after.StatusInfo.StartupTime, before.StatusInfo.StartupTime)
	}
	h, err := sim.Call(context.Background(), arisim.Caller{Number: "0812", Dialed: "112", Script: []arisim.Step{arisim.Hangup()}})
	if err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	if v := waitDone(t, h); v.HungUpBy != arisim.HungUpByCaller {
		t.Errorf("call after restart hung up by %q, want the caller (the app is registered)", v.HungUpBy)
	}
}

// TestRestartStartupTimeAlwaysChanges: two restarts within the same
// millisecond still report distinct startup times, so a client comparing
// them always notices.
func TestRestartStartupTimeAlwaysChanges(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	var times []time.Time
	for range 3 {
		info, err := cl.Asterisk().Info(nil)
		if err != nil {
			t.Fatalf("info: %v", err)
		}
		times = append(times, time.Time(info.StatusInfo.StartupTime))
		sim.Restart()
	}
	for i := 1; i < len(times); i++ {
		if !times[i].After(times[i-1]) {
			t.Errorf("startup times %v: restart %d did not change it", times, i)
		}
	}
}
