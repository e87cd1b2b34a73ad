package ari

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// value returns the text after the first key (such as "outage=") up to the
// next space or line end.
func (b *lockedBuffer) value(key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, after, ok := strings.Cut(b.buf.String(), key)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, "\n")
	v, _, _ = strings.Cut(v, " ")
	return v
}

// nopPublisher drops events; the outage test needs no NATS.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, events.Envelope) error { return nil }

// TestOutageLoggedOnce: an Asterisk that is away for many reconnect
// attempts gives one line when it goes and one when it is back, with the
// outage's length; /healthz shows the outage from its start (failed
// attempts do not move it, nor count as reconnects) and the connection
// again from the reconnect.
func TestOutageLoggedOnce(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	newSim := func(addr string) *arisim.Server {
		sim := arisim.New(arisim.Options{Username: simUser, Password: simPass, Application: simApp, ClockScale: clockScale})
		if err := sim.Start(addr); err != nil {
			t.Fatalf("start sim on %s: %v", addr, err)
		}
		return sim
	}
	sim := newSim("127.0.0.1:0")
	addr := sim.Addr()
	cfg := testConfig()
	cfg.ARI.Nodes = []configs.ARINode{{Name: "n1", URL: sim.URL(), WSURL: sim.WSURL(), Username: simUser, Password: simPass}}
	flow, err := flows.New(cfg.IVR, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ivr, err := New(Options{ARI: cfg.ARI, IVR: cfg.IVR, Flow: flow, Publisher: nopPublisher{}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- ivr.Run(context.Background()) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		if err := ivr.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	eventually(t, "connected", func() bool { return ivr.Health()[0].Connected })

	wentDown := time.Now()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	var down NodeHealth
	eventually(t, "down in health", func() bool {
		down = ivr.Health()[0]
		return !down.Connected && down.LastError != ""
	})
	// A dead Asterisk: the port takes each reconnect attempt and closes it
	// at once, so the attempts fail and can be counted.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	var attempts atomic.Int32
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			_ = c.Close()
		}
	}()
	eventually(t, "three failed reconnect attempts", func() bool { return attempts.Load() >= 3 })
	_ = ln.Close()
	<-accepted
	if h := ivr.Health()[0]; h.Connected || h.Reconnects != 0 || !h.Since.Equal(down.Since) || h.Since.Before(wentDown) {
		t.Fatalf("health after %d failed attempts: %+v; want down since the outage began (%s), no reconnect counted", attempts.Load(), h, down.Since)
	}
	cameBack := time.Now()
	sim = newSim(addr)
	defer sim.Close()
	var up NodeHealth
	eventually(t, "reconnected", func() bool { up = ivr.Health()[0]; return up.Connected && up.Reconnects == 1 })
	if up.Since.Before(cameBack) {
		t.Fatalf("health %+v: connected since before Asterisk came back (%s)", up, cameBack)
	}

	for _, tc := range []struct {
		msg  string
		want int
	}{
		{"ARI node connected\"", 1},
		{"ARI events connection lost", 1},
		{"ARI node unreachable", 0}, // the outage was already reported
		{"ARI node connected again", 1},
		{"outage=", 1},
	} {
		if got := logs.count(tc.msg); got != tc.want {
			t.Errorf("%q logged %d times, want %d", tc.msg, got, tc.want)
		}
	}
	// The outage logged is the one that happened: from the drop to the
	// reconnect.
	outage := logs.value("outage=")
	d, err := time.ParseDuration(outage)
	if err != nil {
		t.Fatalf("outage=%q: %v", outage, err)
	}
	if lo, hi := cameBack.Sub(wentDown), up.Since.Sub(wentDown)+time.Second; d < lo-100*time.Millisecond || d > hi {
		t.Fatalf("outage logged as %s, want between %s and %s", d, lo, hi)
	}
}

// BenchmarkRoute shows that routing an event costs the same whatever the
// number of live calls (one map lookup), where the library's bus compares
// each event with every subscription.
func BenchmarkRoute(b *testing.B) {
	for _, calls := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			log := slog.New(slog.DiscardHandler)
			n := &node{log: log, router: newRouter(log)}
			var target *session
			for i := range calls {
				s := newSession(context.Background(), n, ariv6.ChannelData{ID: fmt.Sprint("c", i)})
				n.router.add(s)
				target = s
			}
			ev := &ariv6.ChannelDtmfReceived{Channel: ariv6.ChannelData{ID: target.id}, Digit: "1"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n.router.route(ev)
				<-target.inbox
			}
		})
	}
}

