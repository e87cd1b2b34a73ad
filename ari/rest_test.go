package ari

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/flows"
)

// bareNode starts a sim and builds an IVR on it that is never Run, so that
// the test sees only the goroutines and connections of its own requests
// (no events WebSocket, no probe, no sweep). The IVR's REST transport is
// closed at cleanup, as Run closes it when it returns.
func bareNode(t *testing.T, cfgFn func(*configs.ARI)) (*arisim.Server, *IVR, *node) {
	t.Helper()
	sim := arisim.New(arisim.Options{Username: simUser, Password: simPass, Application: simApp, ClockScale: clockScale})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("sim close: %v", err)
		}
	})
	cfg := testConfig()
	cfg.ARI.Nodes = []configs.ARINode{{Name: "bare", URL: sim.URL(), WSURL: sim.WSURL(), Username: simUser, Password: simPass}}
	if cfgFn != nil {
		cfgFn(&cfg.ARI)
	}
	flow, err := flows.New(cfg.IVR, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{ARI: cfg.ARI, IVR: cfg.IVR, Flow: flow, Publisher: nopPublisher{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.closeREST)
	return sim, v, v.nodes[0]
}

// TestTimedOutRequestsAreClosed hangs every REST request in the sim and
// makes many requests time out: a request we stopped waiting for must be
// closed, not left running, so neither our goroutines nor the connections
// open to Asterisk grow with the number of timeouts. Then Asterisk answers
// again and the same client works.
func TestTimedOutRequestsAreClosed(t *testing.T) {
	const timeouts = 30
	timeout := 100 * time.Millisecond
	sim, _, n := bareNode(t, func(a *configs.ARI) { a.RequestTimeout = timeout })

	// One request first, so the keep-alive connection and its goroutines
	// are part of the baseline.
	if err := restCall(context.Background(), waitMax, "info", func() error {
		_, err := n.client.Asterisk().Info(nil)
		return err
	}); err != nil {
		t.Fatalf("info before the hang: %v", err)
	}
	before := runtime.NumGoroutine()

	sim.SetRESTDelay(time.Hour) // Asterisk hangs: requests are read, never answered
	var wg sync.WaitGroup
	for range timeouts {
		wg.Go(func() {
			err := restCall(context.Background(), timeout, "info", func() error {
				_, err := n.client.Asterisk().Info(nil)
				return err
			})
			if !errors.Is(err, ErrRequestTimeout) {
				t.Errorf("request against a hung Asterisk: %v, want ErrRequestTimeout", err)
			}
		})
	}
	// A call's requests (answer, on a channel that exists) time out the
	// same way.
	for range timeouts {
		err := restCall(context.Background(), timeout, "answer", func() error {
			return n.client.Channel().Answer(ariv6.NewKey(ariv6.ChannelKey, "no-such-channel"))
		})
		if !errors.Is(err, ErrRequestTimeout) {
			t.Fatalf("answer against a hung Asterisk: %v, want ErrRequestTimeout", err)
		}
	}
	wg.Wait()

	// Every request timed out; within a short while after its deadline it
	// must be gone, with its connection. A few goroutines of slack cover
	// the runtime's own.
	eventually(t, "timed-out requests closed", func() bool {
		return runtime.NumGoroutine() <= before+3 && sim.RESTConnections() <= 1
	})
	if g, c := runtime.NumGoroutine(), sim.RESTConnections(); g > before+3 || c > 1 {
		t.Fatalf("after %d timeouts: %d goroutines (before %d), %d connections open to the sim", 2*timeouts, g, before, c)
	}

	sim.SetRESTDelay(0)
	if err := restCall(context.Background(), waitMax, "info", func() error {
		_, err := n.client.Asterisk().Info(nil)
		return err
	}); err != nil {
		t.Fatalf("info after the hang: %v", err)
	}
}

// TestConnectionCap: a burst of requests to a slow Asterisk opens no more
// connections than ari.max_connections (Asterisk's http.conf sessionlimit
// refuses the ones beyond its own limit, the events WebSocket's reconnect
// among them); the requests beyond the cap wait for a connection and are
// all answered.
func TestConnectionCap(t *testing.T) {
	const (
		maxConns = 4
		burst    = 24
	)
	sim, _, n := bareNode(t, func(a *configs.ARI) {
		a.MaxConnections = maxConns
		a.RequestTimeout = waitMax
	})
	sim.SetRESTDelay(100 * time.Millisecond)

	stop := make(chan struct{})
	peak := make(chan int, 1)
	go func() {
		most := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			most = max(most, sim.RESTConnections())
			select {
			case <-stop:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			if err := restCall(context.Background(), waitMax, "info", func() error {
				_, err := n.client.Asterisk().Info(nil)
				return err
			}); err != nil {
				t.Errorf("request beyond the cap: %v", err)
			}
		})
	}
	wg.Wait()
	close(stop)
	most := <-peak
	if most > maxConns {
		t.Fatalf("%d connections open at once, cap %d", most, maxConns)
	}
	if most < 2 {
		t.Fatalf("at most %d connection open during a burst of %d slow requests: the sampling saw nothing", most, burst)
	}
}

// TestHungAsteriskCallsPutThrough: Asterisk stops answering REST in the
// middle of several calls. Every request that times out (the calls'
// hand-offs, the liveness probes, the sweep passes retrying) is closed, so
// the connections open to Asterisk stay within the requests in flight
// instead of piling up pass after pass; and once Asterisk answers again
// every caller is put through to operators.
func TestHungAsteriskCallsPutThrough(t *testing.T) {
	const calls = 5
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) { c.ARI.RequestTimeout = 200 * time.Millisecond }})
	var hs []*arisim.CallHandle
	for i := range calls {
		h := e.place(arisim.Caller{Number: fmt.Sprintf("+62812000007%d", i), Script: silentAfterMenu()})
		hs = append(hs, h)
	}
	for _, h := range hs {
		waitPrompt(t, h, "menu")
	}
	e.sim.SetRESTDelay(time.Hour)
	most := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		most = max(most, e.sim.RESTConnections())
	}
	e.sim.SetRESTDelay(0)
	// In flight at once at most: one request per call, a sweep's and a
	// probe's, and an idle keep-alive connection or two.
	if limit := calls + 4; most > limit {
		t.Fatalf("%d connections open to a hung Asterisk with %d calls, want at most %d", most, calls, limit)
	}
	for _, h := range hs {
		v := e.wait(h)
		if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
			t.Fatalf("caller %s after Asterisk recovered: %s, want put through to operators", v.ChannelID, fmtView(v))
		}
	}
}
