package loadtest

import (
	"context"
	"testing"
)

// BenchmarkCallPath runs whole calls through the simulated Asterisk (over
// loopback HTTP and WebSocket with the real ARI client), the IVR, the
// publisher, an embedded NATS with JetStream and the blocklist worker; one
// op is one call, from StasisStart to call.ended stored in the stream.
//
// operator: every caller presses 0 during the menu (six events a call),
// media at 1/1000 of real time, 64 calls in flight: the CPU cost of a call.
// mix: the default caller mix at 1/100 of real time with 256 calls in
// flight (silent callers hold their call for the IVR's full timeouts).
func BenchmarkCallPath(b *testing.B) {
	cases := []struct {
		name     string
		mix      Mix
		scale    float64
		inFlight int
	}{
		{"operator", Mix{KindOperator: 1}, 0.001, 64},
		{"mix", DefaultMix(), testScale, 256},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), waitMax)
			defer cancel()
			e, err := StartSim(ctx, SimOptions{Config: testConfig(b), ClockScale: bc.scale, SoundsDir: soundsDir(b), Log: testLogger(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := e.Stop(); err != nil {
					b.Error(err)
				}
			}()
			o := e.Options()
			o.Mix, o.Calls, o.Concurrency, o.Rate = bc.mix, b.N, bc.inFlight, 1e6
			o.CallTimeout, o.SettleTimeout = waitMax, waitMax
			b.ResetTimer()
			s, err := Run(context.Background(), o)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if s.Errors != 0 || s.Lost != 0 {
				b.Fatalf("%d errors, %d events lost: %v", s.Errors, s.Lost, s.ErrorSamples)
			}
			b.ReportMetric(s.FinishedPerSec, "calls/s")
			b.ReportMetric(s.EventsPerSec, "events/s")
			b.ReportMetric(s.Answer.P50, "p50-answer-ms")
			b.ReportMetric(s.Answer.P99, "p99-answer-ms")
			b.ReportMetric(s.Classified.P99, "p99-dtmf-classified-ms")
		})
	}
}
