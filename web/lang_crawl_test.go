package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// tellTales are words that only the other language writes: an English one
// on an Indonesian page (or the reverse) is text that missed the
// catalogue. Each is chosen so it cannot be an ordinary word of the
// page's own language; emergency type codes are here because a type shown
// as its configuration code ("fire") is the commonest such miss.
var tellTales = map[string][]string{
	LangID: {"the", "and", "call", "calls", "blocked", "strike", "strikes", "prank", "operator", "operators",
		"invalid", "want", "error", "failed", "please", "not", "is", "number", "fire", "police", "medical",
		"handled", "supervisor's", "required", "deadline", "exceeded", "timeout", "connection", "closed", "responders"},
	LangEN: {"panggilan", "petugas", "diblokir", "dan", "yang", "untuk", "tidak", "atau", "iseng", "asli",
		"nomor", "gagal", "kebakaran", "polisi"},
}

// hiddenParts and tags are what a reader never sees as text: scripts,
// styles and comments whole, and every tag with its attributes (class
// names, data-* values and URLs are code, not words).
var (
	hiddenParts = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->`)
	tags        = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText is the text of an HTML page as a reader sees it.
func visibleText(page string) string {
	s := hiddenParts.ReplaceAllString(page, " ")
	return html.UnescapeString(tags.ReplaceAllString(s, " "))
}

// foreignWords lists the tell-tale words of the language other than lang
// found in text, each with a little of the text around it.
// codeWord is an identifier of the code shown to people: a word with an
// underscore.
var codeWord = regexp.MustCompile(`\b[a-z]+(_[a-z]+)+\b`)

func foreignWords(lang, text string) []string {
	bad := map[string]bool{}
	for _, w := range tellTales[lang] {
		bad[w] = true
	}
	var found []string
	// A code (no_input, blocked_override) is no word of either language.
	for _, c := range codeWord.FindAllString(text, -1) {
		found = append(found, "code "+c)
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' && r != '’' })
	for i, w := range words {
		if bad[strings.ToLower(w)] {
			lo, hi := max(0, i-4), min(len(words), i+5)
			found = append(found, w+" in “"+strings.Join(words[lo:hi], " ")+"”")
		}
	}
	return found
}

// TestPagesSpeakOneLanguage walks the board and every console page, as
// nobody, an operator and a supervisor, with every console form's refusal,
// in both languages, and finds no word of the other language in what a
// reader sees.
func TestPagesSpeakOneLanguage(t *testing.T) {
	const number = "+6281234500003" // one of the demo's callers
	now := demoDay.Add(10*time.Hour + 30*time.Minute)
	agg := demoAggregator(t)
	// Callers put through without choosing a type carry their outcome as
	// the type (call.transferred's emergency_type), as the IVR publishes.
	var typed []events.Envelope
	for i, o := range []events.Outcome{events.OutcomeVoice, events.OutcomeSilentHelp, events.OutcomeBlockedOverride, events.OutcomeFailover} {
		typed = append(typed, callEvents(t, callSpec{id: fmt.Sprintf("typed-%d", i), number: fmt.Sprintf("+628127770%04d", i),
			at: now.Add(-time.Duration(i+5) * time.Minute), outcome: o, typ: string(o), ttc: 3, transfer: true})...)
	}
	applyAll(t, agg, typed)
	adm := &fakeAdmin{block: func(raw, reason string) (blocklist.Record, error) {
		t.Errorf("a refused block reached the blocklist")
		return blocklist.Record{}, nil
	}}
	playing, err := incident.New("Banjir Loktuan", "sound:siaga112/incident-flood", time.Hour, testSup, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{
		Language: LangID, Aggregator: agg,
		Board: BoardConfig{Title: "Bontang Siaga 112", Now: func() time.Time { return now },
			Incidents: playingFunc(func(context.Context) (incident.Incident, bool) { return playing, true })},
		Console: &ConsoleOptions{Accounts: testAccounts(t), Admin: adm, Publisher: &recorder{},
			Records:   fakeRecords{recs: []blocklist.Record{{Number: "+6281299990000", Until: now.Add(time.Hour), Level: 1, Reason: "Loktuan", SetBy: testSup, Manual: true}}},
			Events:    historyOf(demoCalls(t, demoDay)),
			Incidents: &fakeIncidents{}, IncidentPrompts: []string{"incident-flood"}, SoundPrefix: "sound:siaga112/",
			Callbacks: &fakeCallbacks{t: t}, Recordings: noRecordings{}, DefaultCountry: "ID",
			Location: time.UTC, Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	srv.Register(mux)
	callID := demoCalls(t, demoDay)[0].CallID

	people := map[string]*browserAt{"nobody": {h: mux}}
	for _, p := range []struct{ name, pw string }{{testOp, testOpPass}, {testSup, testSupPass}} {
		people[p.name] = signedIn(t, srv.console, mux, p.name, p.pw)
	}
	pages := []string{"/?range=today", "/?range=7d", "/?range=today&tv=1", "/login", "/console/blocks", "/console/incident", "/console/callbacks", "/numbers/" + url.PathEscape(number)}
	forms := []struct {
		path string
		form url.Values
	}{
		{"/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"2 jams"}, "reason": {"x"}}},
		{"/console/blocks", url.Values{"number": {"12ab"}, "for": {"2 jam"}, "reason": {"x"}}},
		{"/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"2 jam"}, "reason": {""}}},
		{"/console/blocks/12ab/lift", url.Values{}},
		{"/console/calls/" + url.PathEscape(callID) + "/verdict", url.Values{"verdict": {"maybe"}}},
		{"/console/calls/a%3Fb/verdict", url.Values{"verdict": {"prank"}}},
		{"/console/calls/" + url.PathEscape(callID) + "/handled", url.Values{"action": {"maybe"}}},
		{"/console/incident/start", url.Values{"title": {"Banjir Loktuan"}, "media": {"sound:siaga112/incident-flood"}, "for": {"3 jamm"}}},
		{"/console/incident/start", url.Values{"title": {"Banjir Loktuan"}, "media": {"http://x"}, "for": {"2h"}}},
		{"/console/incident/stop", url.Values{"confirm": {"1"}}},
		{"/console/calls/" + url.PathEscape(callID) + "/callback/cancel", url.Values{"number": {number}, "note": {""}}},
		{"/console/calls/" + url.PathEscape(callID) + "/callback/cancel", url.Values{"number": {"12ab"}, "note": {"sudah datang"}}},
		{"/console/callbacks/switch", url.Values{"on": {"maybe"}}},
	}
	// The questions a supervisor's form answers first, before anything is
	// saved, are pages of their own.
	asks := []struct {
		path string
		form url.Values
	}{
		{"/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"2 jam"}, "reason": {"Loktuan"}}},
		{"/console/blocks/" + url.PathEscape("+6281299990000") + "/lift", url.Values{}},
		{"/console/calls/" + url.PathEscape(callID) + "/verdict", url.Values{"verdict": {"prank"}}},
		{"/console/calls/" + url.PathEscape(callID) + "/verdict", url.Values{"verdict": {"genuine"}}},
		{"/console/incident/start", url.Values{"title": {"Banjir Loktuan"}, "media": {"sound:siaga112/incident-flood"}, "for": {"2 jam"}}},
	}
	walked := 0
	for _, lang := range Languages {
		for who, b := range people {
			check := func(what string, w *httptest.ResponseRecorder) {
				t.Helper()
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					return // a redirect to sign in: its page is walked on its own
				}
				walked++
				if got := foreignWords(lang, visibleText(w.Body.String())); len(got) > 0 {
					sort.Strings(got)
					t.Errorf("%s, %s, %s (%d): %s", lang, who, what, w.Code, strings.Join(got, "; "))
				}
			}
			for _, p := range pages {
				sep := "?"
				if strings.Contains(p, "?") {
					sep = "&"
				}
				check("GET "+p, b.get(p+sep+"lang="+lang))
			}
			if b.ck == nil {
				continue
			}
			for _, f := range asks {
				if who != testSup {
					break
				}
				v := url.Values{"back": {"/?lang=" + lang}}
				for k, x := range f.form {
					v[k] = x
				}
				w := b.do("POST", f.path, v)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="confirm-text"`) {
					t.Errorf("%s: POST %s %s answered %d, not its question", lang, f.path, f.form.Encode(), w.Code)
				}
				check("POST "+f.path+" "+f.form.Encode(), w)
			}
			for _, f := range forms {
				v := url.Values{"back": {"/console/blocks?lang=" + lang}}
				for k, x := range f.form {
					v[k] = x
				}
				w := b.do("POST", f.path, v)
				if w.Code < 400 {
					t.Errorf("%s, %s: POST %s %s answered %d: the crawl wants its refusal", lang, who, f.path, f.form.Encode(), w.Code)
				}
				check("POST "+f.path+" "+f.form.Encode(), w)
			}
		}
	}
	// Three people's pages, two people's refusals and a supervisor's
	// questions, in two languages.
	if want := 2 * (3*len(pages) + 2*len(forms) + len(asks)); walked != want {
		t.Fatalf("walked %d pages, want %d", walked, want)
	}
}

// get fetches path as b, signed in or not.
func (b *browserAt) get(path string) *httptest.ResponseRecorder {
	if b.ck != nil {
		return b.do("GET", path, nil)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}
