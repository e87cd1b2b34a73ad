package ari

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
)

// BenchmarkCallPath runs complete operator calls (greeting, menu, key 0,
// connecting, variables, continue; six events each on JetStream) through
// the simulated Asterisk, the real ARI client and an embedded NATS, with
// up to 64 calls in flight. It reports calls/s and the latency from
// placing the call (StasisStart) to the answer as the caller sees it.
func BenchmarkCallPath(b *testing.B) {
	e := startEnv(b, envOptions{cfg: func(c *configs.Config) {
		c.ARI.RequestTimeout = 5 * time.Second
		c.IVR.FirstDigitTimeout = 5 * time.Second
	}})
	script := []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("0")}
	const inFlight = 64
	sem := make(chan struct{}, inFlight)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			placed := time.Now()
			h, err := e.sim.Call(context.Background(), arisim.Caller{Number: "+628130000000", Dialed: "112", Script: script})
			if err != nil {
				b.Error(err)
				return
			}
			select {
			case <-h.Done():
			case <-time.After(waitMax):
				b.Errorf("call %s stuck", h.ID())
				return
			}
			v := h.Result()
			mu.Lock()
			defer mu.Unlock()
			if v.Continued == nil || v.Continued.Extension != "operator" || !v.Answered {
				failed++
				return
			}
			latencies = append(latencies, v.AnsweredAt.Sub(placed))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d of %d calls not put through", failed, b.N)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(float64(len(latencies)-1)*p)] }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-answer-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-answer-ms")
	b.Logf("publisher %+v", e.pub.Stats())
	st := e.ivr.Stats()
	if st.Events.InboxFull != 0 || st.Events.Unrouted != 0 {
		b.Fatalf("events dropped or unrouted: %+v", st.Events)
	}
}
