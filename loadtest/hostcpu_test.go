package loadtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statLine builds /proc/<pid>/stat content in the kernel's layout: pid,
// (comm), then 50 fields from the state on, with utime and stime where
// proc(5) puts them (fields 14 and 15) and decoys around them.
func statLine(pid int, comm string, utime, stime uint64) string {
	f := make([]string, 50)
	for i := range f {
		f[i] = strconv.Itoa(900 + i) // decoys: any misplaced index gives a wrong figure
	}
	f[0] = "S"
	f[11], f[12] = strconv.FormatUint(utime, 10), strconv.FormatUint(stime, 10)
	return strconv.Itoa(pid) + " (" + comm + ") " + strings.Join(f, " ") + "\n"
}

func TestParseProcStat(t *testing.T) {
	// A real line of an Asterisk 22.10.1 daemon, as the kernel wrote it:
	// utime 7158, stime 2291 ticks.
	real := "12345 (asterisk) S 1 12344 12344 0 -1 4194560 25107 0 12 0 7158 2291 0 0 20 0 70 0 4242 " +
		"2101784576 21760 18446744073709551615 1 1 0 0 0 0 0 4097 1536 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	tests := []struct {
		name    string
		in      string
		comm    string
		cpu     time.Duration
		wantErr bool
	}{
		{"asterisk daemon", real, "asterisk", 94490 * time.Millisecond, false},
		{"synthetic", statLine(7, "asterisk", 150, 50), "asterisk", 2 * time.Second, false},
		{"name with spaces", statLine(8, "Web Content", 1, 2), "Web Content", 30 * time.Millisecond, false},
		// A name may hold ") S 1 2 ..." itself: only the last ')' ends it.
		{"name with parens and fields", statLine(9, "x) S 1 2 3 4 5 6 7 8 9 10 11 12 (y", 10, 0), "x) S 1 2 3 4 5 6 7 8 9 10 11 12 (y", 100 * time.Millisecond, false},
		{"empty name", statLine(10, "", 0, 1), "", 10 * time.Millisecond, false},
		{"no parens", "12 asterisk S 1 2 3", "", 0, true},
		{"truncated after the name", "12 (asterisk) S 1 2 3 4 5 6 7 8 9 10", "", 0, true},
		{"utime not a number", strings.Replace(statLine(11, "a", 1, 2), " 1 2 ", " x 2 ", 1), "", 0, true},
		{"empty", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrProcStat) {
					t.Fatalf("parseProcStat = %+v, %v; want ErrProcStat", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Comm != tt.comm || got.CPU != tt.cpu {
				t.Fatalf("parseProcStat = %q %s, want %q %s", got.Comm, got.CPU, tt.comm, tt.cpu)
			}
		})
	}
}

func TestCPUUse(t *testing.T) {
	tests := []struct {
		name             string
		from, to, wall   time.Duration
		meanLive         float64
		measured         bool
		perSec, perCall  float64
		cpuMs, wallSecs  float64
		reasonContaining string
	}{
		{"100 calls, a fifth of a core", 10 * time.Second, 22 * time.Second, 60 * time.Second, 100, true, 200, 2, 12000, 60, ""},
		{"idle", 5 * time.Second, 5 * time.Second, 10 * time.Second, 50, true, 0, 0, 0, 10, ""},
		{"no live call", 0, time.Second, 10 * time.Second, 0, true, 100, 0, 1000, 10, ""},
		{"two cores", 0, 20 * time.Second, 10 * time.Second, 40, true, 2000, 50, 20000, 10, ""},
		{"clock went back", 20 * time.Second, 2 * time.Second, 10 * time.Second, 40, false, 0, 0, 0, 0, "went back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := cpuUse(42, tt.from, tt.to, tt.wall, tt.meanLive)
			if u.Measured != tt.measured || u.PerSec != tt.perSec || u.PerLiveCall != tt.perCall ||
				u.CPU != tt.cpuMs || u.Seconds != tt.wallSecs || u.PID != 42 {
				t.Fatalf("cpuUse = %+v", u)
			}
			if !strings.Contains(u.Reason, tt.reasonContaining) || (tt.measured && u.Reason != "") {
				t.Fatalf("reason %q, want it to contain %q", u.Reason, tt.reasonContaining)
			}
		})
	}
}

