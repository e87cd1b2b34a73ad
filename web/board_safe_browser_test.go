package web

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// safeServer is the whole web side (board and console over one auth
// check, as New builds it) with siti, a supervisor, signed in on every
// request. Verdicts go to adm and audits to pub.
func safeServer(t *testing.T, agg *reports.Aggregator, now time.Time, refresh time.Duration) (*httptest.Server, *verdictAdmin, *recorder) {
	t.Helper()
	adm, pub := &verdictAdmin{}, &recorder{}
	srv, err := New(Options{
		Aggregator: agg,
		Board:      BoardConfig{Title: "Bontang Siaga 112", Refresh: refresh, Now: func() time.Time { return now }},
		Console: &ConsoleOptions{Accounts: testAccounts(t), Admin: adm, Records: fakeRecords{}, Publisher: pub,
			Location: agg.Location(), Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := serveSupervisor(t, srv)
	return ts, adm, pub
}

// TestVerdictHitsItsRowWhileCallsArrive: a supervisor points at one
// call's "Iseng" while new calls arrive every 300 ms. The rows under the
// pointer hold still (the new ones wait behind the "N baru" bar), so the
// click lands on the call aimed at; the board asks first, naming the
// number and that it would be blocked for 1 h; confirmed, the verdict is
// saved and offers its undo in the same row, which is used within the 10
// seconds. Both are audited.
func TestVerdictHitsItsRowWhileCallsArrive(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	ts, adm, pub := safeServer(t, agg, now, time.Second)
	ctx := tab(t, browser)
	// TV mode (the default at 1920 px) shows fewer rows; this test is about
	// rows holding still, so it uses the desk layout.
	open(t, ctx, ts.URL+"/?lang=id&tv=0", 1920, 1080)
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	// The fifth row's "Iseng", scrolled to the middle of the screen.
	target := eval(`(() => { const tr = document.querySelectorAll("[data-testid=recent-calls] tbody tr[data-call-id]")[4];
	  tr.scrollIntoView({block: "center"}); return tr.dataset.callId; })()`)
	var box struct{ X, Y float64 }
	box, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y float64 }](`(() => {
	  const b = document.querySelector('[data-testid=recent-calls] tr[data-call-id="`+target+`"] button.prank').getBoundingClientRect();
	  return {X: b.left + b.width / 2, Y: b.top + b.height / 2}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X, box.Y)); err != nil {
		t.Fatal(err)
	}

	// Calls arrive while the hand is on the way to the button.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for j, e := range callEvents(t, callSpec{id: fmt.Sprintf("arrived-%d", i), number: fmt.Sprintf("+62812777%05d", i),
				at: now.Add(-time.Duration(60-i) * time.Second), outcome: events.OutcomeEmergency, typ: "police", ttc: 3, transfer: true}) {
				if _, err := agg.Apply(e, uint64(500000+i*10+j)); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	time.Sleep(3 * time.Second)
	bar := eval(`(() => { const b = document.querySelector("[data-hold=recent] [data-hold-bar]"); return b && !b.hidden ? b.textContent.trim() : ""; })()`)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(box.X, box.Y)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=ask]`))); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if !strings.HasSuffix(bar, "baru — tampilkan") || strings.HasPrefix(bar, "0") {
		t.Errorf("the bar over the held rows says %q, want new calls counted", bar)
	}
	asked := eval(`(() => { const a = document.querySelector("[data-testid=ask]"); return a.previousElementSibling.dataset.callId + "|" + a.innerText; })()`)
	aimed, words, _ := strings.Cut(asked, "|")
	if aimed != target {
		t.Fatalf("the click asked about %s, aimed at %s", aimed, target)
	}
	if !strings.Contains(words, "Tandai iseng: ") || !strings.Contains(words, "akan diblokir 1 jam.") || !strings.Contains(words, "Ya, tandai iseng") || !strings.Contains(words, "Batal") {
		t.Errorf("the question says %q", words)
	}
	if len(adm.published()) != 0 {
		t.Fatal("a verdict was saved before it was confirmed")
	}
	screenshot(t, ctx, "safe-ask-id-1920x1080")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=ask] button.yes`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=ask] button.undo`))); err != nil {
		t.Fatal(err)
	}
	result := eval(`document.querySelector("[data-testid=ask]").innerText`)
	if !strings.Contains(result, "Penilaian Iseng untuk panggilan "+target+" tersimpan.") || !strings.Contains(result, "Urungkan: tandai asli (") {
		t.Errorf("after confirming, the row says %q", result)
	}
	screenshot(t, ctx, "safe-undo-id-1920x1080")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=ask] button.undo`))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(eval(`document.querySelector("[data-testid=ask]").innerText`), "Diurungkan") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	want := []string{target + " prank siti", target + " genuine siti"}
	if got := adm.published(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
	var confirmed, undone bool
	for _, a := range pub.audits(t) {
		confirmed = confirmed || a.Action == "verdict_prank" && a.Target == target && strings.HasPrefix(a.Result, "ok: confirmed; Mark as prank: ") && strings.HasSuffix(a.Result, "will be blocked for 1 h.")
		undone = undone || a.Action == "undo_verdict_prank" && a.Target == target && a.Result == "ok: genuine verdict published"
	}
	if !confirmed || !undone {
		t.Errorf("audits: confirmed %v, undone %v: %+v", confirmed, undone, pub.audits(t))
	}
}

// TestAttentionQueueInBrowser: with 29 open items, some from yesterday,
// a signed-in supervisor at 1920×1080 sees the needs-attention queue on
// the first screen with its count, the oldest first and how long each has
// waited (days, for the demo's unticked items of past weeks); "Saya tangani" puts her name on an item; a new silent-help call
// flashes the panel, and the screen's mute is remembered over a reload.
func TestAttentionQueueInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	var evs []events.Envelope
	for i := range 25 {
		evs = append(evs, callEvents(t, callSpec{id: fmt.Sprintf("sh-%02d", i), number: fmt.Sprintf("+62812888%05d", i),
			at: now.Add(-26*time.Hour + time.Duration(i)*time.Hour), outcome: events.OutcomeSilentHelp, typ: "police", ttc: 4, transfer: true})...)
	}
	for i, e := range evs {
		if _, err := agg.Apply(e, uint64(600000+i)); err != nil {
			t.Fatal(err)
		}
	}
	open := agg.Attention(time.Time{}, now.Add(time.Minute), 0, true)
	// The demo holds unticked items of past weeks too: they stay until
	// someone ticks them, and come first.
	if len(open) < 25 {
		t.Fatalf("fixture: %d open items", len(open))
	}
	oldest, waited := open[0].CallID, localeOf(LangID).Span(now.Sub(open[0].Started))
	ts, _, pub := safeServer(t, agg, now, time.Second)
	ctx := tab(t, browser)
	load := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1920, 1080), chromedp.Navigate(ts.URL+"/?lang=id"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=attention]`))); err != nil {
			t.Fatal(err)
		}
	}
	load()
	screenshot(t, ctx, "safe-attention-id-1920x1080")
	type queueView struct {
		Count, First, Waited, Taken string
		PanelTop, FirstBottom       float64
		Overflow                    float64
	}
	read := func() queueView {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[queueView](`(() => {
		  const p = document.querySelector("[data-testid=attention]"), r = p.querySelector("tbody tr[data-call-id]");
		  return {Count: p.querySelector("[data-testid=attention-count]").textContent, First: r.dataset.callId,
		    Waited: r.querySelector("[data-testid=waited]").textContent, Taken: r.querySelector("[data-testid=taken]").innerText,
		    PanelTop: p.getBoundingClientRect().top, FirstBottom: r.getBoundingClientRect().bottom,
		    Overflow: document.querySelector(".screen").scrollHeight - document.querySelector(".screen").clientHeight};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	q := read()
	if q.Count != fmt.Sprint(len(open)) || q.First != oldest || q.Waited != waited || !strings.HasSuffix(waited, " jam") {
		t.Errorf("queue shows count %q, first %s waited %q; want %d, %s, %s", q.Count, q.First, q.Waited, len(open), oldest, waited)
	}
	if q.FirstBottom > 1080 || q.Overflow > 1 {
		t.Errorf("the oldest item ends at %.0f px (screen 1080), the wall overflows by %.0f px", q.FirstBottom, q.Overflow)
	}

	// Taking the oldest item puts the name on it, for every screen.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=attention] tr[data-call-id="`+oldest+`"] [data-testid=taken] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=attention]`))); err != nil {
		t.Fatal(err)
	}
	// The form posts and the board comes back: wait for the new page.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search + "|" + document.readyState + "|" + !!document.querySelector("[data-testid=attention] tbody tr[data-call-id]")`))
		if err == nil && strings.Contains(v, "notice=taken") && strings.HasSuffix(v, "|complete|true") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The take is a call.taken event: the reports worker folds it into
	// the call's record, as here, and the board reads it from there.
	var takes int
	for _, e := range pub.published() {
		if e.Type == events.TypeTaken && e.CallID == oldest {
			takes++
			// Dated on the fixture's clock, which the aggregator keeps.
			e.Time = now
			if _, err := agg.Apply(e, uint64(650000+takes)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if takes != 1 {
		t.Fatalf("the take published %d call.taken events for %s, want 1", takes, oldest)
	}
	load()
	q = read()
	if q.Taken != "Sedang ditangani siti" {
		t.Errorf("the taken item says %q", q.Taken)
	}
	var taken bool
	for _, a := range pub.audits(t) {
		taken = taken || a.Action == "take" && a.Target == oldest && a.Result == "ok"
	}
	if !taken {
		t.Error("the take is not audited")
	}

	// A new silent-help call rings; the pointer is away from the panel.
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
		t.Fatal(err)
	}
	applyAll2 := callEvents(t, callSpec{id: "sh-new", number: "+6281288899999", at: now.Add(-30 * time.Second), outcome: events.OutcomeSilentHelp, typ: "police", ttc: 4, transfer: true})
	for i, e := range applyAll2 {
		if _, err := agg.Apply(e, uint64(700000+i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	rang := func() string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.documentElement.dataset.rang || "") + (document.querySelector("[data-testid=attention].flash") ? " flash" : "")`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	got := rang()
	for !strings.HasSuffix(got, " flash") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = rang()
	}
	if !strings.HasSuffix(got, " flash") {
		t.Errorf("no flash for a new silent-help call (%q)", got)
	}

	// Mute this screen; a reload keeps it muted.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-mute]`))); err != nil {
		t.Fatal(err)
	}
	load()
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-mute]").textContent + "|" + localStorage.getItem("siaga112.attention.muted")`))
	if err != nil {
		t.Fatal(err)
	}
	if label != "Bunyi: mati|1" {
		t.Errorf("after mute and reload: %q", label)
	}
}

