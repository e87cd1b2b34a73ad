package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Arguments are checked before anything connects: with no NATS anywhere,
// each mistake is reported at once and names what was wrong.
func TestAdminArgumentsCheckedFirst(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_BLOCKLIST_ALLOWLIST", "0811000111")
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t))
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("number,until,reason\n0812-3456-7890,7d,ok\nabc,7d,typo\n0813 1111 2222,yesterday,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte("0812-3456-7890,7d,threats\n+62 813 1111 2222,2h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"check garbage", []string{"blocklist", "check", "abc"}, 1, []string{`invalid phone number "abc"`, "0812-3456-7890"}},
		{"rm unquoted spaces", []string{"blocklist", "rm", "0812", "3456", "7890"}, 1,
			[]string{`a number with spaces must be quoted, e.g. siaga112 blocklist rm "0812 3456 7890"`}},
		{"remove alias", []string{"blocklist", "remove", "0812", "3456", "7890"}, 1, []string{"must be quoted"}},
		{"check two words", []string{"blocklist", "check", "call", "me"}, 1, []string{"takes one NUMBER, got 2 arguments (call me)"}},
		{"add garbage", []string{"blocklist", "add", "0812x"}, 1, []string{`invalid phone number "0812x"`}},
		{"add withheld", []string{"blocklist", "add", "anonymous"}, 1, []string{"withheld"}},
		{"add bad length", []string{"blocklist", "add", "0812-3456-7890", "--for", "soon"}, 1, []string{`--for: invalid duration "soon"`}},
		{"add no number", []string{"blocklist", "add"}, 1, []string{"needs a NUMBER"}},
		{"add long reason", []string{"blocklist", "add", "0812-3456-7890", "--reason", strings.Repeat("r", 329)}, 1,
			[]string{"--reason: invalid block reason: 329 characters (at most 200)"}},
		{"verdict bad word", []string{"verdict", "c1", "maybe"}, 1, []string{`not "maybe"`}},
		{"import bad rows", []string{"blocklist", "import", bad}, 1,
			[]string{"2 bad row(s), nothing imported", `line 3: invalid phone number "abc"`, `line 4: until "yesterday"`}},
		{"import dry run", []string{"blocklist", "import", "--dry-run", good}, 0,
			[]string{"+6281234567890", "(7 days)", "threats", "+6281311112222", "dry run: 2 rows are good; nothing imported"}},
		{"check withheld", []string{"blocklist", "check", "withheld"}, 0, []string{"never blocked"}},
		{"check allowlisted", []string{"blocklist", "check", "0811-000-111"}, 0, []string{"+62811000111 is on the allowlist"}},
		{"unknown sub-command", []string{"blocklist", "lsit"}, 1, []string{`unknown command "lsit"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, _, code, err := execute(t, tc.args...)
			took := time.Since(start)
			text := out
			if err != nil {
				text += err.Error()
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d; output %q", code, err, tc.wantCode, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Fatalf("output %q lacks %q", text, w)
				}
			}
			if took > time.Second {
				t.Fatalf("took %s; a bad argument must be reported at once", took)
			}
		})
	}
}

// With nothing running, an admin command says at once where it looked and
// which flag to pass.
func TestAdminNoNATS(t *testing.T) {
	clearEnv(t)
	listen := closedAddr(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", listen)
	start := time.Now()
	_, stderr, code, err := execute(t, "blocklist", "ls")
	if code != 1 || err == nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	for _, w := range []string{"nats://" + listen, "nats.embedded.listen", "--nats-url nats://HOST:PORT", "siaga112 serve"} {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q lacks %q", err, w)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
	if stderr != "" {
		t.Fatalf("stderr %q", stderr)
	}
	url := "nats://" + closedAddr(t)
	_, _, _, err = execute(t, "blocklist", "ls", "--nats-url", url)
	if err == nil || !strings.Contains(err.Error(), url+" (nats.url)") {
		t.Fatalf("--nats-url: %v", err)
	}
}

// startSystemNATS starts an embedded server, as a running serve or demo
// has: with its login (the credentials file in its data directory) and the
// event stream when asked. It returns the client URL and the data directory.
func startSystemNATS(t *testing.T, listen string, auth, withStream bool) (string, string) {
	t.Helper()
	dir := t.TempDir()
	emb, err := events.StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir, Auth: auth}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	if withStream {
		cfg := configs.NATS{URL: emb.ClientURL(), Stream: configs.Default().NATS.Stream, Embedded: configs.Embedded{DataDir: dir}}
		bus, err := events.Open(context.Background(), cfg, events.OpenOptions{Name: "test", RequireStream: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		bus.Close()
	}
	return emb.ClientURL(), dir
}

// The admin commands find the running system without flags: at
// nats.embedded.listen (logging in with the credentials of
// nats.embedded.data_dir), else where a demo left its address and data
// directory; a NATS that is not siaga112's is passed over.
func TestAdminFindsRunningSystem(t *testing.T) {
	clearEnv(t)
	t.Run("serve at nats.embedded.listen", func(t *testing.T) {
		listen := closedAddr(t)
		_, dir := startSystemNATS(t, listen, true, true)
		t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", listen)
		t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", dir)
		out, stderr, code, err := execute(t, "blocklist", "add", "0812-3456-7890", "--for", "7d")
		if code != 0 {
			t.Fatalf("exit %d %v; stderr %q", code, err, stderr)
		}
		// Quiet: the answer on stdout, nothing on stderr at the default
		// log level (no NATS chatter, no ARI password warning).
		if !strings.HasPrefix(out, "+6281234567890 blocked until ") || !strings.HasSuffix(out, " (7 days left)\n") || strings.Count(out, "\n") != 1 {
			t.Fatalf("stdout %q", out)
		}
		if stderr != "" {
			t.Fatalf("stderr %q", stderr)
		}
	})
	t.Run("demo elsewhere, another NATS on the default address", func(t *testing.T) {
		listen := closedAddr(t)
		startSystemNATS(t, listen, false, false) // not siaga112's: no stream
		demoURL, demoDir := startSystemNATS(t, "127.0.0.1:0", true, true)
		t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", listen)
		if _, err := writeDemoInfo(demoURLFile(testRunDir(t)), demoInfo{URL: demoURL, DataDir: demoDir, PID: os.Getpid()}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, stderr, code, err := execute(t, "blocklist", "ls")
		if code != 0 || out != "no number is blocked\n" {
			t.Fatalf("exit %d %v; stdout %q; stderr %q", code, err, out, stderr)
		}
		if !strings.Contains(stderr, "using the running demo's NATS at "+demoURL) {
			t.Fatalf("stderr %q", stderr)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %s", took)
		}
		// --nats-url of the demo, as its banner says when it could not
		// take the default address, logs in with the demo's credentials.
		if out, _, code, err := execute(t, "blocklist", "ls", "--nats-url", demoURL); code != 0 || out != "no number is blocked\n" {
			t.Fatalf("--nats-url: exit %d %v; stdout %q", code, err, out)
		}
	})
	t.Run("a server that refuses the login", func(t *testing.T) {
		listen := closedAddr(t)
		startSystemNATS(t, listen, true, true)
		t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", listen)
		t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", t.TempDir()) // no credentials file
		start := time.Now()
		_, _, code, err := execute(t, "blocklist", "ls")
		took := time.Since(start)
		if code != 1 || err == nil || !strings.Contains(err.Error(), "nats://"+listen) || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("exit %d, %v", code, err)
		}
		if took > 3*time.Second || !strings.Contains(err.Error(), "SIAGA112_NATS_EMBEDDED_DATA_DIR") {
			t.Fatalf("a refused login took %s to report, or gave no hint: %v", took, err)
		}
		t.Logf("refused login reported in %s: %v", took.Round(time.Millisecond), err)
	})
	t.Run("a file another user could write, or a dead demo's, is ignored", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "url")
		d := demoInfo{URL: "nats://127.0.0.1:4222", DataDir: "/tmp", PID: os.Getpid()}
		if _, err := writeDemoInfo(path, d); err != nil {
			t.Fatal(err)
		}
		if _, ok := readDemoInfo(path); !ok {
			t.Fatal("own file not read")
		}
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		if _, ok := readDemoInfo(path); ok {
			t.Fatal("read a world-writable file")
		}
		d.PID = 1 << 30 // no such process
		if _, err := writeDemoInfo(path, d); err != nil {
			t.Fatal(err)
		}
		if _, ok := readDemoInfo(path); ok {
			t.Fatal("read a dead demo's file")
		}
	})
}

// ls lists blocked numbers first, then by strikes, in the one vocabulary;
// --json gives the same, and list is an alias.
func TestBlocklistLsOrderAndJSON(t *testing.T) {
	_, js := blocklistNATS(t)
	t.Setenv("SIAGA112_LOG_LEVEL", "info")
	mustRun(t, "blocklist", "add", "+6281100000001", "--for", "2h")
	mustRun(t, "blocklist", "add", "+6281100000002", "--for", "7d", "--reason", "threats")
	// Strikes come from the worker; apply them as it would, through the store.
	kv, err := blocklist.OpenBucket(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := blocklist.NewPolicy(configs.Default().Blocklist)
	if err != nil {
		t.Fatal(err)
	}
	store := blocklist.NewStore(kv, p, nil)
	for i, n := range []string{"+6281100000003", "+6281100000004", "+6281100000004"} {
		ev := blocklist.Event{ID: "e" + string(rune('0'+i)), CallID: "c" + string(rune('0'+i)), At: time.Now()}
		if _, _, err := store.Update(context.Background(), n, func(r blocklist.Record) (blocklist.Record, blocklist.Decision, error) {
			r, d := p.ApplyOutcome(r, ev, events.OutcomeNoInput, 20*time.Second, events.HangupBySystem)
			return r, d, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// By default only the blocked numbers, and a count of the others.
	out, stderr, code, err := execute(t, "blocklist", "list")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d %v; stderr %q", code, err, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || lines[3] != "2 more numbers have strikes but no block (blocklist ls --all lists them)" ||
		!strings.Contains(lines[1], " WITA (") {
		t.Fatalf("ls:\n%s", out)
	}
	out, stderr, code, err = execute(t, "blocklist", "list", "--all")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d %v; stderr %q", code, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "NUMBER") || !strings.Contains(lines[0], "STRIKES") || strings.Contains(strings.ToLower(out), "point") {
		t.Fatalf("ls:\n%s", out)
	}
	order := []string{"+6281100000002", "+6281100000001", "+6281100000004", "+6281100000003"}
	for i, n := range order {
		if !strings.HasPrefix(lines[i+1], n) {
			t.Fatalf("line %d is %q, want %s first; ls:\n%s", i+1, lines[i+1], n, out)
		}
	}
	if !strings.Contains(lines[1], "(7 days left)") || !strings.Contains(lines[3], "2 of 3") {
		t.Fatalf("ls:\n%s", out)
	}

	var got []numberJSON
	if err := json.Unmarshal([]byte(mustRun(t, "blocklist", "ls", "--json", "--blocked")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Number != order[0] || !got[0].Blocked || got[0].Until == nil || got[1].Number != order[1] {
		t.Fatalf("json %+v", got)
	}
	var one numberJSON
	if err := json.Unmarshal([]byte(mustRun(t, "blocklist", "check", "0811-0000-0004", "--json")), &one); err != nil {
		t.Fatal(err)
	}
	if one.Strikes != 2 || one.Threshold != 3 || len(one.StrikeList) != 2 || one.Blocked {
		t.Fatalf("check json %+v", one)
	}
}

// export then import on a fresh store gives the same list; a file with one
// bad row imports nothing and names the row.
func TestBlocklistExportImport(t *testing.T) {
	blocklistNATS(t)
	mustRun(t, "blocklist", "add", "0812-3456-7890", "--for", "7d", "--reason", "threats, twice")
	mustRun(t, "blocklist", "add", "+1 202 555 0143", "--for", "90m")
	exported := mustRun(t, "blocklist", "export")
	if lines := strings.Split(strings.TrimSpace(exported), "\n"); len(lines) != 3 || lines[0] != "number,until,reason" ||
		!strings.HasPrefix(lines[1], "+6281234567890,") || !strings.HasSuffix(lines[1], `,"threats, twice"`) {
		t.Fatalf("export:\n%s", exported)
	}
	file := filepath.Join(t.TempDir(), "blocked.csv")
	if err := os.WriteFile(file, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}

	// A fresh system.
	blocklistNATS(t)
	badFile := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badFile, []byte(exported+"0812-345x,1d,typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, code, err := execute(t, "blocklist", "import", badFile)
	if code != 1 || err == nil || !strings.Contains(err.Error(), `line 4: invalid phone number "0812-345x"`) || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("bad file: exit %d %v", code, err)
	}
	if out := mustRun(t, "blocklist", "ls", "--all"); out != "no number is blocked or has strikes\n" {
		t.Fatalf("a refused import wrote:\n%s", out)
	}
	if out := mustRun(t, "blocklist", "import", file); out != "imported 2 blocks from "+file+"\n" {
		t.Fatalf("import: %q", out)
	}
	if again := mustRun(t, "blocklist", "export"); again != exported {
		t.Fatalf("export after import:\n%s\nwant:\n%s", again, exported)
	}
}
