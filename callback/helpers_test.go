package callback

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// startStore runs an in-process JetStream server and returns the real
// call-backs store over it.
func startStore(t testing.TB) *events.CallbackStore {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats server not ready after 30s")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return events.NewCallbackStore(js, 1)
}

// recorder keeps what was published, checking each event as a consumer
// would.
type recorder struct {
	t  testing.TB
	mu sync.Mutex
	ev []events.Envelope
}

func (r *recorder) Publish(_ context.Context, e events.Envelope) error {
	b, err := e.Marshal()
	if err != nil {
		r.t.Errorf("marshal %s: %v", e.Type, err)
		return err
	}
	d, err := events.Decode(b)
	if err == nil {
		err = events.Validate(d, time.Now())
	}
	if err != nil {
		r.t.Errorf("published an invalid %s: %v", e.Type, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
	return nil
}

func (r *recorder) all() []events.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Envelope(nil), r.ev...)
}

// of returns the events of one type.
func (r *recorder) of(t events.Type) []events.Envelope {
	var out []events.Envelope
	for _, e := range r.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// fakeDialer is a Dialer of function fields; nil fields: an operator is
// free, and every attempt is not answered.
type fakeDialer struct {
	free  func(typ string) (bool, bool)
	place func(ctx context.Context, req Request) Outcome
}

func (d fakeDialer) OperatorFree(typ string) (bool, bool) {
	if d.free == nil {
		return true, true
	}
	return d.free(typ)
}

func (d fakeDialer) Place(ctx context.Context, req Request) Outcome {
	if d.place == nil {
		return Outcome{Result: events.CallbackNoAnswer, Cause: 19}
	}
	return d.place(ctx, req)
}

// testConfig is the default call-back config with short waits.
func testConfig() configs.Callback {
	c := configs.DefaultCallback()
	c.Delay = 100 * time.Millisecond
	c.Retry = []time.Duration{200 * time.Millisecond}
	c.RingTimeout = 5 * time.Second
	return c
}

const testNumber = "+6281234567890"

func caller(number string) events.Caller {
	return events.Caller{Number: number, Presentation: events.PresentationAllowed}
}

// envelope builds an event of a call.
func envelope(t testing.TB, typ events.Type, callID string, c events.Caller, data any) events.Envelope {
	t.Helper()
	e, err := events.New(typ, callID, "node1", c, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// dropped is the call.ended of a caller who chose fire and hung up before
// the queue.
func dropped(t testing.TB, callID, number string) events.Envelope {
	return envelope(t, events.TypeEnded, callID, caller(number), events.Ended{
		Outcome: events.OutcomeEmergency, DurationS: 7, HangupBy: events.HangupByCaller, Callback: true,
		Where: events.WhereIVR, EmergencyType: "fire",
	})
}

func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// record reads a number's record.
func record(t testing.TB, st Store, number string) (Record, bool) {
	t.Helper()
	k, _ := Key(number)
	ent, err := st.Get(context.Background(), k)
	if err != nil {
		return Record{}, false
	}
	r, err := decode(ent.Value)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return r, true
}
