package blocklist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

func TestSeqListInsertAndEncoding(t *testing.T) {
	tests := []struct {
		name      string
		start     seqList
		add       []uint64
		max       int
		want      []uint64
		wantFloor uint64
		changed   bool
	}{
		{"into empty", seqList{}, []uint64{5, 3, 9}, 10, []uint64{3, 5, 9}, 0, true},
		{"twice is once", seqList{seqs: []uint64{3, 5}}, []uint64{5, 3}, 10, []uint64{3, 5}, 0, false},
		{"between", seqList{seqs: []uint64{3, 9}}, []uint64{5}, 10, []uint64{3, 5, 9}, 0, true},
		{"over the bound drops the oldest", seqList{seqs: []uint64{1, 2, 3}}, []uint64{4, 5}, 3, []uint64{3, 4, 5}, 2, true},
		{"at or below the floor is not added again", seqList{floor: 7, seqs: []uint64{8, 9}}, []uint64{7, 3}, 3, []uint64{8, 9}, 7, false},
		{"an old one into a full list is cut at once", seqList{floor: 2, seqs: []uint64{10, 11}}, []uint64{5}, 2, []uint64{10, 11}, 5, true},
		{"sequence 0 is no message", seqList{}, []uint64{0}, 3, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := seqList{floor: tc.start.floor, seqs: slices.Clone(tc.start.seqs)}
			if got := l.insert(tc.max, tc.add...); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
			if !slices.Equal(l.seqs, tc.want) || l.floor != tc.wantFloor {
				t.Fatalf("got %v floor %d, want %v floor %d", l.seqs, l.floor, tc.want, tc.wantFloor)
			}
			back, err := parseSeqList(l.marshal())
			if err != nil || !slices.Equal(back.seqs, l.seqs) || back.floor != l.floor {
				t.Fatalf("round trip: %v %d %v", back.seqs, back.floor, err)
			}
		})
	}
	for _, bad := range [][]byte{nil, {9}, {historyFormat}, {historyFormat, 0, 200}, {historyFormat, 0, 2, 5, 0}} {
		if _, err := parseSeqList(bad); !errors.Is(err, errHistoryValue) {
			t.Errorf("parse %v: %v, want errHistoryValue", bad, err)
		}
	}
}

// TestHistoryValueBounded: a prankster with 10,000 calls of eight events
// each, in a busy stream (50,000 other events between two of theirs),
// keeps the newest MaxHistoryEvents sequences in a value of at most about
// 20 KB.
func TestHistoryValueBounded(t *testing.T) {
	var l seqList
	const gap = 50_000
	seq := uint64(1_000_000)
	for range 10000 * 8 {
		seq += gap
		l.insert(MaxHistoryEvents, seq)
	}
	if len(l.seqs) != MaxHistoryEvents || l.seqs[len(l.seqs)-1] != seq || l.floor != l.seqs[0]-gap {
		t.Fatalf("kept %d, newest %d (want %d), floor %d", len(l.seqs), l.seqs[len(l.seqs)-1], seq, l.floor)
	}
	if n := len(l.marshal()); n > 20<<10 {
		t.Fatalf("value is %d bytes", n)
	}
}

// Numbers of the mixed stream.
const (
	numA = "+6281100000001"
	numB = "+6281100000002"
)

