package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/internal/testkit"
	"github.com/siaga112/siaga112/reports"
)

// TestMain fails the package when a test leaves a goroutine behind. Nothing
// is ignored, so a leaked NATS connection, WebSocket reader or HTTP server
// shows: every test closes what it opens. The idle keep-alive connections
// of net/http's default transport (used by the ARI library and by the
// tests' API requests) are closed before looking, which ends their
// goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind by the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

const (
	simUser    = "siaga112"
	simPass    = "e2e-secret"
	adminToken = "e2e-admin-token"
	// waitMax bounds every wait: generous, for -race on a busy two-core box.
	waitMax = 30 * time.Second
	// propagationMax bounds the time from a block being written to the IVR's
	// cache holding it. DESIGN promises milliseconds (a few are measured);
	// the bound leaves room for a loaded machine while still catching a
	// cache that only learns of blocks by reloading or by a timeout.
	propagationMax = 5 * time.Second
	// clockScale runs the sim's media 100 times faster than real time; the
	// IVR's own timers are wall time and are shortened in testConfig.
	clockScale = 0.01
)

// testLogger discards logs unless E2E_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// soundsDir finds asterisk-conf/sounds/id from the module root, so the sim
// plays the real prompts with their real lengths.
func soundsDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "asterisk-conf", "sounds", "id")
			if _, err := os.Stat(filepath.Join(s, "siaga112", "greeting.wav")); err != nil {
				t.Fatalf("prompts not found under the module root: %v", err)
			}
			return s
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// testConfig is the default configuration with IVR timers short enough for
// tests. The override timeout is kept longer than the others: a caller
// pressing 9 races it, while the silent callers only wait it out.
func testConfig() configs.Config {
	cfg := configs.Default()
	cfg.ARI.RequestTimeout = 3 * time.Second
	cfg.ARI.ReconnectMin = 20 * time.Millisecond
	cfg.ARI.ReconnectMax = 200 * time.Millisecond
	cfg.IVR.FirstDigitTimeout = 400 * time.Millisecond
	cfg.IVR.InterDigitTimeout = 400 * time.Millisecond
	cfg.IVR.SilentHelpTimeout = 400 * time.Millisecond
	cfg.IVR.BlockedOverrideTimeout = 1500 * time.Millisecond
	cfg.IVR.DrainTimeout = 3 * time.Second
	cfg.Reports.TimeZone = "UTC"
	cfg.HTTP.AdminToken = adminToken
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	return cfg
}

// world is siaga112 in one process against a simulated Asterisk, wired as
// `siaga112 serve` wires it.
type world struct {
	t   testing.TB
	cfg configs.Config
	log *slog.Logger

	sim   *arisim.Server
	bus   *events.Bus
	pub   *events.Publisher
	cache *blocklist.Cache
	store *blocklist.Store
	admin *blocklist.Admin
	blw   *blocklist.Worker
	agg   *reports.Aggregator
	rw    *reports.Worker
	api   *httptest.Server
	ivr   *ari.IVR

	// bgCancel stops the cache and the workers; bg waits for them.
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	ivrErr   chan error
	closed   sync.Once
}

