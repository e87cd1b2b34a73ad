package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// fakeAdmin is an Admin of function fields; a nil field is not expected
// to be called.
type fakeAdmin struct {
	block func(raw, reason string) (blocklist.Record, error)
}

func (f *fakeAdmin) Verdict(context.Context, string, string, string) (events.Envelope, error) {
	return events.Envelope{}, nil
}
func (f *fakeAdmin) FindCall(context.Context, string) error { return nil }
func (f *fakeAdmin) Block(_ context.Context, raw string, _ time.Duration, reason, _ string) (blocklist.Record, error) {
	return f.block(raw, reason)
}
func (f *fakeAdmin) Unblock(context.Context, string, string) (blocklist.Record, error) {
	return blocklist.Record{}, nil
}

// fakeRecords lists fixed records.
type fakeRecords struct{ recs []blocklist.Record }

func (f fakeRecords) Get(_ context.Context, n string) (blocklist.Record, error) {
	for _, r := range f.recs {
		if r.Number == n {
			return r, nil
		}
	}
	return blocklist.Record{}, blocklist.ErrNotFound
}
func (f fakeRecords) List(context.Context) ([]blocklist.Record, error) { return f.recs, nil }
func (f fakeRecords) Policy() blocklist.Policy {
	p, _ := blocklist.NewPolicy(testPolicyConfig())
	return p
}

// fakeIncidents records starts.
type fakeIncidents struct{ started []string }

func (f *fakeIncidents) Current(context.Context) (incident.Incident, error) {
	return incident.Incident{}, incident.ErrNone
}
func (f *fakeIncidents) Start(_ context.Context, title, media string, length time.Duration, by string) (incident.Incident, error) {
	f.started = append(f.started, title)
	return incident.New(title, media, length, by, time.Now())
}
func (f *fakeIncidents) Stop(context.Context, string) (incident.Incident, error) {
	return incident.Incident{}, incident.ErrNone
}

// browserAt is a signed-in person: the session cookie and its form token.
type browserAt struct {
	h    http.Handler
	ck   *http.Cookie
	csrf string
}

func signedIn(t *testing.T, c *Console, h http.Handler, name, pw string) *browserAt {
	t.Helper()
	w := post(h, "/login", "10.0.0.5", signInForm(name, pw))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", name, w.Code)
	}
	ck := w.Result().Cookies()[0]
	s, ok := c.sessions.get(ck.Value)
	if !ok {
		t.Fatal("no session")
	}
	return &browserAt{h: h, ck: ck, csrf: s.CSRF}
}

func (b *browserAt) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		form.Set("csrf", b.csrf)
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = "10.0.0.5:40000"
	req.AddCookie(b.ck)
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	return w
}

