package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/reports"
)

// waitMax bounds every wait of these tests: generous, for -race on a busy
// two-core machine.
const waitMax = 30 * time.Second

const (
	simUser = "siaga112"
	simPass = "stack-test"
)

// testLogger discards logs unless STACK_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("STACK_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// served is a serve-like stack (every role) over a simulated Asterisk.
type served struct {
	t      *testing.T
	s      *Stack
	sim    *arisim.Server
	runErr chan error
	stop   func()
}

// serveConfig is testConfig with a sim node and IVR timers short enough for
// tests; the location question is off, so a key puts the caller through.
func serveConfig(t *testing.T, sim *arisim.Server) configs.Config {
	cfg := testConfig(t)
	cfg.ARI.Nodes = []configs.ARINode{{Name: "stack-node", URL: sim.URL(), WSURL: sim.WSURL(), Username: simUser, Password: simPass}}
	cfg.ARI.RequestTimeout = 3 * time.Second
	cfg.ARI.ReconnectMin = 20 * time.Millisecond
	cfg.ARI.ReconnectMax = 200 * time.Millisecond
	cfg.IVR.FirstDigitTimeout = 400 * time.Millisecond
	cfg.IVR.InterDigitTimeout = 400 * time.Millisecond
	cfg.IVR.SilentHelpTimeout = 400 * time.Millisecond
	cfg.IVR.DrainTimeout = 3 * time.Second
	cfg.IVR.Location.When = configs.LocationNever
	cfg.Reports.TimeZone = "UTC"
	return cfg
}