// startWorld starts every component and waits until the IVR is connected
// and the blocklist cache has loaded. Everything is stopped when the test
// ends, in the order that loses nothing.
func startWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, cfg: testConfig(), log: testLogger(t), ivrErr: make(chan error, 1)}
	t.Cleanup(w.close)
	cfg := &w.cfg
	cfg.NATS.Embedded.DataDir = t.TempDir()
	cfg.NATS.Spool.Dir = t.TempDir()

	w.sim = arisim.New(arisim.Options{
		Username: simUser, Password: simPass, Application: cfg.ARI.Application,
		SoundsDir: soundsDir(t), ClockScale: clockScale, Logger: w.log,
	})
	if err := w.sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start sim: %v", err)
	}
	cfg.ARI.Nodes = []configs.ARINode{{
		Name: "e2e-node", URL: w.sim.URL(), WSURL: w.sim.WSURL(), Username: simUser, Password: simPass,
	}}

	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	var err error
	w.bus, err = events.Open(ctx, cfg.NATS, events.OpenOptions{Name: "e2e", RequireStream: true}, w.log)
	if err != nil {
		t.Fatalf("open nats: %v", err)
	}
	js := w.bus.JS
	w.pub, err = events.NewPublisher(js, cfg.NATS, w.log)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}

	// Blocklist: the worker that turns outcomes into blocks, the admin
	// behind the CLI and the HTTP API, and the IVR's cache.
	policy, err := blocklist.NewPolicy(cfg.Blocklist)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	kv, err := blocklist.OpenBucket(ctx, js, cfg.NATS.Stream.Replicas)
	if err != nil {
		t.Fatalf("blocklist bucket: %v", err)
	}
	w.store = blocklist.NewStore(kv, policy, w.log)
	w.blw, err = blocklist.NewWorker(ctx, js, w.store, blocklist.JSPublisher{JS: js}, cfg.NATS, w.log)
	if err != nil {
		t.Fatalf("blocklist worker: %v", err)
	}
	w.admin = blocklist.NewAdmin(w.store, blocklist.JSPublisher{JS: js}, w.log)
	w.cache = blocklist.NewCache(js, cfg.NATS.Stream.Replicas, cfg.Blocklist.DefaultCountry, w.log)

	// Reports and the HTTP API on one mux, as the HTTP role serves them.
	w.agg = reports.NewAggregator(reports.Options{Location: time.UTC, RecentCalls: cfg.Reports.RecentCalls, Retention: cfg.Reports.Retention, DefaultCountry: cfg.Blocklist.DefaultCountry})
	w.rw = reports.NewWorker(js, w.agg, reports.WorkerConfig{
		Durable: cfg.Reports.Durable, Stream: cfg.NATS.Stream, Consumer: cfg.NATS.Consumer,
	}, w.log)
	rsrv, err := reports.NewServer(w.agg, reports.ServerConfig{AdminToken: cfg.HTTP.AdminToken, Lag: w.rw.Lag, Ready: w.rw.Ready, Log: w.log})
	if err != nil {
		t.Fatalf("reports server: %v", err)
	}
	mux := http.NewServeMux()
	rsrv.Register(mux)
	blocklist.NewAPI(w.admin, cfg.HTTP.AdminToken, w.log).Register(mux)
	w.api = httptest.NewServer(mux)

	bgCtx, bgCancel := context.WithCancel(context.Background())
	w.bgCancel = bgCancel
	for name, run := range map[string]func(context.Context) error{
		"blocklist cache": w.cache.Run, "blocklist worker": w.blw.Run, "reports worker": w.rw.Run,
	} {
		w.bg.Add(1)
		go func() {
			defer w.bg.Done()
			if err := run(bgCtx); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}

	flow, err := flows.New(cfg.IVR, nil, w.log)
	if err != nil {
		t.Fatalf("flows.New: %v", err)
	}
	w.ivr, err = ari.New(ari.Options{ARI: cfg.ARI, IVR: cfg.IVR, Flow: flow, Blocklist: w.cache, Publisher: w.pub, Logger: w.log,
		Normalize: blocklist.E164Func(cfg.Blocklist.DefaultCountry)})
	if err != nil {
		t.Fatalf("ari.New: %v", err)
	}
	go func() { w.ivrErr <- w.ivr.Run(context.Background()) }()

	select {
	case <-w.cache.Ready():
	case <-time.After(waitMax):
		t.Fatalf("blocklist cache not loaded within %s", waitMax)
	}
	eventually(t, "IVR connected to the sim", func() bool {
		h := w.ivr.Health()
		return len(h) == 1 && h[0].Connected
	})
	// The native client reports "connected" a moment before the sim has
	// registered the application; a call placed before that is refused.
	eventually(t, "Stasis application registered", w.appRegistered)
	return w
}

