package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/testkit"
)

// warnSettings reports every risky setting except those of the parts a
// command replaces.
func TestWarnSettings(t *testing.T) {
	cfg := configs.Default() // the sample ARI password
	cfg.HTTP.Listen = "0.0.0.0:8112"
	tests := []struct {
		name          string
		skip          []string
		want, notWant []string
	}{
		{"nothing skipped", nil, []string{"ari.nodes[0].password", "http.listen"}, nil},
		{"sim replaces the nodes", []string{"ari.nodes"}, []string{"http.listen"}, []string{"ari.nodes"}},
		{"no listener, no nodes", []string{"ari.nodes", "http."}, nil, []string{"ari.nodes", "http.listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnSettings(slog.New(slog.NewTextHandler(&buf, nil)), cfg, tt.skip...)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("no warning about %s:\n%s", w, buf.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(buf.String(), w) {
					t.Errorf("warning about %s:\n%s", w, buf.String())
				}
			}
		})
	}
}

// TestDemoBoundedFinish: silent callers last far longer than the demo's
// finish bound, so when --duration is over the demo says how many calls it
// is finishing, the IVR puts them through to operators, and the summary
// counts them as put through, with no error and no event lost. The built-in
// ARI node (with the sample password) is replaced by the simulated
// Asterisk, so it is not warned about.
func TestDemoBoundedFinish(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t)) // never the real 4222
	out, errOut, code, err := execute(t, "demo", "--duration", "1s", "--rate", "10", "--mix", "silent=1",
		"--clock-scale", "0.2", "--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id")
	if err != nil || code != 0 {
		t.Fatalf("demo: code %d, %v; stderr: %s; stdout: %s", code, err, errOut, out)
	}
	for _, want := range []string{"calls in progress (up to 5 s)", "put through to operators by the drain",
		"failover", " events, 0 lost; errors 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, configs.DefaultARIPassword) || strings.Contains(errOut, "ari.nodes") {
		t.Errorf("demo warned about the ARI nodes it does not use:\n%s", errOut)
	}
}

// The demo at default settings: the admin commands find it with no flags
// (its NATS is at nats.embedded.listen, here a free port rather than 4222
// so that the test cannot meet a real demo), and its first automatic block
// is in /api/blocklist?blocked=true within 35 s of the start and announced
// on its own line of the output.
func TestDemoFirstBlockAndAdmin(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t))
	runDir := testRunDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedWriter
	var wg sync.WaitGroup
	var runErr error
	start := time.Now()
	wg.Go(func() {
		a := newApp(&stdout, &stderr)
		a.search, a.runDir = []string{}, runDir
		root := newRootCmd(a)
		root.SetArgs([]string{"demo", "--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id"})
		runErr = root.ExecuteContext(ctx)
	})
	defer func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("demo: %v", runErr)
		}
		if _, err := os.Stat(demoURLFile(runDir)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the demo left %s behind: %v", demoURLFile(runDir), err)
		}
	}()
	dashboard := regexp.MustCompile(`dashboard: +(http://\S+)/\n`)
	var base string
	testkit.Eventually(t, 20*time.Second, "demo banner", func() bool {
		m := dashboard.FindStringSubmatch(stdout.String())
		if m != nil && strings.Contains(stdout.String(), "no flags needed") {
			base = m[1]
			return true
		}
		return false
	})

	lsStart := time.Now()
	out, errOut, code, err := execute(t, "blocklist", "ls")
	if took := time.Since(lsStart); code != 0 || took > 2*time.Second {
		t.Fatalf("blocklist ls beside the demo: exit %d %v in %s; stdout %q stderr %q", code, err, took, out, errOut)
	}
	t.Logf("blocklist ls answered in %s", time.Since(lsStart))

	// The mix may hold callers blocked by hand at the start; the block
	// looked for is the first one the policy set (set_by auto).
	var blockedAt time.Duration
	testkit.Eventually(t, 35*time.Second-time.Since(start), "an automatic block in /api/blocklist?blocked=true", func() bool {
		resp, err := http.Get(base + "/api/blocklist?blocked=true")
		if err != nil {
			return false
		}
		defer func() { _ = resp.Body.Close() }()
		var body struct {
			Entries []struct {
				SetBy string `json:"set_by"`
			}
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		for _, e := range body.Entries {
			if e.SetBy == blocklist.SetByAuto {
				blockedAt = time.Since(start)
				return true
			}
		}
		return false
	})
	t.Logf("first automatic block listed %s after the start", blockedAt.Round(100*time.Millisecond))
	testkit.Eventually(t, 5*time.Second, "the block announced", func() bool {
		return regexp.MustCompile(`(?m)^\d+ s  blocked \+62819\d+ until `).MatchString(stdout.String())
	})
	if errOut := stderr.String(); strings.Contains(errOut, "spooling") {
		t.Errorf("spool warnings on stderr:\n%s", errOut)
	}
}

