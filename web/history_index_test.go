package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
	"github.com/siaga112/siaga112/phone"
)

// streamOnly is the event stream without an index: what the console read
// before the history index.
type streamOnly struct{ bus *events.Bus }

func (s streamOnly) ReadAll(ctx context.Context, subjects []string, fn func(events.Envelope)) error {
	return s.bus.ReadAll(ctx, subjects, fn)
}

// natsForHistory runs an embedded JetStream server with the stream and
// returns a JetStream client on it.
func natsForHistory(t *testing.T) jetstream.JetStream {
	t.Helper()
	e, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := events.Connect(context.Background(), configs.NATS{}, e.ClientURL(), t.Name(), slog.New(slog.DiscardHandler))
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
	return js
}

// TestHistoryFromIndexEqualsFullRead: for every number of a mixed stream
// (calls with every kind of event, verdicts and ticks without a caller,
// call-backs, blocks, a withheld call, a number that never called), the
// history built from the index is the history built from the whole
// stream; before the worker made the index, the history is read from the
// stream and says so.
func TestHistoryFromIndexEqualsFullRead(t *testing.T) {
	js := natsForHistory(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bus := &events.Bus{JS: js}
	pub := blocklist.JSPublisher{JS: js}
	send := func(typ events.Type, callID string, caller events.Caller, data any) {
		t.Helper()
		e, err := events.New(typ, callID, "n1", caller, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	const a, b, c = "+6281234500001", "+6281234500002", "+6281234500003"
	from := func(n string) events.Caller {
		return events.Caller{Number: n, Presentation: events.PresentationAllowed}
	}
	mixed := func(prefix string) {
		for i := range 4 {
			id, other := fmt.Sprintf("%sa%d", prefix, i), fmt.Sprintf("%sb%d", prefix, i)
			send(events.TypeStarted, id, from(a), events.Started{Dialed: "112"})
			send(events.TypeStarted, other, from(b), events.Started{Dialed: "112"})
			send(events.TypeClassified, other, from(b), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3, CallRecording: "siaga112/" + other})
			send(events.TypeClassified, id, from(a), events.Classified{Outcome: events.OutcomeNoInput, Attempts: 3, SecondsToClassify: 25})
			send(events.TypeTransferred, other, from(b), events.Transferred{EmergencyType: "fire", SecondsToQueue: 4.5})
			send(events.TypeEnded, id, from(a), events.Ended{Outcome: events.OutcomeNoInput, DurationS: 31, HangupBy: events.HangupBySystem})
			send(events.TypeEnded, other, from(b), events.Ended{Outcome: events.OutcomeEmergency, DurationS: 60, HangupBy: events.HangupByCaller, Callback: i == 2})
			send(events.TypeVerdict, id, events.Caller{}, events.Verdict{Verdict: events.VerdictPrank, By: "siti"})
			send(events.TypeHandled, other, events.Caller{}, events.Handled{Action: events.HandledCalledBack, By: "budi"})
		}
		send(events.TypeCallbackScheduled, prefix+"b2", from(b), events.CallbackScheduled{Outcome: events.OutcomeEmergency, DueAt: time.Now(), MaxAttempts: 2})
		send(events.TypeCallbackDone, prefix+"b2", from(b), events.CallbackDone{Reason: events.DoneHandled, By: "budi", Attempts: 0})
		send(events.TypeStarted, prefix+"w", events.Caller{Number: "anonymous", Presentation: events.PresentationRestricted}, events.Started{Dialed: "112"})
	}
	mixed("old-")

	// Before any worker: no index, the whole stream is read.
	reader := blocklist.NewHistoryReader(js, bus)
	before := newHistoryBuilder(a)
	if err := before.read(ctx, reader); err != nil || before.h.Source != blocklist.SourceStream || len(before.result().Calls) != 4 {
		t.Fatalf("before the index: source %q, %d calls, %v", before.h.Source, len(before.h.Calls), err)
	}

	policy, err := blocklist.NewPolicy(configs.Default().Blocklist)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := blocklist.OpenBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	w, err := blocklist.NewWorker(ctx, js, blocklist.NewStore(kv, policy, nil), pub, configs.Default().NATS, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()

	// Events after the worker started reach the index live; those before
	// came through the rebuild.
	mixed("new-")
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the index built, the blocks announced and every event indexed", func() bool {
		idx := newHistoryBuilder(a)
		if idx.read(ctx, reader) != nil || idx.h.Source != blocklist.SourceIndex {
			return false
		}
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(events.SubjectBlocklist))
		if err != nil || info.State.Subjects[events.SubjectBlocklist] == 0 {
			return false
		}
		lag, err := w.Lag(ctx)
		return err == nil && lag == 0
	})

	for _, n := range []string{a, b, c} {
		t.Run(phone.Mask(n), func(t *testing.T) {
			idx, full := newHistoryBuilder(n), newHistoryBuilder(n)
			if err := idx.read(ctx, reader); err != nil {
				t.Fatal(err)
			}
			if err := full.read(ctx, streamOnly{bus}); err != nil {
				t.Fatal(err)
			}
			hi, hf := idx.result(), full.result()
			if hi.Source != blocklist.SourceIndex || hf.Source != blocklist.SourceStream || hi.Cut {
				t.Fatalf("sources %q %q, cut %v", hi.Source, hf.Source, hi.Cut)
			}
			hi.Source, hf.Source = "", ""
			if !reflect.DeepEqual(hi, hf) {
				ji, _ := json.MarshalIndent(hi, "", " ")
				jf, _ := json.MarshalIndent(hf, "", " ")
				t.Fatalf("from the index:\n%s\nfrom the stream:\n%s", ji, jf)
			}
			// The comparison covers what matters: verdicts and ticks came
			// without a caller, the blocks from the worker.
			switch n {
			case a:
				if len(hi.Calls) != 8 || len(hi.Calls[0].Verdicts) != 1 || len(hi.Blocks) == 0 {
					t.Fatalf("A: %d calls, %d verdicts on the last, %d blocks", len(hi.Calls), len(hi.Calls[0].Verdicts), len(hi.Blocks))
				}
			case b:
				if len(hi.Calls) != 8 || len(hi.Calls[0].Handled) != 1 || hi.Calls[0].SecondsToQueue == nil {
					t.Fatalf("B: %d calls, last %+v", len(hi.Calls), hi.Calls[0])
				}
			}
		})
	}
	// The page's JSON says where it came from.
	h := newHistoryBuilder(a)
	if err := h.read(ctx, reader); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(h.result())
	if !strings.Contains(string(j), `"source":"index"`) || !strings.Contains(string(j), `"cut":false`) {
		t.Fatalf("JSON: %.300s", j)
	}
}
