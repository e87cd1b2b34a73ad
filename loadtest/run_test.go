package loadtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

// testScale runs the sim's media (and the IVR's timers) 100 times faster
// than real time: a 90 s silent call takes about a second.
const testScale = 0.01

// waitMax bounds each wait of the tests; generous for -race on a busy
// two-core machine.
const waitMax = 60 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("LOADTEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// soundsDir is the repository's Indonesian prompts, so the sim plays them
// at their real lengths.
func soundsDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../asterisk-conf/sounds/id")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "siaga112", "greeting.wav")); err != nil {
		t.Fatalf("prompts not found: %v", err)
	}
	return dir
}

// testConfig is the default configuration with private, temporary NATS
// data and spool directories and a random NATS port.
func testConfig(t testing.TB) configs.Config {
	cfg := configs.Default()
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.DataDir = t.TempDir()
	cfg.NATS.Spool.Dir = t.TempDir()
	cfg.ARI.RequestTimeout = 5 * time.Second
	return cfg
}

func startSim(t testing.TB, cfg configs.Config) *SimEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: cfg, ClockScale: testScale, SoundsDir: soundsDir(t), Log: testLogger(t)})
	if err != nil {
		t.Fatalf("StartSim: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return e
}

// TestRunSim places 50 callers of every kind through the whole stack
// (sim, real ARI client, IVR, embedded NATS, blocklist worker) and checks
// that each call ended as its script says, that no event was lost, that
// the pranksters were blocked, that every caller put through has a time to
// the queue (none asked the location: operators are free by default) and
// that the summary is filled in.
func TestRunSim(t *testing.T) {
	e := startSim(t, testConfig(t))
	mix := Mix{}
	for _, k := range Kinds {
		// TestRunSurge runs the incident callers, and
		// TestRunDroppersCalledBack the dropped callers, whose queue a run
		// reports busy and whose call-backs it waits for.
		if k != KindIncidentCaller && k != KindDropper {
			mix[k] = 1
		}
	}
	mix[KindPrankster] = 6
	o := e.Options()
	o.Mix, o.Calls, o.Concurrency, o.Rate, o.PranksterPool = mix, 50, 20, 20, 2
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	// This process stands in for the Asterisk host's process: the sim is
	// in it, so the whole path from /proc to the summary is exercised.
	o.AsteriskCPU = &CPUSource{Dir: "/proc/self", PID: os.Getpid()}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	if s.Errors != 0 {
		t.Fatalf("%d errors: %v", s.Errors, s.ErrorSamples)
	}
	for name, u := range map[string]*CPUUse{"asterisk": s.AsteriskCPU, "process": s.ProcessCPU} {
		if u == nil || !u.Measured || u.PerSec <= 0 || u.MeanLive <= 0 || u.PerLiveCall <= 0 || u.Seconds <= 0 {
			t.Errorf("%s CPU not measured: %+v", name, u)
		}
	}
	if !strings.Contains(text.String(), "asterisk CPU ") || !strings.Contains(text.String(), "ms/s per live call") {
		t.Errorf("summary has no CPU per live call")
	}
	if s.Placed != 50 || s.Finished != 50 {
		t.Fatalf("placed %d finished %d, want 50", s.Placed, s.Finished)
	}
	if s.Events < 50*4 || s.Stored != s.Events || s.Lost != 0 || s.Dropped != 0 {
		t.Fatalf("events published %d stored %d lost %d dropped %d", s.Events, s.Stored, s.Lost, s.Dropped)
	}
	// Every kind but the pranksters has exactly one outcome.
	k := s.ByKind
	want := map[events.Outcome]int{
		events.OutcomeEmergency: k[KindFire] + k[KindMedical] + k[KindPolice] + k[KindDisaster] + k[KindOperator] +
			k[KindGreetingKey] + k[KindMenuListener],
		events.OutcomeVoice:      k[KindVoice] + k[KindGreetingTalker],
		events.OutcomeSilentHelp: k[KindSilentHelp] + k[KindMenu55],
		events.OutcomeAbandoned:  k[KindChild],
		events.OutcomeInvalid:    k[KindInvalid],
	}
	for o, n := range want {
		if s.Outcomes[o] != n {
			t.Errorf("outcome %s: %d calls, want %d (%v)", o, s.Outcomes[o], n, s.Outcomes)
		}
	}
	putThrough := []Kind{KindFire, KindMedical, KindPolice, KindDisaster, KindOperator, KindVoice, KindSilentHelp,
		KindGreetingKey, KindGreetingTalker, KindMenu55, KindMenuListener, KindBlockedTalker, KindBlockedSilentHelp}
	for _, kind := range putThrough {
		q := s.TimeToQueue[kind]
		if q.N != k[kind] || q.P50 <= 0 || q.Max < q.P95 {
			t.Errorf("time to queue of %s: %+v for %d calls", kind, q, k[kind])
		}
	}
	if q := s.TimeToQueue[KindGreetingKey]; q.KeyToQueue == nil || q.KeyToQueue.N != q.N || q.KeyToQueue.P95 >= q.P95 {
		t.Errorf("greeting_key: key -> queue %+v, answer -> queue %+v", q.KeyToQueue, q.Latency)
	}
	if len(s.TimeToQueueLocation) != 0 {
		t.Errorf("location asked with operators free: %v", s.TimeToQueueLocation)
	}
	pranks := s.Outcomes[events.OutcomeNoInput] - k[KindSilent] + s.Outcomes[events.OutcomeBlocked] +
		s.Outcomes[events.OutcomeBlockedOverride] - k[KindBlockedTalker] - k[KindBlockedSilentHelp]
	if pranks != k[KindPrankster] {
		t.Errorf("prankster outcomes %d, want %d (%v)", pranks, s.ByKind[KindPrankster], s.Outcomes)
	}
	if s.Answer.N != 50 || s.Answer.P99 <= 0 || s.Classified.N == 0 || s.Classified.P99 <= 0 {
		t.Errorf("latencies not measured: answer %+v classified %+v", s.Answer, s.Classified)
	}
	if s.PeakLive == 0 || s.PeakIVR == 0 || s.PeakHeap == 0 || s.PeakRSS == 0 || s.EventsPerSec <= 0 {
		t.Errorf("summary not filled: %+v", s)
	}
	// Each prankster number made at least three silent calls: three strikes.
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	for i := range 2 {
		eventually(t, "prankster blocked", func() bool {
			r, err := e.Stack.Store().Get(ctx, PranksterNumber(i))
			return err == nil && r.Blocked(time.Now())
		})
		if _, blocked := e.Stack.Cache().Check(PranksterNumber(i), time.Now()); !blocked {
			eventually(t, "cache sees the block", func() bool {
				_, b := e.Stack.Cache().Check(PranksterNumber(i), time.Now())
				return b
			})
		}
	}
}

// TestRunOperatorsBusy runs callers who choose a type while the sim
// reports every operator busy: those with a queue are asked the location
// (the runner checks it call by call) and their times land in the
// location-asked table; the operator entry and voice callers skip it.
func TestRunOperatorsBusy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: testConfig(t), ClockScale: testScale, SoundsDir: soundsDir(t), Log: testLogger(t), OperatorsBusy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	o := e.Options()
	if !o.OperatorsBusy {
		t.Fatal("Options do not carry the busy operators")
	}
	o.Mix = Mix{KindGreetingKey: 1, KindMenuListener: 1, KindFire: 1, KindOperator: 1, KindGreetingTalker: 1}
	o.Calls, o.Concurrency, o.Rate = 10, 10, 50
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Lost != 0 {
		t.Fatalf("%d errors, %d events lost: %v", s.Errors, s.Lost, s.ErrorSamples)
	}
	for _, k := range []Kind{KindGreetingKey, KindMenuListener, KindFire} {
		if q := s.TimeToQueueLocation[k]; q.N != 2 {
			t.Errorf("%s: %d calls asked the location, want 2 (%v)", k, q.N, s.TimeToQueueLocation)
		}
		if _, ok := s.TimeToQueue[k]; ok {
			t.Errorf("%s put through without the location question while operators were busy", k)
		}
	}
	for _, k := range []Kind{KindOperator, KindGreetingTalker} {
		if q := s.TimeToQueue[k]; q.N != 2 {
			t.Errorf("%s: %d calls put through without the location, want 2", k, q.N)
		}
	}
	if _, judged := s.Met["greeting_key_to_queue_p95"]; judged {
		t.Error("greeting_key target judged on callers asked the location")
	}
}

