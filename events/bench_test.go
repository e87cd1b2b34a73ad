package events

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPublishAcked measures Publish when every event is acknowledged
// by JetStream (embedded server, file storage): the normal path of the IVR.
// MaxBlock is raised so that a slow ack under load is measured rather than
// spooled.
func BenchmarkPublishAcked(b *testing.B) {
	srv := startServer(b, b.TempDir(), "127.0.0.1:0")
	_, js := connect(b, srv.ClientURL())
	ensureStream(b, js)
	cfg := natsConfig(b)
	cfg.Publish.MaxBlock = time.Second
	p := newPublisher(b, js, cfg, nil)
	events := make([]Envelope, 0, 4096)
	for i := range cap(events) {
		events = append(events, event(b, i))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		e := events[i%len(events)]
		// A fresh id per iteration so the duplicate window does not turn
		// the benchmark into a dedupe test.
		e.ID = NewID()
		if err := p.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if st := p.Stats(); st.Spooled != 0 {
		b.Logf("%d of %d events were spooled", st.Spooled, b.N)
	}
}

// BenchmarkPublishAckedParallel is BenchmarkPublishAcked with many calls
// publishing at once, as during a busy hour.
func BenchmarkPublishAckedParallel(b *testing.B) {
	srv := startServer(b, b.TempDir(), "127.0.0.1:0")
	_, js := connect(b, srv.ClientURL())
	ensureStream(b, js)
	cfg := natsConfig(b)
	cfg.Publish.MaxBlock = time.Second
	p := newPublisher(b, js, cfg, nil)
	base := event(b, 1)
	publishParallel(b, p, base)
}

// BenchmarkPublishSpooled measures Publish while NATS is down: one
// fsync'd append to the spool per event.
func BenchmarkPublishSpooled(b *testing.B) {
	srv := startServer(b, b.TempDir(), "127.0.0.1:0")
	_, js := connect(b, srv.ClientURL())
	ensureStream(b, js)
	srv.Shutdown()
	p := newPublisher(b, js, natsConfig(b), nil)
	base := event(b, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e := base
		e.ID = NewID()
		if err := p.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if st := p.Stats(); st.Spooled != uint64(b.N) {
		b.Fatalf("stats %+v, want every event spooled", st)
	}
}

// BenchmarkPublishSpooledParallel: many calls publishing during an outage
// share fsyncs (group commit), so each waits less than one fsync per event
// queued ahead of it.
func BenchmarkPublishSpooledParallel(b *testing.B) {
	srv := startServer(b, b.TempDir(), "127.0.0.1:0")
	_, js := connect(b, srv.ClientURL())
	ensureStream(b, js)
	srv.Shutdown()
	p := newPublisher(b, js, natsConfig(b), nil)
	base := event(b, 1)
	publishParallel(b, p, base)
}

// publishParallel publishes copies of base with fresh ids from 8 goroutines
// per CPU until b.N events were published, and reports events/s.
func publishParallel(b *testing.B, p *Publisher, base Envelope) {
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := base
			e.ID = NewID()
			if err := p.Publish(ctx, e); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
}
