package loadtest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Snapshot is the state a progress line shows.
type Snapshot struct {
	Placed, Finished, Live, Errors int
	// Total is the number of calls to place (0: unbounded).
	Total int
	// Elapsed is the time since the run started; Placing is how long calls
	// have been placed (Elapsed until placing stops).
	Elapsed, Placing time.Duration
	Outcomes         map[events.Outcome]int
}

// barWidth is the width of the progress bar in cells.
const barWidth = 30

// FormatProgress renders one progress line (no newline). With a known
// total it starts with a bar of finished calls.
func FormatProgress(s Snapshot) string {
	var b strings.Builder
	if s.Total > 0 {
		done := min(barWidth, s.Finished*barWidth/s.Total)
		fmt.Fprintf(&b, "[%s%s] %d/%d ", strings.Repeat("#", done), strings.Repeat(".", barWidth-done), s.Finished, s.Total)
	} else {
		fmt.Fprintf(&b, "%d calls finished ", s.Finished)
	}
	// Each rate is over its own span: placed/s over the time calls were
	// placed (the arrival rate callers made), finished/s over the whole run
	// (it trails by a call's length, and goes on while the last calls end).
	placed, finished := 0.0, 0.0
	if secs := s.Placing.Seconds(); secs > 0 {
		placed = float64(s.Placed) / secs
	}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		finished = float64(s.Finished) / secs
	}
	fmt.Fprintf(&b, "| live %d | placed %.1f/s, finished %.1f/s |", s.Live, placed, finished)
	for _, o := range events.AllOutcomes {
		if n := s.Outcomes[o]; n > 0 {
			fmt.Fprintf(&b, " %s %d", o, n)
		}
	}
	fmt.Fprintf(&b, " | errors %d | %s", s.Errors, s.Elapsed.Truncate(time.Second))
	return b.String()
}

// snapshot copies the run's counters.
func (st *runState) snapshot(total int, elapsed time.Duration) Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[events.Outcome]int, len(st.outcomes))
	for k, v := range st.outcomes {
		out[k] = v
	}
	placing := elapsed
	if st.placing > 0 {
		placing = st.placing
	}
	return Snapshot{
		Placed: st.placed, Finished: st.finished, Live: st.live, Errors: st.errors,
		Total: total, Elapsed: elapsed, Placing: placing, Outcomes: out,
	}
}

// progress writes a line every o.ProgressEvery until ctx ends: on a
// terminal (o.Bar) one line that rewrites itself, else a new line each time.
func progress(ctx context.Context, o Options, st *runState) {
	start := time.Now()
	t := time.NewTicker(o.ProgressEvery)
	defer t.Stop()
	last := 0
	write := func(final bool) {
		line := FormatProgress(st.snapshot(o.Calls, time.Since(start)))
		if o.Bar {
			// Pad over a longer previous line; \r returns to its start.
			pad := max(0, last-len(line))
			last = len(line)
			end := ""
			if final {
				end = "\n"
			}
			_, _ = io.WriteString(o.Progress, "\r"+line+strings.Repeat(" ", pad)+end)
			return
		}
		_, _ = io.WriteString(o.Progress, line+"\n")
	}
	for {
		select {
		case <-ctx.Done():
			write(true)
			return
		case <-t.C:
			write(false)
		}
	}
}
