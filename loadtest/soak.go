package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Defaults of SoakOptions.
const (
	DefaultSoakSample    = time.Minute
	DefaultSoakWarmup    = 10 * time.Minute
	DefaultSoakTolerance = 0.10
	// soakCountSlack is how far a count (goroutines, open files) may rise
	// between the first and last third whatever its relative growth: one
	// call in progress more or less at the moment of a sample moves both
	// by a few, and a rise that small is no leak.
	soakCountSlack = 8
	// soakMinSamples is how many samples after the warm-up a verdict
	// needs: three thirds of at least one sample each.
	soakMinSamples = 3
)

// SoakOptions configure a soak run (Soak).
type SoakOptions struct {
	// Duration is how long calls are placed.
	Duration time.Duration
	// Sample is the period of the samples (default DefaultSoakSample).
	Sample time.Duration
	// Warmup is how long after the start samples are not judged: the
	// live calls build up, caches, pools and the stream's first blocks
	// fill. Default DefaultSoakWarmup, or a sixth of Duration when that
	// is shorter.
	Warmup time.Duration
	// Tolerance is the growth allowed between the first and the last
	// third of the judged samples, as a fraction (default 0.10).
	Tolerance float64
	// Lines, when set, receives one line per sample.
	Lines io.Writer
	// ProfileDir, when set, receives a heap profile at each sample
	// (heap-000.pb.gz, ...), for go tool pprof -base.
	ProfileDir string
	// Extra, when set, is read at each sample and kept with it: counts of
	// structures outside this process's Go heap accounting that the
	// caller wants to follow (the sim's stored recordings).
	Extra func() map[string]int
}

// SoakSample is one sample of a soak run.
type SoakSample struct {
	// At is the time since the start, in seconds.
	At float64 `json:"at_s"`
	// HeapLive is the live heap right after a forced collection.
	HeapLive uint64 `json:"heap_live_bytes"`
	// RSS is the process's resident set (VmRSS).
	RSS uint64 `json:"rss_bytes"`
	// HeapFree is heap memory the Go runtime holds free, not yet given
	// back to the system: part of RSS that is no live data. HeapReleased
	// is what it has given back; Stacks is goroutine stacks.
	HeapFree     uint64 `json:"heap_free_bytes"`
	HeapReleased uint64 `json:"heap_released_bytes"`
	Stacks       uint64 `json:"stacks_bytes"`
	Goroutines   int    `json:"goroutines"`
	// OpenFiles counts /proc/self/fd (-1 where it cannot be read).
	OpenFiles int `json:"open_files"`
	// Live is the calls in progress, Served those finished so far.
	Live   int `json:"calls_live"`
	Served int `json:"calls_served"`
	// Extra holds SoakOptions.Extra's counts.
	Extra map[string]int `json:"extra,omitempty"`
}

// Line renders the sample as one line of text.
func (s SoakSample) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%8s  heap %6.1f MB  rss %6.1f MB (free %5.1f)  goroutines %5d  files %4d  live %4d  served %8d",
		(time.Duration(s.At) * time.Second).String(), mb(s.HeapLive), mb(s.RSS), mb(s.HeapFree), s.Goroutines, s.OpenFiles, s.Live, s.Served)
	for _, k := range slices.Sorted(maps.Keys(s.Extra)) {
		fmt.Fprintf(&b, "  %s %d", k, s.Extra[k])
	}
	return b.String()
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// Growth is one quantity judged by a soak: its mean over the first and
// the last third of the samples after the warm-up.
type Growth struct {
	Name  string  `json:"name"`
	First float64 `json:"first_third_mean"`
	Last  float64 `json:"last_third_mean"`
	// Ratio is Last/First - 1.
	Ratio float64 `json:"growth"`
	// PerThousandServed is the least-squares slope of the quantity against
	// calls served, per 1,000 calls, over the judged samples.
	PerThousandServed float64 `json:"per_1000_served"`
	// Grew is true when the quantity grew beyond the tolerance (plus what
	// the live calls grew by).
	Grew bool `json:"grew"`
}

// SoakVerdict judges a soak run.
type SoakVerdict struct {
	OK bool `json:"ok"`
	// Judged is how many samples were judged (those after the warm-up).
	Judged int `json:"samples_judged"`
	// Live is the live calls' growth, which the others are allowed.
	Live    Growth   `json:"calls_live"`
	Metrics []Growth `json:"metrics"`
	Message string   `json:"message"`
}

