package loadtest

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"time"
)

// gcSampleEvery is how often the sampler forces a collection to read the
// live heap; a forced GC costs a little CPU, so not at every sample.
const gcSampleEvery = 3 * time.Second

// memSampler follows the heap during a run. Its fields are used by the
// sampling goroutine only, and read after it stopped.
type memSampler struct {
	baseline uint64 // live heap before the first call
	peakHeap uint64 // most heap in use (live and not yet collected)
	lastGC   time.Time
	// best is the forced-GC sample with the most live calls.
	bestLive int
	bestHeap uint64

	samples []metrics.Sample
}

const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapLive    = "/gc/heap/live:bytes"
)

// start measures the baseline: the live heap of everything already
// running (NATS, the IVR, the sim) with no call in progress.
func (m *memSampler) start() {
	m.samples = []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}}
	runtime.GC()
	m.read()
	m.baseline = m.samples[1].Value.Uint64()
	m.lastGC = time.Now()
}

func (m *memSampler) read() {
	metrics.Read(m.samples)
	m.peakHeap = max(m.peakHeap, m.samples[0].Value.Uint64())
}

// sample reads the heap; every gcSampleEvery, when live calls are at
// their highest so far, it forces a collection and reads the live heap,
// which is what the calls in progress really hold.
func (m *memSampler) sample(live int) {
	m.read()
	if live == 0 || live < m.bestLive || time.Since(m.lastGC) < gcSampleEvery {
		return
	}
	runtime.GC()
	m.read()
	m.lastGC = time.Now()
	m.bestLive, m.bestHeap = live, m.samples[1].Value.Uint64()
}

// perCall is the live heap per live call at the best sample (0 if none).
func (m *memSampler) perCall() int64 {
	if m.bestLive == 0 {
		return 0
	}
	return (int64(m.bestHeap) - int64(m.baseline)) / int64(m.bestLive)
}

// peakRSS is the process's peak resident set (VmHWM in /proc/self/status),
// 0 where that file does not exist.
func peakRSS() uint64 { return procStatus("VmHWM:") }

// procStatus reads a size in kB from /proc/self/status (the line that
// starts with field, such as "VmRSS:") in bytes, 0 where that file or line
// does not exist.
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := bytes.Fields(v) // "123456", "kB"
			if len(f) == 0 {
				return 0
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
