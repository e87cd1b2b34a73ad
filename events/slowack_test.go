package events

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// latencyProxy is a TCP proxy between NATS clients and a server that delays
// everything the server sends by a settable amount, like a slow or distant
// JetStream: every ack arrives that much later. The delay is a delay line,
// not a throughput cap: bytes stay in order and many acks can be on their
// way at once, as over a real link with that latency.
type latencyProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds

	mu     sync.Mutex // guards conns and closed
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

func startLatencyProxy(t testing.TB, target string, delay time.Duration) *latencyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &latencyProxy{ln: ln, target: target}
	p.delay.Store(int64(delay))
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// URL is the nats:// URL clients dial instead of the server's.
func (p *latencyProxy) URL() string { return "nats://" + p.ln.Addr().String() }

// setDelay changes the delay of bytes read from the server from now on.
func (p *latencyProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *latencyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, s) {
			return
		}
		p.wg.Go(func() {
			_, _ = io.Copy(s, c)
			_ = s.Close()
		})
		p.wg.Go(func() { p.delayed(c, s) })
	}
}

// track remembers a pair of connections for close; false once closed.
func (p *latencyProxy) track(c, s net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		_ = s.Close()
		return false
	}
	p.conns = append(p.conns, c, s)
	return true
}

// delayed copies server to client, holding each chunk until its time.
func (p *latencyProxy) delayed(client, server net.Conn) {
	type chunk struct {
		due  time.Time
		data []byte
	}
	line := make(chan chunk, 4096)
	p.wg.Go(func() {
		defer func() { _ = client.Close() }()
		for c := range line {
			time.Sleep(time.Until(c.due))
			if _, err := client.Write(c.data); err != nil {
				for range line {
				}
				return
			}
		}
	})
	defer close(line)
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			line <- chunk{due: time.Now().Add(time.Duration(p.delay.Load())), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			return
		}
	}
}