// TestVerdictWithoutJavaScript: with scripts off, "Iseng" on the board
// posts the form; the answer is a page naming the number and its block,
// in Indonesian, and only its button saves the verdict.
func TestVerdictWithoutJavaScript(t *testing.T) {
	browser := newBrowser(t, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	agg, now := boardAggregator(t)
	// A long refresh: the no-script page reloads itself at that pace.
	ts, adm, pub := safeServer(t, agg, now, time.Minute)
	ctx := tab(t, browser)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1920, 1080), chromedp.Navigate(ts.URL+"/?lang=id"),
		chromedp.Click(chromedp.CSS(`[data-testid=recent-calls] tr[data-call-id="q018"] button.prank`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-text`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "safe-confirm-nojs-id")
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Periksa sebelum menyimpan", "Tandai iseng: 0813-5550-0018 akan diblokir 1 jam.", "Ya, tandai iseng", "Batal"} {
		if !strings.Contains(page, want) {
			t.Errorf("the confirmation page lacks %q: %.600s", want, page)
		}
	}
	if len(adm.published()) != 0 {
		t.Fatal("a verdict was saved before it was confirmed")
	}
	// Saved, the answer is a result page with the undo and the way back.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#confirm-yes`)), chromedp.WaitVisible(chromedp.CSS(`#undo-submit`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "safe-undo-nojs-id")
	if page, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Penilaian tersimpan", "Penilaian Iseng untuk panggilan q018 tersimpan.", "Tandai iseng: 0813-5550-0018 akan diblokir 1 jam.",
		"Anda dapat mengurungkannya sampai " + consoleSeconds(now.Add(undoWindow), agg.Location()), "Urungkan: tandai asli"} {
		if !strings.Contains(page, want) {
			t.Errorf("the result page lacks %q: %.600s", want, page)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#undo-back`)), chromedp.WaitVisible(chromedp.CSS(`[data-panel="hourly"]`))); err != nil {
		t.Fatal(err)
	}
	if got := adm.published(); len(got) != 1 || got[0] != "q018 prank siti" {
		t.Fatalf("verdicts %v, want q018's prank", got)
	}
	var confirmed bool
	for _, a := range pub.audits(t) {
		confirmed = confirmed || a.Action == "verdict_prank" && a.Target == "q018" && a.Result == "ok: confirmed; Mark as prank: 0813-5550-0018 will be blocked for 1 h."
	}
	if !confirmed {
		t.Errorf("no audit of the confirmed verdict: %+v", pub.audits(t))
	}
}
