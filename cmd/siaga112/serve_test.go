package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
)

// serveWait bounds every wait of these tests (-race on two busy cores).
const serveWait = 60 * time.Second

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startCommand runs the command line in process until the returned stop
// function cancels it; stop returns the command's error and stdout.
func startCommand(t *testing.T, args ...string) (stop func() (string, error), stderr *lockedWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &lockedWriter{}
	var out lockedWriter
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() {
		a := newApp(&out, stderr)
		a.search = []string{}
		root := newRootCmd(a)
		root.SetArgs(args)
		runErr = root.ExecuteContext(ctx)
	})
	var once sync.Once
	stop = func() (string, error) {
		once.Do(func() { cancel(); wg.Wait() })
		return out.String(), runErr
	}
	t.Cleanup(func() { _, _ = stop() })
	return stop, stderr
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(serveWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe runs `serve` against a simulated Asterisk: /healthz reports
// every role, the dashboard and blocklist API share the listener, a call
// is put through, and on SIGINT (context cancel) a call still in the IVR
// is put through to operators and every event ends up in the stream.
func TestServe(t *testing.T) {
	clearEnv(t)
	sim := startCmdSim(t)
	dataDir, httpAddr := t.TempDir(), freeAddr(t)
	cfgFile := writeFile(t, fmt.Sprintf(`
ari:
  application: siaga112
  nodes:
    - {name: sim-1, url: %q, ws_url: %q, username: siaga112, password: test-secret}
  reconnect_min: 20ms
nats:
  embedded: {listen: "127.0.0.1:0", data_dir: %q}
  spool: {dir: %q}
ivr:
  first_digit_timeout: 5s
  drain_timeout: 300ms
http:
  listen: %q
log:
  level: warn
`, sim.URL(), sim.WSURL(), dataDir, t.TempDir(), httpAddr))
	stop, stderr := startCommand(t, "serve", "--config", cfgFile)

	var hz health.Health
	waitFor(t, "healthz 200 and every check ok", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		hz = health.Health{}
		return json.NewDecoder(resp.Body).Decode(&hz) == nil && resp.StatusCode == http.StatusOK && hz.OK
	})
	for _, name := range []string{"nats", "jetstream", "ari", "publisher", "blocklist_cache", "blocklist_worker", "reports"} {
		if c, ok := hz.Checks[name]; !ok || !c.OK {
			t.Errorf("healthz check %s = %+v (present %v)", name, c, ok)
		}
	}
	for _, path := range []string{"/", "/api/stats", "/api/blocklist", "/metrics"} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}

	// An operator of the general queue answers at once, so the call put
	// through is followed to its end with the operator: its events past
	// the hand-off are known in advance.
	sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201"}}})
	ctx := context.Background()
	done, err := sim.Call(ctx, arisim.Caller{Number: "+6281100000001", Dialed: "112",
		Script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("0"),
			arisim.WaitForOperator(), arisim.Talk(time.Second), arisim.Hangup()}})
	if err != nil {
		t.Fatal(err)
	}
	<-done.Done()
	if v := done.Result(); v.Continued == nil || v.Continued.Extension != "operator" || v.Operator != "PJSIP/op201" {
		t.Fatalf("operator call continued to %+v, answered by %q", v.Continued, v.Operator)
	}
	// A silent caller still in the menu when the process is told to stop:
	// the drain time (300 ms) is shorter than the call, so the caller is
	// put through to the operators rather than dropped.
	silent, err := sim.Call(ctx, arisim.Caller{Number: "+6281100000002", Dialed: "112"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "silent call answered", func() bool { return silent.Result().Answered })
	if _, err := stop(); err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, stderr.String())
	}
	select {
	case <-silent.Done():
	case <-time.After(serveWait):
		t.Fatal("silent caller still on the line after serve stopped")
	}
	if v := silent.Result(); v.Continued == nil || v.Continued.Context != configs.DefaultOperatorContext {
		t.Fatalf("silent call at shutdown: continued %+v, hung up by %q", v.Continued, v.HungUpBy)
	}

	// Every event of both calls is in the stream the process left behind.
	got := streamTypes(t, dataDir)
	if want := []events.Type{events.TypeStarted, events.TypeAnswered, events.TypeMenu, events.TypeClassified, events.TypeTransferred, events.TypeOperatorAnswered, events.TypeEnded}; !slices.Equal(got[done.ID()], want) {
		t.Errorf("operator call events %v, want %v", got[done.ID()], want)
	}
	// The call-back planned after the drained call ended (callback.*,
	// on the same call id) is not the call's own.
	s := slices.DeleteFunc(slices.Clone(got[silent.ID()]), func(t events.Type) bool { return strings.HasPrefix(string(t), "callback.") })
	if len(s) < 4 || s[0] != events.TypeStarted || s[len(s)-1] != events.TypeEnded ||
		!slices.Contains(s, events.TypeClassified) || !slices.Contains(s, events.TypeTransferred) {
		t.Errorf("drained call events %v, want started ... classified, transferred, ended", s)
	}
}

