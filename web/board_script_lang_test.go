package web

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// TestBoardScriptSpeaksOneLanguage: the crawl (TestPagesSpeakOneLanguage)
// reads pages as served; this reads the board as the script leaves it.
// In Indonesian and in English, a signed-in supervisor's board is driven
// through every state whose words the script writes or shows — rows
// arriving under the pointer (the "N new" bar), a verdict asked, confirmed
// with its undo counting down, and undone, and one the store failed; the
// screen's mute; the stream gone quiet and then the server gone (the red
// banner with the last update's time, the incident banner's unknown
// state) — and the text a reader sees (document.body.innerText) holds no
// word of the other language, by the crawl's own word check.
func TestBoardScriptSpeaksOneLanguage(t *testing.T) {
	browser := newBrowser(t)
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) { scriptInOneLanguage(t, browser, lang) })
	}
}

// downAdmin is a verdictAdmin whose store can be made to stop answering.
type downAdmin struct {
	verdictAdmin
	down atomic.Bool
}

func (a *downAdmin) Verdict(ctx context.Context, callID, v, by string) (events.Envelope, error) {
	if a.down.Load() {
		return events.Envelope{}, fmt.Errorf("blocklist: read: %w", context.DeadlineExceeded)
	}
	return a.verdictAdmin.Verdict(ctx, callID, v, by)
}

func scriptInOneLanguage(t *testing.T, browser context.Context, lang string) {
	agg, now := boardAggregator(t)
	adm := &downAdmin{}
	srv, err := New(Options{
		Aggregator: agg,
		Board: BoardConfig{Title: "Bontang Siaga 112", Refresh: time.Second, Now: func() time.Time { return now },
			Incidents: playingFunc(func(context.Context) (incident.Incident, bool) {
				return incident.Incident{ID: "inc1", Title: "Banjir Loktuan"}, true
			})},
		Console: &ConsoleOptions{Accounts: testAccounts(t), Admin: adm, Records: fakeRecords{}, Publisher: &recorder{},
			Location: agg.Location(), Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := serveSupervisor(t, srv)

	ctx := tab(t, browser)
	open(t, ctx, ts.URL+"/?lang="+lang+"&tv=0", 1920, 1080)
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	// waitFor polls expr until it is true.
	waitFor := func(what, expr string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); eval(`String(!!(`+expr+`))`) != "true"; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s never came true", what, expr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	states := 0
	// seen checks what a reader of the board sees now.
	seen := func(state string) {
		t.Helper()
		states++
		text := eval(`document.body.innerText`)
		if bad := foreignWords(lang, text); len(bad) > 0 {
			sort.Strings(bad)
			t.Errorf("%s, %s: %s", lang, state, strings.Join(bad, "; "))
		}
	}
	seen("loaded")

	// Rows arrive under the pointer: the list holds, the bar counts them.
	box, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y float64 }](`(() => {
	  const tr = document.querySelectorAll("[data-testid=recent-calls] tbody tr[data-call-id]")[4];
	  tr.scrollIntoView({block: "center"});
	  const b = tr.querySelector("button.prank").getBoundingClientRect();
	  return {X: b.left + b.width / 2, Y: b.top + b.height / 2}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X, box.Y)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j, e := range callEvents(t, callSpec{id: fmt.Sprintf("held-%d", i), number: fmt.Sprintf("+62812666%05d", i),
			at: now.Add(-time.Duration(30-i) * time.Second), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3, transfer: true}) {
			if _, err := agg.Apply(e, uint64(800000+i*10+j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor("the bar over held rows", `(() => { const b = document.querySelector("[data-hold=recent] [data-hold-bar]"); return b && !b.hidden && b.querySelector("b").textContent !== "0"; })()`)
	seen("rows held under the pointer")

	// A verdict: asked, confirmed with its undo, undone.
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(box.X, box.Y), chromedp.WaitVisible(chromedp.CSS(`[data-testid=ask] button.yes`))); err != nil {
		t.Fatal(err)
	}
	seen("a verdict asked")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=ask] button.yes`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=ask] button.undo`))); err != nil {
		t.Fatal(err)
	}
	seen("a verdict confirmed, its undo counting down")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=ask] button.undo`))); err != nil {
		t.Fatal(err)
	}
	waitFor("the undo's answer", `(() => { const a = document.querySelector("[data-testid=ask]"); return a && !a.querySelector("button") && a.innerText.trim() !== ""; })()`)
	seen("a verdict undone")

	// The store stops answering under the next verdict: the row says so.
	adm.down.Store(true)
	other := eval(`document.querySelectorAll("[data-testid=recent-calls] tbody tr[data-call-id]")[6].dataset.callId`)
	row := `[data-testid=recent-calls] tr[data-call-id="` + other + `"]`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+` button.prank`)), chromedp.WaitVisible(chromedp.CSS(row+` + tr[data-testid=ask] button.yes`)),
		chromedp.Click(chromedp.CSS(row+` + tr[data-testid=ask] button.yes`))); err != nil {
		t.Fatal(err)
	}
	waitFor("the store's failure in the row", `(() => { const a = document.querySelector('`+row+` + tr[data-testid=ask]'); return a && !a.querySelector("button") && /[A-Z]-[0-9]{6}/.test(a.innerText); })()`)
	seen("a verdict the store failed")

	// The screen's mute, both ways.
	for _, state := range []string{"muted", "sounding again"} {
		before := eval(`document.querySelector("[data-mute]").textContent`)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-mute]`))); err != nil {
			t.Fatal(err)
		}
		if after := eval(`document.querySelector("[data-mute]").textContent`); after == before || after == "" {
			t.Fatalf("the mute button said %q, then %q", before, after)
		}
		seen(state)
	}

	// The server stops: the stream goes quiet, then nobody answers.
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
		t.Fatal(err)
	}
	ts.Listener.Close()
	ts.CloseClientConnections()
	var stale bool
	for deadline := time.Now().Add(30 * time.Second); ; {
		st := eval(`document.documentElement.dataset.stream || ""`)
		if st == "stale" && !stale {
			stale = true
			seen("the stream quiet")
		}
		if st == "down" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data-stream=%q after the server stopped, want down", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	banners := eval(`[document.querySelector("[data-testid=down-banner]").innerText, document.querySelector("[data-testid=incident-banner] .inc-unknown").innerText].join("|")`)
	if down, unknown, _ := strings.Cut(banners, "|"); down == "" || unknown == "" {
		t.Fatalf("with the server down, the red banner says %q and the incident banner %q", down, unknown)
	}
	seen("the server not responding")
	screenshot(t, ctx, "board-script-down-"+lang)
	// The quiet stream is seen only when the poll catches it between
	// the stream's silence and the failed request; its banner is served
	// with the page, so the crawl reads it as well.
	if states < 9 {
		t.Fatalf("checked %d states", states)
	}
}
