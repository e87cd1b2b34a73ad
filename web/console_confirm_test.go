package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// verdictAdmin records the verdicts it is asked to publish.
type verdictAdmin struct {
	fakeAdmin
	mu       sync.Mutex
	verdicts []string
}

func (a *verdictAdmin) Verdict(_ context.Context, callID, v, by string) (events.Envelope, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.verdicts = append(a.verdicts, callID+" "+v+" "+by)
	return events.Envelope{}, nil
}

func (a *verdictAdmin) published() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.verdicts...)
}

// confirmFixture is a console whose calls c2, c3 and c4 come from numbers
// with a past block, a block in force and a supervisor's block; c9 is a
// withheld caller. The default policy: a prank verdict is 3 strikes, 3
// block, the ladder starts 1 h, 6 h.
func confirmFixture(t *testing.T) (*Console, http.Handler, *verdictAdmin, *recorder, *time.Time) {
	t.Helper()
	now := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	clock := &now
	recs := fakeRecords{recs: []blocklist.Record{
		{Number: "+6281200000002", Level: 1, SetBy: blocklist.SetByAuto},
		{Number: "+6281200000003", Level: 1, Until: now.Add(45 * time.Minute), SetBy: blocklist.SetByAuto},
		{Number: "+6281200000004", Until: now.Add(48 * time.Hour), SetBy: "admin:siti", Manual: true},
	}}
	numbers := map[string]string{"c1": "+6281200000001", "c2": "+6281200000002", "c3": "+6281200000003", "c4": "+6281200000004"}
	adm := &verdictAdmin{}
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{
		Admin: adm, Records: recs, Publisher: pub, Location: time.UTC, Now: func() time.Time { return *clock },
		CallNumber: func(id string) (string, bool) { n, ok := numbers[id]; return n, ok },
	})
	return c, h, adm, pub, clock
}