// A block reason or an incident title longer than its bound is refused on
// the form, which comes back with what was typed; nothing is published.
func TestFreeTextBoundedWhereTyped(t *testing.T) {
	blocked := 0
	adm := &fakeAdmin{block: func(raw, reason string) (blocklist.Record, error) {
		blocked++
		return blocklist.Record{Number: "+6281255550000", Until: time.Now().Add(time.Hour)}, nil
	}}
	inc := &fakeIncidents{}
	c, h := testConsole(t, ConsoleOptions{Admin: adm, Records: fakeRecords{}, Incidents: inc, IncidentPrompts: []string{"incident-fire"}, SoundPrefix: "sound:siaga112/"})
	sup := signedIn(t, c, h, testSup, testSupPass)

	long := "pranks every night from this number, " + strings.Repeat("again ", 50) // 337 bytes
	w := sup.do("POST", "/console/blocks?lang=en", url.Values{"number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {long}, "back": {"/console/blocks?lang=en"}})
	body := html.UnescapeString(w.Body.String())
	if w.Code != http.StatusBadRequest || !strings.Contains(body, `id="block-error"`) || !strings.Contains(body, "at most 200 characters") {
		t.Fatalf("long reason: %d %.600s", w.Code, body)
	}
	for _, kept := range []string{`value="0812 5555 0000"`, `value="6h"`, `value="` + strings.TrimSpace(long) + `"`} {
		if !strings.Contains(body, kept) {
			t.Errorf("the form lost what was typed: no %.60s", kept)
		}
	}
	if blocked != 0 {
		t.Fatal("a reason over the bound reached the blocklist")
	}
	// A reason within the bound goes through.
	if w := sup.do("POST", "/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {"fake fire reports"}, "confirm": {"1"}, "back": {"/"}}); w.Code != http.StatusSeeOther || blocked != 1 {
		t.Fatalf("a good block: %d, %d blocks", w.Code, blocked)
	}

	title := strings.Repeat("Banjir ", 20) // 140 characters
	w = sup.do("POST", "/console/incident/start?lang=en", url.Values{"title": {title}, "media": {"sound:siaga112/incident-fire"}, "for": {"3h"}, "back": {"/console/incident?lang=en"}})
	body = html.UnescapeString(w.Body.String())
	if w.Code != http.StatusBadRequest || !strings.Contains(body, `id="incident-error"`) || !strings.Contains(body, `value="`+strings.TrimSpace(title)+`"`) || !strings.Contains(body, `value="3h"`) {
		t.Fatalf("long title: %d %.800s", w.Code, body)
	}
	if len(inc.started) != 0 {
		t.Fatal("a title over the bound reached the incident store")
	}
}

func testPolicyConfig() configs.Blocklist { return configs.Default().Blocklist }

// historyOf is an EventReader over fixed events.
type historyOf []events.Envelope

func (h historyOf) ReadAll(_ context.Context, _ []string, fn func(events.Envelope)) error {
	for _, e := range h {
		fn(e)
	}
	return nil
}

// A call id is data: the console refuses one outside Asterisk's alphabet
// where it takes it (a form's URL, the event stream) and escapes every
// call id and number it puts into a path.
func TestCallIDsEscapedAndChecked(t *testing.T) {
	const me = "+6281234567890"
	hist := historyOf{
		env(t, events.TypeStarted, "lt-7;2", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "lt-7;2", me, events.Classified{Outcome: events.OutcomeEmergency, CallRecording: "siaga112/lt-7;2"}),
		env(t, events.TypeStarted, "x/../../console/blocks/"+me+"/lift", me, events.Started{Dialed: "112"}),
	}
	c, h := testConsole(t, ConsoleOptions{Admin: &fakeAdmin{}, Events: hist, Records: fakeRecords{recs: []blocklist.Record{{Number: me, Until: time.Now().Add(time.Hour), Manual: true}}}, Recordings: noRecordings{}})
	sup := signedIn(t, c, h, testSup, testSupPass)

	w := sup.do("GET", "/numbers/"+url.PathEscape(me)+"?lang=en", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("number page: %d %.300s", w.Code, body)
	}
	for _, want := range []string{`action="/console/calls/lt-7%3b2/verdict"`, `src="/api/recordings/siaga112/lt-7%3b2?node=n1"`} {
		if !strings.Contains(strings.ToLower(body), strings.ToLower(want)) {
			t.Errorf("page lacks %s; actions: %s", want, formActionsOf(body))
		}
	}
	if strings.Contains(body, "x/..") || strings.Count(body, "/lift") > 1 {
		t.Errorf("the call id with a path in it reached the page: %s", formActionsOf(body))
	}
	// Posted straight at the console, such an id is refused before any
	// lookup or event.
	for _, id := range []string{"..%2F..%2Fconsole", "a%3Fb", "%2E%2E"} {
		if w := sup.do("POST", "/console/calls/"+id+"/verdict", url.Values{"verdict": {"prank"}}); w.Code != http.StatusBadRequest {
			t.Errorf("verdict for %s: %d, want 400", id, w.Code)
		}
	}
	if w := sup.do("POST", "/console/calls/lt-7%3B2/verdict", url.Values{"verdict": {"prank"}, "confirm": {"1"}, "back": {"/"}}); w.Code != http.StatusOK || !strings.Contains(strings.ToLower(w.Body.String()), `action="/console/calls/lt-7%3b2/verdict/undo"`) {
		t.Errorf("verdict for a real id: %d, want 200 with its undo form, the id escaped", w.Code)
	}
}

// noRecordings is a Recordings that has none.
type noRecordings struct{}

func (noRecordings) Fetch(context.Context, string, string) (io.ReadCloser, string, error) {
	return nil, "", errors.New("none")
}
func (noRecordings) List(context.Context, string) ([]string, error) { return nil, nil }

func formActionsOf(body string) string {
	var out []string
	for _, part := range strings.Split(body, `action="`)[1:] {
		out = append(out, part[:strings.IndexByte(part, '"')])
	}
	return strings.Join(out, " ")
}

// An operator sees blocked numbers masked everywhere in the blocks page,
// its data attributes included; a supervisor sees them whole.
func TestBlocksPageMasksNumbersForOperators(t *testing.T) {
	const me = "+6281234567890"
	recs := fakeRecords{recs: []blocklist.Record{{Number: me, Until: time.Now().Add(time.Hour), Manual: true, SetBy: "admin:siti", Reason: "threats"}}}
	c, h := testConsole(t, ConsoleOptions{Records: recs})
	op := signedIn(t, c, h, testOp, testOpPass)
	body := html.UnescapeString(op.do("GET", "/console/blocks?lang=en", nil).Body.String())
	if !strings.Contains(body, "****7890") || strings.Contains(body, "1234567890") || strings.Contains(body, "0812-3456") {
		t.Errorf("operator's blocks page shows the whole number: %.1200s", body)
	}
	sup := signedIn(t, c, h, testSup, testSupPass)
	body = html.UnescapeString(sup.do("GET", "/console/blocks?lang=en", nil).Body.String())
	if !strings.Contains(body, `data-number="`+me+`"`) || !strings.Contains(body, "0812-3456-7890") {
		t.Errorf("supervisor's blocks page lacks the whole number: %.1200s", body)
	}
}

// A page shows a notice only for a known code, from the catalogue, with
// its subject checked; never words from the URL.
func TestNoticesOnlyFromTheCatalogue(t *testing.T) {
	c, h := testConsole(t, ConsoleOptions{Records: fakeRecords{}, Admin: &fakeAdmin{block: func(raw, reason string) (blocklist.Record, error) {
		return blocklist.Record{Number: "+6281255550000", Until: time.Now().Add(time.Hour)}, nil
	}}})
	sup := signedIn(t, c, h, testSup, testSupPass)
	forged := "Your password expired: call 0812-0000-0000 now"
	for _, q := range []string{
		"notice=" + url.QueryEscape(forged),
		"notice=lifted&on=" + url.QueryEscape(forged),
		"notice=handled&on=" + url.QueryEscape("a/../b "+forged),
	} {
		body := html.UnescapeString(sup.do("GET", "/console/blocks?lang=en&"+q, nil).Body.String())
		if strings.Contains(body, "password expired") || strings.Contains(body, `class="notice"`) {
			t.Errorf("?%s shows a notice: %.600s", q, body)
		}
	}
	// A block's answer names its notice by code and the page says it.
	w := sup.do("POST", "/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {"fake fire reports"}, "confirm": {"1"}, "back": {"/console/blocks?lang=en"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.Contains(loc, "notice=blocked") {
		t.Fatalf("block: %d Location %q", w.Code, loc)
	}
	body := html.UnescapeString(sup.do("GET", loc, nil).Body.String())
	if !strings.Contains(body, "Number 0812-5555-0000 blocked.") {
		t.Errorf("the block's notice is missing: %.600s", body)
	}
}

// recordingErr is an error of a Recordings that tells its kind by method,
// as the ARI client's do.
type recordingErr struct{ notFound, badName bool }

func (e recordingErr) Error() string  { return "recording error" }
func (e recordingErr) NotFound() bool { return e.notFound }
func (e recordingErr) BadName() bool  { return e.badName }

// failingRecordings answers every Fetch with err.
type failingRecordings struct{ err error }

func (f failingRecordings) Fetch(context.Context, string, string) (io.ReadCloser, string, error) {
	return nil, "", f.err
}
func (failingRecordings) List(context.Context, string) ([]string, error) { return nil, nil }

// TestRecordingErrorsAnswered: a missing recording answers 404, a name
// that is not a recording name 400 and any other failure 502, told apart
// by the errors' methods (wrapped or not).
func TestRecordingErrorsAnswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"missing", recordingErr{notFound: true}, http.StatusNotFound},
		{"missing, wrapped", fmt.Errorf("node a1: %w", recordingErr{notFound: true}), http.StatusNotFound},
		{"bad name", recordingErr{badName: true}, http.StatusBadRequest},
		{"other", errors.New("connection refused"), http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, h := testConsole(t, ConsoleOptions{Recordings: failingRecordings{tc.err}})
			sup := signedIn(t, c, h, testSup, testSupPass)
			if w := sup.do("GET", "/api/recordings/siaga112/c1", nil); w.Code != tc.want {
				t.Errorf("%d %s, want %d", w.Code, w.Body, tc.want)
			}
		})
	}
}

