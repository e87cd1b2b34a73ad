package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/reports"
)

// These tests drive a real headless Chromium through the DevTools protocol
// (chromedp): the wall board's promises — fits a 1920×1080 screen, two
// columns at 1366×768, no sideways scroll on a phone, the right language,
// the health banner, live updates without a reload — are about what a
// browser lays out, which no HTML string check can see. They are skipped
// only where no Chromium is installed (.ci/run installs Debian's package).
//
// SIAGA112_SCREENSHOTS=<dir> writes a PNG of every size and language there
// (the README's picture comes from it).

// chromiumCandidates are where distributions install the browser.
var chromiumCandidates = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range chromiumCandidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skipf("no Chromium at %v or on PATH: the browser tests need it (apt-get install -y chromium)", chromiumCandidates)
	return ""
}

// newBrowser starts one headless Chromium for the test and returns a
// context for its first tab.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Do starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tabTimeout bounds everything a test does in one tab, so a page that never
// renders fails the test with a message instead of hanging it until go
// test's own timeout.
const tabTimeout = 90 * time.Second

// tab opens a new tab in the browser of ctx; closed at cleanup.
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The tab opens on this first, unbounded call; a timeout set before it
	// would bound the tab's life rather than the test's actions.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, tabTimeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// layout is what the page reports about itself.
type layout struct {
	Lang        string     `json:"lang"`
	Health      string     `json:"health"`
	ScrollW     float64    `json:"scrollW"`
	ClientW     float64    `json:"clientW"`
	Panels      []panelBox `json:"panels"`
	LabelPx     float64    `json:"labelPx"`
	NumberPx    float64    `json:"numberPx"`
	KpisLeft    float64    `json:"kpisLeft"`
	SideLeft    float64    `json:"sideLeft"`
	KpisTop     float64    `json:"kpisTop"`
	SideTop     float64    `json:"sideTop"`
	Text        string     `json:"text"`
	Banner      string     `json:"banner"`
	StaleBanner bool       `json:"staleBanner"`
	UsualLine   bool       `json:"usualLine"`
	HeatCells   int        `json:"heatCells"`
	// Shown maps data-testid to the element's text; WithinMarks counts the
	// answered-within markers on the hourly chart.
	Shown       map[string]string `json:"shown"`
	WithinMarks int               `json:"withinMarks"`
	// Over names elements that stick out on the right (for messages).
	Over []string `json:"over"`
}

type panelBox struct {
	Name                     string
	Top, Left, Bottom, Right float64
}

// measure is run in the page: sizes of every watched panel (data-panel),
// the smallest label and number font on the tiles, and the page's text.
const measure = `(() => {
  const r = e => e.getBoundingClientRect();
  const px = (sel, f) => Math.min(...[...document.querySelectorAll(sel)].map(e => parseFloat(getComputedStyle(e).fontSize)));
  const k = document.querySelector('.kpis'), s = document.querySelector('.side');
  const b = document.querySelector('[data-testid=health-banner]');
  const st = document.querySelector('[data-testid=stale-banner]');
  return {
    lang: document.documentElement.lang,
    health: document.documentElement.dataset.health,
    scrollW: document.documentElement.scrollWidth,
    clientW: document.documentElement.clientWidth,
    panels: [...document.querySelectorAll('[data-panel]')].map(e => ({Name: e.dataset.panel, Top: r(e).top, Left: r(e).left, Bottom: r(e).bottom, Right: r(e).right})),
    labelPx: px('.kpi .k'),
    numberPx: px('.kpi .v'),
    kpisLeft: r(k).left, sideLeft: r(s).left, kpisTop: r(k).top, sideTop: r(s).top,
    text: document.body.innerText,
    banner: b ? b.innerText : '',
    staleBanner: st ? getComputedStyle(st).display !== 'none' : false,
    usualLine: !!document.querySelector('[data-testid=chart-outcomes-avg]'),
    heatCells: document.querySelectorAll('[data-testid=chart-heat] rect.cell').length,
    shown: Object.fromEntries([...document.querySelectorAll('[data-testid]')].map(e => [e.dataset.testid, e.textContent.trim()])),
    withinMarks: document.querySelectorAll('[data-testid=chart-outcomes] .wmark').length,
    over: [...document.querySelectorAll('body *')].filter(e => r(e).right > document.documentElement.clientWidth + 0.5 && !e.closest('.scroll-x')).slice(0, 6).map(e => e.tagName + '.' + (e.getAttribute('class') || '') + '[' + (e.dataset.testid || '') + ']'),
  };
})()`