// appRegistered asks the sim, as an ARI client would, whether the Stasis
// application is held by a WebSocket.
func (w *world) appRegistered() bool {
	req, err := http.NewRequest(http.MethodGet, w.sim.URL()+"/applications/"+w.cfg.ARI.Application, nil)
	if err != nil {
		w.t.Fatalf("request: %v", err)
	}
	req.SetBasicAuth(simUser, simPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	var app struct {
		Name string `json:"name"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&app) == nil && app.Name != ""
}

// close stops everything: the IVR drains, the publisher flushes, then the
// cache and the workers stop, then the listeners, the sim and NATS.
func (w *world) close() {
	w.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		if w.ivr != nil {
			if err := w.ivr.Stop(ctx); err != nil {
				w.t.Errorf("ivr stop: %v", err)
			} else if err := <-w.ivrErr; err != nil {
				w.t.Errorf("ivr run: %v", err)
			}
		}
		if w.pub != nil {
			if err := w.pub.Close(ctx); err != nil {
				w.t.Errorf("publisher close: %v", err)
			}
		}
		if w.bgCancel != nil {
			w.bgCancel()
			w.bg.Wait()
		}
		if w.api != nil {
			w.api.Close()
		}
		if w.sim != nil {
			if err := w.sim.Close(); err != nil {
				w.t.Errorf("sim close: %v", err)
			}
		}
		w.bus.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
}

// call places a scripted call from number to 112 and waits for it to end.
func (w *world) call(number string, script ...arisim.Step) arisim.CallerView {
	w.t.Helper()
	h, err := w.sim.Call(context.Background(), arisim.Caller{Number: number, Dialed: "112", Script: script})
	if err != nil {
		w.t.Fatalf("place call: %v", err)
	}
	select {
	case <-h.Done():
	case <-time.After(waitMax):
		w.t.Fatalf("call %s from %s did not end within %s: %s", h.ID(), number, waitMax, fmtView(h.Result()))
	}
	return h.Result()
}

// streamEvents returns the events on the stream that keep accepts, in
// stream order.
func (w *world) streamEvents(keep func(events.Envelope) bool) []events.Envelope {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	st, err := w.bus.JS.Stream(ctx, events.StreamName)
	if err != nil {
		w.t.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		w.t.Fatalf("stream info: %v", err)
	}
	var out []events.Envelope
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			w.t.Fatalf("get message %d: %v", seq, err)
		}
		e, err := events.Decode(m.Data)
		if err != nil {
			w.t.Fatalf("decode message %d: %v", seq, err)
		}
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// callEvents waits until the call's call.ended is on the stream and returns
// the call's events.
func (w *world) callEvents(callID string) []events.Envelope {
	w.t.Helper()
	var evs []events.Envelope
	eventually(w.t, "call.ended of "+callID+" on the stream", func() bool {
		evs = w.streamEvents(func(e events.Envelope) bool { return e.CallID == callID && e.Type != events.TypeBlocklistChanged })
		return slices.ContainsFunc(evs, func(e events.Envelope) bool { return e.Type == events.TypeEnded })
	})
	return evs
}

// waitBlockChange waits for a blocklist.changed of number that satisfies
// ok, published after the stream held after events, and returns its data.
func (w *world) waitBlockChange(number string, after int, ok func(events.BlocklistChanged) bool) events.BlocklistChanged {
	w.t.Helper()
	var found events.BlocklistChanged
	eventually(w.t, "blocklist.changed of "+number, func() bool {
		evs := w.streamEvents(func(e events.Envelope) bool { return e.Type == events.TypeBlocklistChanged })
		for _, e := range evs[min(after, len(evs)):] {
			var d events.BlocklistChanged
			if err := e.DecodeData(&d); err != nil {
				w.t.Fatalf("decode blocklist.changed: %v", err)
			}
			if d.Number == number && ok(d) {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// blockChanges counts the blocklist.changed events on the stream.
func (w *world) blockChanges() int {
	w.t.Helper()
	return len(w.streamEvents(func(e events.Envelope) bool { return e.Type == events.TypeBlocklistChanged }))
}

// waitCache waits until the IVR's cache answers blocked for number, at
// most propagationMax, and returns how long that took.
func (w *world) waitCache(number string, blocked bool) time.Duration {
	w.t.Helper()
	start := time.Now()
	for {
		if _, b := w.cache.Check(number, time.Now()); b == blocked {
			return time.Since(start)
		}
		if time.Since(start) > propagationMax {
			w.t.Fatalf("IVR cache still answers blocked=%v for %s after %s", !blocked, number, propagationMax)
		}
		time.Sleep(time.Millisecond)
	}
}

// apiDo sends a JSON request to the HTTP API and decodes the JSON answer
// into out (when not nil); it returns the status.
func (w *world) apiDo(method, path, token string, body, out any) int {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatalf("encode request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, w.api.URL+path, rd)
	if err != nil {
		w.t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			w.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or waitMax passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, waitMax, what, cond)
}

// types lists the events' types.
func types(evs []events.Envelope) []events.Type { return testkit.Types(evs) }

// only decodes the data of the one event of type typ in evs.
func only[T any](t testing.TB, evs []events.Envelope, typ events.Type) T {
	t.Helper()
	return testkit.Only[T](t, evs, typ)
}

// heard reports the base names of the prompts the caller heard
// ("siaga112/menu" -> "menu").
func heard(v arisim.CallerView) []string { return testkit.BaseNames(v.Prompts) }

// heardMenu reports whether any part of the menu was played.
func heardMenu(v arisim.CallerView) bool {
	return slices.ContainsFunc(heard(v), func(p string) bool { return p == "menu" || strings.HasPrefix(p, "menu-") })
}

func fmtView(v arisim.CallerView) string {
	return fmt.Sprintf("prompts=%v answered=%v hungUpBy=%q continued=%+v vars=%v dtmf=%q",
		heard(v), v.Answered, v.HungUpBy, v.Continued, v.Variables, v.DTMFSent)
}