// A notice clears the open progress line on a terminal, or ends it
// elsewhere, so that it is never written inside it.
func TestConsoleNotice(t *testing.T) {
	for _, tc := range []struct {
		tty  bool
		want string
	}{
		{true, "\r12 calls | live 3\r\x1b[Knote: spooling\n\r13 calls | live 2"},
		{false, "\r12 calls | live 3\nnote: spooling\n\r13 calls | live 2"},
	} {
		var buf bytes.Buffer
		c := newDemoConsole(&buf, tc.tty)
		p := c.Progress()
		_, _ = io.WriteString(p, "\r12 calls | live 3")
		c.Notice("note: %s", "spooling")
		_, _ = io.WriteString(p, "\r13 calls | live 2")
		if buf.String() != tc.want {
			t.Errorf("tty %v: %q, want %q", tc.tty, buf.String(), tc.want)
		}
	}
}

// One notice when spooling starts and one when the spool has stayed empty
// for spoolQuiet, with the count; short gaps are one busy period.
func TestSpoolWatch(t *testing.T) {
	var w spoolWatch
	t0 := time.Now()
	steps := []struct {
		at   time.Duration
		st   events.PublisherStats
		want string
	}{
		{0, events.PublisherStats{Published: 10}, ""},
		{time.Second, events.PublisherStats{Published: 12, Spooled: 2, SpoolBytes: 400}, "events wait in the disk spool"},
		{2 * time.Second, events.PublisherStats{Published: 12, Spooled: 5, Replayed: 5}, ""},
		{5 * time.Second, events.PublisherStats{Published: 12, Spooled: 5, Replayed: 5}, ""},
		{6 * time.Second, events.PublisherStats{Published: 12, Spooled: 9, Replayed: 5, SpoolBytes: 800}, ""},
		{7 * time.Second, events.PublisherStats{Published: 12, Spooled: 9, Replayed: 9}, ""},
		{16 * time.Second, events.PublisherStats{Published: 12, Spooled: 9, Replayed: 9}, ""},
		{18 * time.Second, events.PublisherStats{Published: 12, Spooled: 9, Replayed: 9}, "spool drained: 9 events went through it in 6s"},
		{19 * time.Second, events.PublisherStats{Published: 12, Spooled: 9, Replayed: 9}, ""},
	}
	for _, s := range steps {
		got := w.observe(s.st, 5*time.Millisecond, t0.Add(s.at))
		if (s.want == "") != (got == "") || !strings.Contains(got, s.want) {
			t.Fatalf("at %s: %q, want %q", s.at, got, s.want)
		}
	}
}

// A second demo on the run directory of a live one is refused with a
// message naming the first, and the first's discovery file is left as it
// was; two claims of one file are settled the same way, and a dead demo's
// file is taken over.
func TestDemoSecondOnSameRunDirRefused(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t))
	path := demoURLFile(testRunDir(t))
	first := demoInfo{URL: "nats://127.0.0.1:4999", DataDir: t.TempDir(), PID: os.Getpid()}
	removeFirst, err := writeDemoInfo(path, first)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code, err := execute(t, "demo", "--duration", "1s", "--rate", "10", "--mix", "silent=1",
		"--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id")
	if code == 0 || !errors.Is(err, errDemoRunning) || !strings.Contains(err.Error(), first.URL) ||
		!strings.Contains(err.Error(), fmt.Sprintf("pid %d", first.PID)) {
		t.Fatalf("second demo: exit %d, %v; stderr %s", code, err, errOut)
	}
	if cur, ok := readDemoInfo(path); !ok || cur != first {
		t.Fatalf("the refused demo changed the first's file: %+v %v", cur, ok)
	}

	second := demoInfo{URL: "nats://127.0.0.1:5000", DataDir: first.DataDir, PID: os.Getpid()}
	if _, err := writeDemoInfo(path, second); !errors.Is(err, errDemoRunning) {
		t.Fatalf("second claim: %v", err)
	}
	removeFirst()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the first demo's stop left its file: %v", err)
	}

	dead := demoInfo{URL: first.URL, DataDir: first.DataDir, PID: 1 << 30}
	if _, err := writeDemoInfo(path, dead); err != nil {
		t.Fatal(err)
	}
	removeSecond, err := writeDemoInfo(path, second)
	if err != nil {
		t.Fatalf("a dead demo's file was not taken over: %v", err)
	}
	defer removeSecond()
	if cur, ok := readDemoInfo(path); !ok || cur != second {
		t.Fatalf("after the take-over: %+v %v", cur, ok)
	}
}
