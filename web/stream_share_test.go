package web

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/reports"
)

// serveStreams serves srv's routes on a loopback port until the test ends
// and returns the base URL.
func serveStreams(t *testing.T, srv *Board) string {
	t.Helper()
	mux := http.NewServeMux()
	srv.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}

// openStream GETs the stream from the loopback address from (127.0.0.x, so
// that one test can be several client addresses) and returns the response;
// a 200's body is read up to its first board message.
func openStream(t *testing.T, base, query, from string, hdr http.Header) *http.Response {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, base+"/api/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	if res.StatusCode == http.StatusOK {
		if name, _ := readEvent(t, bufio.NewReader(res.Body)); name != "board" {
			t.Fatalf("first event %q", name)
		}
	}
	return res
}

// A flood of streams from one address gets 503 with Retry-After beyond
// the per-address cap, and streams from other addresses beyond the overall
// cap; a closed stream gives its place back.
func TestStreamCaps(t *testing.T) {
	agg, now := boardAggregator(t)
	srv, err := newBoard(agg, BoardConfig{Refresh: time.Hour, Now: func() time.Time { return now },
		StreamMaxClients: 6, StreamMaxPerAddress: 4}, newAuth(""))
	if err != nil {
		t.Fatal(err)
	}
	base := serveStreams(t, srv)

	var (
		mu    sync.Mutex
		codes = map[int]int{}
		open  []*http.Response
		wg    sync.WaitGroup
	)
	for range 20 {
		wg.Go(func() {
			res := openStream(t, base, "?range=30d", "127.0.0.1", nil)
			mu.Lock()
			defer mu.Unlock()
			codes[res.StatusCode]++
			if res.StatusCode == http.StatusOK {
				open = append(open, res)
			} else if res.Header.Get("Retry-After") == "" {
				t.Errorf("%d without Retry-After", res.StatusCode)
			}
		})
	}
	wg.Wait()
	if codes[http.StatusOK] != 4 || codes[http.StatusServiceUnavailable] != 16 {
		t.Fatalf("20 streams from one address: %v, want 4 served and 16 refused with 503", codes)
	}
	for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
		if res := openStream(t, base, "", from, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("a stream from %s: %d", from, res.StatusCode)
		}
	}
	if res := openStream(t, base, "", "127.0.0.4", nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a seventh stream over the overall cap of 6: %d", res.StatusCode)
	}
	_ = open[0].Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := openStream(t, base, "", "127.0.0.4", nil)
		if res.StatusCode == http.StatusOK {
			break
		}
		_ = res.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's place was not given back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Streams of one range, language and view share one render: twenty cost
// one; another language, the unmasked view and another range one each.
func TestStreamSharedRender(t *testing.T) {
	agg, now := boardAggregator(t)
	srv, err := newBoard(agg, BoardConfig{Refresh: time.Hour, Now: func() time.Time { return now },
		StreamMaxClients: 32, StreamMaxPerAddress: 32}, newAuth("tok"))
	if err != nil {
		t.Fatal(err)
	}
	base := serveStreams(t, srv)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { openStream(t, base, "?range=7d&lang=en", "127.0.0.1", nil) })
	}
	wg.Wait()
	if n := srv.renders.count.Load(); n != 1 {
		t.Fatalf("20 streams of one board: %d renders, want 1", n)
	}
	openStream(t, base, "?range=7d&lang=id", "127.0.0.1", nil)
	openStream(t, base, "?range=7d&lang=en", "127.0.0.1", http.Header{"Authorization": {"Bearer tok"}})
	openStream(t, base, "?range=30d&lang=en", "127.0.0.1", nil)
	if n := srv.renders.count.Load(); n != 4 {
		t.Fatalf("three more distinct boards: %d renders in all, want 4", n)
	}
}

// A range longer than a month is rendered less often, in proportion; a
// long range asked for in hourly bars is shown by day.
func TestStreamRangeBounds(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		days int
		want time.Duration
	}{{1, streamPoll}, {30, streamPoll}, {31, streamPoll}, {32, 2 * streamPoll}, {92, 3 * streamPoll}, {365, 12 * streamPoll}} {
		if got := renderEvery(boardQuery{from: day.AddDate(0, 0, -tc.days), to: day}); got != tc.want {
			t.Errorf("%d days: every %s, want %s", tc.days, got, tc.want)
		}
	}
	agg, now := boardAggregator(t)
	srv, err := newBoard(agg, BoardConfig{Now: func() time.Time { return now }}, newAuth(""))
	if err != nil {
		t.Fatal(err)
	}
	l := locales[LangEN]
	for _, tc := range []struct {
		q    string
		want reports.BucketSize
	}{
		{"from=2026-11-20&to=2026-11-26&bucket=hour", reports.Hour},
		{"from=2026-08-27&to=2026-11-27&bucket=hour", reports.Day},
		{"from=2026-08-27&to=2026-11-27", reports.Day},
	} {
		q, _ := url.ParseQuery(tc.q)
		bq, err := srv.dashboardRange(l, q)
		if err != nil || bq.size != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.q, bq.size, err, tc.want)
		}
	}
}