// TestProbeDropsSilentNode: an Asterisk that stops answering REST is
// detected by the liveness probe even though its WebSocket stays open;
// the node drops the connection and reconnects.
func TestProbeDropsSilentNode(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) { c.ARI.RequestTimeout = 150 * time.Millisecond }})
	e.sim.SetRESTDelay(time.Second)
	eventually(t, "reconnect after the probe dropped the connection", func() bool {
		return e.ivr.Health()[0].Reconnects >= 1
	})
	e.sim.SetRESTDelay(0)
	e.waitConnected(2)
	if h := e.ivr.Health()[0]; !strings.Contains(h.LastError, "read events") {
		t.Fatalf("health %+v, want the dropped connection as last error", h)
	}
}

// TestTwoNodes: each node has its own connection and router; calls on both
// are served at the same time and their events name their node.
func TestTwoNodes(t *testing.T) {
	e := startEnv(t, envOptions{extraNodes: 1})
	var wg sync.WaitGroup
	views := make([]arisim.CallerView, 2)
	for i, sim := range e.sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := sim.Call(context.Background(), arisim.Caller{Number: fmt.Sprint("+62814000000", i), Dialed: "112", Script: fireScript()})
			if err != nil {
				t.Error(err)
				return
			}
			select {
			case <-h.Done():
				views[i] = h.Result()
			case <-time.After(waitMax):
				t.Errorf("call on node %d stuck", i)
			}
		}()
	}
	wg.Wait()
	for i, v := range views {
		if v.Continued == nil || v.Continued.Extension != "fire" {
			t.Fatalf("node %d call: %s", i, fmtView(v))
		}
		// Both sims number channels alike, so the channel id alone could
		// find the other node's call: this node's events are those that
		// name it, and they must be its own call's, complete.
		want := e.cfg.ARI.Nodes[i].Name
		number := fmt.Sprint("+62814000000", i)
		var mine []events.Envelope
		eventually(t, fmt.Sprintf("call.ended of node %d on the stream", i), func() bool {
			mine = mine[:0]
			for _, ev := range e.streamEvents(v.ChannelID) {
				if ev.Caller.Number == number && ev.Node != want {
					t.Fatalf("event %s of node %d names node %q", ev.Type, i, ev.Node)
				}
				if ev.Node == want {
					mine = append(mine, ev)
				}
			}
			return slices.Contains(types(mine), events.TypeEnded)
		})
		for _, ev := range mine {
			if ev.Caller.Number != number {
				t.Fatalf("event %s naming node %d is from %s, not its caller %s", ev.Type, i, ev.Caller.Number, number)
			}
		}
		for _, typ := range []events.Type{events.TypeStarted, events.TypeClassified, events.TypeTransferred, events.TypeEnded} {
			n := 0
			for _, ev := range mine {
				if ev.Type == typ {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("node %d's call has %d %s events, want 1: %v", i, n, typ, types(mine))
			}
		}
	}
	if hs := e.ivr.Health(); len(hs) != 2 || hs[0].Name != "test-node" || hs[1].Name != "test-node-2" {
		t.Fatalf("health %+v", hs)
	}
}

func TestWebSocketConfig(t *testing.T) {
	n := &node{cfg: configs.ARINode{WSURL: "ws://h:8088/ari/events", Username: "u", Password: "p"},
		ari: configs.ARI{Application: "siaga112", Origin: "http://h:8088"}}
	cfg, err := n.wsConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Origin.String(); got != "http://h:8088" {
		t.Errorf("origin %q, want the configured one", got)
	}
	if got := cfg.Location.String(); got != "ws://h:8088/ari/events?app=siaga112" {
		t.Errorf("location %q", got)
	}
	if got := cfg.Header.Get("Authorization"); got != "Basic dTpw" {
		t.Errorf("authorization %q", got)
	}
}