// A verdict form's first post saves nothing and names the number and what
// the verdict would do to it now, computed from the blocklist's policy;
// only the confirming post saves it, and its audit says what was
// confirmed. This is also the path of a browser without JavaScript.
func TestVerdictAsksWithItsConsequence(t *testing.T) {
	c, h, adm, pub, _ := confirmFixture(t)
	sup := signedIn(t, c, h, testSup, testSupPass)
	for _, tc := range []struct {
		call, verdict, lang, want string
	}{
		{"c1", "prank", "id", "Tandai iseng: 0812-0000-0001 akan diblokir 1 jam."},
		{"c2", "prank", "id", "Tandai iseng: 0812-0000-0002 akan diblokir 6 jam."},
		{"c2", "prank", "en", "Mark as prank: 0812-0000-0002 will be blocked for 6 h."},
		{"c3", "prank", "id", "Tandai iseng: blokir 0812-0000-0003 diperpanjang sampai 27 Nov 08.30."},
		{"c3", "genuine", "id", "Tandai asli: blokir 0812-0000-0003 (sampai 27 Nov 03.15) langsung dicabut, dan pelanggarannya dihapus."},
		{"c4", "genuine", "id", "Tandai asli: 0812-0000-0004 diblokir oleh supervisor dan blokir itu tetap; tidak ada yang berubah."},
		{"c9", "prank", "en", "Mark as prank: call c9 has no visible number; nothing is blocked."},
	} {
		t.Run(tc.call+"/"+tc.verdict+"/"+tc.lang, func(t *testing.T) {
			back := "/?lang=" + tc.lang
			w := sup.do("POST", "/console/calls/"+tc.call+"/verdict", url.Values{"verdict": {tc.verdict}, "back": {back}})
			body := html.UnescapeString(w.Body.String())
			if w.Code != http.StatusOK || !strings.Contains(body, tc.want) || !strings.Contains(body, `name="confirm" value="1"`) {
				t.Fatalf("first post: %d, want the page saying %q with a confirm button; got %.1500s", w.Code, tc.want, body)
			}
			if len(adm.published()) != 0 {
				t.Fatalf("the first post saved a verdict: %v", adm.published())
			}
		})
	}
	// Confirmed without the script, a prank verdict answers with its
	// result page and undo (TestPrankVerdictUndoneWithoutJavaScript).
	w := sup.do("POST", "/console/calls/c2/verdict", url.Values{"verdict": {"prank"}, "confirm": {"1"}, "back": {"/?lang=id"}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="undo"`) {
		t.Fatalf("confirming post: %d %.500s", w.Code, w.Body)
	}
	if got := adm.published(); len(got) != 1 || got[0] != "c2 prank siti" {
		t.Fatalf("verdicts published: %v, want c2's prank", got)
	}
	var found bool
	for _, a := range pub.audits(t) {
		if a.Action == "verdict_prank" && a.Target == "c2" && a.Result == "ok: confirmed; Mark as prank: 0812-0000-0002 will be blocked for 6 h." {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit of the confirmed verdict with its consequence: %+v", pub.audits(t))
	}
}

// A confirmed prank verdict can be undone by the person who gave it for
// ten seconds: the undo publishes a genuine verdict on the same call and
// is audited; later, or by someone else, it is refused and audited too.
func TestPrankVerdictUndoneWithinTenSeconds(t *testing.T) {
	c, h, adm, pub, clock := confirmFixture(t)
	sup := signedIn(t, c, h, testSup, testSupPass)
	op := signedIn(t, c, h, testOp, testOpPass)
	confirm := func(b *browserAt, call string) string {
		t.Helper()
		req := url.Values{"verdict": {"prank"}, "confirm": {"1"}, "back": {"/?lang=id"}}
		w := b.doJSON("/console/calls/"+call+"/verdict", req)
		var got struct {
			Result, Undo string
			Seconds      int `json:"undo_seconds"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK || got.Undo == "" || got.Seconds != 10 {
			t.Fatalf("confirmed prank verdict: %d %s", w.Code, w.Body)
		}
		if !strings.HasPrefix(got.Result, "Penilaian Iseng untuk panggilan "+call+" tersimpan. Tandai iseng: 0812-0000-000") {
			t.Errorf("result %q", got.Result)
		}
		return got.Undo
	}
	undo := func(b *browserAt, call, tok string) int {
		return b.doJSON("/console/calls/"+call+"/verdict/undo", url.Values{"undo": {tok}, "back": {"/?lang=id"}}).Code
	}

	tok := confirm(sup, "c1")
	*clock = clock.Add(9 * time.Second)
	if code := undo(op, "c1", tok); code != http.StatusConflict {
		t.Fatalf("someone else's undo: %d, want 409", code)
	}
	tok = confirm(sup, "c1")
	*clock = clock.Add(9 * time.Second)
	if code := undo(sup, "c1", tok); code != http.StatusOK {
		t.Fatalf("undo after 9 s: %d, want 200", code)
	}
	if code := undo(sup, "c1", tok); code != http.StatusConflict {
		t.Fatalf("a second undo of one verdict: %d, want 409", code)
	}
	late := confirm(sup, "c2")
	*clock = clock.Add(13 * time.Second)
	if code := undo(sup, "c2", late); code != http.StatusConflict {
		t.Fatalf("undo after 13 s: %d, want 409", code)
	}
	want := []string{"c1 prank siti", "c1 prank siti", "c1 genuine siti", "c2 prank siti"}
	if got := adm.published(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
	var undone, refused int
	for _, a := range pub.audits(t) {
		if a.Action != "undo_verdict_prank" {
			continue
		}
		switch {
		case a.Result == "ok: genuine verdict published" && a.Target == "c1" && a.By == testSup:
			undone++
		case strings.HasPrefix(a.Result, "refused:"):
			refused++
		}
	}
	if undone != 1 || refused != 3 {
		t.Fatalf("undo audits: %d done, %d refused; want 1 and 3: %+v", undone, refused, pub.audits(t))
	}
}

// doJSON posts form as the board's script does.
func (b *browserAt) doJSON(path string, form url.Values) *httptest.ResponseRecorder {
	form.Set("csrf", b.csrf)
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.RemoteAddr = "10.0.0.5:40000"
	req.AddCookie(b.ck)
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	return w
}

// Span says a length as a supervisor does: at most two units, minutes
// rounded up, never zero.
func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		id, en string
	}{
		{0, "1 menit", "1 min"},
		{30 * time.Second, "1 menit", "1 min"},
		{59*time.Minute + 30*time.Second, "1 jam", "1 h"},
		{time.Hour, "1 jam", "1 h"},
		{90 * time.Minute, "1 jam 30 menit", "1 h 30 min"},
		{26*time.Hour + 10*time.Minute, "1 hari 2 jam", "1 d 2 h"},
		{7 * 24 * time.Hour, "7 hari", "7 d"},
	} {
		if got := localeOf(LangID).Span(tc.d); got != tc.id {
			t.Errorf("id %s: %q, want %q", tc.d, got, tc.id)
		}
		if got := localeOf(LangEN).Span(tc.d); got != tc.en {
			t.Errorf("en %s: %q, want %q", tc.d, got, tc.en)
		}
	}
}

