package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNewSharesSignIn: New builds the board, the console and the API over
// one auth check, so a person who signed in at the console is signed in on
// the board (its console bar names them, and a supervisor sees whole
// numbers), and the admin token counts on every part.
func TestNewSharesSignIn(t *testing.T) {
	agg := demoAggregator(t)
	srv, err := New(Options{
		AdminToken: testToken, Language: LangEN,
		Aggregator: agg, Board: BoardConfig{Now: func() time.Time { return demoDay.Add(10*time.Hour + 30*time.Minute) }},
		Console: &ConsoleOptions{Accounts: testAccounts(t), Records: fakeRecords{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	srv.Register(mux)

	board := func(hdr ...string) string {
		req := httptest.NewRequest("GET", "/?range=today", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("board: %d", w.Code)
		}
		return w.Body.String()
	}
	whole := displayNumber("+6281234500003") // one of the demo's callers, as people read it
	const masked, signed = "****0003", "Signed in as siti"
	if body := board(); strings.Contains(body, signed) || strings.Contains(body, whole) || !strings.Contains(body, masked) || !strings.Contains(body, `data-testid="signin"`) {
		t.Fatalf("nobody signed in: the board names someone or shows a whole number")
	}
	w := post(mux, "/login", "10.0.0.5", signInForm(testSup, testSupPass))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", w.Code)
	}
	ck := w.Result().Cookies()[0]
	body := board("Cookie", ck.Name+"="+ck.Value)
	if !strings.Contains(body, signed) || strings.Contains(body, `data-testid="signin"`) || !strings.Contains(body, whole) || strings.Contains(body, masked) {
		t.Errorf("signed in at the console, the board does not know it (or hides the whole numbers from a supervisor)")
	}
	if body := board("Authorization", "Bearer "+testToken); !strings.Contains(body, whole) {
		t.Errorf("the admin token does not unmask the board")
	}
}

// TestConsoleLanguageByQValue: the console's pages choose their language
// with the board's negotiator, by Accept-Language's q-values, not by the
// order the header happens to list them in.
func TestConsoleLanguageByQValue(t *testing.T) {
	_, h := testConsole(t, ConsoleOptions{Language: LangID})
	for _, tc := range []struct{ accept, want string }{
		{"id;q=0.2, en;q=0.9", `<html lang="en">`},
		{"en;q=0.1, id", `<html lang="id">`},
		{"fr, en-GB;q=0.5", `<html lang="en">`},
		{"", `<html lang="id">`},
	} {
		req := httptest.NewRequest("GET", "/login", nil)
		req.Header.Set("Accept-Language", tc.accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("Accept-Language %q: page is not %s", tc.accept, tc.want)
		}
	}
}
