package ari

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// slowHandoffFlow answers, waits for the shutdown, then makes many slow
// requests with a context that is never cancelled, as a hand-off that
// Asterisk answers just within each request's timeout would: without a
// bound, Run would wait for all of them.
type slowHandoffFlow struct{ vars int }

func (f slowHandoffFlow) Run(ctx context.Context, c flows.Call, _ flows.Input, _ flows.Emitter) flows.Result {
	if err := c.Answer(ctx); err != nil {
		return flows.Result{Outcome: events.OutcomeFailover, Reason: err.Error()}
	}
	<-ctx.Done()
	vars := make(map[string]string, f.vars)
	for i := range f.vars {
		vars[fmt.Sprintf("SLOW_%02d", i)] = "x"
	}
	if err := c.SetVariables(context.WithoutCancel(ctx), vars); err != nil {
		return flows.Result{Outcome: events.OutcomeFailover, Reason: err.Error()}
	}
	return flows.Result{Outcome: events.OutcomeFailover, Reason: "slow hand-off done"}
}

// TestStopWithinStopTimeout: a hand-off that would outlast the stop
// timeout is cut off at StopTimeout, so Run returns before a service
// manager's kill; the caller left in the app is put through by the next
// IVR's sweep when it connects.
func TestStopWithinStopTimeout(t *testing.T) {
	e := startEnv(t, envOptions{
		flow: slowHandoffFlow{vars: 40},
		cfg: func(c *configs.Config) {
			c.IVR.DrainTimeout = 300 * time.Millisecond
			c.ARI.RequestTimeout = 400 * time.Millisecond
		},
	})
	h := e.place(arisim.Caller{Number: "+628120000061", Script: []arisim.Step{arisim.WaitForEnd()}})
	eventually(t, "call answered", func() bool { return h.Result().Answered })
	// Each request is answered after 150 ms: 40 of them take 6 s, well
	// past the stop timeout, though none times out.
	e.sim.SetRESTDelay(150 * time.Millisecond)
	bound := StopTimeout(e.cfg.ARI, e.cfg.IVR)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	if err := e.ivr.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	took := time.Since(start)
	// A second of slack for the sessions' last events and a loaded machine.
	if took > bound+time.Second {
		t.Fatalf("Run took %s to stop, StopTimeout is %s", took, bound)
	}
	if took < e.cfg.IVR.DrainTimeout {
		t.Fatalf("Run stopped after %s, before the drain time %s", took, e.cfg.IVR.DrainTimeout)
	}
	e.sim.SetRESTDelay(0)
	select {
	case <-h.Done():
		t.Fatalf("the caller was let go during the stop: %s", fmtView(h.Result()))
	default:
	}

	// The next IVR on the same Asterisk finds the caller in the app.
	next, err := New(Options{ARI: e.cfg.ARI, IVR: e.cfg.IVR, Flow: slowHandoffFlow{}, Publisher: nopPublisher{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- next.Run(context.Background()) }()
	v := e.wait(h)
	if err := next.Stop(ctx); err != nil {
		t.Errorf("stop the next IVR: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("run the next IVR: %v", err)
	}
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("caller after the next start: %s, want put through to operators", fmtView(v))
	}
}

// afterIVR is what serve does once the IVR stopped, at most: flush the
// event spool (internal/stack's flushTimeout, 15 s), let the workers catch
// up (catchUpTimeout, 5 s) and close the HTTP server (httpShutdownTimeout,
// 5 s). Nothing of it touches a caller: what the kill cuts off stays in the
// spool for the next start.
const afterIVR = 25 * time.Second

// stopMargin covers what no timeout bounds: the sessions' last events, the
// embedded NATS server's shutdown, a loaded host.
const stopMargin = 5 * time.Second

// TestStopTimeoutsFitShutdown: the stop timeouts the deployment files give
// the service manager (systemd TimeoutStopSec, docker stop_grace_period)
// allow the IVR's StopTimeout for the configuration they run —
// ivr.drain_timeout + 4 x ari.request_timeout + 1 s — plus what serve does
// after it and a margin, so a stop never kills the process while a caller
// is being put through.
func TestStopTimeoutsFitShutdown(t *testing.T) {
	root := filepath.Join("..")

	// The compose service's environment wins over the mounted file, as in
	// the container.
	var compose struct {
		Services map[string]struct {
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svc, ok := compose.Services["siaga112"]
	if !ok {
		t.Fatal("docker-compose.yml has no siaga112 service")
	}
	for k, v := range svc.Environment {
		t.Setenv(k, v)
	}
	cfg, err := configs.Load(configs.LoadOptions{File: filepath.Join(root, "deploy", "siaga112.yaml")})
	if err != nil {
		t.Fatalf("deploy/siaga112.yaml with the compose environment: %v", err)
	}
	need := StopTimeout(cfg.ARI, cfg.IVR) + afterIVR + stopMargin
	if want := cfg.IVR.DrainTimeout + 4*cfg.ARI.RequestTimeout; need <= want {
		t.Fatalf("the budget %s does not even cover drain + 4 x request_timeout (%s)", need, want)
	}

	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil {
		t.Fatalf("docker-compose.yml siaga112 stop_grace_period %q: %v", svc.StopGracePeriod, err)
	}
	stopSec := unitValue(t, filepath.Join(root, "deploy", "siaga112.service"), "TimeoutStopSec")
	unitStop, err := systemdSpan(stopSec)
	if err != nil {
		t.Fatalf("deploy/siaga112.service TimeoutStopSec=%s: %v", stopSec, err)
	}
	for _, c := range []struct {
		where string
		got   time.Duration
	}{
		{"deploy/siaga112.service TimeoutStopSec", unitStop},
		{"docker-compose.yml stop_grace_period", grace},
	} {
		if c.got < need {
			t.Errorf("%s is %s; the stop needs %s: ivr.drain_timeout %s + hand-off %s + after the IVR %s + margin %s",
				c.where, c.got, need, cfg.IVR.DrainTimeout, HandoffTail(cfg.ARI), afterIVR, stopMargin)
		}
	}
}

// unitValue returns the last value of key in a systemd unit file.
func unitValue(t *testing.T, path, key string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	val, found := "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.TrimSpace(k) == key {
			val, found = strings.TrimSpace(v), true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s sets no %s (systemd's default, 90 s, is not what the file documents)", path, key)
	}
	return val
}

// systemdSpan parses a systemd time span as units use it here: a bare
// number of seconds, or units such as "75s", "1min 15s", "2m".
func systemdSpan(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	v = strings.ReplaceAll(strings.ReplaceAll(v, " ", ""), "min", "m")
	return time.ParseDuration(v)
}
