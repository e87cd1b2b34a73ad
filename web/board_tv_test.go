package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/events"
)

// tvMeasure is run in the page: the smallest computed font sizes the TV
// mode promises, the smallest axis label as drawn on the screen (font
// size times the chart's scale), y labels cut at the chart's left edge,
// rows cut by their panel, figures sticking out of their tile, and the
// lists' "+N" rows.
const tvMeasure = `(() => {
  const px = sel => Math.min(...[...document.querySelectorAll(sel)].filter(e => e.getClientRects().length).map(e => parseFloat(getComputedStyle(e).fontSize)));
  const axes = [...document.querySelectorAll('[data-testid=chart-outcomes] .ylab, [data-testid=chart-outcomes] .xlab, [data-testid=chart-prank] .ylab, [data-testid=chart-prank] .xlab')]
    .filter(e => e.getAttribute('visibility') !== 'hidden')
    .map(e => parseFloat(getComputedStyle(e).fontSize) * e.closest('svg').getScreenCTM().a);
  const cutY = [...document.querySelectorAll('svg.chart .ylab')].filter(e => e.getBBox().x < e.closest('svg').viewBox.baseVal.x).map(e => e.textContent);
  const cutRows = [];
  for (const t of document.querySelectorAll('table[data-fit]')) {
    const box = t.closest('.panel').getBoundingClientRect();
    for (const tr of t.querySelectorAll('tbody tr')) {
      if (tr.hidden) continue;
      const r = tr.getBoundingClientRect();
      if (r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5) cutRows.push(t.dataset.testid + ': ' + tr.innerText);
    }
    if (t.getBoundingClientRect().right > box.right + 0.5) cutRows.push(t.dataset.testid + ' is wider than its panel');
  }
  const cutFigs = [...document.querySelectorAll('.queue .fig')].filter(f => f.getBoundingClientRect().right > f.closest('.kpi').getBoundingClientRect().right + 0.5).map(f => f.innerText);
  const lists = {};
  for (const t of document.querySelectorAll('table[data-fit]')) {
    const more = t.querySelector('.more-row');
    lists[t.dataset.testid] = {shown: [...t.querySelectorAll('tbody tr:not(.more-row)')].filter(r => !r.hidden).length,
      all: t.querySelectorAll('tbody tr:not(.more-row)').length, base: Number(more.dataset.more), more: more.hidden ? '' : more.innerText};
  }
  return {tv: document.documentElement.dataset.tv, label: px('.kpi .k'), table: px('.lists td'), thead: Math.min(...[...document.querySelectorAll('.lists th')].map(e => parseFloat(getComputedStyle(e).fontSize))), legend: px('.legend li'),
    axis: Math.min(...axes), cutY, cutRows, cutFigs, lists};
})()`

type tvLayout struct {
	TV                          string
	Label, Table, Thead, Legend float64
	Axis                        float64
	CutY, CutRows, CutFigs      []string
	Lists                       map[string]struct {
		Shown, All, Base int
		More             string
	}
}

// TestBoardTVInBrowser: the TV mode (?tv=1, and the default from 1920 px
// wide) has tile labels of 32 px or more, tables and legends of 28 px,
// axis labels of 24 px as drawn, y labels up to thousands uncut, lists
// that hide whole rows and say how many ("+N lainnya"), and queue figures
// inside their tiles; at 1366×768 without it the axis labels are still
// drawn no smaller than their CSS size allows and nothing is cut.
func TestBoardTVInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	// A busy hour, so the hourly chart's y axis reaches the thousands
	// ("1.000" lost its first digit), and more repeat callers than fit.
	day := now.Truncate(24 * time.Hour)
	var evs []events.Envelope
	for i := range 1100 {
		evs = append(evs, callEvents(t, callSpec{id: fmt.Sprintf("busy%04d", i), number: fmt.Sprintf("+62812777%05d", i%40),
			at: now.Add(-3*time.Hour + time.Duration(i)*time.Second), outcome: events.OutcomeNoInput})...)
	}
	_ = day
	applyAll(t, agg, evs)
	ts := newTestServer(t, agg, BoardConfig{Title: "Bontang Siaga 112", Refresh: time.Minute, Now: func() time.Time { return now }})
	t.Cleanup(ts.CloseClientConnections)
	for _, tc := range []struct {
		name  string
		query string
		w, h  int64
		tv    string
	}{
		{"wall default", "?lang=id", 1920, 1080, "1"},
		{"laptop", "?lang=id", 1366, 768, ""},
		{"laptop asks tv", "?lang=id&tv=1", 1366, 768, "1"},
		{"wall without tv", "?lang=id&tv=0", 1920, 1080, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tab(t, browser)
			open(t, ctx, ts.URL+"/"+tc.query, tc.w, tc.h)
			time.Sleep(300 * time.Millisecond) // the first stream message re-renders the board
			screenshot(t, ctx, fmt.Sprintf("tv-id-%dx%d-tv%s", tc.w, tc.h, tc.tv))
			l, err := chromedp.Run(ctx, chromedp.Evaluate[tvLayout](tvMeasure))
			if err != nil {
				t.Fatal(err)
			}
			if l.TV != tc.tv {
				t.Fatalf("data-tv=%q, want %q", l.TV, tc.tv)
			}
			if tc.tv == "1" {
				if l.Label < 32 || l.Table < 28 || l.Thead < 28 || l.Legend < 28 {
					t.Errorf("TV sizes: tile labels %.1f px (≥32), tables %.1f (≥28), headers %.1f (≥28), legend %.1f (≥28)", l.Label, l.Table, l.Thead, l.Legend)
				}
				if l.Axis < 23.9 {
					t.Errorf("TV axis labels drawn at %.1f px, want ≥ 24", l.Axis)
				}
			} else if l.Axis < 17 {
				t.Errorf("axis labels drawn at %.1f px, want ≥ 17", l.Axis)
			}
			// TV mode is sized for a 1920×1080 wall: a laptop that asks
			// for it gets its sizes, and lists wider than their panels.
			if tc.name == "laptop asks tv" {
				l.CutRows = nil
			}
			if len(l.CutY) > 0 || len(l.CutRows) > 0 || len(l.CutFigs) > 0 {
				t.Errorf("cut: y labels %q, rows %q, queue figures %q", l.CutY, l.CutRows, l.CutFigs)
			}
			for name, li := range l.Lists {
				hidden := li.All - li.Shown + li.Base
				want := ""
				if hidden > 0 {
					want = fmt.Sprintf("+%d lainnya", hidden)
				}
				if li.More != want {
					t.Errorf("%s: %d of %d rows shown (%d more on the server), last row %q; want %q", name, li.Shown, li.All, li.Base, li.More, want)
				}
			}
			if li := l.Lists["top-callers"]; li.More == "" {
				t.Errorf("top callers: %+v, want a +N row (40 repeat callers)", li)
			}
		})
	}
}
