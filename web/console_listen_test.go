package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/asterisk-conf/sounds"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/incident"
)

// recordedByPhone is an announcement recorded by phone on 7 Dec 2026 at
// 10:15:00 UTC, as flows.RecordAnnouncement names it.
const recordedByPhone = "siaga112-incident-20261207-101500-123"

// listenConsole is a console offering the shipped incident-example, a
// configured announcement the binary does not carry (incident-flood), and
// one recorded by phone on a simulated Asterisk, which also holds a
// whole-call recording that is no announcement.
func listenConsole(t *testing.T, inc Incidents) (*Console, http.Handler) {
	t.Helper()
	sim := arisim.New(arisim.Options{Username: "u", Password: "p"})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.StoreRecording(recordedByPhone, 3*time.Second)
	sim.StoreRecording("siaga112/1732700000.42", 5*time.Second)
	recs := ari.NewRecordings(configs.ARI{RequestTimeout: time.Second, Nodes: []configs.ARINode{{Name: "n1", URL: sim.URL(), Username: "u", Password: "p"}}})
	if inc == nil {
		inc = &fakeIncidents{}
	}
	return testConsole(t, ConsoleOptions{
		Incidents: inc, IncidentPrompts: []string{"incident-example", "incident-flood"}, SoundPrefix: "sound:siaga112/",
		Sounds: sounds.FS(), PromptLanguage: LangID, Recordings: recs, Location: time.UTC,
	})
}

func listenPath(media string) string {
	return "/console/incident/listen?media=" + url.QueryEscape(media)
}

// TestIncidentListen: the listen route plays a listed announcement to
// signed-in staff, with its type and whole, and refuses everything else.
func TestIncidentListen(t *testing.T) {
	c, h := listenConsole(t, nil)
	sup := signedIn(t, c, h, testSup, testSupPass)
	op := signedIn(t, c, h, testOp, testOpPass)
	shipped, err := os.ReadFile("../asterisk-conf/sounds/id/siaga112/incident-example.wav")
	if err != nil {
		t.Fatal(err)
	}
	nobody := func(method, path string, _ url.Values) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	tests := []struct {
		name   string
		as     func(method, path string, form url.Values) *httptest.ResponseRecorder
		path   string
		status int
		ctype  string
		// body is the exact answer; say is a part of a refusal's sentence.
		body []byte
		say  string
	}{
		{"supervisor hears a prepared one", sup.do, listenPath("sound:siaga112/incident-example"), http.StatusOK, "audio/wav", shipped, ""},
		{"operator hears it too", op.do, listenPath("sound:siaga112/incident-example"), http.StatusOK, "audio/wav", shipped, ""},
		{"signed out", nobody, listenPath("sound:siaga112/incident-example"), http.StatusUnauthorized, "text/plain", nil, "Masuk dulu"},
		{"signed out en", nobody, listenPath("sound:siaga112/incident-example") + "&lang=en", http.StatusUnauthorized, "text/plain", nil, "Sign in"},
		{"a shipped prompt not on the list", sup.do, listenPath("sound:siaga112/greeting"), http.StatusNotFound, "text/plain", nil, "tidak ada di daftar"},
		{"a path", sup.do, listenPath("sound:siaga112/../../../etc/passwd"), http.StatusNotFound, "text/plain", nil, "tidak ada di daftar"},
		{"a bare name", sup.do, listenPath("incident-example"), http.StatusNotFound, "text/plain", nil, "tidak ada di daftar"},
		{"nothing", sup.do, "/console/incident/listen", http.StatusNotFound, "text/plain", nil, "tidak ada di daftar"},
		{"a call's recording", sup.do, listenPath("recording:siaga112/1732700000.42"), http.StatusNotFound, "text/plain", nil, "tidak ada di daftar"},
		{"listed, not carried", sup.do, listenPath("sound:siaga112/incident-flood") + "&lang=en", http.StatusServiceUnavailable, "text/plain", nil, "cannot be played here"},
		{"recorded by phone", sup.do, listenPath("recording:" + recordedByPhone), http.StatusOK, "audio/wav", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.as("GET", tc.path, nil)
			if w.Code != tc.status {
				t.Fatalf("%s: %d, want %d (%.200s)", tc.path, w.Code, tc.status, w.Body.String())
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tc.ctype)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			got := w.Body.Bytes()
			switch {
			case tc.body != nil && !bytes.Equal(got, tc.body):
				t.Errorf("%d bytes, want the %d of the shipped file", len(got), len(tc.body))
			case tc.say != "" && !strings.Contains(string(got), tc.say):
				t.Errorf("answer %q does not say %q", got, tc.say)
			case tc.status == http.StatusOK && (len(got) < 44 || string(got[:4]) != "RIFF"):
				t.Errorf("answer of %d bytes is no WAV file", len(got))
			case tc.status != http.StatusOK && bytes.HasPrefix(got, []byte("RIFF")):
				t.Error("a refusal carries audio")
			}
		})
	}
	// A browser's player asks for ranges of the file.
	req := httptest.NewRequest("GET", listenPath("sound:siaga112/incident-example"), nil)
	req.AddCookie(sup.ck)
	req.Header.Set("Range", "bytes=0-43")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), shipped[:44]) {
		t.Errorf("range request: %d, %d bytes; want 206 and the header", w.Code, w.Body.Len())
	}
}

// playing is an incident store with one announcement playing.
type playing struct{ fakeIncidents }

func (p *playing) Current(context.Context) (incident.Incident, error) {
	return incident.New("Kebakaran Pasar Rawa Indah", "sound:siaga112/incident-example", time.Hour, testSup, time.Now())
}