// streamTypes restarts NATS on dir and returns each call's event types in
// stream order.
func streamTypes(t *testing.T, dir string) map[string][]events.Type {
	t.Helper()
	emb, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), serveWait)
	defer cancel()
	nc, err := events.Connect(ctx, configs.Default().NATS, emb.ClientURL(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SubjectAllCalls}})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]events.Type)
	for {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			e, err := events.Decode(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			out[e.CallID] = append(out[e.CallID], e.Type)
		}
		if n == 0 {
			return out
		}
	}
}

// TestDemo runs a short, fast demo to its end: it prints where the
// dashboard is and finishes with every call as scripted and no event lost.
func TestDemo(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t)) // never the real 4222
	out, errOut, code, err := execute(t, "demo", "--duration", "3s", "--rate", "8", "--clock-scale", "0.01",
		"--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id")
	if err != nil || code != 0 {
		t.Fatalf("demo: code %d, %v; stderr: %s; stdout: %s", code, err, errOut, out)
	}
	for _, want := range []string{"dashboard:     http://127.0.0.1:", "for 3 s", "demo over:", " events, 0 lost; errors 0\n", "emergency",
		"time to a person (s)", "past the hand-off  answered by an operator "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("progress bar drawn on a non-terminal:\n%q", out)
	}
}

// TestLoadtestCommand runs a small in-process load test with --json.
func TestLoadtestCommand(t *testing.T) {
	clearEnv(t)
	out, errOut, code, err := execute(t, "loadtest", "--calls", "30", "--rate", "30", "--concurrency", "30",
		"--clock-scale", "0.01", "--sounds", "../../asterisk-conf/sounds/id", "--operators", "--json")
	if err != nil || code != 0 {
		t.Fatalf("loadtest: code %d, %v; stderr: %s; stdout: %s", code, err, errOut, out)
	}
	var s struct {
		Placed int            `json:"calls_placed"`
		Errors int            `json:"errors"`
		Lost   int            `json:"events_lost"`
		Events int            `json:"events_published"`
		Out    map[string]int `json:"outcomes"`
		Answer struct {
			N int `json:"n"`
		} `json:"stasis_start_to_answer"`
		Person    map[string]json.RawMessage `json:"time_to_person"`
		Abandoned map[string]int             `json:"queue_abandoned"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if s.Placed != 30 || s.Errors != 0 || s.Lost != 0 || s.Events == 0 || s.Answer.N != 30 || len(s.Out) == 0 {
		t.Fatalf("summary %+v", s)
	}
	// With --operators the sim's operators answer: callers put through have
	// a time to a person; queue_abandoned is there even when nobody hung up
	// in the queue.
	if len(s.Person) == 0 || s.Abandoned == nil {
		t.Fatalf("time_to_person %v, queue_abandoned %v:\n%s", s.Person, s.Abandoned, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"loadtest", "--target", "pbx"}, "--target must be sim or ari"},
		{"bad mix", []string{"loadtest", "--mix", "fire=x"}, "bad caller mix"},
		{"unknown node", []string{"loadtest", "--target", "ari", "--node", "nope"}, "no such node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, code, err := execute(t, tc.args...)
			if err == nil || code != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("code %d err %v, want %q", code, err, tc.want)
			}
		})
	}
}

// startCmdSim starts a simulated Asterisk with the shipped prompts at a
// hundredth of real time, closed at the end of the test; the commands under
// test reach it with user siaga112, password test-secret.
func startCmdSim(t *testing.T) *arisim.Server {
	t.Helper()
	sim := arisim.New(arisim.Options{
		Username: "siaga112", Password: "test-secret", Application: "siaga112",
		SoundsDir: "../../asterisk-conf/sounds/id", ClockScale: 0.01,
	})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}
