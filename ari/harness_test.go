package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/internal/testkit"
)

// TestMain fails the package when a test leaves a goroutine behind. Nothing
// is ignored, so a leaked NATS connection, WebSocket reader or HTTP server
// shows: every test closes what it opens. The IVR closes its own REST
// connections when Run returns (see restTransport); the idle keep-alive
// connections of net/http's default transport, which other clients in the
// tests use, are not the tests' to close one by one; they are closed before
// looking (see closeIdle).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		closeIdle()
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind by the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// closeIdle closes the idle keep-alive connections of net/http's default
// transport (their readLoop and writeLoop goroutines go with them).
func closeIdle() { http.DefaultTransport.(*http.Transport).CloseIdleConnections() }

// verifyNoLeaks fails t if a goroutine other than t's own is left.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	closeIdle()
	goleak.VerifyNone(t)
}

const (
	simUser = "siaga112"
	simPass = "secret"
	simApp  = "siaga112"
	// waitMax bounds every wait of the tests; generous for -race on a busy
	// two-core machine.
	waitMax = 20 * time.Second
	// clockScale makes the sim's media run 100x faster than real time.
	clockScale = 0.01
)

// testWriter sends log lines to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ARI_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testConfig is the default configuration with timings short enough for
// tests (IVR timers are wall time; the sim's media time is scaled).
func testConfig() configs.Config {
	cfg := configs.Default()
	cfg.ARI.Application = simApp
	cfg.ARI.RequestTimeout = 1500 * time.Millisecond
	cfg.ARI.ReconnectMin = 20 * time.Millisecond
	cfg.ARI.ReconnectMax = 200 * time.Millisecond
	// The longest path a chosen type can take: the location asked every
	// time and a connecting prompt. TestBehaviourMatrix runs the shipped
	// defaults.
	cfg.IVR.Location.When = configs.LocationAlways
	cfg.IVR.Prompts.Connecting = "connecting"
	cfg.IVR.FirstDigitTimeout = 600 * time.Millisecond
	cfg.IVR.InterDigitTimeout = 600 * time.Millisecond
	cfg.IVR.SilentHelpTimeout = 600 * time.Millisecond
	cfg.IVR.BlockedOverrideTimeout = 600 * time.Millisecond
	cfg.IVR.TalkMinDuration = time.Second
	cfg.IVR.DrainTimeout = 3 * time.Second
	return cfg
}

// env is one test's world: a simulated Asterisk, an embedded NATS with the
// stream, the real publisher, and the IVR under test.
type env struct {
	t   testing.TB
	cfg configs.Config
	sim *arisim.Server
	// sims are all nodes' sims; sims[0] == sim.
	sims []*arisim.Server
	nats *events.Embedded
	nc   *nats.Conn
	js   jetstream.JetStream
	pub  *events.Publisher
	bl   *StaticBlocklist
	ivr  *IVR
	// followed keeps the calls the IVR follows, as serve's does.
	followed *events.FollowedStore
	// cbPlacer is the call-back placer (envOptions.callbacks).
	cbPlacer *callback.Placer

	runErr  chan error
	stopped sync.Once
	closed  sync.Once
	// final holds the stream's events read just before NATS was shut down.
	final map[string][]events.Envelope
}

type envOptions struct {
	cfg  func(*configs.Config)
	flow FlowRunner
	// flowWrap wraps the flow (the real one unless flow is set).
	flowWrap func(FlowRunner) FlowRunner
	// noOperators leaves the sim without queues: a caller handed over
	// waits until its script ends, as no operator ever answers.
	noOperators bool
	// natsDir keeps the JetStream store (to restart NATS on the same data).
	natsDir string
	// extraNodes adds simulated Asterisk nodes (test-node-2, ...).
	extraNodes int
	// normalize is Options.Normalize (nil: numbers as given).
	normalize func(string) (string, bool)
	// clockScale overrides the sims' clock scale; soundsDir and language
	// give them real prompts, so media lasts as long as on Asterisk.
	clockScale float64
	soundsDir  string
	language   string
	// mixMonitor is the sims' whole-call recording prefix ("" none).
	mixMonitor string
	// incidents is the IVR's incident announcement source (nil: none).
	incidents Incidents
	// callbacks runs the call-back scheduler and this IVR's placer over
	// the env's NATS, as serve does (callback_test.go).
	callbacks bool
}

func startEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	cfg := testConfig()
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e := &env{t: t, cfg: cfg, bl: NewStaticBlocklist(nil), runErr: make(chan error, 1)}
	log := testLogger(t)
	// Registered first so that whatever started is stopped even when a
	// later step fails.
	t.Cleanup(e.close)

	for range 1 + o.extraNodes {
		scale := clockScale
		if o.clockScale > 0 {
			scale = o.clockScale
		}
		sim := arisim.New(arisim.Options{
			Username: simUser, Password: simPass, Application: simApp,
			ClockScale: scale, Logger: log, SoundsDir: o.soundsDir, Language: o.language, MixMonitor: o.mixMonitor,
		})
		if err := sim.Start("127.0.0.1:0"); err != nil {
			t.Fatalf("start sim: %v", err)
		}
		if !o.noOperators {
			// Every queue has an operator of its own who answers at once
			// and stays until the caller hangs up.
			for _, m := range cfg.IVR.Menu {
				if m.Queue != "" {
					sim.SetQueue(m.Queue, arisim.Queue{Members: []arisim.Operator{{Device: "Local/" + m.Type + "@operators"}}})
				}
			}
		}
		e.sims = append(e.sims, sim)
	}
	e.sim = e.sims[0]

	dir := o.natsDir
	if dir == "" {
		dir = t.TempDir()
	}
	var err error
	e.nats, err = events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir}, log)
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	e.cfg.NATS.Spool.Dir = t.TempDir()
	e.nc, err = events.Connect(context.Background(), e.cfg.NATS, e.nats.ClientURL(), "ari-test", log)
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	e.js, err = jetstream.New(e.nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	if _, err := events.EnsureStream(ctx, e.js, e.cfg.NATS.Stream); err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	e.pub, err = events.NewPublisher(e.js, e.cfg.NATS, log)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}

	flow := o.flow
	var real *flows.Flow
	if flow == nil {
		f, err := flows.New(e.cfg.IVR, nil, log)
		if err != nil {
			t.Fatalf("flows.New: %v", err)
		}
		flow, real = f, f
	}
	if o.flowWrap != nil {
		flow = o.flowWrap(flow)
	}
	e.cfg.ARI.Nodes = nil
	for i, sim := range e.sims {
		name := "test-node"
		if i > 0 {
			name = fmt.Sprintf("test-node-%d", i+1)
		}
		e.cfg.ARI.Nodes = append(e.cfg.ARI.Nodes, configs.ARINode{
			Name: name, URL: sim.URL(), WSURL: sim.WSURL(), Username: simUser, Password: simPass,
		})
	}
	e.followed = events.NewFollowedStore(e.js, 1)
	opts := Options{ARI: e.cfg.ARI, IVR: e.cfg.IVR, Flow: flow, Blocklist: e.bl, Incidents: o.incidents, Publisher: e.pub, Normalize: o.normalize, Followed: e.followed, Logger: log}
	if o.callbacks && real != nil {
		opts.CallbackFlow, opts.CallbackTag = real, e.cfg.Callback.Tag
	}
	e.ivr, err = New(opts)
	if err != nil {
		t.Fatalf("ari.New: %v", err)
	}
	go func() { e.runErr <- e.ivr.Run(context.Background()) }()
	e.waitConnected(1)
	if o.callbacks {
		e.startCallbacks(log)
	}
	return e
}

// waitConnected waits until the node made its n-th connection and every
// sim has registered the application: a sim answers the WebSocket upgrade
// before it registers the application, as Asterisk may, and a call placed
// in between is refused Stasis and hung up.
func (e *env) waitConnected(n int) {
	e.t.Helper()
	eventually(e.t, "nodes connected", func() bool {
		for _, h := range e.ivr.Health() {
			if !h.Connected || h.Reconnects+1 < n {
				return false
			}
		}
		return true
	})
	for _, sim := range e.sims {
		eventually(e.t, "application registered", func() bool { return appRegistered(e.t, sim) })
	}
}

// appRegistered asks the sim, over ARI, whether it knows the application.
func appRegistered(t testing.TB, sim *arisim.Server) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sim.URL()+"/applications/"+simApp, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(simUser, simPass)
	resp, err := (&http.Client{Timeout: waitMax}).Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopIVR drains the IVR and flushes the publisher, so every event of the
