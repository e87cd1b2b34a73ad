package console

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAccountsSaveLoadCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "accounts.yaml")
	accs, err := LoadAccounts(path)
	if err != nil || accs.Len() != 0 {
		t.Fatalf("missing file: %v, %d accounts; want an empty list", err, accs.Len())
	}
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "horse") {
		t.Fatal("hash contains the password")
	}
	if err := accs.Set(Account{Name: "siti", Role: RoleSupervisor, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := accs.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("saved file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	again, err := LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Check("siti", "correct horse battery"); !ok {
		t.Error("right password refused")
	}
	for _, tc := range []struct{ name, pw string }{{"siti", "wrong horse battery"}, {"nobody", "correct horse battery"}, {"siti", ""}} {
		if _, ok := again.Check(tc.name, tc.pw); ok {
			t.Errorf("Check(%q, %q) accepted", tc.name, tc.pw)
		}
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAccounts(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable file: err %v, want a chmod hint", err)
	}
}

func TestAccountsRejectBadInput(t *testing.T) {
	if _, err := HashPassword("short"); !errors.Is(err, ErrWeak) {
		t.Errorf("short password: %v", err)
	}
	for _, n := range []string{"", "A", "Siti", "1abc", "a b", strings.Repeat("a", 40), "siti;rm"} {
		if CheckName(n) == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if CheckRole("admin") == nil {
		t.Error("role admin accepted")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": "accounts:\n  - name: siti\n    role: supervisor\n    password: plain\n",
		"not a hash":  "accounts:\n  - name: siti\n    role: supervisor\n    password_hash: plain\n",
		"twice":       "accounts:\n  - {name: siti, role: operator, password_hash: $2a$12$SBBsBzbHG8eIegYU5puLIOnF3wiznO.Mdtlc.ZxLRAe7vP16XGyha}\n  - {name: siti, role: operator, password_hash: $2a$12$SBBsBzbHG8eIegYU5puLIOnF3wiznO.Mdtlc.ZxLRAe7vP16XGyha}\n",
		"bad role":    "accounts:\n  - {name: siti, role: boss, password_hash: $2a$12$SBBsBzbHG8eIegYU5puLIOnF3wiznO.Mdtlc.ZxLRAe7vP16XGyha}\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAccounts(p); err == nil {
			t.Errorf("%s: loaded", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}
