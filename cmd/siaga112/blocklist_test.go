package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// blocklistNATS starts an embedded server with the event stream, points
// SIAGA112_NATS_URL at it and returns a connection to it.
func blocklistNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	clearEnv(t)
	emb, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	t.Setenv("SIAGA112_NATS_URL", emb.ClientURL())
	t.Setenv("SIAGA112_LOG_LEVEL", "warn")
	nc, err := events.Connect(context.Background(), configs.NATS{}, emb.ClientURL(), "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(context.Background(), js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func TestBlocklistCommands(t *testing.T) {
	nc, js := blocklistNATS(t)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"add", []string{"blocklist", "add", "0812-3456-7890", "--for", "2h", "--reason", "threats", "--by", "budi"}, 0, []string{"+6281234567890 blocked until"}},
		{"add second", []string{"blocklist", "add", "+1 202 555 0143", "--for", "7d"}, 0, []string{"+12025550143 blocked until"}},
		{"ls", []string{"blocklist", "ls"}, 0, []string{"NUMBER", "+6281234567890", "admin:budi", "threats", "+12025550143", "admin:cli"}},
		{"check blocked", []string{"blocklist", "check", "081234567890"}, 0, []string{"+6281234567890 blocked until", "last decision: threats (admin:budi)"}},
		{"rm", []string{"blocklist", "rm", "+6281234567890", "--by", "budi"}, 0, []string{"+6281234567890 not blocked"}},
		{"ls blocked only", []string{"blocklist", "ls", "--blocked"}, 0, []string{"+12025550143"}},
		{"check unknown", []string{"blocklist", "check", "+442079460958"}, 0, []string{"+442079460958 not blocked\nstrikes: 0 of 3 within 24 h\n"}},
		{"check anonymous", []string{"blocklist", "check", "anonymous"}, 0, []string{"never blocked"}},
		{"add garbage", []string{"blocklist", "add", "abc"}, 1, []string{`invalid phone number "abc"`}},
		{"add bad length", []string{"blocklist", "add", "0812", "--for", "soon"}, 1, []string{"--for: invalid duration"}},
		{"rm unknown", []string{"blocklist", "rm", "+442079460958"}, 1, []string{"+442079460958 has no block and no strikes"}},
		{"verdict bad", []string{"verdict", "call-1", "maybe"}, 1, []string{"prank or genuine"}},
		{"verdict missing arg", []string{"verdict", "call-1"}, 1, []string{"needs CALL_ID and prank or genuine"}},
		{"verdict unknown call", []string{"verdict", "bogus", "prank"}, 1, []string{`unknown call "bogus"`, "SIAGA112_CALL_ID"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, _, code, err := execute(t, st.args...)
			text := out
			if err != nil {
				text += err.Error()
			}
			if code != st.wantCode {
				t.Fatalf("exit %d (%v), want %d; output %q", code, err, st.wantCode, out)
			}
			for _, w := range st.want {
				if !strings.Contains(text, w) {
					t.Fatalf("output %q lacks %q", text, w)
				}
			}
		})
	}
	if strings.Contains(mustRun(t, "blocklist", "ls", "--blocked"), "+6281234567890") {
		t.Fatal("removed number still listed as blocked")
	}

	t.Run("verdict publishes", func(t *testing.T) {
		got := make(chan *nats.Msg, 1)
		sub, err := nc.ChanSubscribe(events.TypeVerdict.Subject(), got)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		publishEvent(t, js, events.TypeStarted, "1732700000.42", "081234567890", events.Started{Dialed: "112"})
		out := mustRun(t, "verdict", "1732700000.42", "prank", "--by", "siti")
		if !strings.Contains(out, "verdict prank for call 1732700000.42 published") {
			t.Fatalf("output %q", out)
		}
		select {
		case m := <-got:
			e, err := events.Decode(m.Data)
			var v events.Verdict
			if err == nil {
				err = e.DecodeData(&v)
			}
			if err != nil || e.CallID != "1732700000.42" || v.Verdict != "prank" || v.By != "siti" {
				t.Fatalf("published %+v %+v %v", e, v, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no call.verdict published")
		}
	})
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, _, _, err := execute(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// `worker blocklist` blocks a number after three silent calls, as seen by
// `blocklist check`, and stops cleanly on cancel.
func TestWorkerBlocklistCommand(t *testing.T) {
	_, js := blocklistNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedWriter
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() {
		a := newApp(&bytes.Buffer{}, &stderr)
		a.search = []string{}
		root := newRootCmd(a)
		root.SetArgs([]string{"worker", "blocklist"})
		runErr = root.ExecuteContext(ctx)
	})
	defer func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("worker blocklist: %v", runErr)
		}
	}()
	// The worker's consumer starts with events published after it exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := js.Consumer(context.Background(), events.StreamName, "blocklist"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer not created; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 3 {
		publishEvent(t, js, events.TypeClassified, "call-"+string(rune('a'+i)), "081234567890",
			events.Classified{Outcome: events.OutcomeNoInput, Attempts: 3})
	}
	for {
		out := mustRun(t, "blocklist", "check", "081234567890")
		if strings.Contains(out, "blocked until") {
			for _, want := range []string{"no_input x3", "3 strikes within 24 h", "for 1 h", "(1 h left)"} {
				if !strings.Contains(out, want) {
					t.Fatalf("check output %q lacks %q", out, want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not blocked; last check %q; stderr %s", out, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publishEvent stores one event as the IVR would.
func publishEvent(t *testing.T, js jetstream.JetStream, typ events.Type, callID, number string, data any) {
	t.Helper()
	e, err := events.New(typ, callID, "asterisk-1", events.Caller{Number: number, Presentation: events.PresentationAllowed}, data)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), e.Subject(), raw, jetstream.WithMsgID(e.ID)); err != nil {
		t.Fatal(err)
	}
}

// lockedWriter is a goroutine-safe buffer for a command's stderr.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// A worker's listener is opened before it connects: a busy --listen fails
// at once, even with no NATS to connect to.
func TestWorkerListenCheckedFirst(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_URL", "nats://"+closedAddr(t))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	for _, args := range [][]string{
		{"worker", "blocklist", "--listen", busy.Addr().String()},
		{"worker", "reports"},
	} {
		t.Setenv("SIAGA112_HTTP_LISTEN", busy.Addr().String())
		start := time.Now()
		_, _, code, err := execute(t, args...)
		if code != 1 || err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Fatalf("%v: exit %d, %v", args, code, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("%v: failed after %s, not at once", args, took)
		}
	}
}
