package web

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
)

// A removed account, or one whose role changed, is signed out within a
// second of the accounts file being saved, with no sign-in in between.
func TestAccountsFileChangeEndsSessions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch bool
	}{{"watched", true}, {"polled", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "accounts.yaml")
			if !tc.watch {
				// A directory that does not exist yet cannot be watched.
				file = filepath.Join(dir, "later", "accounts.yaml")
			}
			accs := testAccounts(t)
			if tc.watch {
				if err := accs.Save(file); err != nil {
					t.Fatal(err)
				}
			}
			c, h := testConsole(t, ConsoleOptions{Accounts: accs, AccountsFile: file})
			if !tc.watch {
				if err := accs.Save(file); err != nil {
					t.Fatal(err)
				}
			}
			sup := signedIn(t, c, h, testSup, testSupPass)
			op := signedIn(t, c, h, testOp, testOpPass)
			signedInNow := func(b *browserAt) bool {
				// Without a blocklist the page answers 503 to a session and
				// sends anybody else to sign in.
				return b.do("GET", "/console/blocks", nil).Code != http.StatusSeeOther
			}
			if !signedInNow(sup) || !signedInNow(op) {
				t.Fatal("not signed in")
			}

			start := time.Now()
			if err := accs.Remove(testOp); err != nil {
				t.Fatal(err)
			}
			if err := accs.Save(file); err != nil {
				t.Fatal(err)
			}
			for signedInNow(op) {
				if time.Since(start) > time.Second {
					t.Fatal("the removed account's session still works a second after the save")
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("removed account signed out %s after the save", time.Since(start).Round(time.Millisecond))
			if !signedInNow(sup) {
				t.Fatal("an unchanged account was signed out")
			}

			acc, _ := accs.Find(testSup)
			acc.Role = console.RoleOperator
			if err := accs.Set(acc); err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			if err := accs.Save(file); err != nil {
				t.Fatal(err)
			}
			for signedInNow(sup) {
				if time.Since(start) > time.Second {
					t.Fatal("the session of a changed role still works a second after the save")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
