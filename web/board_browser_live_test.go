package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
)

// TestBoardWaitTicksInBrowser: the longest wait in the queue counts up in
// the page between the server's updates, from the server's clock.
func TestBoardWaitTicksInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Refresh: time.Minute, Now: func() time.Time { return now }})
	t.Cleanup(ts.CloseClientConnections)
	ctx := tab(t, browser)
	open(t, ctx, ts.URL+"/?lang=id", 1920, 1080)
	read := func() int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-testid=longest-wait]").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		m, s, ok := strings.Cut(strings.TrimSpace(v), ".")
		mi, err1 := strconv.Atoi(m)
		si, err2 := strconv.Atoi(s)
		if !ok || err1 != nil || err2 != nil || len(s) != 2 {
			t.Fatalf("longest wait %q is not m.ss", v)
		}
		return mi*60 + si
	}
	// The first stream message comes right after the load and writes the
	// server's figure (75 s) again; the next one only after a minute.
	time.Sleep(1500 * time.Millisecond)
	first := read()
	time.Sleep(3 * time.Second)
	second := read()
	if first < 75 || second-first < 2 || second-first > 4 {
		t.Fatalf("longest wait %d s, then %d s three seconds later: want it from 75 s, ticking by about 3", first, second)
	}
}

// TestBoardCallbacksInBrowser: with callers waiting for their call-back,
// the unreached tile is red and the wall still fits its screens; a
// supervisor's needs-attention panel says where each call-back stands and
// offers the cancel form; the console bar shows the switch.
func TestBoardCallbacksInBrowser(t *testing.T) {
	browser := newBrowser(t)
	agg, now := boardAggregator(t)
	// The demo's callers who hung up in the queue are unreached too.
	unreached := strconv.Itoa(agg.Unreached(now) + 2)
	s := &cbScript{T: t}
	s.Dropped("cb1", "+6281234500070", now.Add(-9*time.Minute))
	s.Scheduled("cb1", "+6281234500070", now.Add(-9*time.Minute+5*time.Second), now.Add(-8*time.Minute))
	s.Attempt("cb1", "+6281234500070", now.Add(-7*time.Minute), 1, events.CallbackNoAnswer, now.Add(-5*time.Minute), "")
	s.Attempt("cb1", "+6281234500070", now.Add(-4*time.Minute), 2, events.CallbackNoAnswer, now.Add(time.Minute), "")
	s.Dropped("cb2", "+6281234500071", now.Add(-2*time.Minute))
	s.Scheduled("cb2", "+6281234500071", now.Add(-2*time.Minute+5*time.Second), now.Add(-90*time.Second))
	for i, e := range s.Events {
		if _, err := agg.Apply(e, uint64(100000+i)); err != nil {
			t.Fatal(err)
		}
	}
	ts := newTestServerAs(t, agg, BoardConfig{
		Title: "Bontang Siaga 112", Now: func() time.Time { return now },
		Callbacks: switchFunc(func(context.Context) (bool, bool) { return true, true }),
	}, &Session{Name: "siti", Role: console.RoleSupervisor, CSRF: "tok"})
	t.Cleanup(ts.CloseClientConnections)
	for _, lg := range []struct {
		tag, query string
		want       []string
	}{
		{LangID, "?lang=id", []string{"Belum terjangkau", "ditelepon balik 2×, tidak diangkat; berikutnya 10.31", "menunggu petugas kosong", "Telepon balik otomatis: AKTIF", "Batalkan telepon balik"}},
		{LangEN, "?lang=en", []string{"Not yet reached", "called back 2×, no answer; next 10:31", "waiting for a free operator", "Automatic call-back: ON", "Cancel call-back"}},
	} {
		for _, sz := range []struct {
			name string
			w, h int64
		}{{"wall", 1920, 1080}, {"laptop", 1366, 768}} {
			t.Run(lg.tag+"/"+sz.name, func(t *testing.T) {
				ctx := tab(t, browser)
				open(t, ctx, ts.URL+"/"+lg.query, sz.w, sz.h)
				screenshot(t, ctx, fmt.Sprintf("callbacks-%s-%dx%d", lg.tag, sz.w, sz.h))
				if dir := os.Getenv("SIAGA112_SCREENSHOTS"); dir != "" && sz.name == "wall" {
					png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "callbacks-"+lg.tag+"-full.jpg"), png, 0o644); err != nil {
						t.Fatal(err)
					}
					// The console bar and needs-attention, as a supervisor sees them.
					for _, part := range []string{"console-bar", "attention"} {
						png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-testid="`+part+`"]`)))
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(dir, "callbacks-"+lg.tag+"-"+part+".png"), png, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				l := pageLayout(t, ctx)
				if l.Shown["unreached"] != unreached {
					t.Errorf("unreached shows %q, want %s", l.Shown["unreached"], unreached)
				}
				for _, w := range lg.want {
					if !strings.Contains(l.Text, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				color, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-testid=unreached]')).color`))
				if err != nil {
					t.Fatal(err)
				}
				if color != "rgb(255, 107, 94)" {
					t.Errorf("unreached above 0 is %s, want red (rgb(255, 107, 94))", color)
				}
				for _, p := range l.Panels {
					if p.Top < 0 || p.Left < 0 || p.Bottom > float64(sz.h) || p.Right > float64(sz.w) {
						t.Errorf("panel %s at %+v is outside the %dx%d screen", p.Name, p, sz.w, sz.h)
					}
				}
				if l.ScrollW > l.ClientW {
					t.Errorf("page scrolls sideways: %v wide in a %v viewport; sticking out: %v", l.ScrollW, l.ClientW, l.Over)
				}
				if l.LabelPx < 24 || l.NumberPx < 64 {
					t.Errorf("tile label %vpx, number %vpx: want >= 24 and >= 64", l.LabelPx, l.NumberPx)
				}
			})
		}
	}
}

// TestBoardWithoutJavaScript: with scripts off the board still comes up to
// date, by reloading itself every refresh interval, and opens no stream.
func TestBoardWithoutJavaScript(t *testing.T) {
	// Scripts off for the whole browser, as a locked-down wall PC may be.
	browser := newBrowser(t, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	agg, now := boardAggregator(t)
	srv, err := newBoard(agg, BoardConfig{Refresh: time.Second, Now: func() time.Time { return now }}, newAuth(""))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	var pages, streams atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			pages.Add(1)
		case "/api/stream":
			streams.Add(1)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(ts.CloseClientConnections)
	ctx := tab(t, browser)
	// Navigate without waiting for the load event: the page's own refresh
	// replaces it, and a wait for the first load could wait for ever.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1920, 1080), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: ts.URL + "/?lang=en"})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for pages.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pages.Load() < 3 {
		t.Errorf("the page loaded %d times in 15 s with a 1 s refresh and scripts off", pages.Load())
	}
	if streams.Load() != 0 {
		t.Errorf("%d stream requests with scripts off", streams.Load())
	}
}

// setAcceptLanguage makes the tab send this Accept-Language header, as a
// browser set to that language does.
func setAcceptLanguage(v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}})
		return err
	})
}
