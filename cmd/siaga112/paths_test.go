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

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/internal/testkit"
)

// TestAdminFindsRunningServe: with a real `siaga112 serve` running, the
// admin commands given only the configuration serve runs with (no
// --nats-url, no SIAGA112_NATS_URL) find its embedded NATS at
// nats.embedded.listen and log in with the credentials file of its data
// directory. A number blocked with `blocklist add` is refused by serve's
// IVR on its next call, and a `verdict prank` on a call serve handled
// gives the number the strikes that block it, as `blocklist check` shows.
func TestAdminFindsRunningServe(t *testing.T) {
	clearEnv(t)
	sim := startCmdSim(t)
	httpAddr := freeAddr(t)
	cfgFile := writeFile(t, fmt.Sprintf(`
ari:
  application: siaga112
  nodes:
    - {name: sim-1, url: %q, ws_url: %q, username: siaga112, password: test-secret}
  reconnect_min: 20ms
nats:
  embedded: {listen: %q, data_dir: %q}
  spool: {dir: %q}
ivr:
  first_digit_timeout: 400ms
  silent_help_timeout: 400ms
  blocked_override_timeout: 400ms
  drain_timeout: 300ms
http:
  listen: %q
  accounts_file: %q
log:
  level: warn
`, sim.URL(), sim.WSURL(), freeAddr(t), t.TempDir(), t.TempDir(), httpAddr, t.TempDir()+"/accounts.yaml"))
	stop, serveErr := startCommand(t, "serve", "--config", cfgFile)
	waitFor(t, "serve's /healthz 200", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// admin runs an admin command with serve's configuration and nothing
	// else; it must answer without saying it used a demo.
	admin := func(args ...string) (string, error) {
		t.Helper()
		out, stderr, code, err := execute(t, append(args, "--config", cfgFile)...)
		if err == nil && (code != 0 || stderr != "") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		return out, err
	}

	const number, e164 = "0812-0000-0042", "+6281200000042"
	out, err := admin("blocklist", "add", number, "--for", "2h", "--reason", "threats")
	if err != nil || !strings.HasPrefix(out, e164+" blocked until ") {
		t.Fatalf("blocklist add beside serve: %v; stdout %q", err, out)
	}
	// serve's IVR refuses the number: the block went into serve's bucket.
	var blocked arisim.CallerView
	waitFor(t, "serve's IVR warns the blocked number", func() bool {
		blocked = call(t, sim, "081200000042")
		return slices.Contains(testkit.BaseNames(blocked.Prompts), "blocked")
	})
	if blocked.HungUpBy != arisim.HungUpByApp || blocked.Continued != nil {
		t.Fatalf("blocked silent caller: hung up by %q, continued %+v; want hung up by the IVR", blocked.HungUpBy, blocked.Continued)
	}
	if out, err := admin("blocklist", "ls", "--blocked"); err != nil || !strings.Contains(out, e164) || !strings.Contains(out, "threats") {
		t.Fatalf("blocklist ls --blocked: %v; stdout %q", err, out)
	}

	// A call serve puts through, then an operator's verdict prank on it.
	const pranker = "+6281300000077"
	v := call(t, sim, pranker, arisim.WaitForPrompt("menu"), arisim.Press("0"))
	if v.Continued == nil || v.Continued.Extension != "operator" {
		t.Fatalf("operator call: continued %+v, hung up by %q", v.Continued, v.HungUpBy)
	}
	// The verdict is refused until serve's blocklist worker has indexed
	// the call (its call.started), so it is tried until accepted.
	waitFor(t, "verdict accepted", func() bool {
		out, err = admin("verdict", v.ChannelID, "prank", "--by", "siti")
		return err == nil
	})
	if !strings.Contains(out, "verdict prank for call "+v.ChannelID+" published") {
		t.Fatalf("verdict: stdout %q", out)
	}
	var check numberJSON
	waitFor(t, "the prank verdict blocks the number", func() bool {
		out, err := admin("blocklist", "check", pranker, "--json")
		return err == nil && json.Unmarshal([]byte(out), &check) == nil && check.Blocked
	})
	if check.Number != pranker || check.Until == nil {
		t.Fatalf("check after the verdict: %+v", check)
	}

	if _, err := stop(); err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, serveErr.String())
	}
}

