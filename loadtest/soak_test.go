package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/events"
)

// soakSeries makes one sample a minute for n minutes: heap and live calls
// as functions of the minute, the calls served growing all along.
func soakSeries(n int, heapMB func(i int) float64, live func(i int) int, goroutines func(i int) int) []SoakSample {
	out := make([]SoakSample, n)
	for i := range out {
		out[i] = SoakSample{
			At: float64(60 * i), HeapLive: uint64(heapMB(i) * (1 << 20)), RSS: uint64(60+heapMB(i)) * (1 << 20),
			Goroutines: goroutines(i), OpenFiles: 30, Live: live(i), Served: 600 * i,
		}
	}
	return out
}

// TestJudgeSoak: a heap or goroutines that grow with the calls served
// while the live calls stay flat fail and are named; noise, or growth that
// follows the live calls, passes; a run with too few samples after the
// warm-up is not judged ok.
func TestJudgeSoak(t *testing.T) {
	flat := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	flatN := func(v int) func(int) int { return func(int) int { return v } }
	wobble := func(i int) float64 { return 20 + float64(i%5)/2 } // 20 to 22 MB, period 5 min
	tests := []struct {
		name    string
		samples []SoakSample
		ok      bool
		named   []string // quantities the message must name as grown
		clean   []string // and must not
	}{
		{"flat", soakSeries(60, wobble, flatN(47), flatN(400)), true, nil, []string{"heap_live_mb", "goroutines"}},
		{"heap grows with calls served", soakSeries(60, func(i int) float64 { return 15 + 0.3*float64(i) }, flatN(47), flatN(400)),
			false, []string{"heap_live_mb", "rss_mb"}, []string{"goroutines", "open_files"}},
		{"goroutines leak", soakSeries(60, wobble, flatN(47), func(i int) int { return 400 + 3*i }),
			false, []string{"goroutines"}, []string{"heap_live_mb"}},
		{"heap follows live calls", soakSeries(60, func(i int) float64 { return 10 + 0.2*float64(40+i) }, func(i int) int { return 40 + i }, flatN(400)),
			true, nil, []string{"heap_live_mb"}},
		{"before the warm-up only", soakSeries(12, flat(20), flatN(47), flatN(400)), false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := JudgeSoak(tc.samples, 10*time.Minute, DefaultSoakTolerance)
			if v.OK != tc.ok {
				t.Fatalf("ok %v, want %v: %s", v.OK, tc.ok, v.Message)
			}
			if !tc.ok && len(tc.named) == 0 && !strings.Contains(v.Message, "too short") {
				t.Fatalf("message %q, want it to say the run is too short", v.Message)
			}
			for _, n := range tc.named {
				if !strings.Contains(v.Message, n) {
					t.Errorf("message %q does not name %s", v.Message, n)
				}
			}
			grew := map[string]bool{}
			for _, g := range v.Metrics {
				grew[g.Name] = g.Grew
			}
			for _, n := range tc.named {
				if !grew[n] {
					t.Errorf("%s not marked as grown: %+v", n, v.Metrics)
				}
			}
			for _, n := range tc.clean {
				if grew[n] {
					t.Errorf("%s marked as grown: %+v", n, v.Metrics)
				}
			}
			if len(tc.samples) > 12 && v.Judged != len(tc.samples)-10 {
				t.Errorf("judged %d samples, want the %d after the warm-up", v.Judged, len(tc.samples)-10)
			}
		})
	}
}

