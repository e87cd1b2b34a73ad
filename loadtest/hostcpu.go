package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A real Asterisk's CPU is the figure that says how many calls a node can
// carry: the IVR sends it a few REST requests per call, while Asterisk
// plays, mixes, records and detects talk on every frame of every call. The
// load tool can read it when Asterisk runs on the same host: the kernel
// keeps each process's CPU time in /proc/<pid>/stat, readable by any user,
// so no agent on the Asterisk side is needed. On a remote node (or
// without /proc) the figure is simply not reported, with the reason.

// userHZ is the unit of the CPU times in /proc/<pid>/stat (clock ticks,
// USER_HZ). The kernel fixes it at 100 for user space on every
// architecture Go supports on Linux, whatever its internal HZ.
const userHZ = 100

// asteriskName is the Asterisk daemon's process name (/proc/<pid>/comm).
const asteriskName = "asterisk"

// ErrProcStat is returned (wrapped) for /proc/<pid>/stat content that does
// not have the kernel's layout.
var ErrProcStat = errors.New("malformed /proc/<pid>/stat")

// procStat is what the load tool needs of /proc/<pid>/stat.
type procStat struct {
	// Comm is the process name, without its parentheses.
	Comm string
	// CPU is user plus system time.
	CPU time.Duration
}

// parseProcStat reads /proc/<pid>/stat content (proc(5)): "pid (comm)
// state ppid ... utime stime ...". The name may hold spaces and
// parentheses, so it runs to the last ')'; utime and stime are the 14th
// and 15th fields of the line, the 12th and 13th after the name.
func parseProcStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("%w: no (name)", ErrProcStat)
	}
	f := strings.Fields(string(b[end+1:]))
	const utime, stime = 11, 12 // indexes in f, f[0] being the state
	if len(f) <= stime {
		return procStat{}, fmt.Errorf("%w: %d fields after the name, want at least %d", ErrProcStat, len(f), stime+1)
	}
	u, err := strconv.ParseUint(f[utime], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("%w: utime: %w", ErrProcStat, err)
	}
	s, err := strconv.ParseUint(f[stime], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("%w: stime: %w", ErrProcStat, err)
	}
	return procStat{Comm: string(b[open+1 : end]), CPU: ticks(u + s)}, nil
}

// ticks converts clock ticks to a duration.
func ticks(n uint64) time.Duration { return time.Duration(n) * (time.Second / userHZ) }

// CPUSource is a process whose CPU time a run measures: Dir is its /proc
// directory, or "" when it cannot be read, and Reason then says why.
type CPUSource struct {
	// Dir is the process's /proc directory (/proc/1234, /proc/self).
	Dir string
	// PID is the process id, 0 for this process or when unknown.
	PID int
	// Reason says why the process's CPU is not measured.
	Reason string
}

