package blocklist

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLog writes to the test's output, shown for failing tests and -v.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startNATS runs an embedded JetStream server for the test on a random
// loopback port and returns its client URL.
func startNATS(t testing.TB) string {
	t.Helper()
	e, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e.ClientURL()
}

// connect opens a connection closed at the end of the test, like one
// process of siaga112 would.
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := events.Connect(context.Background(), configs.NATS{}, url, t.Name(), slog.New(slog.DiscardHandler))
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

// newTestStore opens the bucket on js and returns a store with policy p.
func newTestStore(t testing.TB, js jetstream.JetStream, p Policy) *Store {
	t.Helper()
	kv, err := OpenBucket(context.Background(), js, 1)
	if err != nil {
		t.Fatalf("OpenBucket: %v", err)
	}
	return NewStore(kv, p, testLog(t))
}

// ctxT is a context that ends with the test or after a generous deadline.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, within, what, cond)
}

// defaultPolicy is the policy of the default configuration.
func defaultPolicy(t testing.TB) Policy {
	t.Helper()
	p, err := NewPolicy(configs.Default().Blocklist)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}
