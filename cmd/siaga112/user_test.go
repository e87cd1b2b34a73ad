package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserChangesSayTheyApplyLive: a running serve reads the accounts file
// again when it changes, so the commands that change it do not tell the
// administrator to restart serve (which would cut calls).
func TestUserChangesSayTheyApplyLive(t *testing.T) {
	clearEnv(t)
	accounts := filepath.Join(t.TempDir(), "accounts.yaml")
	run := func(stdin string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		a := newApp(&out, &errOut)
		a.search = []string{}
		a.runDir = testRunDir(t)
		a.stdin = strings.NewReader(stdin)
		root := newRootCmd(a)
		root.SetArgs(append(args, "--accounts", accounts))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	for _, tt := range []struct {
		stdin string
		args  []string
	}{
		{"a-long-password-1\n", []string{"user", "add", "siti", "--role", "supervisor"}},
		{"a-long-password-2\n", []string{"user", "passwd", "siti"}},
		{"", []string{"user", "rm", "siti"}},
	} {
		out := run(tt.stdin, tt.args...)
		if strings.Contains(out, "restart") && !strings.Contains(out, "without a restart") || !strings.Contains(out, "applies without a restart") {
			t.Fatalf("%v said %q, want it to apply without a restart", tt.args, out)
		}
	}
}

// TestUserAddDoesNotReplaceSilently: a second `user add` for a name that
// exists changes nothing unless --replace says so.
func TestUserAddDoesNotReplaceSilently(t *testing.T) {
	clearEnv(t)
	accounts := filepath.Join(t.TempDir(), "accounts.yaml")
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		a := newApp(&out, &errOut)
		a.search = []string{}
		a.runDir = testRunDir(t)
		a.stdin = strings.NewReader(stdin)
		root := newRootCmd(a)
		root.SetArgs(append(args, "--accounts", accounts))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	if _, err := run("a-long-password-1\n", "user", "add", "siti", "--role", "supervisor"); err != nil {
		t.Fatal(err)
	}
	_, err := run("another-password-2\n", "user", "add", "siti", "--role", "operator")
	if err == nil || !strings.Contains(err.Error(), "account siti exists (supervisor); nothing changed") || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("second add: %v", err)
	}
	if out, err := run("", "user", "ls", "--json"); err != nil || !strings.Contains(out, `"supervisor"`) || strings.Contains(out, `"operator"`) {
		t.Fatalf("after the refused add: %q %v", out, err)
	}
	if out, err := run("another-password-2\n", "user", "add", "siti", "--role", "operator", "--replace"); err != nil || !strings.HasPrefix(out, "updated siti (operator)") {
		t.Fatalf("--replace: %q %v", out, err)
	}
}