// read returns the process's CPU time so far.
func (c CPUSource) read() (procStat, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// SelfCPU is this process (the IVR, and the load tool itself).
func SelfCPU() CPUSource {
	src := CPUSource{Dir: "/proc/self"}
	if _, err := src.read(); err != nil {
		return CPUSource{Reason: fmt.Sprintf("this process's CPU cannot be read (%v)", err)}
	}
	return src
}

// AsteriskCPU finds the Asterisk process of the node at nodeURL under the
// /proc tree at root ("/proc"): the process pid when pid > 0, else the
// one Asterisk daemon on this host when the node's address is this host's.
// It never fails: a source that cannot be read carries the reason.
func AsteriskCPU(root, nodeURL string, pid int) CPUSource {
	if pid > 0 {
		src := CPUSource{Dir: filepath.Join(root, strconv.Itoa(pid)), PID: pid}
		if _, err := src.read(); err != nil {
			return CPUSource{PID: pid, Reason: fmt.Sprintf("Asterisk CPU not measured: process %d cannot be read (%v)", pid, err)}
		}
		return src
	}
	host := nodeHost(nodeURL)
	if !isLocalHost(host) {
		return CPUSource{Reason: fmt.Sprintf("Asterisk CPU not measured: the node (%s) is not on this host (run the tool there, or give --asterisk-pid)", host)}
	}
	pids, err := findDaemons(root, asteriskName)
	switch {
	case err != nil:
		return CPUSource{Reason: fmt.Sprintf("Asterisk CPU not measured: %v", err)}
	case len(pids) == 0:
		return CPUSource{Reason: "Asterisk CPU not measured: no asterisk process on this host (in a container of its own? give --asterisk-pid)"}
	case len(pids) > 1:
		return CPUSource{Reason: fmt.Sprintf("Asterisk CPU not measured: %d asterisk processes on this host (%s); give --asterisk-pid",
			len(pids), strings.Trim(fmt.Sprint(pids), "[]"))}
	}
	return CPUSource{Dir: filepath.Join(root, strconv.Itoa(pids[0])), PID: pids[0]}
}

// findDaemons lists the processes under root named name, leaving out
// Asterisk's remote consoles (asterisk -r, -R, -x), which share the
// daemon's name and would otherwise make it ambiguous.
func findDaemons(root, name string) ([]int, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("no %s to read (%w)", root, err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // gone since the listing, or not ours to read
		}
		st, err := parseProcStat(b)
		if err != nil || st.Comm != name {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		if isRemoteConsole(cmd) {
			continue
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, nil
}

// isRemoteConsole reports whether a NUL-separated command line is an
// Asterisk remote console or command (-r, -R, -x, also within grouped
// short options such as -rvvv or -rx).
func isRemoteConsole(cmdline []byte) bool {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	for _, a := range args[min(1, len(args)):] {
		if a == "--" {
			return false
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsAny(a[1:], "rRx") {
			return true
		}
	}
	return false
}

// nodeHost is the host of an ARI URL ("" when it has none).
func nodeHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// isLocalHost reports whether host names this machine: localhost, a
// loopback address, this host's name or one of its interface addresses.
// Other names are not resolved: the tool does not wait on DNS to decide
// whether to report a figure.
func isLocalHost(host string) bool {
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if h, err := os.Hostname(); err == nil && strings.EqualFold(host, h) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// CPUUse is one process's CPU over a run: from just before the first call
// was placed until the last call ended (Summary.Elapsed).
type CPUUse struct {
	// Measured is false when the process could not be read; Reason says
	// why, and the figures are zero.
	Measured bool   `json:"measured"`
	Reason   string `json:"reason,omitempty"`
	PID      int    `json:"pid,omitempty"`
	// CPU is the user plus system time used over Seconds of wall time.
	CPU     float64 `json:"cpu_ms"`
	Seconds float64 `json:"seconds"`
	// PerSec is CPU over Seconds: 1,000 ms/s is one core busy.
	PerSec float64 `json:"cpu_ms_per_s"`
	// MeanLive is the mean number of calls in progress over the same span
	// (sampled every 100 ms), and PerLiveCall is PerSec over it.
	MeanLive    float64 `json:"mean_live_calls"`
	PerLiveCall float64 `json:"cpu_ms_per_s_per_live_call"`
	// MeanInAsterisk is the mean number of the run's calls that Asterisk
	// carried, in the IVR or handed on to the dialplan (sampled over ARI,
	// Options.CallsInAsterisk), and PerCallInAsterisk is PerSec over it;
	// both 0 when not sampled.
	MeanInAsterisk    float64 `json:"mean_calls_in_asterisk,omitempty"`
	PerCallInAsterisk float64 `json:"cpu_ms_per_s_per_call_in_asterisk,omitempty"`
	// InAsteriskNote says why the calls in Asterisk were not counted, when
	// no count succeeded.
	InAsteriskNote string `json:"calls_in_asterisk_note,omitempty"`
}

// withInAsterisk adds the per-call figure over the calls Asterisk carried
// (mean 0: none counted, err the last failure if any).
func (u *CPUUse) withInAsterisk(mean float64, err error) {
	if !u.Measured {
		return
	}
	if mean <= 0 {
		if err != nil {
			u.InAsteriskNote = fmt.Sprintf("calls in Asterisk not counted: %v", err)
		}
		return
	}
	u.MeanInAsterisk = round3(mean)
	u.PerCallInAsterisk = round3(u.PerSec / mean)
}

// cpuMeter measures one CPUSource over a run.
type cpuMeter struct {
	src     CPUSource
	start   time.Time
	startAt procStat
	err     error // the first read failed
}

// startCPU takes the first reading; a source with a Reason is not read.
func startCPU(src CPUSource) *cpuMeter {
	m := &cpuMeter{src: src, start: time.Now()}
	if src.Dir != "" {
		m.startAt, m.err = src.read()
	}
	return m
}

// finish takes the last reading and works out the use with the run's mean
// live calls.
func (m *cpuMeter) finish(meanLive float64) *CPUUse {
	if m.src.Dir == "" {
		return &CPUUse{Reason: m.src.Reason, PID: m.src.PID}
	}
	end, err := m.src.read()
	if err == nil {
		err = m.err
	}
	if err == nil && end.Comm != m.startAt.Comm {
		err = fmt.Errorf("process %d is now %q, was %q", m.src.PID, end.Comm, m.startAt.Comm)
	}
	if err != nil {
		who := "this process"
		if m.src.PID > 0 {
			who = fmt.Sprintf("process %d", m.src.PID)
		}
		return &CPUUse{PID: m.src.PID, Reason: fmt.Sprintf("CPU not measured: %s could not be read at the start and end of the run (%v)", who, err)}
	}
	return cpuUse(m.src.PID, m.startAt.CPU, end.CPU, time.Since(m.start), meanLive)
}

// cpuUse works out a process's use from its CPU time at both ends of a
// span of wall time and the mean live calls over it. A CPU time that went
// backwards (a restarted process under the same pid) is reported as not
// measured.
func cpuUse(pid int, from, to, wall time.Duration, meanLive float64) *CPUUse {
	if to < from {
		return &CPUUse{PID: pid, Reason: fmt.Sprintf("CPU not measured: process %d's CPU time went back from %s to %s (restarted?)", pid, from, to)}
	}
	u := &CPUUse{
		Measured: true, PID: pid,
		CPU: ms(to - from), Seconds: round3(wall.Seconds()), MeanLive: round3(meanLive),
	}
	if wall > 0 {
		u.PerSec = round3(float64(to-from) / 1e6 / wall.Seconds())
	}
	if meanLive > 0 {
		u.PerLiveCall = round3(u.PerSec / meanLive)
	}
	return u
}

func round3(f float64) float64 { return math.Round(f*1e3) / 1e3 }

// text is the one-line account of the use, for the summary.
func (u *CPUUse) text() string {
	if !u.Measured {
		return u.Reason
	}
	s := fmt.Sprintf("%.0f ms/s over %.1f s (%.2f cores)", u.PerSec, u.Seconds, u.PerSec/1e3)
	if u.MeanLive > 0 {
		s += fmt.Sprintf(", %.2f ms/s per live call (%.1f live on average)", u.PerLiveCall, u.MeanLive)
	}
	if u.InAsteriskNote != "" {
		s += "; " + u.InAsteriskNote
	}
	if u.MeanInAsterisk > 0 {
		s += fmt.Sprintf(";\n             %.2f ms/s per call in Asterisk (%.1f on average, in the IVR or handed on to the dialplan)",
			u.PerCallInAsterisk, u.MeanInAsterisk)
	}
	return s
}