func (p *latencyProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// TestReplayKeepsUpWithSlowAcks is the publisher under a slow JetStream:
// every ack arrives 3 ms late while the IVR publishes 600 events/s. A short
// stall at the start (acks 40 ms late for 150 ms, longer than max_block)
// sends events to the spool. The replay must then empty the spool while the
// load goes on, publishing must go straight to JetStream again, the backlog
// must stay bounded, and every event must be stored exactly once.
//
// Before the replay was pipelined it waited for each ack before sending the
// next record: about 250 events/s at 3 ms, less than arrive, so the spool
// grew until the load stopped.
func TestReplayKeepsUpWithSlowAcks(t *testing.T) {
	const (
		rate    = 600
		loadFor = 4 * time.Second
		ackLag  = 3 * time.Millisecond
		stall   = 40 * time.Millisecond
		stallOn = 150 * time.Millisecond
		// maxBacklog is one second of events: the stall adds about
		// rate*stallOn events and a replay that keeps up never holds
		// more than a round trip's worth on top.
		maxBacklog = rate
		workers    = 32
	)
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, direct := connect(t, srv.ClientURL())
	ensureStream(t, direct)
	proxy := startLatencyProxy(t, listenOf(t, srv.ClientURL()), ackLag)
	_, js := connect(t, proxy.URL())
	p := newPublisher(t, js, natsConfig(t), testLog(t))

	// The pacer hands out event numbers at the rate; workers publish them
	// as calls do, many at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := make(chan int, rate)
	var (
		wg      sync.WaitGroup
		idsMu   sync.Mutex
		ids     = make(map[string]bool)
		pubErrs atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				ev := event(t, i)
				if err := p.Publish(ctx, ev); err != nil {
					pubErrs.Add(1)
					t.Errorf("Publish %d: %v", i, err)
					continue
				}
				idsMu.Lock()
				ids[ev.ID] = true
				idsMu.Unlock()
			}
		})
	}

	type sample struct {
		at time.Duration
		st PublisherStats
	}
	var samples []sample
	start := time.Now()
	proxy.setDelay(stall)
	stallEnd := start.Add(stallOn)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for now := range tick.C {
		el := now.Sub(start)
		if proxy.delay.Load() == int64(stall) && now.After(stallEnd) {
			proxy.setDelay(ackLag)
		}
		if el >= loadFor {
			break
		}
		for due := int(el.Seconds() * rate); sent < due; sent++ {
			jobs <- sent
		}
		samples = append(samples, sample{el, p.Stats()})
	}
	loadEnd := time.Since(start)
	close(jobs)
	wg.Wait()

	var (
		maxEvents, maxBytes int64
		firstSpool, drained time.Duration = -1, -1
		// directAtDrain is how many events had gone straight to
		// JetStream when the spool first drained.
		directAtDrain uint64
	)
	for _, s := range samples {
		maxEvents, maxBytes = max(maxEvents, s.st.SpoolEvents), max(maxBytes, s.st.SpoolBytes)
		if s.st.Spooling && firstSpool < 0 {
			firstSpool = s.at
		}
		if firstSpool >= 0 && drained < 0 && !s.st.Spooling {
			drained, directAtDrain = s.at, s.st.Published
		}
	}
	mid := p.Stats()
	t.Logf("%d events in %s at %d/s, acks %s late after a %s stall of %s", sent, loadEnd.Round(time.Millisecond), rate, ackLag, stallOn, stall)
	t.Logf("backlog at most %d events / %d bytes; spooling from %s, drained at %s (load still running), at load end: %+v",
		maxEvents, maxBytes, firstSpool, drained, mid)

	if firstSpool < 0 {
		t.Fatalf("the stall sent nothing to the spool; the test proves nothing (stats %+v)", mid)
	}
	if drained < 0 {
		t.Fatalf("the spool never drained while the load ran (max backlog %d events); replay cannot keep up with %d/s at %s acks", maxEvents, rate, ackLag)
	}
	if maxEvents > maxBacklog {
		t.Fatalf("backlog reached %d events, want at most %d", maxEvents, maxBacklog)
	}
	// After draining, publishing went straight to JetStream again. (How
	// many events do depends on the machine: a Publish that a busy CPU
	// delays past max_block starts a short spooling episode of its own.)
	t.Logf("%d of %d events published directly, %d of them after the first drain", mid.Published, sent, mid.Published-directAtDrain)
	if mid.Published <= directAtDrain {
		t.Fatalf("no event was published directly after the spool drained (stats %+v)", mid)
	}

	eventually(t, 30*time.Second, "spool empty", func() bool { return !p.Stats().Spooling })
	st := p.Stats()
	if st.Dropped != 0 || pubErrs.Load() != 0 || st.Published+st.Replayed != uint64(sent) {
		t.Fatalf("stats %+v, %d publish errors: want %d events published or replayed, none dropped", st, pubErrs.Load(), sent)
	}
	if st.SpoolEvents != 0 || st.SpoolBytes != 0 || !st.SpoolingSince.IsZero() {
		t.Fatalf("drained spool still reports a backlog: %+v", st)
	}
	stored := streamIDs(t, direct)
	seen := make(map[string]bool, len(stored))
	for _, id := range stored {
		if seen[id] {
			t.Fatalf("event %s stored twice", id)
		}
		seen[id] = true
		if !ids[id] {
			t.Fatalf("stream holds an event %s nobody published", id)
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("stream holds %d events, %d were published", len(seen), len(ids))
	}
}

// BenchmarkReplaySlowAcks measures how fast a spool left by an outage is
// replayed when every ack arrives 3 ms late: b.N events are spooled, then a
// publisher on that spool is started behind the latency proxy and timed
// until the spool is empty.
func BenchmarkReplaySlowAcks(b *testing.B) {
	srv := startServer(b, b.TempDir(), "127.0.0.1:0")
	_, direct := connect(b, srv.ClientURL())
	ensureStream(b, direct)
	proxy := startLatencyProxy(b, listenOf(b, srv.ClientURL()), 3*time.Millisecond)
	_, js := connect(b, proxy.URL())
	cfg := natsConfig(b)
	sp, err := openSpool(cfg.Spool.Dir, DefaultSpoolMaxBytes, testLog(b))
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		ev := event(b, i)
		data, err := ev.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sp.append(data); err != nil {
			b.Fatal(err)
		}
	}
	if err := sp.close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	p := newPublisher(b, js, cfg, nil)
	for p.Stats().Spooling {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if st := p.Stats(); st.Replayed != uint64(b.N) || st.Dropped != 0 {
		b.Fatalf("stats %+v, want %d replayed", st, b.N)
	}
}
