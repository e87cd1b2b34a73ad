package web

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBoardThresholds: the queue tile turns red above the configured
// levels (reports.thresholds) and stays as it was with an alarm off.
func TestBoardThresholds(t *testing.T) {
	agg, now := boardAggregator(t) // two waiting, the longest 75 s
	tile := regexp.MustCompile(`<div class="kpi neutral( alarm)?" data-panel="now"`)
	fig := regexp.MustCompile(`<div class="fig( alarm)?" data-panel="waiting">`)
	for _, tc := range []struct {
		name              string
		th                Thresholds
		tileRed, countRed bool
	}{
		{"off", Thresholds{}, false, false},
		{"wait above", Thresholds{WaitingSeconds: 20, WaitingCalls: 3}, true, false},
		{"wait below", Thresholds{WaitingSeconds: 120, WaitingCalls: 3}, false, false},
		{"count above", Thresholds{WaitingSeconds: 120, WaitingCalls: 1}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }, Thresholds: tc.th})
			_, page, _ := get(t, ts.URL+"/?lang=id", false)
			m, f := tile.FindStringSubmatch(page), fig.FindStringSubmatch(page)
			if m == nil || f == nil {
				t.Fatal("no queue tile")
			}
			if (m[1] != "") != tc.tileRed || (f[1] != "") != tc.countRed {
				t.Errorf("tile red %v, count red %v; want %v, %v", m[1] != "", f[1] != "", tc.tileRed, tc.countRed)
			}
		})
	}
}

// TestBoardWaitAlarmTicksInBrowser: the longest wait passes its threshold
// between two updates; the page turns the tile red that second.
func TestBoardWaitAlarmTicksInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	// The longest caller has waited 77 s at the server's clock; 79 s is
	// passed two seconds after the page loads.
	ts := newTestServer(t, agg, BoardConfig{Refresh: time.Minute, Now: func() time.Time { return now }, Thresholds: Thresholds{WaitingSeconds: 79}})
	t.Cleanup(ts.CloseClientConnections)
	ctx := tab(t, browser)
	open(t, ctx, ts.URL+"/?lang=id", 1920, 1080)
	red := func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("[data-testid=queue-tile]").classList.contains("alarm")`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if red() {
		t.Fatal("queue tile red at load, below its threshold")
	}
	deadline := time.Now().Add(6 * time.Second)
	for !red() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !red() {
		t.Fatal("queue tile not red 6 s after the wait passed its threshold")
	}
}
