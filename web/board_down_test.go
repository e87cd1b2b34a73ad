package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/incident"
)

// playingFunc is a PlayingIncident made of a function.
type playingFunc func(ctx context.Context) (incident.Incident, bool)

func (f playingFunc) Playing(ctx context.Context) (incident.Incident, bool) { return f(ctx) }

// TestBoardDownInBrowser: the server stops; the board says so across the
// screen in red with the time of its last update, the incident banner no
// longer claims the announcement is playing, and the last update's time
// stays in sight.
func TestBoardDownInBrowser(t *testing.T) {
	browser := newBrowser(t)
	for _, sz := range []struct{ w, h int64 }{{1920, 1080}, {1366, 768}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) { boardDown(t, browser, sz.w, sz.h) })
	}
}

func boardDown(t *testing.T, browser context.Context, w, h int64) {
	agg, now := boardAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Refresh: time.Second, Now: func() time.Time { return now },
		Incidents: playingFunc(func(context.Context) (incident.Incident, bool) {
			return incident.Incident{ID: "inc1", Title: "Kebakaran pasar"}, true
		})})
	t.Cleanup(ts.CloseClientConnections)
	ctx := tab(t, browser)
	open(t, ctx, ts.URL+"/?lang=id", w, h)
	read := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const incidentText = `document.querySelector("[data-testid=incident-banner]").innerText`
	if got := read(incidentText); !strings.Contains(got, "aktif") {
		t.Fatalf("incident banner %q while the server answers: want it aktif", got)
	}
	if got := read(`document.querySelector("[data-testid=last-updated]").innerText`); got != "terakhir diperbarui 10.30.00 WITA" {
		t.Errorf("last update shows %q", got)
	}

	// The listener first: an EventSource that reconnects between the two
	// would keep a live stream from a server that is still running.
	ts.Listener.Close()
	ts.CloseClientConnections()
	var state string
	for deadline := time.Now().Add(20 * time.Second); state != "down" && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		state = read(`document.documentElement.dataset.stream`)
	}
	if state != "down" {
		t.Fatalf("data-stream=%q after the server stopped, want down", state)
	}
	screenshot(t, ctx, fmt.Sprintf("board-down-id-%dx%d", w, h))
	banner := read(`(() => { const b = document.querySelector("[data-testid=down-banner]"); const s = getComputedStyle(b); return JSON.stringify([b.innerText, s.display, s.backgroundColor, s.fontSize]); })()`)
	if !strings.Contains(banner, `"SISTEM TIDAK MERESPONS sejak 10.30 WITA"`) || strings.Contains(banner, `"none"`) || !strings.Contains(banner, "rgb(74, 20, 16)") {
		t.Errorf("down banner [text, display, background, size] = %s: want the red banner with since when", banner)
	}
	if got := read(incidentText); strings.Contains(got, "aktif") || !strings.Contains(got, "tidak diketahui") {
		t.Errorf("incident banner %q with the server down: want it unknown, not aktif", got)
	}
	if got := read(`document.querySelector("[data-testid=last-updated]").innerText`); !strings.Contains(got, "10.30.00 WITA") {
		t.Errorf("last update %q with the server down: want it still shown", got)
	}
	if got := read(`document.querySelector("[data-testid=status]").innerText`); !strings.Contains(got, "sistem tidak merespons") || strings.Contains(got, "langsung") {
		t.Errorf("status %q with the server down", got)
	}
}
