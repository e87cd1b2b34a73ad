package events

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/siaga112/siaga112/configs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLog writes to the test's output, shown for failing tests and -v.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncBuffer is a goroutine-safe log sink for tests that inspect log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs an embedded server on listen with its store in dir and
// shuts it down at the end of the test.
func startServer(t testing.TB, dir, listen string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir}, testLog(t))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// listenOf turns a client URL into host:port for restarting on the same port.
func listenOf(t testing.TB, clientURL string) string {
	t.Helper()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatalf("parse %q: %v", clientURL, err)
	}
	return u.Host
}

// connect opens a client connection that is closed at the end of the test.
func connect(t testing.TB, u string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := Connect(context.Background(), configs.NATS{}, u, t.Name(), testLog(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	return nc, js
}

// natsConfig is the default NATS config with the spool in a temp dir.
func natsConfig(t testing.TB) configs.NATS {
	cfg := configs.Default().NATS
	cfg.Spool.Dir = t.TempDir()
	return cfg
}

func ensureStream(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
		t.Fatalf("EnsureStream: %v", err)
	}
}

func newPublisher(t testing.TB, js jetstream.JetStream, cfg configs.NATS, log *slog.Logger) *Publisher {
	t.Helper()
	p, err := NewPublisher(js, cfg, log)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// event builds the i-th test event of a made-up call.
func event(t testing.TB, i int) Envelope {
	t.Helper()
	e, err := New(TypeMenu, fmt.Sprintf("call-%d", i/3), "test-node",
		Caller{Number: "+6281234567890", Presentation: PresentationAllowed},
		Menu{Attempt: i%3 + 1, Digits: "1", Result: MenuValid})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// eventually polls cond until it holds or the (generous) deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamIDs returns the event id of every message in the stream, in stream order.
func streamIDs(t testing.TB, js jetstream.JetStream) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get msg %d: %v", seq, err)
		}
		e, err := Decode(m.Data)
		if err != nil {
			t.Fatalf("msg %d: %v", seq, err)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != e.ID {
			t.Fatalf("msg %d: Nats-Msg-Id %q, event id %q", seq, got, e.ID)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

// streamMsgs is the number of messages in the stream.
func streamMsgs(t testing.TB, js jetstream.JetStream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// requireSameOrder fails unless got equals want element by element.
func requireSameOrder(t testing.TB, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d ids, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("position %d: got id %s, want %s", i, got[i], want[i])
		}
	}
}

// testLogTo writes text logs into w.
func testLogTo(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
