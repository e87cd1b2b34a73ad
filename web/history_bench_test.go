package web

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Traced numbers of the benchmark: each has the same history whatever the
// stream's size (historyCalls calls of five events, the last a verdict
// without a caller), spread evenly through the stream.
const (
	tracedNumbers = 20
	historyCalls  = 10
	tracedEvents  = tracedNumbers * historyCalls * 5
)

// benchStream fills a fresh server's stream with size events, tracedEvents
// of them the traced numbers' and the rest other callers' calls, published
// asynchronously so that a million are stored in seconds. The history
// index is marked built while the stream is empty (a worker's rebuild on
// an empty stream) and then given the traced numbers' sequences, as the
// live worker would have; the other callers' entries would only be other
// keys of the bucket, which a read never touches.
func benchStream(b *testing.B, size int) (jetstream.JetStream, []string) {
	b.Helper()
	e, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: b.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Shutdown)
	nc, err := events.Connect(context.Background(), configs.NATS{}, e.ClientURL(), b.Name(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cfg := configs.Default().NATS
	if _, err := events.ApplyStream(ctx, js, cfg.Stream); err != nil {
		b.Fatal(err)
	}
	policy, err := blocklist.NewPolicy(configs.Default().Blocklist)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := blocklist.OpenBucket(ctx, js, 1)
	if err != nil {
		b.Fatal(err)
	}
	w, err := blocklist.NewWorker(ctx, js, blocklist.NewStore(kv, policy, nil), nil, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.RebuildHistory(ctx); err != nil {
		b.Fatal(err)
	}

	traced := make([]string, tracedNumbers)
	for i := range traced {
		traced[i] = fmt.Sprintf("+62812000%05d", i)
	}
	type pending struct {
		number string
		ack    jetstream.PubAckFuture
	}
	var futures []pending
	every := size / tracedEvents
	j := 0
	start := time.Now()
	for i := range size {
		var (
			typ    events.Type
			callID string
			caller events.Caller
			data   any
		)
		if i%every == 0 && j < tracedEvents {
			n, m := j%tracedNumbers, j/tracedNumbers
			callID = fmt.Sprintf("tr-%d-%d", n, m/5)
			caller = events.Caller{Number: traced[n], Presentation: events.PresentationAllowed}
			switch m % 5 {
			case 0:
				typ, data = events.TypeStarted, events.Started{Dialed: "112"}
			case 1:
				typ, data = events.TypeAnswered, events.Answered{}
			case 2:
				typ, data = events.TypeClassified, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "police", Attempts: 1, SecondsToClassify: 4}
			case 3:
				typ, data = events.TypeEnded, events.Ended{Outcome: events.OutcomeEmergency, DurationS: 40, HangupBy: events.HangupByCaller}
			default:
				typ, data, caller = events.TypeVerdict, events.Verdict{Verdict: events.VerdictGenuine, By: "siti"}, events.Caller{}
			}
		} else {
			callID = fmt.Sprintf("fill-%d", i/4)
			caller = events.Caller{Number: fmt.Sprintf("+62813%08d", (i/4)%5000), Presentation: events.PresentationAllowed}
			switch i % 4 {
			case 0:
				typ, data = events.TypeStarted, events.Started{Dialed: "112"}
			case 1:
				typ, data = events.TypeAnswered, events.Answered{}
			case 2:
				typ, data = events.TypeClassified, events.Classified{Outcome: events.OutcomeNoInput, Attempts: 3, SecondsToClassify: 25}
			default:
				typ, data = events.TypeEnded, events.Ended{Outcome: events.OutcomeNoInput, DurationS: 30, HangupBy: events.HangupBySystem}
			}
		}
		env, err := events.New(typ, callID, "n1", caller, data)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := env.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		// A window of acks outstanding at a time: the server keeps up,
		// and the client never stalls on its pending bound.
		if js.PublishAsyncPending() >= 4096 {
			<-js.PublishAsyncComplete()
		}
		f, err := js.PublishAsync(env.Subject(), raw)
		if err != nil {
			b.Fatal(err)
		}
		if i%every == 0 && j < tracedEvents {
			futures = append(futures, pending{traced[j%tracedNumbers], f})
			j++
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("publishing did not complete")
	}
	idx, err := blocklist.OpenHistoryIndex(ctx, js, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	seqs := map[string][]uint64{}
	for _, p := range futures {
		select {
		case ack := <-p.ack.Ok():
			seqs[p.number] = append(seqs[p.number], ack.Sequence)
		case err := <-p.ack.Err():
			b.Fatal(err)
		}
	}
	for n, s := range seqs {
		if err := idx.Add(ctx, n, s...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d events stored in %s", size, time.Since(start).Round(time.Millisecond))
	return js, traced
}

// BenchmarkHistory measures what the console spends on one number's
// history (the read and the fold into History, not the blocklist record)
// as the stream grows, the number's own history staying the same: from
// the index (flat in the stream's size) and, for comparison, from the
// whole stream as before the index. p50-ns/op is the median of the
// operations; 1M is skipped with -short.
func BenchmarkHistory(b *testing.B) {
	for _, size := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("stream=%d", size), func(b *testing.B) {
			if size >= 1_000_000 && testing.Short() {
				b.Skip("1M events take a while to store; run without -short")
			}
			js, traced := benchStream(b, size)
			bus := &events.Bus{JS: js}
			sources := []struct {
				name   string
				reader EventReader
				want   string
			}{
				{"index", blocklist.NewHistoryReader(js, bus), blocklist.SourceIndex},
				{"stream", streamOnly{bus}, blocklist.SourceStream},
			}
			for _, src := range sources {
				b.Run("source="+src.name, func(b *testing.B) {
					if src.name == "stream" && size > 100_000 {
						b.Skip("the whole-stream read of 1M events takes tens of seconds an operation")
					}
					ctx := context.Background()
					durs := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := range b.N {
						t0 := time.Now()
						hb := newHistoryBuilder(traced[i%len(traced)])
						if err := hb.read(ctx, src.reader); err != nil {
							b.Fatal(err)
						}
						h := hb.result()
						durs = append(durs, time.Since(t0))
						if h.Source != src.want || len(h.Calls) != historyCalls || len(h.Calls[0].Verdicts) != 1 {
							b.Fatalf("history from %s: %d calls, last %+v", h.Source, len(h.Calls), h.Calls[0])
						}
					}
					b.StopTimer()
					slices.Sort(durs)
					b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns/op")
				})
			}
		})
	}
}