// eventually polls cond until it holds or waitMax passed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, waitMax, what, cond)
}

// TestRunDrain stops placing while silent callers are still in the IVR and
// drains it the way the demo does: the IVR puts them through to operators,
// they count as put through rather than as errors, their events are all in
// the stream, those the IVR let go as it stopped are counted apart rather
// than waited for, and the rest of the stack keeps running until Stop.
func TestRunDrain(t *testing.T) {
	cfg := testConfig(t)
	// Silent callers stay about 95 s of media time, a second here: far
	// longer than the drain.
	cfg.IVR.DrainTimeout = 50 * time.Millisecond
	e := startSim(t, cfg)
	o := e.Options()
	o.Mix, o.Calls, o.Concurrency, o.Rate = Mix{KindSilent: 1, KindSilentHelp: 1}, 10, 10, 200
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	var drained []int
	o.Drain = func(ctx context.Context, inProgress int) error {
		drained = append(drained, inProgress)
		ctx, cancel := context.WithTimeout(ctx, waitMax)
		defer cancel()
		return e.Stack.IVR().Stop(ctx)
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(drained) != 1 || drained[0] == 0 {
		t.Fatalf("Drain called with %v, want once with the calls in progress", drained)
	}
	if s.Errors != 0 {
		t.Fatalf("%d errors: %v", s.Errors, s.ErrorSamples)
	}
	if s.Placed != 10 || s.Finished != 10 {
		t.Fatalf("placed %d finished %d, want 10", s.Placed, s.Finished)
	}
	if s.PutThrough == 0 || s.Outcomes[events.OutcomeFailover] != s.PutThrough {
		t.Fatalf("put through %d, failover outcomes %d (%v)", s.PutThrough, s.Outcomes[events.OutcomeFailover], s.Outcomes)
	}
	if s.Lost != 0 || s.Stored != s.Events {
		t.Fatalf("events published %d stored %d lost %d", s.Events, s.Stored, s.Lost)
	}
	// Each call the drain put through either ended past the hand-off
	// before the IVR stopped following it, or was let go as it stopped
	// (no call.ended: the call goes on in Asterisk), and counted so.
	past := s.EndedWhere[events.WhereQueue] + s.EndedWhere[events.WhereOperator] + s.EndedWhere[events.WhereUnknown]
	if past+s.LetGo != s.PutThrough || s.EndedWhere[events.WhereIVR] != 0 {
		t.Fatalf("put through %d: ended %v, let go %d", s.PutThrough, s.EndedWhere, s.LetGo)
	}
	t.Logf("put through by the drain %d: ended %v, let go at the stop %d", s.PutThrough, s.EndedWhere, s.LetGo)
	if s.Placing <= 0 || s.Elapsed < s.Placing || s.PlacedPerSec <= 0 || s.FinishedPerSec <= 0 {
		t.Fatalf("spans and rates: placing %g s elapsed %g s, %g placed/s %g finished/s", s.Placing, s.Elapsed, s.PlacedPerSec, s.FinishedPerSec)
	}
	// The IVR has stopped; the workers and NATS still serve until Stop.
	if err := e.Stack.Bus().Health(context.Background()); err != nil {
		t.Fatalf("NATS after the IVR drained: %v", err)
	}
}