func startSim(t *testing.T) *arisim.Server {
	t.Helper()
	sim := arisim.New(arisim.Options{Username: simUser, Password: simPass, Application: configs.Default().ARI.Application,
		ClockScale: 0.01, Logger: testLogger(t)})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// startServed builds the stack with cfg (edit may change it) and runs it
// until the test ends.
func startServed(t *testing.T, sim *arisim.Server, cfg configs.Config) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	s, err := New(ctx, Options{Config: cfg, Roles: All(), Listener: ln, Log: testLogger(t), Name: t.Name()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoffMin, s.backoffMax, s.healthyAfter = 50*time.Millisecond, 400*time.Millisecond, 3*time.Second
	runCtx, stop := context.WithCancel(context.Background())
	sv := &served{t: t, s: s, sim: sim, runErr: make(chan error, 1)}
	go func() { sv.runErr <- s.Run(runCtx) }()
	var once sync.Once
	sv.stop = func() {
		once.Do(func() {
			stop()
			select {
			case err := <-sv.runErr:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(2 * waitMax):
				t.Error("Run did not return after cancel")
			}
			http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		})
	}
	t.Cleanup(sv.stop)
	eventually(t, "the IVR connected to the sim", func() bool {
		for _, n := range s.IVR().Health() {
			if !n.Connected {
				return false
			}
		}
		return true
	})
	return sv
}

// call places a caller who presses 1 at the menu and waits for the call to
// end; it fails the test unless the caller was put through to operators.
func (sv *served) call(number string) arisim.CallerView {
	sv.t.Helper()
	h, err := sv.sim.Call(context.Background(), arisim.Caller{Number: number, Dialed: "112",
		Script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.WaitForEnd()}})
	if err != nil {
		sv.t.Fatalf("place call: %v", err)
	}
	select {
	case <-h.Done():
	case <-time.After(waitMax):
		sv.t.Fatalf("call from %s did not end within %s", number, waitMax)
	}
	v := h.Result()
	if !v.Answered || v.Continued == nil || v.Continued.Context != configs.DefaultOperatorContext || v.Continued.Extension != "fire" {
		sv.t.Fatalf("call from %s not served: answered %v, continued %+v, hung up by %q", number, v.Answered, v.Continued, v.HungUpBy)
	}
	return v
}

// health fetches /healthz.
func (sv *served) health() (int, health.Health, string) {
	sv.t.Helper()
	resp, err := http.Get("http://" + sv.s.HTTPAddr() + "/healthz")
	if err != nil {
		sv.t.Fatalf("healthz: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		sv.t.Fatal(err)
	}
	var h health.Health
	if err := json.Unmarshal(body, &h); err != nil {
		sv.t.Fatalf("healthz body: %v\n%s", err, body)
	}
	return resp.StatusCode, h, string(body)
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitMax)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitMax, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A worker role whose consumer is deleted (what stopped the whole of serve
// before, IVR included) is restarted with backoff and shown as degraded
// meanwhile; calls are served before, during and after, and the restarted
// workers handle the new calls' events.
func TestRoleRestartsWhileCallsAreServed(t *testing.T) {
	sim := startSim(t)
	sv := startServed(t, sim, serveConfig(t, sim))
	s := sv.s
	ctx := context.Background()

	sv.call("081200000001")
	eventually(t, "the first call's events handled", func() bool {
		return s.BlocklistWorker().Stats().Consumer.Handled > 0 && s.Aggregator().Counters().Events > 0
	})

	handled := s.BlocklistWorker().Stats().Consumer.Handled
	// Deleting both consumers makes both workers fail at once.
	for _, durable := range []string{blocklist.Durable, s.cfg.Reports.Durable} {
		if err := s.Bus().JS.DeleteConsumer(ctx, events.StreamName, durable); err != nil {
			t.Fatalf("delete consumer %s: %v", durable, err)
		}
	}
	v := sv.call("081200000002") // served whatever the workers do
	eventually(t, "both roles restarted", func() bool {
		st := s.RoleStates()
		return st[RoleBlocklistWorker].Restarts >= 1 && st[RoleBlocklistWorker].Running &&
			st[RoleReports].Restarts >= 1 && st[RoleReports].Running
	})
	// Degraded (200: calls are not harmed) until the restarted roles have
	// run for healthyAfter, while the IVR and NATS are fine.
	code, h, body := sv.health()
	if code != http.StatusOK || h.Checks["roles"].OK || h.Checks["roles"].Status != health.LevelDegraded || !strings.Contains(h.Checks["roles"].Reason, "failed recently") ||
		!h.Checks["ari"].OK || !h.Checks["nats"].OK {
		t.Errorf("healthz right after the restart: %d\n%s", code, body)
	}
	st := s.RoleStates()
	if !strings.Contains(st[RoleBlocklistWorker].LastError, "iterator closed") && !strings.Contains(st[RoleBlocklistWorker].LastError, "deleted") {
		t.Errorf("blocklist worker's last error %q does not say its consumer went away", st[RoleBlocklistWorker].LastError)
	}
	if st := s.BlocklistWorker().Stats().Consumer; st.Restarts < 1 {
		t.Errorf("blocklist consumer restarts %d, want ≥ 1", st.Restarts)
	}

	v3 := sv.call("081200000003")
	// The restarted reports worker replayed the stream and follows it: all
	// three calls are on the dashboard, each once.
	eventually(t, "the restarted reports worker counts every call", func() bool {
		n := 0
		for _, c := range s.Aggregator().Calls(reports.CallFilter{}) {
			if c.CallID == v.ChannelID || c.CallID == v3.ChannelID {
				n++
			}
		}
		return n == 2 && len(s.Aggregator().Calls(reports.CallFilter{})) == 3
	})
	// The restarted blocklist consumer was re-created after its last
	// event: the calls made after the delete reach it.
	eventually(t, "the restarted blocklist worker handles the events of both later calls", func() bool {
		return s.BlocklistWorker().Stats().Consumer.Handled >= handled+6
	})
	eventually(t, "healthz OK once the restarted roles ran for a while", func() bool {
		code, h, _ := sv.health()
		return code == http.StatusOK && h.OK
	})
	if sv.s.RoleStates()[RoleBlocklistCache].Restarts != 0 {
		t.Errorf("the blocklist cache restarted: %+v", sv.s.RoleStates()[RoleBlocklistCache])
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// serve with NATS unreachable used to exit after 10 s; now the IVR starts
// at once and answers calls (events spooled), the workers are degraded,
// and when NATS comes up the workers start and the spooled calls reach
// the dashboard.
func TestServeStartsWithoutNATS(t *testing.T) {
	sim := startSim(t)
	addr := freeAddr(t)
	cfg := serveConfig(t, sim)
	cfg.NATS.URL = "nats://" + addr
	start := time.Now()
	sv := startServed(t, sim, cfg)
	s := sv.s
	took := time.Since(start)
	t.Logf("serve started without NATS in %s (IVR connected)", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("serve took %s to start without NATS", took)
	}
	if s.BlocklistWorker() != nil {
		t.Fatal("blocklist worker built without NATS")
	}
	v := sv.call("081200000009")
	// Degraded, not down: the IVR answers and its events are spooled.
	eventually(t, "the workers shown as degraded", func() bool {
		code, h, _ := sv.health()
		return code == http.StatusOK && h.Status == health.LevelDegraded && !h.Checks["roles"].OK && !h.Checks["nats"].OK
	})
	// The blocklist API says it is not there yet rather than failing oddly.
	resp, err := http.Get("http://" + s.HTTPAddr() + "/api/blocklist")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET /api/blocklist without NATS: %d, want 503", resp.StatusCode)
	}
	if st := s.Publisher().Stats(); st.Spooled == 0 {
		t.Fatalf("no event spooled while NATS was down: %+v", st)
	}

	// NATS comes up: an external server on the configured address.
	emb, err := events.StartEmbedded(configs.Embedded{Listen: addr, DataDir: t.TempDir()}, testLogger(t))
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(emb.Shutdown)
	t.Cleanup(sv.stop) // stop the stack before the server
	up := time.Now()

	eventually(t, "the spooled call on the dashboard", func() bool {
		for _, c := range s.Aggregator().Calls(reports.CallFilter{}) {
			if c.CallID == v.ChannelID && c.Outcome == string(events.OutcomeEmergency) {
				return true
			}
		}
		return false
	})
	t.Logf("the call made without NATS reached the dashboard %s after NATS came up", time.Since(up).Round(time.Millisecond))
	eventually(t, "the blocklist worker started", func() bool {
		w := s.BlocklistWorker()
		return w != nil && s.RoleStates()[RoleBlocklistWorker].Running
	})
	sv.call("081200000010")
	eventually(t, "healthz OK once NATS is back", func() bool {
		_, h, _ := sv.health()
		return h.OK
	})
	resp, err = http.Get("http://" + s.HTTPAddr() + "/api/blocklist")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		t.Fatal("the blocklist API still unavailable after NATS came back")
	}
}

// End to end: the 2,100-character call_id call.started (whose index key
// once closed the shared NATS connection and stopped serve) and a
// batch of other malformed or forged messages published into a running
// serve-like stack. Calls are served throughout, no role restarts, every
// poison message is counted per consumer, and /healthz names the count.
func TestPoisonIntoRunningStack(t *testing.T) {
	sim := startSim(t)
	sv := startServed(t, sim, serveConfig(t, sim))
	s := sv.s
	ctx := context.Background()
	js := s.Bus().JS

	sv.call("081200000020")
	pub := func(subject string, b []byte) {
		t.Helper()
		if _, err := js.Publish(ctx, subject, b); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	envelope := func(typ events.Type, callID, number, data string, edit func(map[string]any)) []byte {
		m := map[string]any{
			"id": events.NewID(), "type": string(typ), "version": 1, "time": time.Now().UTC(),
			"call_id": callID, "node": "stack-node",
			"caller": map[string]any{"number": number, "presentation": "allowed"},
			"data":   json.RawMessage(data),
		}
		if edit != nil {
			edit(m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Poison every worker consumes (both subscribe to call.started,
	// classified, ended and verdict).
	poison := [][]byte{envelope(events.TypeStarted, strings.Repeat("A", 2100), "+6281111111111", `{"dialed":"112"}`, nil)}
	for i := range 1000 {
		var b []byte
		switch i % 10 {
		case 0:
			b = envelope(events.TypeStarted, fmt.Sprintf("%s%d", strings.Repeat("x", 200), i), "+6281111111111", `{}`, nil)
		case 1:
			b = envelope(events.TypeClassified, fmt.Sprint("c", i), "+6281111111111", `{"outcome":"-1+cmd|' /C calc'!A0"}`, nil)
		case 2:
			b = envelope(events.TypeClassified, fmt.Sprint("c", i), "+6281111111111", `{"outcome":"emergency","emergency_type":"+1+HYPERLINK(\"x\")"}`, nil)
		case 3:
			b = envelope(events.TypeVerdict, fmt.Sprint("c", i), "+6281111111111", `{"verdict":"prank"}`,
				func(m map[string]any) { m["node"] = strings.Repeat("n", 500) })
		case 4:
			b = envelope(events.TypeEnded, fmt.Sprint("c", i), "+6281111111111", `{"outcome":"no_input"}`,
				func(m map[string]any) { m["time"] = time.Now().AddDate(0, 3, 0) })
		case 5:
			b = envelope(events.TypeStarted, fmt.Sprint("c", i), "+6281111111111", `{}`, func(m map[string]any) { m["version"] = 99 })
		case 6:
			b = envelope(events.TypeStarted, fmt.Sprint("c", i), "+6281111111111", `{}`, func(m map[string]any) { m["id"] = "" })
		case 7:
			b = envelope(events.TypeClassified, fmt.Sprint("c", i), "+6281111111111", `{"attempts":"many"}`, nil)
		case 8:
			b = []byte(`{"id":"x","type":"call.started",`) // cut short
		default:
			b = envelope(events.TypeStarted, fmt.Sprint("c", i), "+6281111111111", `{}`,
				func(m map[string]any) { m["caller"] = map[string]any{"presentation": "<script>"} })
		}
		poison = append(poison, b)
	}
	subjects := []string{events.TypeStarted.Subject(), events.TypeClassified.Subject(), events.TypeVerdict.Subject(), events.TypeEnded.Subject()}
	for i, b := range poison {
		pub(subjects[i%len(subjects)], b)
		if i == len(poison)/2 {
			sv.call("081200000021") // a call in the middle of the poison
		}
	}
	sv.call("081200000022")
	n := uint64(len(poison))
	t.Logf("published %d poison messages (the first with a 2,100-character call_id) around 3 served calls", n)
	eventually(t, "every poison message counted by both workers", func() bool {
		return s.BlocklistWorker().Stats().Consumer.Poison == n && s.ReportsWorker().Stats().Poison == n
	})
	eventually(t, "the good calls' events handled", func() bool {
		lag, err := s.BlocklistWorker().Lag(ctx)
		return err == nil && lag == 0 && len(s.Aggregator().Calls(reports.CallFilter{})) == 3
	})
	for role, st := range s.RoleStates() {
		if !st.Running || st.Restarts != 0 {
			t.Errorf("role %s: %+v, want running and never restarted", role, st)
		}
	}
	code, h, body := sv.health()
	if code != http.StatusOK || !h.Checks["roles"].OK || !h.Checks["ari"].OK {
		t.Fatalf("healthz: %d\n%s", code, body)
	}
	want := fmt.Sprintf(`"poison":%d`, n)
	if strings.Count(body, want) != 2 {
		t.Fatalf("healthz does not name the poison count %d for both workers:\n%s", n, body)
	}
	if strings.Contains(body, strings.Repeat("A", 100)) || strings.Contains(body, "6281111111111") {
		t.Fatalf("healthz echoes a poison payload:\n%s", body)
	}
}

// A role that keeps failing is restarted with a doubling, bounded backoff,
// shown as not running between tries, and never given up; once it runs
// again its state says so.
func TestSuperviseBackoff(t *testing.T) {
	s := &Stack{log: testLogger(t), backoffMin: 10 * time.Millisecond, backoffMax: 80 * time.Millisecond, healthyAfter: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	const failures = 7
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.supervise(ctx, "flaky", func(ctx context.Context) error {
			mu.Lock()
			starts = append(starts, time.Now())
			n := len(starts)
			mu.Unlock()
			if n <= failures {
				return fmt.Errorf("failure %d", n)
			}
			<-ctx.Done()
			return nil
		})
	}()
	eventually(t, "the role running after its failures", func() bool {
		st := s.RoleStates()["flaky"]
		return st.Running && st.Restarts == failures
	})
	if st := s.RoleStates()["flaky"]; st.LastError != fmt.Sprintf("failure %d", failures) {
		t.Fatalf("state %+v", st)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// Waits: 10, 20, 40, 80, 80, 80, 80 ms.
	want := []time.Duration{10, 20, 40, 80, 80, 80, 80}
	for i, w := range want {
		got := starts[i+1].Sub(starts[i])
		if got < w*time.Millisecond || got > w*time.Millisecond+time.Second {
			t.Errorf("wait before restart %d = %s, want about %d ms", i+1, got, w)
		}
	}
}