// call places a caller from number on the sim and waits for the call to end.
func call(t *testing.T, sim *arisim.Server, number string, script ...arisim.Step) arisim.CallerView {
	t.Helper()
	h, err := sim.Call(context.Background(), arisim.Caller{Number: number, Dialed: "112", Script: script})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(serveWait):
		t.Fatalf("call from %s still on the line after %s", number, serveWait)
	}
	return h.Result()
}

// giveUpMax bounds how long an admin command may take to give up on a NATS
// that lets it in but never answers: the 10 s the commands allow
// themselves (adminTimeout) plus generous room for -race on a busy two-core
// machine. A command that waits for ever, or whose bound grew well past
// 10 s, fails it.
const giveUpMax = 10*time.Second + 15*time.Second

// TestAdminGivesUp: with no usable siaga112 NATS where the admin commands
// look, they end with an error that says where they looked and what to do,
// within a bound: at once when nothing listens there, after the dial
// timeout and loginTimeout (2 s each) when something accepts TCP
// connections but never speaks NATS, and after adminTimeout (10 s) when a
// NATS lets the admin in but never answers its JetStream requests. The
// bounds are written as numbers, not as the constants, so that a bound
// that grows fails here.
func TestAdminGivesUp(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		// listen starts what answers at the returned address.
		listen func(t *testing.T) string
		// max bounds the time to the error.
		max time.Duration
		// want are parts of the error.
		want []string
		// quiet is true when nothing may be logged on stderr besides the
		// error. The NATS client's warning that it keeps retrying a server
		// that did not answer is logged before the command gives up.
		quiet bool
	}{
		{"nothing listens", closedAddr, 3 * time.Second, []string{"no NATS server answering at", "siaga112 serve", "--nats-url nats://HOST:PORT"}, true},
		// The client's dial timeout (2 s) and loginTimeout (2 s), about 4.5 s
		// in all, with room; under adminTimeout (10 s), which bounds the
		// whole command, so that a login wait left to it fails here.
		{"a listener that never speaks", silentListener, 9 * time.Second,
			[]string{"answers, but not as a siaga112 NATS", "not connected", "siaga112 serve", "--nats-url"}, false},
		{"a NATS whose JetStream never answers", stalledJetStream, giveUpMax,
			[]string{"answers, but not as a siaga112 NATS", "deadline exceeded", "siaga112 serve", "--nats-url"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.listen(t)
			t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", addr)
			t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", t.TempDir()) // no credentials file
			start := time.Now()
			out, stderr, code, err := execute(t, "blocklist", "ls")
			took := time.Since(start)
			t.Logf("gave up after %s: %v", took.Round(time.Millisecond), err)
			if err == nil || code != 1 || out != "" {
				t.Fatalf("exit %d, err %v, stdout %q; want exit 1 with an error", code, err, out)
			}
			if took > tc.max {
				t.Fatalf("gave up after %s, want at most %s", took, tc.max)
			}
			for _, w := range append(tc.want, "nats://"+addr, "nats.embedded.listen") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.quiet && stderr != "" {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}

// silentListener accepts TCP connections on a loopback address and never
// writes to them, like a hung process on the port; they are closed when
// the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// stalledJetStream starts a NATS server without logins whose JetStream API
// never answers: JetStream is off, and a subscriber takes every API request
// and drops it, so a request gets neither a reply nor "no responders" and
// waits for its deadline — a server that lets the admin in but hangs.
func stalledJetStream(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(serveWait) {
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("$JS.API.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return s.Addr().String()
}