func pageLayout(t *testing.T, ctx context.Context) layout {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measure))
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	return l
}

// open loads url at w×h and waits for the board.
func open(t *testing.T, ctx context.Context, url string, w, h int64) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(w, h),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel="hourly"]`)),
	); err != nil {
		t.Fatalf("open %s at %dx%d: %v", url, w, h, err)
	}
}

// screenshot writes the viewport to $SIAGA112_SCREENSHOTS/name.png when
// that variable is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SIAGA112_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// boardAggregator is the demo mix in Asia/Makassar with two blocked
// numbers and one call still in the IVR at the test clock (10:30 WITA).
func boardAggregator(t *testing.T) (*reports.Aggregator, time.Time) {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Makassar")
	if err != nil {
		t.Fatalf("zone database: %v", err)
	}
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, loc)
	now := day.Add(10*time.Hour + 30*time.Minute)
	agg := reports.NewAggregator(reports.Options{Location: loc, Now: func() time.Time { return now }})
	evs := demoCalls(t, day)
	evs = append(evs, queueDemo(t, day, now)...)
	// The same weekday one and two weeks before: the "usual" line.
	for k := 1; k <= 2; k++ {
		for _, e := range demoCalls(t, day.AddDate(0, 0, -7*k)) {
			e.CallID = fmt.Sprintf("w%d-%s", k, e.CallID)
			evs = append(evs, e)
		}
	}
	for i, n := range []string{"+6281234500003", "+6281234500005"} {
		until := day.Add(time.Duration(11+6*i) * time.Hour)
		evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", day.Add(time.Duration(8+i)*time.Hour),
			events.BlocklistChanged{Number: n, Until: &until, Strikes: 3 + i, Reason: "strikes"}))
	}
	evs = append(evs, callEvents(t, callSpec{id: "live", number: "+6281299990000", at: day.Add(10*time.Hour + 29*time.Minute),
		outcome: events.OutcomeEmergency, typ: "fire", ttc: 5})[:2]...)
	applyAll(t, agg, evs)
	return agg, now
}

// queueDemo is a morning of calls past the hand-off: most answered by a
// person within 20 s, some later, a few callers hanging up in the queue;
// two callers waiting now (75 s and 20 s in the queue), and six operators
// (two free, two busy, one ringing, one away).
func queueDemo(t *testing.T, day, now time.Time) []events.Envelope {
	t.Helper()
	var evs []events.Envelope
	stps := []float64{6, 9, 12, 8, 14, 17, 22, 11, 35, 7, 13, 19}
	types := []string{"fire", "medical", "police", "medical", "disaster"}
	n := 0
	for h := range 10 {
		for i := range h%3 + 1 {
			q := queueSpec{id: fmt.Sprintf("q%03d", n), number: fmt.Sprintf("+62813555%05d", n), typ: types[n%len(types)],
				at: day.Add(time.Duration(h)*time.Hour + time.Duration(10+i*13)*time.Minute), fate: reports.QueueAnswered, stp: stps[n%len(stps)] + float64(h%4)}
			if n%7 == 3 {
				q.fate = reports.QueueAbandoned
			}
			evs = append(evs, queueEvents(t, q)...)
			n++
		}
	}
	for i, w := range []struct {
		typ string
		ago time.Duration
	}{{"fire", 75 * time.Second}, {"medical", 20 * time.Second}} {
		evs = append(evs, queueEvents(t, queueSpec{id: fmt.Sprintf("w%d", i), number: fmt.Sprintf("+62813666%05d", i), typ: w.typ, at: now.Add(-w.ago - 2300*time.Millisecond), fate: reports.QueueWaiting})...)
	}
	for i, st := range []string{events.OperatorFree, events.OperatorFree, events.OperatorBusy, events.OperatorBusy, events.OperatorRinging, events.OperatorAway} {
		evs = append(evs, ev(t, events.TypeOperatorState, "", "", now.Add(-time.Minute), events.OperatorState{Device: fmt.Sprintf("PJSIP/op%d", 201+i), State: st, AsteriskState: "X"}))
	}
	return evs
}

// TestBoardLayoutInBrowser checks the three screen sizes in both languages.
func TestBoardLayoutInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Title: "Bontang Siaga 112", Now: func() time.Time { return now }})
	t.Cleanup(ts.CloseClientConnections) // before ts.Close: open streams never end by themselves

	sizes := []struct {
		name string
		w, h int64
	}{{"wall", 1920, 1080}, {"laptop", 1366, 768}, {"phone", 412, 915}}
	langs := []struct {
		tag, query, accept string
		date               string
		want, notWant      []string
	}{
		{LangID, "", "id-ID,id;q=0.9", "Jumat, 27 Nov 2026", []string{"Panggilan hari ini", "Ke antrean petugas", "Nomor diblokir sekarang", "Belum terjangkau", "WITA",
			"di antrean", "terlama", "Dijawab petugas dalam", "Menutup di antrean", "Petugas", "bebas", "sibuk", "tidak aktif"},
			[]string{"Calls today", "Put through", "Diteruskan", "Blocked now", "live", "waiting", "Answered", "answered", "Operators", "free", "busy", "away", "Hung up", "queue"}},
		{LangEN, "?lang=en", "", "Friday, 27 Nov 2026", []string{"Calls today", "To the operators' queue", "Numbers blocked now", "Not yet reached", "WITA",
			"waiting", "longest", "Answered by a person within", "Hung up in the queue", "Operators"},
			[]string{"Panggilan hari ini", "Diteruskan", "Diserahkan", "menunggu", "Petugas"}},
	}
	for _, lg := range langs {
		for _, sz := range sizes {
			t.Run(lg.tag+"/"+sz.name, func(t *testing.T) {
				ctx := tab(t, browser)
				if lg.accept != "" {
					if err := chromedp.Do(ctx, setAcceptLanguage(lg.accept)); err != nil {
						t.Fatal(err)
					}
				}
				open(t, ctx, ts.URL+"/"+lg.query, sz.w, sz.h)
				screenshot(t, ctx, fmt.Sprintf("board-%s-%dx%d", lg.tag, sz.w, sz.h))
				if dir := os.Getenv("SIAGA112_SCREENSHOTS"); dir != "" && sz.name == "wall" {
					// The whole page too: the panels below the wall board.
					png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "board-"+lg.tag+"-full.png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				l := pageLayout(t, ctx)
				if l.Lang != lg.tag {
					t.Errorf("<html lang=%q>, want %q", l.Lang, lg.tag)
				}
				for _, s := range lg.want {
					if !strings.Contains(l.Text, s) {
						t.Errorf("page lacks %q", s)
					}
				}
				for _, s := range lg.notWant {
					if strings.Contains(l.Text, s) {
						t.Errorf("page shows %q in %s", s, lg.tag)
					}
				}
				if len(l.Panels) != 13 {
					t.Fatalf("%d watched panels, want 13: %+v", len(l.Panels), l.Panels)
				}
				// The queue band is filled: two waiting, the within shares
				// and the operators shown, the chart's share markers drawn.
				for id, want := range map[string]string{"waiting-now": "2", "operators-free": "2", "operators-busy": "3", "operators-away": "1"} {
					if l.Shown[id] != want {
						t.Errorf("%s shows %q, want %q", id, l.Shown[id], want)
					}
				}
				for _, id := range []string{"within-10s", "within-15s", "within-20s", "person-median", "longest-wait"} {
					if v := l.Shown[id]; v == "" || v == Dash {
						t.Errorf("%s shows %q, want a figure", id, v)
					}
				}
				if l.WithinMarks == 0 {
					t.Error("the hourly chart has no answered-within markers")
				}
				if l.ScrollW > l.ClientW {
					t.Errorf("page scrolls sideways: %v wide in a %v viewport; sticking out: %v", l.ScrollW, l.ClientW, l.Over)
				}
				switch sz.name {
				case "wall", "laptop":
					if sz.name == "wall" && !strings.Contains(l.Text, lg.date) {
						t.Errorf("wall board lacks the date %q", lg.date)
					}
					for _, p := range l.Panels {
						if p.Top < 0 || p.Left < 0 || p.Bottom > float64(sz.h) || p.Right > float64(sz.w) {
							t.Errorf("panel %s at %+v is outside the %dx%d screen", p.Name, p, sz.w, sz.h)
						}
					}
					if l.SideLeft <= l.KpisLeft || l.SideTop != l.KpisTop {
						t.Errorf("tiles (left %v, top %v) and chart (left %v, top %v) are not two columns", l.KpisLeft, l.KpisTop, l.SideLeft, l.SideTop)
					}
				case "phone":
					if l.SideTop <= l.KpisTop {
						t.Errorf("phone: chart (top %v) not below the tiles (top %v)", l.SideTop, l.KpisTop)
					}
				}
				if !l.UsualLine || l.HeatCells != 7*24 {
					t.Errorf("usual-weekday line shown %v, heat map cells %d (want 168)", l.UsualLine, l.HeatCells)
				}
				if l.LabelPx < 24 {
					t.Errorf("smallest tile label is %vpx, want >= 24", l.LabelPx)
				}
				if l.NumberPx < 64 {
					t.Errorf("smallest key number is %vpx, want >= 64", l.NumberPx)
				}
			})
		}
	}
}

// TestBoardHealthInBrowser shows a disconnected Asterisk node.
func TestBoardHealthInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	healthOf := func(context.Context) health.Health {
		return health.Compose(map[string]health.Check{
			"nats": health.OK(nil),
			"ari":  {Status: "node disconnected", Nodes: []health.Node{{Name: "asterisk-1"}}},
		})
	}
	ts := newTestServer(t, agg, BoardConfig{Health: healthOf, Now: func() time.Time { return now }})
	t.Cleanup(ts.CloseClientConnections)
	for _, lg := range []struct{ query, accept, want string }{
		{"", "id", "Semua node Asterisk terputus"},
		{"?lang=en", "id", "Asterisk node asterisk-1 is disconnected"},
	} {
		ctx := tab(t, browser)
		if err := chromedp.Do(ctx, setAcceptLanguage(lg.accept)); err != nil {
			t.Fatal(err)
		}
		open(t, ctx, ts.URL+"/"+lg.query, 1920, 1080)
		screenshot(t, ctx, "board-down"+strings.ReplaceAll(lg.query, "?lang=", "-"))
		l := pageLayout(t, ctx)
		if l.Health != health.LevelDown {
			t.Errorf("%s: data-health=%q, want down", lg.query, l.Health)
		}
		if !strings.Contains(l.Banner, lg.want) {
			t.Errorf("%s: banner %q lacks %q", lg.query, l.Banner, lg.want)
		}
		if strings.Contains(l.Text, "● langsung") || strings.Contains(l.Text, "● live") {
			t.Errorf("%s: the board says live while Asterisk is down", lg.query)
		}
		for _, p := range l.Panels {
			if p.Bottom > 1080 {
				t.Errorf("%s: with the banner, panel %s ends at %v, below the screen", lg.query, p.Name, p.Bottom)
			}
		}
	}
}

// TestBoardLiveInBrowser: a call applied after the page loaded shows up
// without a reload, and a dropped stream marks the figures stale.
func TestBoardLiveInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Refresh: time.Second, Now: func() time.Time { return now }})
	t.Cleanup(ts.CloseClientConnections)
	ctx := tab(t, browser)
	open(t, ctx, ts.URL+"/?lang=en", 1920, 1080)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__loaded = "same page"`)); err != nil {
		t.Fatal(err)
	}
	// The stream may replace the tile between two reads (its first
	// message comes right after the page loads), so the figure is read by
	// the page itself and read again until it is there.
	readTotal := func() string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("[data-testid=total-calls]") || {}).textContent || ""`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(got)
	}
	var before string
	var n int
	for deadline := time.Now().Add(10 * time.Second); ; {
		before = readTotal()
		var err error
		if n, err = strconv.Atoi(strings.ReplaceAll(before, ",", "")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("total calls %q: %v", before, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	applyAll(t, agg, callEvents(t, callSpec{id: "late", number: "+6281200001111", at: now.Add(-time.Minute),
		outcome: events.OutcomeSilentHelp, typ: "operator", ttc: 4, transfer: true}))
	want := strconv.Itoa(n + 1)
	got := before
	deadline := time.Now().Add(20 * time.Second)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = readTotal()
	}
	if got != want {
		t.Fatalf("total calls shows %q, want %q after a new call", got, want)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__loaded || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if marker != "same page" {
		t.Fatal("the page reloaded instead of updating in place")
	}

	// The stream drops (the server goes away): the board says stale at
	// once, then down when a plain request fails too (TestBoardDownInBrowser
	// checks the down banner itself).
	ts.CloseClientConnections()
	ts.Listener.Close()
	var stale string
	deadline = time.Now().Add(20 * time.Second)
	for stale != "stale" && stale != "down" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if stale, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.stream`)); err != nil {
			t.Fatal(err)
		}
	}
	if stale != "stale" && stale != "down" {
		t.Fatalf("data-stream=%q after the stream dropped, want stale or down", stale)
	}
	l := pageLayout(t, ctx)
	if !(l.StaleBanner || strings.Contains(l.Text, "SYSTEM NOT RESPONDING")) || strings.Contains(l.Text, "● live") {
		t.Errorf("after the stream dropped: stale banner shown %v, text %q", l.StaleBanner, l.Text[:min(len(l.Text), 300)])
	}
	screenshot(t, ctx, "board-stale-en")
}

