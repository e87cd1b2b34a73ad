package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/internal/stack"
	"github.com/siaga112/siaga112/internal/testkit"
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

// world is siaga112 in one process against a simulated Asterisk: the
// stack that `siaga112 serve` runs (stack.New with every role, then Run),
// with nothing wired by hand. The test reaches it only from the outside or
// through what the stack exposes: the sim's callers, the HTTP listener, an
// admin connection of its own to the embedded NATS (as the CLI opens one),
// and the IVR's blocklist cache.
type world struct {
	t   testing.TB
	cfg configs.Config
	log *slog.Logger

	sim *arisim.Server
	s   *stack.Stack
	// base is the HTTP listener's URL (dashboard, APIs, /healthz).
	base string

	// admin is a blocklist admin on a connection of its own, logged in as
	// the admin user with the credentials file of the embedded server's
	// data directory, as `siaga112 blocklist` is.
	adminBus *events.Bus
	admin    *blocklist.Admin

	runErr chan error
	stop   context.CancelFunc
	closed sync.Once
}

// startWorld builds the stack with every role, runs it, and waits until it
// is healthy: the IVR connected and its application registered with the
// sim, the blocklist cache loaded, and /healthz answering 200 with every
// check ok. Everything is stopped when the test ends, through Run's own
// shutdown (the IVR drains, the publisher flushes, the workers catch up),
// and Run must return nil.
func startWorld(t testing.TB) *world { t.Helper(); return startWorldWith(t, nil) }

// startWorldWith is startWorld with the test configuration changed by
// mutate first.
func startWorldWith(t testing.TB, mutate func(*configs.Config)) *world {
	t.Helper()
	w := &world{t: t, cfg: testConfig(), log: testLogger(t), runErr: make(chan error, 1)}
	cfg := &w.cfg
	if mutate != nil {
		mutate(cfg)
	}
	// The directories first: cleanups run last registered first, so they
	// are removed only after close has stopped everything that uses them.
	cfg.NATS.Embedded.DataDir = t.TempDir()
	cfg.NATS.Spool.Dir = t.TempDir()
	cfg.HTTP.AccountsFile = filepath.Join(t.TempDir(), "accounts.yaml")
	t.Cleanup(w.close)

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
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	w.s, err = stack.New(ctx, stack.Options{Config: w.cfg, Log: w.log, Roles: stack.All(), Listener: ln, Name: "e2e"})
	if err != nil {
		_ = ln.Close()
		t.Fatalf("stack.New: %v", err)
	}
	w.base = "http://" + w.s.HTTPAddr()
	runCtx, stop := context.WithCancel(context.Background())
	w.stop = stop
	go func() { w.runErr <- w.s.Run(runCtx) }()

	w.openAdmin(ctx)

	select {
	case <-w.s.Cache().Ready():
	case <-time.After(waitMax):
		t.Fatalf("blocklist cache not loaded within %s", waitMax)
	}
	eventually(t, "IVR connected to the sim", func() bool {
		h := w.s.IVR().Health()
		return len(h) == 1 && h[0].Connected
	})
	// The native client reports "connected" a moment before the sim has
	// registered the application; a call placed before that is refused.
	eventually(t, "Stasis application registered", w.appRegistered)
	var hz health.Health
	eventually(t, "/healthz 200 with every check ok", func() bool {
		hz = health.Health{}
		return w.get("/healthz", &hz) == http.StatusOK && hz.OK
	})
	for _, name := range []string{"nats", "ari", "publisher", "blocklist_cache", "blocklist_worker", "reports"} {
		if c, ok := hz.Checks[name]; !ok || !c.OK {
			t.Fatalf("/healthz check %s = %+v (present %v), want ok", name, c, ok)
		}
	}
	return w
}

// openAdmin connects to the stack's embedded NATS as `siaga112 blocklist`
// does: attached, logged in as the admin user with the credentials file
// the embedded server wrote in its data directory.
func (w *world) openAdmin(ctx context.Context) {
	w.t.Helper()
	ncfg := w.cfg.NATS
	ncfg.URL = w.s.NATSURL()
	bus, err := events.Open(ctx, ncfg, events.OpenOptions{Name: "e2e-admin", Embedded: events.EmbeddedAttach, SkipStream: true}, w.log)
	if err != nil {
		w.t.Fatalf("admin connection: %v", err)
	}
	w.adminBus = bus
	eventually(w.t, "admin logged in", func() bool { return bus.Health(ctx) == nil })
	policy, err := blocklist.NewPolicy(w.cfg.Blocklist)
	if err != nil {
		w.t.Fatalf("policy: %v", err)
	}
	kv, err := blocklist.OpenBucket(ctx, bus.JS, w.cfg.NATS.Stream.Replicas)
	if err != nil {
		w.t.Fatalf("admin: blocklist bucket: %v", err)
	}
	w.admin = blocklist.NewAdmin(blocklist.NewStore(kv, policy, w.log), blocklist.JSPublisher{JS: bus.JS}, w.log)
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

// close stops everything: the admin's connection, then the stack through
// Run's own shutdown (which must end cleanly and within the bound), then
// the sim.
func (w *world) close() {
	w.closed.Do(func() {
		if w.adminBus != nil {
			w.adminBus.Close()
		}
		if w.s != nil {
			w.stop()
			select {
			case err := <-w.runErr:
				if err != nil {
					w.t.Errorf("stack Run: %v", err)
				}
			case <-time.After(2 * waitMax):
				w.t.Errorf("stack Run did not return within %s of the stop", 2*waitMax)
			}
		}
		if w.sim != nil {
			if err := w.sim.Close(); err != nil {
				w.t.Errorf("sim close: %v", err)
			}
		}
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
	st, err := w.adminBus.JS.Stream(ctx, events.StreamName)
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
		if _, b := w.s.Cache().Check(number, time.Now()); b == blocked {
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
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, rd)
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

// get fetches path from the HTTP listener and decodes the JSON answer into
// out whatever the status (/healthz answers 503 with its checks); it
// returns the status, or 0 when the request failed, so that it can be
// polled.
func (w *world) get(path string, out any) int {
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+path, nil)
	if err != nil {
		w.t.Fatalf("request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return 0
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

// ivrTypes lists the events' types up to the hand-off (testkit.IVRTypes).
func ivrTypes(evs []events.Envelope) []events.Type { return testkit.IVRTypes(evs) }

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