// publishAs publishes one event with the given caller.
func publishAs(t testing.TB, js jetstream.JetStream, typ events.Type, callID string, caller events.Caller, data any) {
	t.Helper()
	e, err := events.New(typ, callID, "asterisk-1", caller, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := (JSPublisher{JS: js}).Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func allowed(n string) events.Caller {
	return events.Caller{Number: n, Presentation: events.PresentationAllowed}
}

// mixedStream publishes two numbers' calls interleaved, with what a
// history shows: verdicts and ticks without a caller, call-backs, a
// withheld call, and, when announce is set, a block change published by
// hand (a test without a running worker has no worker to announce).
func mixedStream(t testing.TB, js jetstream.JetStream, prefix string, announce bool) {
	t.Helper()
	a1, a2, a3, b1, w1 := prefix+"a1", prefix+"a2", prefix+"a3", prefix+"b1", prefix+"w1"
	publishAs(t, js, events.TypeStarted, a1, allowed(numA), events.Started{Dialed: "112"})
	publishAs(t, js, events.TypeStarted, b1, allowed(numB), events.Started{Dialed: "112"})
	publishAs(t, js, events.TypeAnswered, a1, allowed(numA), events.Answered{})
	publishAs(t, js, events.TypeMenu, a1, allowed(numA), events.Menu{Attempt: 1, Result: events.MenuTimeout})
	publishAs(t, js, events.TypeClassified, b1, allowed(numB), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "police", Attempts: 1, SecondsToClassify: 4})
	publishAs(t, js, events.TypeClassified, a1, allowed(numA), events.Classified{Outcome: events.OutcomeNoInput, Attempts: 3, SecondsToClassify: 25})
	publishAs(t, js, events.TypeTransferred, b1, allowed(numB), events.Transferred{EmergencyType: "police", SecondsToQueue: 5})
	publishAs(t, js, events.TypeEnded, a1, allowed(numA), events.Ended{Outcome: events.OutcomeNoInput, DurationS: 30, HangupBy: events.HangupBySystem})
	publishAs(t, js, events.TypeStarted, w1, events.Caller{Number: "anonymous", Presentation: events.PresentationRestricted}, events.Started{Dialed: "112"})
	publishAs(t, js, events.TypeEnded, b1, allowed(numB), events.Ended{Outcome: events.OutcomeEmergency, DurationS: 50, HangupBy: events.HangupByCaller})
	silentCall(t, js, a2, numA)
	publishAs(t, js, events.TypeVerdict, b1, events.Caller{}, events.Verdict{Verdict: events.VerdictGenuine, By: "siti"})
	publishAs(t, js, events.TypeHandled, a1, events.Caller{}, events.Handled{Action: events.HandledCalledBack, By: "budi"})
	publishAs(t, js, events.TypeCallbackScheduled, b1, allowed(numB), events.CallbackScheduled{Outcome: events.OutcomeEmergency, DueAt: time.Now(), MaxAttempts: 3})
	publishAs(t, js, events.TypeCallbackAttempt, b1, allowed(numB), events.CallbackAttempt{Attempt: 1, Result: events.CallbackNoAnswer})
	silentCall(t, js, a3, numA)
	publishAs(t, js, events.TypeCallbackDone, b1, allowed(numB), events.CallbackDone{Reason: events.DoneAttemptsExhausted, Attempts: 1})
	publishAs(t, js, events.TypeVerdict, a2, events.Caller{}, events.Verdict{Verdict: events.VerdictPrank, By: "siti"})
	if announce {
		until := time.Now().Add(time.Hour).UTC()
		publishAs(t, js, events.TypeBlocklistChanged, a3, allowed(numA), events.BlocklistChanged{Number: numA, Until: &until, Strikes: 3, Reason: "no_input"})
	}
}

// streamed is one stored event as the tests see it.
type streamed struct {
	seq uint64
	e   events.Envelope
}

// storedEvents reads every event of the stream's call and blocklist
// subjects, in order.
func storedEvents(t testing.TB, js jetstream.JetStream) []streamed {
	t.Helper()
	var out []streamed
	stream, err := js.Stream(ctxT(t), events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	last := stream.CachedInfo().State.LastSeq
	for seq := uint64(1); seq <= last; seq++ {
		m, err := stream.GetMsg(ctxT(t), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if e, err := events.Decode(m.Data); err == nil && e.Type != events.TypeAudit {
			out = append(out, streamed{seq, e})
		}
	}
	return out
}

// eventsOf picks from stored what belongs to number's history: its
// calls' events (those without a caller by their call), its block
// changes. It is the rule written out independently of the worker's.
func eventsOf(stored []streamed, number string) []streamed {
	calls := map[string]bool{}
	var out []streamed
	for _, s := range stored {
		e := s.e
		switch {
		case e.Type == events.TypeBlocklistChanged:
			var d events.BlocklistChanged
			if e.DecodeData(&d) == nil && d.Number == number {
				out = append(out, s)
			}
		case e.Caller.Number == number:
			calls[e.CallID] = true
			out = append(out, s)
		case e.Caller.Number == "" && e.Caller.Presentation == "" && calls[e.CallID]:
			out = append(out, s)
		}
	}
	return out
}

func seqsOf(s []streamed) []uint64 {
	out := make([]uint64, len(s))
	for i, x := range s {
		out[i] = x.seq
	}
	return out
}

func typesOf(s []streamed) map[events.Type]int {
	out := map[events.Type]int{}
	for _, x := range s {
		out[x.e.Type]++
	}
	return out
}

// TestHistoryIndexHoldsWhatTheStreamHolds: the running worker indexes, for
// each number, every event the stream holds of it, in stream order:
// calls, verdicts and ticks (found through the call index), call-backs and
// the blocks the worker itself announced.
func TestHistoryIndexHoldsWhatTheStreamHolds(t *testing.T) {
	url := startNATS(t)
	in := startInstance(t, url, defaultPolicy(t))
	idx := in.worker.history
	eventually(t, 10*time.Second, "the empty index built at start", func() bool {
		ok, err := idx.Built(ctxT(t))
		return err == nil && ok
	})
	mixedStream(t, in.js, "live-", false)

	var got []uint64
	var want []streamed
	eventually(t, 20*time.Second, "the index to hold A's events, the block included", func() bool {
		want = eventsOf(storedEvents(t, in.js), numA)
		seqs, _, err := idx.Seqs(ctxT(t), numA)
		got = seqs
		return err == nil && typesOf(want)[events.TypeBlocklistChanged] > 0 && slices.Equal(got, seqsOf(want))
	})
	for _, tc := range []struct {
		number  string
		typ     events.Type
		atLeast int
	}{
		{numA, events.TypeStarted, 3},
		{numA, events.TypeMenu, 1},
		{numA, events.TypeVerdict, 1},
		{numA, events.TypeHandled, 1},
		{numA, events.TypeBlocklistChanged, 1},
		{numB, events.TypeTransferred, 1},
		{numB, events.TypeVerdict, 1},
		{numB, events.TypeCallbackScheduled, 1},
		{numB, events.TypeCallbackAttempt, 1},
		{numB, events.TypeCallbackDone, 1},
	} {
		t.Run(fmt.Sprintf("%s %s", Mask(tc.number), tc.typ), func(t *testing.T) {
			want := eventsOf(storedEvents(t, in.js), tc.number)
			var seqs []uint64
			eventually(t, 10*time.Second, "the number's index", func() bool {
				seqs, _, _ = idx.Seqs(ctxT(t), tc.number)
				return slices.Equal(seqs, seqsOf(want))
			})
			if n := typesOf(want)[tc.typ]; n < tc.atLeast {
				t.Fatalf("the stream holds %d %s of the number, want at least %d", n, tc.typ, tc.atLeast)
			}
		})
	}
	// The withheld call is in no history.
	for _, s := range storedEvents(t, in.js) {
		if s.e.CallID == "live-w1" && slices.Contains(got, s.seq) {
			t.Fatalf("withheld call's event %d in A's history", s.seq)
		}
	}
}

// TestHistoryCapAndRead: a number with more events than the bound keeps
// the newest, reads them back in order by sequence, and says older ones
// were cut while the stream still holds them.
func TestHistoryCapAndRead(t *testing.T) {
	url := startNATS(t)
	_, js := connect(t, url)
	ctx := ctxT(t)
	if _, err := events.EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	idx, err := OpenHistoryIndex(ctx, js, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	const max = 5
	idx.max = max
	for i := range 8 {
		publishAs(t, js, events.TypeStarted, fmt.Sprintf("cap-%d", i), allowed(numA), events.Started{Dialed: "112"})
	}
	stored := storedEvents(t, js)
	for _, s := range stored {
		if err := idx.Add(ctx, numA, s.seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := idx.Read(ctx, numA, func(events.Envelope) {}); !errors.Is(err, ErrHistoryNotBuilt) {
		t.Fatalf("read before the index is built: %v, want ErrHistoryNotBuilt", err)
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idx.putState(ctx, historyState{Built: true, Stream: streamCreated(stream)}, 0, false); err != nil {
		t.Fatal(err)
	}
	var ids []string
	read, err := idx.Read(ctx, numA, func(e events.Envelope) { ids = append(ids, e.CallID) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cap-3", "cap-4", "cap-5", "cap-6", "cap-7"}
	if !slices.Equal(ids, want) || read.Source != SourceIndex || !read.Cut || read.Events != max {
		t.Fatalf("read %v %+v, want %v from the index, cut", ids, read, want)
	}
	// Once the stream no longer holds the events that were cut, nothing
	// is missing.
	if err := stream.Purge(ctx, jetstream.WithPurgeKeep(max)); err != nil {
		t.Fatal(err)
	}
	if read, err = idx.Read(ctx, numA, func(events.Envelope) {}); err != nil || read.Cut {
		t.Fatalf("after the stream let the old ones go: %+v %v, want not cut", read, err)
	}
	// An unknown number has an empty history from the index.
	if read, err = idx.Read(ctx, numB, func(events.Envelope) { t.Error("event for an unknown number") }); err != nil || read.Source != SourceIndex || read.Events != 0 {
		t.Fatalf("unknown number: %+v %v", read, err)
	}
}

// TestHistoryRebuild: events stored before the index existed are indexed
// by the rebuild as the live worker would have indexed them (verdicts and
// ticks included, though nobody filled the call index); a rebuild left by
// a stopped worker is resumed from its saved progress; a rebuild that is
// under way elsewhere, or done, is left alone.
func TestHistoryRebuild(t *testing.T) {
	tests := []struct {
		name string
		// state is the index state found at start (nil: none).
		state func(stream string, target, mid uint64) *historyState
		// from is the first sequence the rebuild should index: "all" or
		// "mid" (after the stopped worker's progress).
		from        string
		wantSkipped bool
		// callIndex fills the call index as the live worker would have:
		// a resumed rebuild finds there the calls started before its
		// range.
		callIndex bool
	}{
		{name: "fresh", from: "all"},
		{name: "resumed after a stopped worker", from: "mid", callIndex: true, state: func(stream string, target, mid uint64) *historyState {
			return &historyState{Stream: stream, Target: target, Done: mid, Owner: "gone", At: time.Now().Add(-time.Hour)}
		}},
		{name: "another worker is on it", wantSkipped: true, state: func(stream string, target, mid uint64) *historyState {
			return &historyState{Stream: stream, Target: target, Done: mid, Owner: "busy", At: time.Now()}
		}},
		{name: "already built", wantSkipped: true, state: func(stream string, target, _ uint64) *historyState {
			return &historyState{Stream: stream, Built: true, Target: target, Done: target, At: time.Now()}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := startNATS(t)
			_, js := connect(t, url)
			ctx := ctxT(t)
			if _, err := events.EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
				t.Fatal(err)
			}
			mixedStream(t, js, "old-", true)
			stored := storedEvents(t, js)
			target := stored[len(stored)-1].seq
			mid := stored[len(stored)/2].seq
			// A worker created after the events: its consumer starts
			// after them, so only the rebuild can index them.
			store := newTestStore(t, js, defaultPolicy(t))
			w, err := NewWorker(ctx, js, store, nil, configs.Default().NATS, testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			if tc.callIndex {
				for _, s := range stored {
					if s.e.Type == events.TypeStarted && s.e.Caller.Presentation == events.PresentationAllowed {
						if _, err := w.index.Put(ctx, callKey(s.e.CallID), []byte(s.e.Caller.Number)); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if tc.state != nil {
				stream, err := js.Stream(ctx, events.StreamName)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.history.putState(ctx, *tc.state(streamCreated(stream), target, mid), 0, false); err != nil {
					t.Fatal(err)
				}
			}
			st, err := w.RebuildHistory(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Skipped != tc.wantSkipped {
				t.Fatalf("skipped = %v, want %v", st.Skipped, tc.wantSkipped)
			}
			for _, number := range []string{numA, numB} {
				var want []uint64
				if !tc.wantSkipped {
					for _, s := range eventsOf(stored, number) {
						if tc.from == "all" || s.seq > mid {
							want = append(want, s.seq)
						}
					}
				}
				got, _, err := w.history.Seqs(ctx, number)
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("%s: index %v (%v), want %v", Mask(number), got, err, want)
				}
			}
			if built, err := w.history.Built(ctx); err != nil || built != (tc.name != "another worker is on it") {
				t.Fatalf("built = %v (%v)", built, err)
			}
			if !tc.wantSkipped {
				if st.Target != target || st.Indexed == 0 {
					t.Fatalf("stats %+v, target %d", st, target)
				}
				again, err := w.RebuildHistory(ctx)
				if err != nil || !again.Skipped {
					t.Fatalf("second rebuild: %+v %v, want skipped", again, err)
				}
			}
		})
	}
}

// TestHistoryConcurrentWorkers: three worker instances share the durable
// consumer, and writers add to one number at once; compare-and-swap loses
// no sequence.
func TestHistoryConcurrentWorkers(t *testing.T) {
	url := startNATS(t)
	p := defaultPolicy(t)
	ins := []*instance{startInstance(t, url, p), startInstance(t, url, p), startInstance(t, url, p)}
	js := ins[0].js
	eventually(t, 10*time.Second, "the index built", func() bool {
		ok, err := ins[0].worker.history.Built(ctxT(t))
		return err == nil && ok
	})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 15 {
				publishAs(t, js, events.TypeStarted, fmt.Sprintf("cc-%d-%d", i, j), allowed(numA), events.Started{Dialed: "112"})
				publishAs(t, js, events.TypeVerdict, fmt.Sprintf("cc-%d-%d", i, j), events.Caller{}, events.Verdict{Verdict: events.VerdictGenuine, By: "siti"})
			}
		})
	}
	wg.Wait()
	var got, want []uint64
	eventually(t, 30*time.Second, "every event of A indexed", func() bool {
		want = seqsOf(eventsOf(storedEvents(t, js), numA))
		got, _, _ = ins[1].worker.history.Seqs(ctxT(t), numA)
		return len(want) >= 120 && slices.Equal(got, want)
	})

	// Writers straight at one key.
	idx := ins[2].worker.history
	var wwg sync.WaitGroup
	for i := range 8 {
		wwg.Go(func() {
			for j := range 50 {
				if err := idx.Add(ctxT(t), numB, uint64(1_000_000+i*1000+j)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wwg.Wait()
	seqs, _, err := idx.Seqs(ctxT(t), numB)
	if err != nil || len(seqs) != 400 {
		t.Fatalf("B holds %d sequences (%v), want the 400 written", len(seqs), err)
	}
}

// TestHistoryStateTouched: a built index's state is rewritten before the
// bucket's max_age could expire it, and left alone while it is fresh.
func TestHistoryStateTouched(t *testing.T) {
	url := startNATS(t)
	_, js := connect(t, url)
	ctx := ctxT(t)
	idx, err := OpenHistoryIndex(ctx, js, 1, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if idx.ttl != 8*time.Hour {
		t.Fatalf("ttl %s", idx.ttl)
	}
	for _, tc := range []struct {
		name    string
		age     time.Duration
		touched bool
	}{
		{"fresh", time.Hour, false},
		{"a quarter of max_age old", 2*time.Hour + time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Now().Add(-tc.age).UTC()
			_, rev, ok, err := idx.state(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := idx.putState(ctx, historyState{Built: true, At: at}, rev, ok); err != nil {
				t.Fatal(err)
			}
			if err := idx.touchState(ctx); err != nil {
				t.Fatal(err)
			}
			st, _, _, err := idx.state(ctx)
			if err != nil || !st.Built || st.At.After(at) != tc.touched {
				t.Fatalf("state %+v (%v), touched want %v", st, err, tc.touched)
			}
		})
	}
}

// TestHistoryStreamRecreated: an index built for a stream that was deleted
// and made again is not read (its sequences would name other events), and
// the worker empties it and indexes the new stream.
func TestHistoryStreamRecreated(t *testing.T) {
	url := startNATS(t)
	_, js := connect(t, url)
	ctx := ctxT(t)
	cfg := configs.Default().NATS
	if _, err := events.EnsureStream(ctx, js, cfg.Stream); err != nil {
		t.Fatal(err)
	}
	mixedStream(t, js, "first-", true)
	w, err := NewWorker(ctx, js, newTestStore(t, js, defaultPolicy(t)), nil, cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.RebuildHistory(ctx); err != nil {
		t.Fatal(err)
	}
	if seqs, _, _ := w.history.Seqs(ctx, numB); len(seqs) == 0 {
		t.Fatal("B not indexed from the first stream")
	}

	// The stream is deleted and made again, and only A calls.
	if err := js.DeleteStream(ctx, events.StreamName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a stream's creation time has a resolution
	if _, err := events.EnsureStream(ctx, js, cfg.Stream); err != nil {
		t.Fatal(err)
	}
	silentCall(t, js, "second-a1", numA)
	if _, err := w.history.Read(ctx, numA, func(events.Envelope) {}); !errors.Is(err, ErrHistoryNotBuilt) {
		t.Fatalf("read of an index built for the old stream: %v, want ErrHistoryNotBuilt", err)
	}
	st, err := w.RebuildHistory(ctx)
	if err != nil || st.Skipped {
		t.Fatalf("rebuild: %+v %v", st, err)
	}
	var ids []string
	read, err := w.history.Read(ctx, numA, func(e events.Envelope) { ids = append(ids, e.CallID) })
	if err != nil || read.Source != SourceIndex || !slices.Equal(ids, []string{"second-a1", "second-a1", "second-a1"}) {
		t.Fatalf("A after the reset: %v %+v %v", ids, read, err)
	}
	if seqs, _, err := w.history.Seqs(ctx, numB); err != nil || len(seqs) != 0 {
		t.Fatalf("B keeps %v (%v) from the old stream", seqs, err)
	}
}
