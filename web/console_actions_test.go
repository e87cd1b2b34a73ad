package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// TestTickAndTakeNeedAPublisher: a console built without a way to publish
// events refuses a call-back tick and a take (503, in the page's
// language) instead of saying it recorded what nobody else will ever see:
// two colleagues would call the same caller back, or none would.
func TestTickAndTakeNeedAPublisher(t *testing.T) {
	c, h := testConsole(t, ConsoleOptions{Admin: &fakeAdmin{}, DefaultCountry: "ID"})
	sup := signedIn(t, c, h, testSup, testSupPass)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/console/calls/c-1/handled?lang=id", url.Values{"action": {events.HandledCalledBack}, "back": {"/"}}},
		{"/console/calls/c-1/take?lang=id", url.Values{"back": {"/"}}},
	} {
		w := sup.do("POST", tc.path, tc.form)
		body := visibleText(w.Body.String())
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, "Tidak ada yang tersimpan") {
			t.Errorf("%s: %d %.300q, want 503 saying nothing was saved", tc.path, w.Code, body)
		}
	}
}

// TestIncidentDefaultLengthParses: the length the incident form starts
// with, in each language, is one the form accepts (a default the parser
// refused would turn the first start of a shift into an error).
func TestIncidentDefaultLengthParses(t *testing.T) {
	for _, lang := range []string{LangID, LangEN} {
		typed := text(lang, "incident.for.default")
		d, err := blocklist.ParseLength(typed)
		if err != nil || d != 2*time.Hour {
			t.Errorf("%s: %q reads as %s (%v), want 2h", lang, typed, d, err)
		}
	}
}