// TestIncidentPageListen: the incident page offers each announcement by a
// readable name with a player, says so when one cannot be played there,
// and still asks before starting one.
func TestIncidentPageListen(t *testing.T) {
	c, h := listenConsole(t, &playing{})
	sup := signedIn(t, c, h, testSup, testSupPass)
	player := func(media, lang string) string {
		return `<audio controls preload="none" src="/console/incident/listen?media=` + url.QueryEscape(media) + `&amp;lang=` + lang + `"`
	}
	items := func(body string) map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)<li data-media="([^"]+)">(.*?)</li>`).FindAllStringSubmatch(body, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	tests := []struct {
		lang                         string
		example, flood, phone, state string
	}{
		{LangID, "Kami sudah menerima laporan kebakaran di Pasar Rawa Indah", "Tidak dapat diputar di sini", "rekaman telepon 2026-12-07 10:15", "Kami sudah menerima laporan"},
		{LangEN, "We have received reports of the fire at Pasar Rawa Indah", "Cannot be played here", "recorded by phone 2026-12-07 10:15", "We have received reports"},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			w := sup.do("GET", "/console/incident?lang="+tc.lang, nil)
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("incident page: %d", w.Code)
			}
			li := items(body)
			if len(li) != 3 {
				t.Fatalf("%d announcements to listen to, want 3: %v", len(li), li)
			}
			ex := li["sound:siaga112/incident-example"]
			if !strings.Contains(ex, tc.example) || !strings.Contains(ex, "<code>incident-example</code>") || !strings.Contains(strings.ToLower(ex), strings.ToLower(player("sound:siaga112/incident-example", tc.lang))) {
				t.Errorf("prepared announcement: want its words, its id and a player: %s", ex)
			}
			if fl := li["sound:siaga112/incident-flood"]; !strings.Contains(fl, tc.flood) || strings.Contains(fl, "<audio") {
				t.Errorf("announcement the binary lacks: want %q and no player: %s", tc.flood, fl)
			}
			if ph := li["recording:"+recordedByPhone]; !strings.Contains(ph, tc.phone) || !strings.Contains(strings.ToLower(ph), strings.ToLower(player("recording:"+recordedByPhone, tc.lang))) {
				t.Errorf("recorded by phone: want %q and a player: %s", tc.phone, ph)
			}
			state := regexp.MustCompile(`(?s)<p id="incident-state"[^>]*>(.*?)</p>`).FindStringSubmatch(body)
			if state == nil || !strings.Contains(state[1], tc.state) || !strings.Contains(state[1], `<audio controls preload="none"`) {
				t.Errorf("the playing announcement: want its words and a player: %v", state)
			}
			if !strings.Contains(body, `<option value="sound:siaga112/incident-example">`+tc.example[:20]) {
				t.Errorf("the start form does not name the prepared announcement by its words")
			}
		})
	}
	// Starting one is still asked first, then started.
	form := url.Values{"title": {"Banjir"}, "media": {"recording:" + recordedByPhone}, "for": {"1h"}, "back": {"/console/incident"}}
	if w := sup.do("POST", "/console/incident/start", form); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="confirm-yes"`) {
		t.Fatalf("start without confirming: %d, want the question", w.Code)
	}
	form.Set("confirm", "1")
	if w := sup.do("POST", "/console/incident/start", form); w.Code != http.StatusSeeOther {
		t.Errorf("confirmed start: %d, want 303", w.Code)
	}
}

// TestIncidentListenInBrowser: Chromium plays what the listen route
// serves: each player of the incident page loads its announcement and
// knows its length, and on a phone the page does not scroll sideways.
func TestIncidentListenInBrowser(t *testing.T) {
	c, h := listenConsole(t, nil)
	sup := signedIn(t, c, h, testSup, testSupPass)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.AddCookie(sup.ck)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	st, err := os.Stat("../asterisk-conf/sounds/id/siaga112/incident-example.wav")
	if err != nil {
		t.Fatal(err)
	}
	// 8 kHz 16-bit mono after a 44-byte header (asterisk-conf checks the
	// format of every shipped prompt).
	example := float64(st.Size()-44) / 16000
	ctx := tab(t, newBrowser(t))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915), chromedp.Navigate(ts.URL+"/console/incident?lang=id"), chromedp.WaitVisible(chromedp.CSS("#incident-listen"))); err != nil {
		t.Fatal(err)
	}
	type loaded struct {
		Media    string  `json:"media"`
		Duration float64 `json:"duration"`
		Error    string  `json:"error"`
	}
	type page struct {
		Players          []loaded `json:"players"`
		ScrollW, ClientW float64
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](`Promise.all([...document.querySelectorAll('#incident-listen audio')].map(a => new Promise(done => {
		const media = a.closest('li').dataset.media;
		a.addEventListener('loadedmetadata', () => done({media, duration: a.duration}));
		a.addEventListener('error', () => done({media, duration: -1, error: String(a.error && a.error.code)}));
		a.preload = 'metadata';
		a.load();
	}))).then(players => ({players, scrollW: document.documentElement.scrollWidth, clientW: document.documentElement.clientWidth}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"sound:siaga112/incident-example": example, "recording:" + recordedByPhone: 3}
	if len(p.Players) != len(want) {
		t.Errorf("%d players, want %d: %+v", len(p.Players), len(want), p.Players)
	}
	for _, pl := range p.Players {
		if d, ok := want[pl.Media]; !ok || pl.Error != "" || pl.Duration < d-0.05 || pl.Duration > d+0.05 {
			t.Errorf("player of %s: %.2f s (error %q), want %.2f s", pl.Media, pl.Duration, pl.Error, d)
		}
	}
	if p.ScrollW > p.ClientW+0.5 {
		t.Errorf("incident page %.0f px wide in a %.0f px phone: it scrolls sideways", p.ScrollW, p.ClientW)
	}
}