// TestSoakSim soaks the whole stack for a few seconds, sampling twice a
// second: every sample has the process's figures, the calls served only
// grow, and the sim's stored recordings are dropped as calls are counted
// (it keeps no more than the calls in progress could leave).
func TestSoakSim(t *testing.T) {
	e := startSoakSim(t)
	o := e.Options()
	o.Mix = Mix{KindFire: 2, KindInvalid: 1, KindVoice: 1}
	o.Concurrency, o.Rate = 50, 10
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	e.Target.DropRecordings = true
	rep, err := Soak(context.Background(), o, SoakOptions{
		Duration: 4 * time.Second, Sample: 500 * time.Millisecond, Warmup: time.Second, Extra: e.Counts,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Errors != 0 || s.Lost != 0 || s.Finished != s.Placed || s.Placed < 20 {
		t.Fatalf("placed %d finished %d errors %d %v lost %d", s.Placed, s.Finished, s.Errors, s.ErrorSamples, s.Lost)
	}
	if len(rep.Samples) < 6 {
		t.Fatalf("%d samples in 4 s at one per 500 ms", len(rep.Samples))
	}
	prev := -1
	for i, x := range rep.Samples {
		if x.HeapLive == 0 || x.RSS == 0 || x.Goroutines == 0 || x.OpenFiles <= 0 || x.Served < prev {
			t.Fatalf("sample %d: %+v (served before %d)", i, x, prev)
		}
		prev = x.Served
		if rec, ch := x.Extra["sim_recordings"], x.Extra["sim_channels"]; rec < 0 || rec > ch+x.Live+5 {
			t.Errorf("sample %d: the sim stores %d recordings with %d channels and %d calls live", i, rec, ch, x.Live)
		}
	}
	if last := rep.Samples[len(rep.Samples)-1]; last.Served == 0 || last.Live == 0 {
		t.Fatalf("last sample while placing: %+v", last)
	}
	if rep.Verdict.Judged == 0 || rep.Verdict.Message == "" || len(rep.Verdict.Metrics) != 4 {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if n := e.Target.StoredRecordings(); n != 0 {
		t.Errorf("the sim still stores %d recordings after every call was counted", n)
	}
}

// startSoakSim starts the stack at a clock scale whose IVR key timeouts
// stay well above 100 ms of real time under -race.
func startSoakSim(t *testing.T) *SimEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: testConfig(t), ClockScale: 0.1, SoundsDir: soundsDir(t), Log: testLogger(t)})
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

// publishFunc is an ari.Publisher made of a function.
type publishFunc func(ctx context.Context, e events.Envelope) error

func (f publishFunc) Publish(ctx context.Context, e events.Envelope) error { return f(ctx, e) }

// TestProbeForgetsRacedCall: when the stream delivers a call's call.ended
// before the publisher's ack returns and the runner forgets the call at
// once, as a soak does, the probe keeps no record of it; a failed publish
// is not counted.
func TestProbeForgetsRacedCall(t *testing.T) {
	p := NewProbe()
	var pub ari.Publisher = p.WrapPublisher(publishFunc(func(_ context.Context, e events.Envelope) error {
		// Stored and seen before the ack: the runner counts the call
		// and forgets it.
		p.observe(e, time.Now())
		<-p.Ended(e.CallID)
		p.Forget(e.CallID)
		return nil
	}))
	for i := range 100 {
		e, err := events.New(events.TypeEnded, fmt.Sprint("call-", i), "sim-1", events.Caller{Number: "+6281200000001"}, events.Ended{Outcome: events.OutcomeEmergency})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	kept := len(p.calls)
	p.mu.Unlock()
	if kept != 0 {
		t.Fatalf("the probe keeps %d records of 100 calls forgotten once their call.ended was stored", kept)
	}
	if c := p.Counts(); c.Published != 100 {
		t.Fatalf("published %d, want 100", c.Published)
	}

	failing := p.WrapPublisher(publishFunc(func(context.Context, events.Envelope) error { return errors.New("no ack") }))
	e, _ := events.New(events.TypeStarted, "call-x", "sim-1", events.Caller{}, events.Started{Dialed: "112"})
	if err := failing.Publish(context.Background(), e); err == nil {
		t.Fatal("a failed publish returned no error")
	}
	if r := p.Result("call-x"); r.Published != 0 {
		t.Fatalf("a failed publish counted: %+v", r)
	}
}
