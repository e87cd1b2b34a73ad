package web

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
	"github.com/siaga112/siaga112/reports"
)

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

// connect opens a connection closed at the end of the test.
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

// ctxT is a context that ends with the test or after a generous deadline.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testCallerNumber is the caller of the blocklist API's tests.
const testCallerNumber = "+6281234567890"

// startJS runs an embedded JetStream server with the event stream and
// returns a JetStream context on it.
func startJS(t testing.TB) jetstream.JetStream {
	t.Helper()
	_, js := connect(t, startNATS(t))
	if _, err := events.EnsureStream(ctxT(t), js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	return js
}

// publish stores events with their id as Nats-Msg-Id, as the Publisher does.
func publish(t testing.TB, js jetstream.JetStream, evs []events.Envelope, withMsgID bool) {
	t.Helper()
	for _, e := range evs {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var opts []jetstream.PublishOpt
		if withMsgID {
			opts = append(opts, jetstream.WithMsgID(e.ID))
		}
		if _, err := js.Publish(ctxT(t), e.Subject(), b, opts...); err != nil {
			t.Fatalf("publish %s: %v", e.Type, err)
		}
	}
}

// publishCall publishes one event of a call from testCallerNumber's side.
func publishCall(t testing.TB, js jetstream.JetStream, typ events.Type, callID, number string, data any) events.Envelope {
	t.Helper()
	e, err := events.New(typ, callID, "asterisk-1", events.Caller{Number: number, Presentation: events.PresentationAllowed}, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := (blocklist.JSPublisher{JS: js}).Publish(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// eventually polls cond until it holds or 30 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, cond)
}

// mustStats is agg's statistics, failing the test on an error.
func mustStats(t *testing.T, a *reports.Aggregator, from, to time.Time, size reports.BucketSize) reports.Stats {
	t.Helper()
	st, err := a.Stats(from, to, size)
	if err != nil {
		t.Fatalf("Stats(%s, %s, %s): %v", from, to, size, err)
	}
	return st
}