// SoakReport is the result of Soak.
type SoakReport struct {
	Summary        *Summary     `json:"summary"`
	WarmupS        float64      `json:"warmup_s"`
	ToleranceRatio float64      `json:"tolerance"`
	Samples        []SoakSample `json:"samples"`
	Verdict        SoakVerdict  `json:"verdict"`
}

// ErrSoakGrew is returned by Soak's caller when the verdict failed; the
// verdict's message names what grew.
var ErrSoakGrew = errors.New("soak: memory or resources grew with calls served")

// Soak places calls as Run does, for so.Duration with o.Forget (the run's
// own records of a call are dropped once it is counted), and samples the
// process every so.Sample while calls are placed. The verdict compares the
// samples after the warm-up: see JudgeSoak.
func Soak(ctx context.Context, o Options, so SoakOptions) (*SoakReport, error) {
	if so.Duration <= 0 {
		return nil, fmt.Errorf("loadtest: soak needs a duration")
	}
	if so.Sample <= 0 {
		so.Sample = DefaultSoakSample
	}
	if so.Warmup <= 0 {
		so.Warmup = min(DefaultSoakWarmup, so.Duration/6)
	}
	if so.Tolerance <= 0 {
		so.Tolerance = DefaultSoakTolerance
	}
	if so.ProfileDir != "" {
		if err := os.MkdirAll(so.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("loadtest: soak profiles: %w", err)
		}
	}
	o.Calls, o.Duration, o.Forget = 0, so.Duration, true
	var samples []SoakSample
	o.watch = func(ctx context.Context, st *runState) {
		samples = soakSampler(ctx, st, so)
	}
	s, err := Run(ctx, o)
	if err != nil {
		return nil, err
	}
	rep := &SoakReport{Summary: s, WarmupS: so.Warmup.Seconds(), ToleranceRatio: so.Tolerance, Samples: samples}
	rep.Verdict = JudgeSoak(samples, so.Warmup, so.Tolerance)
	return rep, nil
}

// soakSampler takes a sample at the start and every so.Sample while calls
// are placed (once placing is over the live calls drain, which says
// nothing about growth), until ctx ends; it returns the samples.
func soakSampler(ctx context.Context, st *runState, so SoakOptions) []SoakSample {
	start := time.Now()
	var out []SoakSample
	take := func() {
		st.mu.Lock()
		live, served, placingOver := st.live, st.finished, st.placing > 0
		st.mu.Unlock()
		if placingOver {
			return
		}
		s := takeSoakSample(time.Since(start), live, served)
		if so.Extra != nil {
			s.Extra = so.Extra()
		}
		if so.ProfileDir != "" {
			writeHeapProfile(filepath.Join(so.ProfileDir, fmt.Sprintf("heap-%03d.pb.gz", len(out))))
		}
		out = append(out, s)
		if so.Lines != nil {
			_, _ = io.WriteString(so.Lines, s.Line()+"\n")
		}
	}
	take()
	t := time.NewTicker(so.Sample)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
			take()
		}
	}
}

