package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// TestConsoleOnAPhoneInBrowser: on a 412 px phone the console's tables
// (the blocked numbers, a number's calls and blocks) become one card per
// row with each cell under its column's name, and no page scrolls
// sideways; every page carries the favicon.
func TestConsoleOnAPhoneInBrowser(t *testing.T) {
	const me = "+6281234567890"
	hist := historyOf{
		env(t, events.TypeStarted, "1732700000.4242", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "1732700000.4242", me, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", CallRecording: "siaga112/1732700000.4242"}),
	}
	recs := fakeRecords{recs: []blocklist.Record{{Number: me, Until: time.Now().Add(30 * 24 * time.Hour), Manual: true, SetBy: "admin:siti", Reason: "mengganggu berulang kali dari pagi sampai malam"}}}
	c, h := testConsole(t, ConsoleOptions{Admin: &fakeAdmin{}, Events: hist, Records: recs, Recordings: noRecordings{}})
	sup := signedIn(t, c, h, testSup, testSupPass)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.AddCookie(sup.ck)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	browser := newBrowser(t)
	for _, page := range []string{"/console/blocks?lang=id", "/numbers/" + url.PathEscape(me) + "?lang=id"} {
		t.Run(page, func(t *testing.T) {
			ctx := tab(t, browser)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915), chromedp.Navigate(ts.URL+page), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "console-phone-"+strings.Trim(strings.NewReplacer("/", "-", "?", "-", "%2B", "").Replace(page), "-"))
			type phone struct {
				ScrollW, ClientW float64
				Labels           []string
				Icon             string
			}
			p, err := chromedp.Run(ctx, chromedp.Evaluate[phone](`({scrollW: document.documentElement.scrollWidth, clientW: document.documentElement.clientWidth,
			  labels: [...document.querySelectorAll('tbody td[data-label]')].slice(0, 3).map(td => getComputedStyle(td, '::before').content),
			  icon: (document.querySelector('link[rel=icon]') || {}).href || ''})`))
			if err != nil {
				t.Fatal(err)
			}
			if p.ScrollW > p.ClientW+0.5 {
				t.Errorf("page %.0f px wide in a %.0f px phone: it scrolls sideways", p.ScrollW, p.ClientW)
			}
			if len(p.Labels) == 0 || !strings.Contains(strings.Join(p.Labels, " "), `"`) {
				t.Errorf("cells show no column names: %q", p.Labels)
			}
			if !strings.HasPrefix(p.Icon, "data:image/svg+xml,") {
				t.Errorf("favicon %q", p.Icon)
			}
		})
	}
	// The board carries it too.
	agg, now := boardAggregator(t)
	bs := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	if _, body, _ := get(t, bs.URL+"/", false); !strings.Contains(html.UnescapeString(body), `<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,`) {
		t.Error("the board has no favicon")
	}
}