// TestHistoryCSVGuarded: every cell of a number's history export passes
// the formula guard, whatever the stream put in it.
func TestHistoryCSVGuarded(t *testing.T) {
	const me = "+6281234567890"
	evil := "=HYPERLINK(\"http://evil/\")"
	hist := historyOf{
		env(t, events.TypeStarted, "c1.1", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "c1.1", me, events.Classified{Outcome: events.Outcome(evil), EmergencyType: "@SUM(1)", Recording: "+1+cmd"}),
	}
	c, h := testConsole(t, ConsoleOptions{Events: hist, Records: fakeRecords{}})
	sup := signedIn(t, c, h, testSup, testSupPass)
	w := sup.do("GET", "/api/numbers/"+me+"?format=csv", nil)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s", w.Code, w.Header().Get("Content-Type"))
	}
	// The console's default language is Indonesian: ";" between cells.
	rd := csv.NewReader(w.Body)
	rd.Comma = ';'
	rows, err := rd.ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v, %v", rows, err)
	}
	for i, cell := range rows[1] {
		if !cellSafe(cell) {
			t.Errorf("column %s = %q runs as a formula", rows[0][i], cell)
		}
	}
	if rows[1][1] != me {
		t.Errorf("number %q, want %s as it is", rows[1][1], me)
	}
}