// takeSoakSample forces a collection and reads the process's figures.
// It collects twice: buffers idle in a sync.Pool (NATS keeps its message
// blocks' caches there, megabytes each) survive one collection in the
// pool's victim cache and go with the second, so the sample shows what is
// held, not which buffers happened to be idle.
func takeSoakSample(at time.Duration, live, served int) SoakSample {
	runtime.GC()
	runtime.GC()
	m := []metrics.Sample{{Name: metricHeapLive}, {Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(m)
	u := func(i int) uint64 {
		if m[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return m[i].Value.Uint64()
	}
	return SoakSample{
		At: math.Round(at.Seconds()), HeapLive: u(0), RSS: procStatus("VmRSS:"),
		HeapFree: u(1), HeapReleased: u(2), Stacks: u(3),
		Goroutines: runtime.NumGoroutine(), OpenFiles: openFiles(), Live: live, Served: served,
	}
}

// writeHeapProfile writes a heap profile (the collection taken for the
// sample has just run, so it shows what is live); a failure is ignored,
// as the profiles only help to find what grew.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	_ = pprof.Lookup("heap").WriteTo(f, 0)
	_ = f.Close()
}

// openFiles counts the process's open file descriptors, -1 where
// /proc/self/fd cannot be read.
func openFiles() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // ReadDir's own descriptor is among them
}

// JudgeSoak judges the samples taken after warmup: for the live heap,
// RSS, goroutines and open files, the mean over the last third of them
// against the mean over the first third. A quantity fails when it grew by
// more than tolerance plus what the live calls grew by (more calls in
// progress may hold more), and, for the counts, by more than
// soakCountSlack. The calls served grow all along, so a quantity that
// grows with them fails and one that follows the live calls passes.
func JudgeSoak(samples []SoakSample, warmup time.Duration, tolerance float64) SoakVerdict {
	var judged []SoakSample
	for _, s := range samples {
		if s.At >= warmup.Seconds() {
			judged = append(judged, s)
		}
	}
	v := SoakVerdict{Judged: len(judged)}
	if len(judged) < soakMinSamples {
		v.Message = fmt.Sprintf("too short to judge: %d samples after the %s warm-up, want at least %d", len(judged), warmup, soakMinSamples)
		return v
	}
	third := len(judged) / 3
	first, last := judged[:third], judged[len(judged)-third:]
	served := func(s SoakSample) float64 { return float64(s.Served) }
	growth := func(name string, f func(SoakSample) float64) Growth {
		g := Growth{Name: name, First: mean(first, f), Last: mean(last, f), PerThousandServed: 1000 * slope(judged, served, f)}
		if g.First > 0 {
			g.Ratio = g.Last/g.First - 1
		}
		return g
	}
	v.Live = growth("calls_live", func(s SoakSample) float64 { return float64(s.Live) })
	allowed := tolerance + max(0, v.Live.Ratio)
	var grew []string
	judge := func(name string, f func(SoakSample) float64, slack float64) {
		g := growth(name, f)
		g.Grew = g.Ratio > allowed && g.Last-g.First > slack
		if g.Grew {
			grew = append(grew, fmt.Sprintf("%s %.4g -> %.4g (+%.1f %%)", name, g.First, g.Last, 100*g.Ratio))
		}
		v.Metrics = append(v.Metrics, g)
	}
	judge("heap_live_mb", func(s SoakSample) float64 { return mb(s.HeapLive) }, 0)
	judge("rss_mb", func(s SoakSample) float64 { return mb(s.RSS) }, 0)
	judge("goroutines", func(s SoakSample) float64 { return float64(s.Goroutines) }, soakCountSlack)
	if judged[0].OpenFiles >= 0 {
		judge("open_files", func(s SoakSample) float64 { return float64(s.OpenFiles) }, soakCountSlack)
	}
	span := fmt.Sprintf("first and last third of %d samples after the %s warm-up, calls served %d -> %d, live calls %.1f -> %.1f (%+.1f %%)",
		len(judged), warmup, judged[0].Served, judged[len(judged)-1].Served, v.Live.First, v.Live.Last, 100*v.Live.Ratio)
	if len(grew) > 0 {
		v.Message = fmt.Sprintf("FAIL: grew beyond %.0f %% with calls served: %s (%s)", 100*allowed, strings.Join(grew, ", "), span)
		return v
	}
	v.OK = true
	v.Message = fmt.Sprintf("ok: heap, RSS, goroutines and open files within %.0f %% (%s)", 100*allowed, span)
	return v
}

func mean(s []SoakSample, f func(SoakSample) float64) float64 {
	t := 0.0
	for _, x := range s {
		t += f(x)
	}
	return t / float64(len(s))
}

// slope is the least-squares slope of y against x over s (0 when x does
// not vary).
func slope(s []SoakSample, x, y func(SoakSample) float64) float64 {
	mx, my := mean(s, x), mean(s, y)
	var num, den float64
	for _, p := range s {
		dx := x(p) - mx
		num += dx * (y(p) - my)
		den += dx * dx
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// WriteText writes the verdict's table and message.
func (v SoakVerdict) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "soak verdict over %d samples after the warm-up:\n", v.Judged)
	for _, g := range append([]Growth{v.Live}, v.Metrics...) {
		mark := ""
		if g.Grew {
			mark = "  GREW"
		}
		fmt.Fprintf(&b, "  %-13s first third %9.1f  last third %9.1f  %+6.1f %%  %+9.3f per 1000 served%s\n",
			g.Name, g.First, g.Last, 100*g.Ratio, g.PerThousandServed, mark)
	}
	b.WriteString(v.Message + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}
