package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/events"
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
	if signedIn {
		return serveSupervisor(t, srv)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	t.Cleanup(ts.CloseClientConnections)
	return ts
}

// fitMeasure is run in the page. Boxes are every tile and panel of the
// first screen (the .screen block; the panels below it scroll by design)
// and the banners; Plot is the hourly chart's plot area as drawn, from its
// gridlines. Cut names each tile whose label's or subtitle's text reaches
// past its tile's box (the tile clips it: overflow hidden), found from the
// text's own rectangles (the figures' glyph boxes are taller than their
// line, so a figure is held to the tile's right edge only); each tile or
// panel pushed out of its band; a legend outside its panel; an axis label
// cut at its chart's edge; and a list row cut by its panel (the lists hide
// whole rows and count them in "+N lainnya").
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
  for (const t of document.querySelectorAll('.screen table[data-fit]')) {
    if (!seen(t)) continue;
    const box = r(t.closest('.panel'));
    for (const tr of t.querySelectorAll('tbody tr')) {
      if (seen(tr) && (r(tr).bottom > box.bottom + 0.5 || r(tr).right > box.right + 0.5)) cut.push(t.dataset.testid + ' row cut: ' + tr.innerText);
    }
  }
  for (const svg of document.querySelectorAll('.screen svg.chart')) {
    const b = r(svg);
    for (const x of svg.querySelectorAll('.xlab, .ylab')) {
      if (x.getAttribute('visibility') === 'hidden') continue;
      const t = r(x);
      if (t.left < b.left - 0.5 || t.right > b.right + 0.5) cut.push('axis label ' + x.textContent);
    }
    // The answered-within scale's labels stand clear of every bar.
    const bars = [...svg.querySelectorAll('g.bar rect')].map(r);
    for (const x of svg.querySelectorAll('.rlab')) {
      const t = r(x);
      if (t.right > b.right + 0.5) cut.push('scale label ' + x.textContent);
      if (bars.some(q => q.left < t.right && q.right > t.left && q.top < t.bottom && q.bottom > t.top)) cut.push('scale label ' + x.textContent + ' covers a bar');
    }
  }
  return {boxes, plot, cut, tv: document.documentElement.dataset.tv,
    scrollW: document.documentElement.scrollWidth, screenH: r(document.querySelector('.screen')).height};
})()`

type fitLayout struct {
	Boxes            []panelBox
	Plot             struct{ W, H float64 }
	Cut              []string
	TV               string
	ScrollW, ScreenH float64
}

// TestBoardFitsInBrowser: signed in at 1920×1080 (the desk layout, with
// needs-attention inside the screen) and at 1366×768 under both the
// incident and the health banner, every tile and panel of the wall lies
// inside the viewport and inside its band, no tile's label, subtitle or
// figure reaches past its tile (the tile clips it), the chart's legend
// stays in its panel, no axis label is cut at the chart's edge, and the
// hourly chart's plot keeps a readable size. The wall in TV mode, with and
// without banners, is held to the same; a phone only to no sideways
// scroll and uncut tiles (it scrolls down by design).
//
// The plot's bounds: at 1920 px, 24 hourly bars of at least 16 px with
// their gaps (a count label "10" above each is about 24 px wide) need
// 480 px, and four gridline steps whose 24 px labels stay apart need 45 px
// each, 180 px (before the fix the signed-in board drew 330×120); under
// two banners, which take that height, 420×150 there (bars of 14 px,
// steps of 37 px), and at 1366 px 300 px keeps the bars apart and 100 px
// the 24 px y labels from touching.
func TestBoardFitsInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	// The fast day is read at 23.30, so its last hour's bar stands
	// under the answered-within scale's labels.
	late := now.Add(13 * time.Hour)
	fast, slow := widestAggregator(t, late, 4, 0), widestAggregator(t, now, 245, 12)
	for _, tc := range []struct {
		name              string
		w, h              int64
		signedIn, banners bool
		plotW, plotH      float64
		tv                string
		lang              string
		// agg is the sample day's when nil.
		agg *reports.Aggregator
	}{
		{"supervisor", 1920, 1080, true, false, 480, 180, "0", "id", nil},
		{"supervisor banners", 1920, 1080, true, true, 420, 150, "0", "id", nil},
		{"laptop", 1366, 768, false, false, 300, 100, "", "id", nil},
		{"laptop banners", 1366, 768, false, true, 300, 100, "", "id", nil},
		{"wall tv", 1920, 1080, false, false, 480, 180, "1", "id", nil},
		{"wall tv banners", 1920, 1080, false, true, 420, 150, "1", "id", nil},
		{"phone", 390, 844, true, true, 0, 0, "0", "id", nil},
		// English labels are longer ("To the operators' queue · 16
		// answered by a person, 3 hung up in the queue").
		{"supervisor en", 1920, 1080, true, false, 480, 180, "0", "en", nil},
		{"laptop banners en", 1366, 768, false, true, 300, 100, "", "en", nil},
		{"wall tv en", 1920, 1080, false, false, 480, 180, "1", "en", nil},
		// The widest figures each tile can hold: every caller answered
		// within 10 s ("100% 100% 100%"), or each after minutes
		// ("245,0 245,0"), with a dozen callers waiting.
		{"supervisor 100%", 1920, 1080, true, false, 0, 0, "0", "en", fast},
		{"supervisor slow", 1920, 1080, true, false, 0, 0, "0", "id", slow},
		{"laptop banners 100%", 1366, 768, false, true, 0, 0, "", "id", fast},
		{"wall tv 100%", 1920, 1080, false, false, 0, 0, "1", "id", fast},
		{"wall tv 100% en", 1920, 1080, false, false, 0, 0, "1", "en", fast},
		{"wall tv slow", 1920, 1080, false, false, 0, 0, "1", "id", slow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := agg
			if tc.agg != nil {
				a = tc.agg
			}
			at := now
			if tc.agg == fast {
				at = late
			}
			ts := fitServer(t, a, at, tc.signedIn, tc.banners)
			ctx := tab(t, browser)
			open(t, ctx, ts.URL+"/?lang="+tc.lang, tc.w, tc.h)
			time.Sleep(300 * time.Millisecond) // the first stream message re-renders the board
			screenshot(t, ctx, fmt.Sprintf("fit-%s-%dx%d", strings.ReplaceAll(tc.name, " ", "-"), tc.w, tc.h))
			l, err := chromedp.Run(ctx, chromedp.Evaluate[fitLayout](fitMeasure))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("data-tv=%q, hourly plot %.0f×%.0f px", l.TV, l.Plot.W, l.Plot.H)
			if l.TV != tc.tv {
				t.Errorf("data-tv=%q, want %q", l.TV, tc.tv)
			}
			if len(l.Cut) > 0 {
				t.Errorf("cut or out of place: %q", l.Cut)
			}
			if l.ScrollW > float64(tc.w) {
				t.Errorf("the page scrolls sideways: %v px wide", l.ScrollW)
			}
			if tc.name == "phone" {
				return
			}
			if l.ScreenH > float64(tc.h)+0.5 {
				t.Errorf("the wall's screen is %.0f px tall, the viewport %d", l.ScreenH, tc.h)
			}
			for _, b := range l.Boxes {
				if b.Top < 0 || b.Left < 0 || b.Bottom > float64(tc.h)+0.5 || b.Right > float64(tc.w)+0.5 {
					t.Errorf("%s at %+v is outside the %d×%d viewport", b.Name, b, tc.w, tc.h)
				}
			}
			if tc.signedIn && !slices.ContainsFunc(l.Boxes, func(b panelBox) bool { return b.Name == "attention" }) {
				t.Error("needs-attention is not on the first screen")
			}
			if l.Plot.W < tc.plotW || l.Plot.H < tc.plotH {
				t.Errorf("the hourly chart's plot is %.0f×%.0f px, want at least %.0f×%.0f", l.Plot.W, l.Plot.H, tc.plotW, tc.plotH)
			}
		})
	}
}

// widestAggregator is the hours before now, whose every caller handed over was
// answered after stp seconds, with waiting callers waiting now, the
// longest for over ten minutes: the tiles' widest figures.
func widestAggregator(t *testing.T, now time.Time, stp float64, waiting int) *reports.Aggregator {
	t.Helper()
	agg := reports.NewAggregator(reports.Options{Location: now.Location(), Now: func() time.Time { return now }})
	var evs []events.Envelope
	for i := range 40 {
		evs = append(evs, queueEvents(t, queueSpec{id: fmt.Sprintf("x%03d", i), number: fmt.Sprintf("+62813555%05d", i), typ: "fire",
			at: now.Add(-time.Duration(i*20+5) * time.Minute), fate: reports.QueueAnswered, stp: stp})...)
	}
	for i := range waiting {
		evs = append(evs, queueEvents(t, queueSpec{id: fmt.Sprintf("y%03d", i), number: fmt.Sprintf("+62813666%05d", i), typ: "medical",
			at: now.Add(-time.Duration(11*60-i*50) * time.Second), fate: reports.QueueWaiting})...)
	}
	applyAll(t, agg, evs)
	return agg
}