// test is on the stream.
func (e *env) stopIVR() {
	e.stopped.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		if err := e.ivr.Stop(ctx); err != nil {
			e.t.Errorf("ivr stop: %v", err)
		}
		if err := <-e.runErr; err != nil {
			e.t.Errorf("ivr run: %v", err)
		}
		if err := e.pub.Close(ctx); err != nil {
			e.t.Errorf("publisher close: %v", err)
		}
	})
}

// close stops everything the env started; it may be called more than
// once. Every call's final events are kept for streamEventsAfterClose.
func (e *env) close() {
	e.closed.Do(func() {
		if e.ivr != nil {
			e.stopIVR()
		} else if e.pub != nil {
			_ = e.pub.Close(context.Background())
		}
		for _, sim := range e.sims {
			if err := sim.Close(); err != nil {
				e.t.Errorf("sim close: %v", err)
			}
		}
		e.final = map[string][]events.Envelope{}
		if e.ivr != nil {
			for _, ev := range e.streamEvents("") {
				e.final[ev.CallID] = append(e.final[ev.CallID], ev)
			}
		}
		if e.nc != nil {
			e.nc.Close()
		}
		if e.nats != nil {
			e.nats.Shutdown()
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
}

// streamEventsAfterClose returns a call's events as they were on the
// stream when the env closed.
func (e *env) streamEventsAfterClose(callID string, _ []events.Envelope) []events.Envelope {
	return e.final[callID]
}

// call places a scripted call and waits for it to end.
func (e *env) call(c arisim.Caller) arisim.CallerView {
	e.t.Helper()
	h := e.place(c)
	return e.wait(h)
}

func (e *env) place(c arisim.Caller) *arisim.CallHandle {
	e.t.Helper()
	if c.Dialed == "" {
		c.Dialed = "112"
	}
	h, err := e.sim.Call(context.Background(), c)
	if err != nil {
		e.t.Fatalf("sim call: %v", err)
	}
	return h
}

func (e *env) wait(h *arisim.CallHandle) arisim.CallerView {
	e.t.Helper()
	select {
	case <-h.Done():
	case <-time.After(waitMax):
		e.t.Fatalf("call %s did not end within %s; caller view: %+v", h.ID(), waitMax, h.Result())
	}
	return h.Result()
}

// streamEvents returns every event of a call on the stream, in stream order.
func (e *env) streamEvents(callID string) []events.Envelope {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	st, err := e.js.Stream(ctx, events.StreamName)
	if err != nil {
		e.t.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		e.t.Fatalf("stream info: %v", err)
	}
	var out []events.Envelope
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatalf("get msg %d: %v", seq, err)
		}
		env, err := events.Decode(m.Data)
		if err != nil {
			e.t.Fatalf("decode msg %d: %v", seq, err)
		}
		if callID == "" || env.CallID == callID {
			out = append(out, env)
		}
	}
	return out
}

// waitEnded waits until the call's call.ended is on the stream and returns
// the call's events.
func (e *env) waitEnded(callID string) []events.Envelope {
	e.t.Helper()
	var evs []events.Envelope
	eventually(e.t, "call.ended of "+callID+" on the stream", func() bool {
		evs = e.streamEvents(callID)
		for _, ev := range evs {
			if ev.Type == events.TypeEnded {
				return true
			}
		}
		return false
	})
	return evs
}

// eventually polls cond until it holds or waitMax passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, waitMax, what, cond)
}

// types lists the events' types.
func types(evs []events.Envelope) []events.Type { return testkit.Types(evs) }

// ivrTypes lists the events' types up to the hand-off (testkit.IVRTypes).
func ivrTypes(evs []events.Envelope) []events.Type { return testkit.IVRTypes(evs) }

// dataOf decodes the data of the only event of type t.
func dataOf[T any](t testing.TB, evs []events.Envelope, typ events.Type) T {
	t.Helper()
	return testkit.Only[T](t, evs, typ)
}

// base strips the sound folder from prompt names ("siaga112/menu" -> "menu").
func base(prompts []string) []string { return testkit.BaseNames(prompts) }

func fmtView(v arisim.CallerView) string {
	return fmt.Sprintf("prompts=%v answered=%v hungUpBy=%q continued=%+v vars=%v recordings=%v dtmf=%q",
		base(v.Prompts), v.Answered, v.HungUpBy, v.Continued, v.Variables, v.Recordings, v.DTMFSent)
}