// TestDashboardInBrowser loads the dashboard served from data that went
// through JetStream and the worker, and checks that the figures it shows
// are the ones /api/stats returns.
func TestDashboardInBrowser(t *testing.T) {
	browser := newBrowser(t)
	js := startJS(t)
	evs := demoCalls(t, demoDay)
	for i, n := range []string{"+6281234500003", "+6281234500005"} {
		until := demoDay.Add(time.Duration(11+6*i) * time.Hour)
		evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", demoDay.Add(time.Duration(8+i)*time.Hour),
			events.BlocklistChanged{Number: n, Until: &until, Strikes: 3 + i, Reason: "strikes"}))
	}
	evs = append(evs, callEvents(t, callSpec{id: "live", number: "+6281299990000", at: demoDay.Add(10*time.Hour + 29*time.Minute),
		outcome: events.OutcomeEmergency, typ: "fire", ttc: 5})[:2]...)
	publish(t, js, evs, true)

	agg := reports.NewAggregator(reports.Options{})
	w := reports.NewWorker(js, agg, reports.WorkerConfig{Durable: "reports-browser", Stream: configs.Default().NATS.Stream}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	eventually(t, "worker to apply the demo events", func() bool { return agg.Counters().Events == uint64(len(evs)) })
	ts := newTestServer(t, agg, BoardConfig{Ready: w.Ready, Lag: w.Lag, Title: "Bontang Siaga 112"})
	t.Cleanup(ts.CloseClientConnections)

	day := demoDay.Format(time.DateOnly)
	status, body, _ := get(t, ts.URL+"/api/stats?from="+day+"&to="+day, false)
	if status != 200 {
		t.Fatalf("/api/stats: %d %s", status, body)
	}
	var api statsResponse
	if err := json.Unmarshal([]byte(body), &api); err != nil {
		t.Fatal(err)
	}
	if api.Totals.Calls == 0 {
		t.Fatal("no calls aggregated")
	}

	bctx := tab(t, browser)
	open(t, bctx, ts.URL+"/?range=today&lang=en", 1920, 1080)
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-testid]')].map(e => [e.dataset.testid, e.textContent.trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	tot := api.Totals
	en := locales[LangEN]
	want := map[string]string{
		"total-calls":         en.Int(tot.Calls),
		"total-put-through":   en.Int(tot.PutThrough),
		"total-prank-ratio":   en.Pct(tot.PrankRatio),
		"total-silent-help":   en.Int(tot.Outcomes["silent_help"]),
		"blocked-numbers-now": "2",
		"calls-refused":       en.T("kpi.refused", en.Int(tot.Outcomes["blocked"])),
		"classify-median":     en.Dec(tot.ClassifyMedian, 1),
		"active-calls":        "1",
	}
	for id, v := range want {
		if shown[id] != v {
			t.Errorf("%s shows %q, /api/stats says %q", id, shown[id], v)
		}
	}

	// Every bar of the outcome chart adds up to its bucket's calls.
	bars, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]int64](`Object.fromEntries([...document.querySelectorAll('[data-testid=chart-outcomes] g.bar')].map(g =>
		[g.dataset.start, [...g.querySelectorAll('rect')].reduce((s, r) => s + Number(r.dataset.value), 0)]))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != len(api.Buckets) {
		t.Fatalf("chart has %d bars, /api/stats %d buckets", len(bars), len(api.Buckets))
	}
	for _, b := range api.Buckets {
		if got := bars[b.Start.Format(time.RFC3339)]; got != b.Calls {
			t.Errorf("bar %s sums to %d, /api/stats %d", b.Start, got, b.Calls)
		}
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"****0003", "****0005", "Bontang Siaga 112"} {
		if !strings.Contains(text, s) {
			t.Errorf("dashboard lacks %q", s)
		}
	}
	if strings.Contains(text, "+6281234500003") {
		t.Error("dashboard shows a full number without the admin token")
	}
}