// A block, a lift and the incident announcement's start and stop are
// asked first as well, naming the number or the announcement and what
// follows; nothing happens until the confirming post.
func TestAdminActionsAskFirst(t *testing.T) {
	blocked := 0
	adm := &fakeAdmin{block: func(raw, reason string) (blocklist.Record, error) {
		blocked++
		return blocklist.Record{Number: "+6281255550000", Until: time.Now().Add(time.Hour)}, nil
	}}
	now := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	recs := fakeRecords{recs: []blocklist.Record{{Number: "+6281200000003", Level: 1, Until: now.Add(45 * time.Minute), SetBy: blocklist.SetByAuto}}}
	inc := &fakeIncidents{}
	c, h := testConsole(t, ConsoleOptions{Admin: adm, Records: recs, Incidents: inc, IncidentPrompts: []string{"incident-fire"}, SoundPrefix: "sound:siaga112/",
		DefaultCountry: "62", Location: time.UTC, Now: func() time.Time { return now }})
	sup := signedIn(t, c, h, testSup, testSupPass)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"block", "/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {"fake fire reports"}},
			"Blokir: 0812-5555-0000 akan diblokir 6 jam, sampai 27 Nov 08.30."},
		{"lift", "/console/blocks/+6281200000003/lift", url.Values{},
			"Cabut blokir: blokir 0812-0000-0003 (sampai 27 Nov 03.15) langsung dicabut; nomor ini dapat menelepon lagi."},
		{"incident start", "/console/incident/start", url.Values{"title": {"Kebakaran Pasar"}, "media": {"sound:siaga112/incident-fire"}},
			"Mulai pengumuman kejadian “Kebakaran Pasar”: setiap penelepon mendengarnya sebelum menu, selama 2 jam (sampai 27 Nov 04.30)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("back", "/console/blocks?lang=id")
			w := sup.do("POST", tc.path, tc.form)
			body := html.UnescapeString(w.Body.String())
			if w.Code != http.StatusOK || !strings.Contains(body, tc.want) || !strings.Contains(body, `name="confirm" value="1"`) {
				t.Fatalf("first post: %d, want %q with a confirm button: %.1200s", w.Code, tc.want, body)
			}
		})
	}
	if blocked != 0 || len(inc.started) != 0 {
		t.Fatalf("a first post acted: %d blocks, %d announcements", blocked, len(inc.started))
	}
	// With nothing playing, a stop is refused as before, not asked.
	if w := sup.do("POST", "/console/incident/stop", url.Values{"back": {"/console/incident"}}); w.Code != http.StatusConflict {
		t.Errorf("stop with nothing playing: %d, want 409", w.Code)
	}
	w := sup.do("POST", "/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {"fake fire reports"}, "confirm": {"1"}, "back": {"/"}})
	if w.Code != http.StatusSeeOther || blocked != 1 {
		t.Fatalf("confirmed block: %d, %d blocks", w.Code, blocked)
	}
}
