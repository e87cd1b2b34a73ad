package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

// startJS runs an in-process JetStream server and returns a client.
func startJS(t testing.TB) jetstream.JetStream {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	return js
}

// publish stores events with their id as Nats-Msg-Id, as the Publisher does.
func publish(t testing.TB, js jetstream.JetStream, evs []events.Envelope, withMsgID bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, e := range evs {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var opts []jetstream.PublishOpt
		if withMsgID {
			opts = append(opts, jetstream.WithMsgID(e.ID))
		}
		if _, err := js.Publish(ctx, e.Subject(), b, opts...); err != nil {
			t.Fatalf("publish %s: %v", e.Type, err)
		}
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, cond)
}

type runningWorker struct {
	w      *Worker
	agg    *Aggregator
	cancel context.CancelFunc
	done   chan error
}

func startWorker(t *testing.T, js jetstream.JetStream) *runningWorker {
	t.Helper()
	agg := NewAggregator(Options{})
	w := NewWorker(js, agg, WorkerConfig{Durable: "reports-test", Stream: configs.Default().NATS.Stream, Consumer: configs.Default().NATS.Consumer}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWorker{w: w, agg: agg, cancel: cancel, done: make(chan error, 1)}
	go func() { rw.done <- w.Run(ctx) }()
	t.Cleanup(func() { rw.stop(t) })
	return rw
}

func (rw *runningWorker) stop(t *testing.T) {
	t.Helper()
	if rw.cancel == nil {
		return
	}
	rw.cancel()
	rw.cancel = nil
	select {
	case err := <-rw.done:
		if err != nil {
			t.Errorf("worker Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("worker did not stop within 30s")
	}
}

func totals(t *testing.T, a *Aggregator) Bucket {
	t.Helper()
	st, err := a.Stats(t0.Add(-24*time.Hour), t0.Add(24*time.Hour), Day)
	if err != nil {
		t.Fatal(err)
	}
	return st.Totals
}

func TestWorkerRestartCountsOnce(t *testing.T) {
	js := startJS(t)
	var before, after, live []events.Envelope
	for i := range 3 {
		before = append(before, callEvents(t, callSpec{id: fmt.Sprint("b", i), number: "+6281100000001", at: t0.Add(time.Duration(i) * time.Minute), outcome: events.OutcomeNoInput, ttc: 16})...)
	}
	for i := range 2 {
		after = append(after, callEvents(t, callSpec{id: fmt.Sprint("a", i), number: "+6281100000002", at: t0.Add(time.Duration(10+i) * time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: 4, transfer: true})...)
	}
	// A verdict on a call from before the restart, after the restart.
	after = append(after, ev(t, events.TypeVerdict, "a0", "+6281100000002", t0.Add(30*time.Minute), events.Verdict{Verdict: events.VerdictPrank, By: "op"}))
	live = callEvents(t, callSpec{id: "l0", number: "+6281100000003", at: t0.Add(40 * time.Minute), outcome: events.OutcomeAbandoned, ttc: 2})

	publish(t, js, before, true)
	if err := NewWorker(js, NewAggregator(Options{}), WorkerConfig{}, nil).Health(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Health before Run = %v, want ErrNotRunning", err)
	}
	w1 := startWorker(t, js)
	eventually(t, "first worker to apply 3 calls", func() bool { return totals(t, w1.agg).Calls == 3 && w1.w.Ready(context.Background()) })
	w1.stop(t)

	publish(t, js, after, true)
	// The spool re-sending an event after the duplicate window: the stream
	// stores it a second time, the aggregator must not count it again.
	publish(t, js, before[:1], false)

	w2 := startWorker(t, js)
	eventually(t, "second worker to replay", func() bool { return w2.w.Ready(context.Background()) && totals(t, w2.agg).Calls == 5 })
	publish(t, js, live, true)
	eventually(t, "second worker to apply the live call", func() bool { return totals(t, w2.agg).Calls == 6 })

	ref := NewAggregator(Options{})
	applyAll(t, ref, append(append(append([]events.Envelope{}, before...), after...), live...))
	want, _ := json.Marshal(totals(t, ref))
	eventually(t, "the live call to be classified", func() bool {
		got, _ := json.Marshal(totals(t, w2.agg))
		return string(got) == string(want)
	})
	got := totals(t, w2.agg)
	if got.Calls != 6 || got.Prank != 5 || got.PutThrough != 2 {
		t.Fatalf("after restart: calls=%d prank=%d put_through=%d, want 6 5 2", got.Calls, got.Prank, got.PutThrough)
	}
	if d := w2.agg.Counters().Duplicates; d != 1 {
		t.Fatalf("duplicates dropped = %d, want 1", d)
	}
	if err := w2.w.Health(context.Background()); err != nil {
		t.Fatalf("Health after catching up: %v", err)
	}
	// The last acks travel to the server after the handler returned.
	eventually(t, "lag 0 once every ack arrived", func() bool {
		lag, err := w2.w.Lag(context.Background())
		return err == nil && lag == 0
	})
	if err := w2.w.Run(context.Background()); !errors.Is(err, ErrWorkerStarted) {
		t.Fatalf("second Run = %v, want ErrWorkerStarted", err)
	}
}

func TestWorkerBlocklistAndMalformed(t *testing.T) {
	js := startJS(t)
	until := t0.Add(100 * 365 * 24 * time.Hour) // far future: still blocked whenever the test runs
	blk := ev(t, events.TypeBlocklistChanged, "", "", t0, events.BlocklistChanged{Number: "+6281100000007", Until: &until, Strikes: 3, Reason: "strikes"})
	publish(t, js, []events.Envelope{blk}, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "siaga112.calls.started", []byte(`{"not":"an event"}`)); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, js)
	eventually(t, "blocked number to show", func() bool { return len(w.agg.Blocked(time.Now(), true)) == 1 })
	eventually(t, "malformed event to be terminated", func() bool { return w.w.Stats().Malformed == 1 })
	if b := w.agg.Blocked(time.Now(), false)[0]; b.Number != "****0007" || b.Strikes != 3 {
		t.Fatalf("blocked = %+v", b)
	}
}

// BenchmarkWorkerReplay measures the start-up cost of rebuilding the state
// from the stream: one op is a full replay of 10 000 events.
func BenchmarkWorkerReplay(b *testing.B) {
	js := startJS(b)
	var evs []events.Envelope
	for i := 0; len(evs) < 10_000; i++ {
		evs = append(evs, callEvents(b, callSpec{id: fmt.Sprint("bench", i), number: fmt.Sprintf("+62811%07d", i%500), at: t0.Add(time.Duration(i) * time.Minute),
			outcome: events.OutcomeEmergency, typ: "fire", ttc: 4, transfer: true})...)
	}
	publish(b, js, evs, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		agg := NewAggregator(Options{})
		w := NewWorker(js, agg, WorkerConfig{Durable: "bench", Stream: configs.Default().NATS.Stream}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		eventually(b, "replay", func() bool { return agg.Counters().Events >= uint64(len(evs)) })
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestWorkerQueueEvents: through JetStream, a caller who hung up in the
// queue becomes a call-back, an answer brings its seconds to a person, and
// operator.state (on its own subject) reaches the board's figures.
func TestWorkerQueueEvents(t *testing.T) {
	js := startJS(t)
	evs := append(queueEvents(t, queueSpec{id: "wa", typ: "fire", at: t0, fate: QueueAnswered, stp: 9}),
		queueEvents(t, queueSpec{id: "wq", typ: "medical", at: t0.Add(time.Minute), fate: QueueAbandoned, stp: 30})...)
	op := ev(t, events.TypeOperatorState, "", "", t0, events.OperatorState{Device: "PJSIP/op201", State: events.OperatorFree, AsteriskState: "NOT_INUSE"})
	if op.Subject() != events.SubjectOperatorState {
		t.Fatalf("operator.state goes to %s", op.Subject())
	}
	publish(t, js, append(evs, op), true)
	w := startWorker(t, js)
	eventually(t, "worker to apply the queue events and the operator state", func() bool {
		return w.agg.Counters().Events == uint64(len(evs)+1)
	})
	tot := totals(t, w.agg)
	if tot.OperatorAnswered != 1 || tot.QueueAbandoned != 1 || tot.Callbacks != 1 || tot.SecondsToPerson == nil || tot.SecondsToPerson.Max != 9 {
		t.Fatalf("answered %d abandoned %d callbacks %d person %+v", tot.OperatorAnswered, tot.QueueAbandoned, tot.Callbacks, tot.SecondsToPerson)
	}
	if q := w.agg.Queue(t0, false); q.Operators.Free != 1 {
		t.Fatalf("operators %+v, want one free", q.Operators)
	}
}

// TestWorkerCallbackEvents: the call-back events and a call-back's own
// call, published on the stream's subjects, reach the aggregator through
// the worker: the dropped call is resolved by the operator's answer on its
// call-back, the other stays unreached, and no call-back makes a call.
func TestWorkerCallbackEvents(t *testing.T) {
	js := startJS(t)
	s := &cbScript{T: t}
	s.Dropped("d1", "+6281234500060", t0)
	s.Scheduled("d1", "+6281234500060", t0.Add(5*time.Second), t0.Add(35*time.Second))
	s.Attempt("d1", "+6281234500060", t0.Add(time.Minute), 1, events.CallbackNoAnswer, t0.Add(3*time.Minute), "")
	s.Attempt("d1", "+6281234500060", t0.Add(4*time.Minute), 2, events.CallbackPutThrough, time.Time{}, "d1-cb")
	s.Own(events.TypeTransferred, "d1-cb", "d1", "+6281234500060", t0.Add(4*time.Minute+time.Second))
	s.Own(events.TypeOperatorAnswered, "d1-cb", "d1", "+6281234500060", t0.Add(4*time.Minute+8*time.Second))
	s.Done("d1", "+6281234500060", t0.Add(4*time.Minute+8*time.Second), events.DoneOperatorAnswered, true, 2, "", "")
	s.Own(events.TypeEnded, "d1-cb", "d1", "+6281234500060", t0.Add(6*time.Minute))
	s.Dropped("d2", "+6281234500061", t0.Add(time.Minute))
	s.Scheduled("d2", "+6281234500061", t0.Add(65*time.Second), t0.Add(95*time.Second))
	for _, e := range s.Events {
		if !strings.HasPrefix(e.Subject(), "siaga112.calls.") {
			t.Fatalf("%s is published on %s, outside the stream's calls", e.Type, e.Subject())
		}
	}
	publish(t, js, s.Events, true)
	w := startWorker(t, js)
	eventually(t, "worker to apply the call-back events", func() bool {
		return w.agg.Counters().Events == uint64(len(s.Events))
	})
	if got := w.agg.Unreached(t0); got != 1 {
		t.Errorf("unreached %d, want 1 (d2)", got)
	}
	want := CallbackCounts{Scheduled: 2, Attempts: 2, PutThrough: 1, NoAnswer: 1}
	if got := w.agg.Callbacks(t0); got != want {
		t.Errorf("call-back counts %+v, want %+v", got, want)
	}
	if tot := totals(t, w.agg); tot.Calls != 2 || tot.PutThrough != 0 || tot.OperatorAnswered != 0 {
		t.Errorf("calls %d put through %d answered %d, want 2, 0, 0: the call-back counted as a call", tot.Calls, tot.PutThrough, tot.OperatorAnswered)
	}
	if c := w.agg.Counters(); c.Orphans != 0 {
		t.Errorf("%d orphans, want 0", c.Orphans)
	}
}