func TestIsRemoteConsole(t *testing.T) {
	tests := []struct {
		cmdline string
		remote  bool
	}{
		{"/opt/asterisk22/sbin/asterisk\x00", false},
		{"/usr/sbin/asterisk\x00-f\x00-U\x00asterisk\x00-G\x00asterisk\x00-vvvg\x00-c\x00", false},
		{"asterisk\x00-fvvv\x00", false},
		{"asterisk\x00-r\x00", true},
		{"asterisk\x00-rvvv\x00", true},
		{"asterisk\x00-rx\x00core show channels\x00", true},
		{"asterisk\x00-x\x00core show uptime\x00", true},
		{"asterisk\x00-R\x00", true},
		{"asterisk\x00-C\x00/etc/asterisk/asterisk.conf\x00-r\x00", true},
		// After "--" nothing is an option.
		{"asterisk\x00--\x00-r\x00", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.cmdline, "\x00", " "), func(t *testing.T) {
			if got := isRemoteConsole([]byte(tt.cmdline)); got != tt.remote {
				t.Fatalf("isRemoteConsole = %v, want %v", got, tt.remote)
			}
		})
	}
}

// fakeProc writes a /proc tree with the given processes (pid -> stat
// content, cmdline) under a temporary directory.
func fakeProc(t *testing.T, procs map[int][2]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(p[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(p[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Entries that are not processes, as in the real /proc.
	for _, name := range []string{"self", "net", "cpuinfo"} {
		if err := os.MkdirAll(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestAsteriskCPU(t *testing.T) {
	daemon := [2]string{statLine(300, "asterisk", 700, 300), "/opt/asterisk22/sbin/asterisk\x00-f\x00"}
	console := [2]string{statLine(400, "asterisk", 1, 1), "/opt/asterisk22/sbin/asterisk\x00-rvvv\x00"}
	other := [2]string{statLine(500, "siaga112", 600, 400), "siaga112\x00loadtest\x00"}
	tests := []struct {
		name    string
		procs   map[int][2]string
		url     string
		pid     int
		wantPID int
		reason  string
	}{
		{"daemon beside a console and others", map[int][2]string{300: daemon, 400: console, 500: other}, "http://127.0.0.1:8088", 0, 300, ""},
		{"localhost", map[int][2]string{300: daemon}, "http://localhost:8088/", 0, 300, ""},
		{"ipv6 loopback", map[int][2]string{300: daemon}, "http://[::1]:8088", 0, 300, ""},
		{"remote node", map[int][2]string{300: daemon}, "http://192.0.2.10:8088", 0, 0, "192.0.2.10) is not on this host"},
		{"remote by name", map[int][2]string{300: daemon}, "http://pbx.example.org:8088", 0, 0, "not on this host"},
		{"no asterisk", map[int][2]string{400: console, 500: other}, "http://127.0.0.1:8088", 0, 0, "no asterisk process"},
		{"two daemons", map[int][2]string{300: daemon, 301: daemon}, "http://127.0.0.1:8088", 0, 0, "2 asterisk processes on this host (300 301)"},
		{"pid given, remote node", map[int][2]string{500: other}, "http://192.0.2.10:8088", 500, 500, ""},
		{"pid given, not there", map[int][2]string{300: daemon}, "http://127.0.0.1:8088", 999, 999, "process 999 cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeProc(t, tt.procs)
			src := AsteriskCPU(root, tt.url, tt.pid)
			if src.PID != tt.wantPID || !strings.Contains(src.Reason, tt.reason) || (tt.reason == "") != (src.Dir != "") {
				t.Fatalf("AsteriskCPU = %+v, want pid %d, reason containing %q", src, tt.wantPID, tt.reason)
			}
			if src.Dir == "" {
				return
			}
			if st, err := src.read(); err != nil || st.CPU != 10*time.Second {
				t.Fatalf("read = %+v, %v; want 10s of CPU", st, err)
			}
		})
	}
	t.Run("no proc", func(t *testing.T) {
		src := AsteriskCPU(filepath.Join(t.TempDir(), "missing"), "http://127.0.0.1:8088", 0)
		if src.Dir != "" || !strings.Contains(src.Reason, "Asterisk CPU not measured") {
			t.Fatalf("AsteriskCPU = %+v", src)
		}
	})
}

// TestCPUMeter follows a fake process whose CPU time grows, one that
// disappears during the run, and one that could not be read at all.
func TestCPUMeter(t *testing.T) {
	root := fakeProc(t, map[int][2]string{300: {statLine(300, "asterisk", 1000, 500), ""}})
	stat := filepath.Join(root, "300", "stat")
	src := CPUSource{Dir: filepath.Join(root, "300"), PID: 300}

	m := startCPU(src)
	// 3 s of CPU more (200 + 100 ticks).
	if err := os.WriteFile(stat, []byte(statLine(300, "asterisk", 1200, 600)), 0o644); err != nil {
		t.Fatal(err)
	}
	u := m.finish(20)
	if !u.Measured || u.CPU != 3000 || u.MeanLive != 20 || u.PerSec <= 0 || u.PerLiveCall != round3(u.PerSec/20) {
		t.Fatalf("finish = %+v", u)
	}
	if txt := u.text(); !strings.Contains(txt, "ms/s per live call (20.0 live on average)") {
		t.Fatalf("text %q", txt)
	}

	m = startCPU(src)
	if err := os.Remove(stat); err != nil {
		t.Fatal(err)
	}
	if u := m.finish(20); u.Measured || !strings.Contains(u.Reason, "process 300 could not be read") {
		t.Fatalf("finish after the process ended = %+v", u)
	}

	u = startCPU(CPUSource{Reason: "Asterisk CPU not measured: remote"}).finish(20)
	if u.Measured || u.text() != "Asterisk CPU not measured: remote" {
		t.Fatalf("finish of an unreadable source = %+v", u)
	}
}

func TestSelfCPU(t *testing.T) {
	src := SelfCPU()
	if src.Dir == "" {
		t.Fatalf("SelfCPU: %s", src.Reason)
	}
	st, err := src.read()
	if err != nil || st.Comm == "" || st.CPU < 0 {
		t.Fatalf("read = %+v, %v", st, err)
	}
}

func TestWithInAsterisk(t *testing.T) {
	u := cpuUse(1, 0, 30*time.Second, 60*time.Second, 20) // 500 ms/s
	u.withInAsterisk(50, errors.New("ignored: some counts succeeded"))
	if u.MeanInAsterisk != 50 || u.PerCallInAsterisk != 10 || u.InAsteriskNote != "" {
		t.Fatalf("withInAsterisk = %+v", u)
	}
	if txt := u.text(); !strings.Contains(txt, "10.00 ms/s per call in Asterisk (50.0 on average") {
		t.Fatalf("text %q", txt)
	}
	u = cpuUse(1, 0, 30*time.Second, 60*time.Second, 20)
	u.withInAsterisk(0, errors.New("GET /channels: 401 Unauthorized"))
	if u.PerCallInAsterisk != 0 || !strings.Contains(u.text(), "calls in Asterisk not counted: GET /channels: 401") {
		t.Fatalf("withInAsterisk with no count = %+v", u)
	}
	u = &CPUUse{Reason: "remote"}
	u.withInAsterisk(50, nil)
	if u.MeanInAsterisk != 0 || u.text() != "remote" {
		t.Fatalf("withInAsterisk on an unmeasured use = %+v", u)
	}
}
