package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingListener accepts TCP connections on loopback, counts them and
// closes them at once; it stands for a stranger's program that a planted
// config file points the admin commands at.
func countingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String(), &n
}

// TestAdminIgnoresWorkingDirConfig: a siaga112.yaml left in the directory
// an administrator runs blocklist, verdict or user in does not steer them
// (neither to a stranger's NATS nor to another accounts file); named with
// --config it is read.
func TestAdminIgnoresWorkingDirConfig(t *testing.T) {
	clearEnv(t)
	if _, err := os.Stat("/etc/siaga112/siaga112.yaml"); err == nil {
		t.Fatal("this machine has /etc/siaga112/siaga112.yaml, which the admin commands read: the test needs a machine without it")
	}
	stranger, accepted := countingListener(t)
	dir := t.TempDir()
	accounts := filepath.Join(dir, "planted-accounts.yaml")
	if err := os.WriteFile(accounts, []byte("accounts:\n  - name: mallory\n    role: supervisor\n    hash: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	planted := "nats:\n  url: nats://" + stranger + "\nhttp:\n  accounts_file: " + accounts + "\n"
	if err := os.WriteFile(filepath.Join(dir, "siaga112.yaml"), []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	// Where a running siaga112 would be: nothing listens there.
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t))
	t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", t.TempDir())

	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		a := newApp(&out, &errOut)
		// The real search list: a.search stays nil.
		a.runDir = testRunDir(t)
		root := newRootCmd(a)
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		return out.String() + errOut.String(), err
	}
	for _, args := range [][]string{{"blocklist", "ls"}, {"verdict", "call-1", "prank"}} {
		if _, err := run(args...); err == nil || strings.Contains(err.Error(), stranger) {
			t.Fatalf("%v: %v, want no NATS found and no word of the planted URL", args, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the planted nats.url was connected to %d times", n)
	}
	if out, _ := run("user", "ls"); strings.Contains(out, "mallory") {
		t.Fatalf("user ls read the planted accounts file:\n%s", out)
	}

	// Named, the file is read: the command goes where it says.
	_, _ = run("blocklist", "ls", "--config", "siaga112.yaml")
	if accepted.Load() == 0 {
		t.Fatal("--config siaga112.yaml was not read")
	}
}
