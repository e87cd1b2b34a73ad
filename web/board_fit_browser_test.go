package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/reports"
)

// fitServer is the whole web side over agg (board and console, as New
// builds them) with siti, a supervisor, signed in on every request when
// signedIn; with banners, an incident announcement is playing and an
// Asterisk node is disconnected, so the board shows both banners above
// the wall.
func fitServer(t *testing.T, agg *reports.Aggregator, now time.Time, signedIn, banners bool) *httptest.Server {
	t.Helper()
	cfg := BoardConfig{Title: "Bontang Siaga 112", Refresh: time.Minute, Now: func() time.Time { return now }}
	if banners {
		cfg.Incidents = playingFunc(func(context.Context) (incident.Incident, bool) {
			return incident.Incident{ID: "inc1", Title: "Kebakaran pasar Rawa Indah"}, true
		})
		cfg.Health = func(context.Context) health.Health {
			return health.Compose(map[string]health.Check{
				"nats": health.OK(nil),
				"ari":  {Status: "node disconnected", Nodes: []health.Node{{Name: "asterisk-1"}}},
			})
		}
	}
	srv, err := New(Options{
		Aggregator: agg,
		Board:      cfg,
		Console: &ConsoleOptions{Accounts: testAccounts(t), Admin: &verdictAdmin{}, Records: fakeRecords{}, Publisher: &recorder{},
			Location: agg.Location(), Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	srv.Register(mux)
	h := http.Handler(mux)
	if signedIn {
		const cookie = "fit-session"
		srv.console.sessions.byID[cookie] = &Session{Name: testSup, Role: console.RoleSupervisor, CSRF: "tok", Created: time.Now(), Expires: time.Now().Add(time.Hour)}
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
			mux.ServeHTTP(w, r)
		})
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(ts.CloseClientConnections)
	return ts
}

// fitMeasure is run in the page. Boxes are every tile and panel of the
// first screen (the .screen block; the panels below it scroll by design)
// and the banners; Plot is the hourly chart's plot area as drawn, from its
// gridlines; Cut names each tile whose label or figure's text reaches past
// its tile's box (the tile clips it: overflow hidden), found from the
// text's own rectangles, and each label that scrolls inside itself.
const fitMeasure = `(() => {
  const r = e => e.getBoundingClientRect();
  const seen = e => e.getClientRects().length > 0;
  const name = e => (e.dataset.panel || e.dataset.testid || (e.getAttribute('class') || '').split(' ').join('.'));
  const boxes = [...document.querySelectorAll('.screen .kpi, .screen .panel, .screen .banner, .screen [data-panel]')].filter(seen)
    .map(e => ({Name: name(e), Top: r(e).top, Left: r(e).left, Bottom: r(e).bottom, Right: r(e).right}));
  const grid = [...document.querySelectorAll('[data-testid=chart-outcomes] line.grid')].map(r);
  const plot = grid.length ? {W: Math.max(...grid.map(g => g.right)) - Math.min(...grid.map(g => g.left)),
    H: Math.max(...grid.map(g => g.bottom)) - Math.min(...grid.map(g => g.top))} : {W: 0, H: 0};
  const cut = [];
  for (const tile of document.querySelectorAll('.screen .kpi')) {
    if (!seen(tile)) continue;
    const b = r(tile), cs = getComputedStyle(tile);
    const inner = {top: b.top + parseFloat(cs.borderTopWidth), bottom: b.bottom - parseFloat(cs.borderBottomWidth),
      left: b.left + parseFloat(cs.borderLeftWidth), right: b.right - parseFloat(cs.borderRightWidth)};
    for (const v of tile.querySelectorAll('.v')) {
      if (seen(v) && r(v).right > inner.right + 0.5) cut.push(name(tile) + ' figure: ' + v.innerText);
    }
    for (const el of tile.querySelectorAll('.k, .fig .t')) {
      if (!seen(el)) continue;
      if (el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible') cut.push(name(tile) + ' scrolls: ' + el.innerText);
      const range = document.createRange();
      range.selectNodeContents(el);
      for (const t of range.getClientRects()) {
        if (t.width === 0 || t.height === 0) continue;
        if (t.bottom > inner.bottom + 0.5 || t.top < inner.top - 0.5 || t.right > inner.right + 0.5 || t.left < inner.left - 0.5) {
          cut.push(name(tile) + ': ' + el.innerText);
          break;
        }
      }
    }
  }
  // A tile or panel that its row pushed out of its band lies under the
  // next panel, inside the viewport but out of sight.
  for (const [band, sel] of [['.kpis', '.kpi'], ['.queue', '.kpi'], ['.side', '.panel'], ['.wall', 'section'], ['#board', '.attention']]) {
    for (const b of document.querySelectorAll('.screen ' + band)) {
      const o = r(b);
      for (const e of b.querySelectorAll(':scope > ' + sel + ', :scope > * > ' + sel)) {
        if (!seen(e)) continue;
        const i = r(e);
        if (i.bottom > o.bottom + 0.5 || i.right > o.right + 0.5 || i.top < o.top - 0.5) cut.push(name(e) + ' sticks out of ' + band);
      }
    }
  }
  for (const lg of document.querySelectorAll('.screen .legend')) {
    if (seen(lg) && (r(lg).bottom > r(lg.closest('.panel')).bottom + 0.5 || r(lg).top < r(lg.closest('.panel')).top - 0.5)) cut.push('legend outside its panel');
  }
  for (const svg of document.querySelectorAll('.screen svg.chart')) {
    const b = r(svg);
    for (const x of svg.querySelectorAll('.xlab, .ylab')) {
      if (x.getAttribute('visibility') === 'hidden') continue;
      const t = r(x);
      if (t.left < b.left - 0.5 || t.right > b.right + 0.5) cut.push('axis label ' + x.textContent);
    }
  }
  return {boxes, plot, cut, tv: document.documentElement.dataset.tv,
    scrollH: document.documentElement.scrollHeight, scrollW: document.documentElement.scrollWidth,
    screenH: r(document.querySelector('.screen')).height};
})()`

type fitLayout struct {
	Boxes []panelBox
	Plot  struct{ W, H float64 }
	Cut   []string
	TV    string
	ScrollH, ScrollW, ScreenH float64
}

func TestBoardFitsInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	for _, tc := range []struct {
		name              string
		w, h              int64
		signedIn, banners bool
	}{
		{"supervisor", 1920, 1080, true, false},
		{"supervisor banners", 1920, 1080, true, true},
		{"laptop banners", 1366, 768, false, true},
		{"supervisor laptop banners", 1366, 768, true, true},
		{"wall tv", 1920, 1080, false, false},
		{"wall tv banners", 1920, 1080, false, true},
		{"phone", 390, 844, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := fitServer(t, agg, now, tc.signedIn, tc.banners)
			ctx := tab(t, browser)
			open(t, ctx, ts.URL+"/?lang=id", tc.w, tc.h)
			time.Sleep(300 * time.Millisecond)
			screenshot(t, ctx, fmt.Sprintf("fit-%s-%dx%d", tc.name, tc.w, tc.h))
			l, err := chromedp.Run(ctx, chromedp.Evaluate[fitLayout](fitMeasure))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("tv=%q plot %.0fx%.0f cut %q scroll %vx%v screen %v", l.TV, l.Plot.W, l.Plot.H, l.Cut, l.ScrollW, l.ScrollH, l.ScreenH)
			for _, b := range l.Boxes {
				if b.Top < 0 || b.Left < 0 || b.Bottom > float64(tc.h)+0.5 || b.Right > float64(tc.w)+0.5 {
					t.Logf("outside: %+v", b)
				}
			}
		})
	}
}
