package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/siaga112/siaga112/events"
)

// demoConsole keeps the demo's output readable on one terminal. The progress
// line rewrites itself with \r and has no newline while the demo runs; a
// notice or a log line written in the middle of it would be glued to it. So
// every other write first clears the progress line (on a terminal) or ends
// it (elsewhere), and the next progress tick draws it again below.
type demoConsole struct {
	mu   sync.Mutex
	out  io.Writer // stdout: progress and notices
	tty  bool      // out is a terminal
	open bool      // a progress line without its newline is on out
}

func newDemoConsole(out io.Writer, tty bool) *demoConsole { return &demoConsole{out: out, tty: tty} }

// breakLine clears an open progress line; c.mu must be held.
func (c *demoConsole) breakLine() {
	if !c.open {
		return
	}
	if c.tty {
		_, _ = io.WriteString(c.out, "\r\x1b[K")
	} else {
		_, _ = io.WriteString(c.out, "\n")
	}
	c.open = false
}

// Notice writes one line of its own, never inside the progress line.
func (c *demoConsole) Notice(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.breakLine()
	_, _ = fmt.Fprintf(c.out, format+"\n", args...)
}

// Progress is the writer for the progress line.
func (c *demoConsole) Progress() io.Writer { return progressWriter{c} }

type progressWriter struct{ c *demoConsole }

func (p progressWriter) Write(b []byte) (int, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	n, err := p.c.out.Write(b)
	p.c.open = len(b) > 0 && b[len(b)-1] != '\n'
	return n, err
}

// Stderr wraps w (the logger's output) so that a log line clears the
// progress line first.
func (c *demoConsole) Stderr(w io.Writer) io.Writer { return stderrWriter{c, w} }

type stderrWriter struct {
	c *demoConsole
	w io.Writer
}

func (s stderrWriter) Write(b []byte) (int, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.breakLine()
	return s.w.Write(b)
}

// Spool notices. Under load on a small machine JetStream acks can take
// longer than nats.publish.max_block, and the publisher then sends events
// through its disk spool and replays them: nothing is lost and no caller
// waits. The publisher logs each such episode, which on a busy 2-core
// machine is dozens of warnings in a few minutes; to a newcomer watching a
// demo that reads as a fault. So the demo logs those lines at debug and
// says it once per busy period instead: one line when spooling starts, one
// when the spool has stayed empty for spoolQuiet, with the counts.

// spoolQuiet is how long the spool must stay empty before the demo calls a
// busy period over; shorter gaps are one period.
const spoolQuiet = 10 * time.Second

// spoolPoll is how often the demo reads the publisher's counters.
const spoolPoll = 500 * time.Millisecond

// demoQuiet are the starts of log lines the demo keeps at debug because it
// says the same on stdout in its own words: the publisher's per-episode
// spool lines (events/publish.go), summarised by watchSpool, and the IVR's
// drain lines (ari/), one per call, counted in the demo's last lines as
// "put through to operators by the drain".
var demoQuiet = [...]string{
	"NATS did not ack in time", "spool drained",
	"drain time over", "call interrupted, putting the caller through",
}

// quietDemo is a slog handler that logs the demoQuiet lines at debug.
type quietDemo struct{ h slog.Handler }

func (q quietDemo) Enabled(ctx context.Context, l slog.Level) bool { return q.h.Enabled(ctx, l) }

func (q quietDemo) Handle(ctx context.Context, r slog.Record) error {
	for _, m := range demoQuiet {
		if strings.HasPrefix(r.Message, m) {
			if !q.h.Enabled(ctx, slog.LevelDebug) {
				return nil
			}
			r.Level = slog.LevelDebug
			break
		}
	}
	return q.h.Handle(ctx, r)
}

func (q quietDemo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietDemo{q.h.WithAttrs(attrs)}
}

func (q quietDemo) WithGroup(name string) slog.Handler { return quietDemo{q.h.WithGroup(name)} }

// spoolWatch turns publisher counters into busy-period notices.
type spoolWatch struct {
	busy                bool
	start               time.Time
	spooled0, replayed0 uint64    // the counters just before the period
	lastSpool, lastRepl uint64    // the counters at the last reading
	emptySince          time.Time // zero while the spool holds events
}

// observe takes one reading at now and returns the notice to print, if any.
func (w *spoolWatch) observe(st events.PublisherStats, maxBlock time.Duration, now time.Time) string {
	grew := st.Spooled > w.lastSpool
	prevSpool, prevRepl := w.lastSpool, w.lastRepl
	w.lastSpool, w.lastRepl = st.Spooled, st.Replayed
	if !w.busy {
		if !grew {
			return ""
		}
		w.busy, w.start, w.emptySince = true, now, time.Time{}
		w.spooled0, w.replayed0 = prevSpool, prevRepl
		return fmt.Sprintf("note: NATS acks are slower than nats.publish.max_block (%s) on this busy machine; events wait in the disk spool and are replayed in order (no caller waits)", maxBlock)
	}
	if grew || st.SpoolBytes > 0 {
		w.emptySince = time.Time{}
		return ""
	}
	if w.emptySince.IsZero() {
		w.emptySince = now
		return ""
	}
	if now.Sub(w.emptySince) < spoolQuiet {
		return ""
	}
	w.busy = false
	msg := fmt.Sprintf("note: spool drained: %d events went through it in %s, all now in JetStream",
		st.Spooled-w.spooled0, max(time.Second, w.emptySince.Sub(w.start)).Round(time.Second))
	if st.Dropped > 0 {
		msg += fmt.Sprintf("; %d DROPPED (spool full)", st.Dropped)
	}
	return msg
}

// watchSpool polls stats until ctx ends and prints busy-period notices.
func watchSpool(ctx context.Context, c *demoConsole, stats func() events.PublisherStats, maxBlock time.Duration) {
	var w spoolWatch
	t := time.NewTicker(spoolPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if msg := w.observe(stats(), maxBlock, now); msg != "" {
				c.Notice("%s", msg)
			}
		}
	}
}
