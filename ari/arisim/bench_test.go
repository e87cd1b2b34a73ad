package arisim_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// minimalApp answers, plays one prompt to its end and hangs up: the smallest IVR.
// It returns a counter of calls it completed.
func minimalApp(b *testing.B, cl ariv6.Client) *atomic.Int64 {
	b.Helper()
	var handled atomic.Int64
	serveApp(b, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			b.Errorf("answer: %v", err)
			return
		}
		if _, err := playAndWait(h, "pb-"+st.Channel.ID, "sound:siaga112/greeting"); err != nil {
			b.Errorf("%v", err)
			return
		}
		if err := h.Hangup(); err != nil {
			b.Errorf("hangup: %v", err)
			return
		}
		handled.Add(1)
	})
	return &handled
}

// BenchmarkSimCalls measures calls per second through an answer-play-hangup app on
// the real ARI client, with up to 64 calls in flight and media time scaled down so
// the figure is the sim's and the client's own cost.
func BenchmarkSimCalls(b *testing.B) {
	sim := startSim(b, arisim.Options{ClockScale: 0.0001})
	cl := connect(b, sim, testApp)
	handled := minimalApp(b, cl)
	inflight := make(chan struct{}, 64)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		inflight <- struct{}{}
		h, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112",
			Script: []arisim.Step{arisim.WaitForPrompt("greeting")}})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-h.Done()
			<-inflight
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	// The call ends on the sim before the app's hangup request returns.
	eventually(b, "app finished every call", func() bool { return handled.Load() == int64(b.N) })
}

// BenchmarkConcurrentCalls5000 holds 5,000 simulated calls at once: each caller waits
// for the prompt and stays 60 s (media time, 15 s wall) before hanging up while the app, on the
// real ARI client, answered and played to it. Each iteration is one wave of 5,000
// calls; it fails unless all 5,000 were up at the same time and all ended cleanly.
func BenchmarkConcurrentCalls5000(b *testing.B) {
	const calls = 5000
	sim := startSim(b, arisim.Options{ClockScale: 0.25, DefaultPlayback: 2 * time.Second})
	cl := connect(b, sim, testApp)
	var answered, started atomic.Int64
	serveApp(b, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		started.Add(1)
		if err := h.Answer(); err != nil {
			b.Errorf("answer: %v", err)
			return
		}
		if _, err := h.Play("pb-"+st.Channel.ID, "sound:siaga112/hold"); err != nil {
			b.Errorf("play: %v", err)
			return
		}
		answered.Add(1)
	})
	script := []arisim.Step{arisim.WaitForPrompt("hold"), arisim.Wait(60 * time.Second), arisim.Hangup()}
	var peak, goroutinesAtPeak int
	var heapAtPeak float64
	var placeDur time.Duration
	cpuStart := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		answered.Store(0)
		started.Store(0)
		start := time.Now()
		handles := make([]*arisim.CallHandle, 0, calls)
		for n := 0; n < calls; n++ {
			h, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: script})
			if err != nil {
				b.Fatal(err)
			}
			handles = append(handles, h)
			if n%10 == 9 {
				// Pace arrivals (at most ~2,000/s), as calls arrive over trunks: the
				// client's event bus drops events for a subscriber 100 behind, so a
				// burst of thousands of StasisStart on a busy 2-core machine loses
				// calls in the app (the same would happen against Asterisk).
				time.Sleep(5 * time.Millisecond)
			}
		}
		placeDur += time.Since(start)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if n := sim.ActiveChannels(); n > peak {
				peak = n
			}
			if answered.Load() == calls {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n := sim.ActiveChannels(); n > peak {
			peak = n
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapAtPeak = max(heapAtPeak, float64(ms.HeapInuse)/(1<<20))
		goroutinesAtPeak = max(goroutinesAtPeak, runtime.NumGoroutine())
		for _, h := range handles {
			select {
			case <-h.Done():
			case <-time.After(60 * time.Second):
				b.Fatalf("call %s did not end (app saw %d of %d StasisStart): %+v", h.ID(), started.Load(), calls, h.Result())
			}
			if v := h.Result(); v.HungUpBy != arisim.HungUpByCaller || !v.Answered || len(v.Prompts) != 1 {
				b.Fatalf("call %s: %+v", h.ID(), v)
			}
		}
		if got := answered.Load(); got != calls {
			b.Fatalf("app answered %d of %d calls", got, calls)
		}
	}
	b.StopTimer()
	if peak < calls {
		b.Fatalf("peak concurrent channels %d, want %d", peak, calls)
	}
	b.ReportMetric(float64(peak), "peak-channels")
	b.ReportMetric(placeDur.Seconds()/float64(b.N), "s-to-place-5000")
	b.ReportMetric(heapAtPeak, "heap-MiB-at-peak")
	b.ReportMetric(float64(goroutinesAtPeak), "goroutines-at-peak")
	b.ReportMetric((cpuTime()-cpuStart).Seconds()/float64(b.N), "cpu-s/wave")
}

// cpuTime is the CPU time (user+system) this process has used: sim and app together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
