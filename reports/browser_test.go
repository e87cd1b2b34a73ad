package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// chromiumPath is where Debian's chromium package installs the browser;
// .ci/run installs it with apt-get.
const chromiumPath = "/usr/bin/chromium"

// runChromium runs headless chromium with args and returns its stdout.
func runChromium(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// section returns the DOM from the element with data-testid=id to the end
// of its SVG.
func section(t *testing.T, dom, id string) string {
	t.Helper()
	i := strings.Index(dom, `data-testid="`+id+`"`)
	if i < 0 {
		t.Fatalf("DOM has no %s", id)
	}
	j := strings.Index(dom[i:], "</svg>")
	if j < 0 {
		t.Fatalf("%s is not closed", id)
	}
	return dom[i : i+j]
}

var (
	reTestID = regexp.MustCompile(`data-testid="([a-z0-9-]+)">([^<]*)<`)
	reBar    = regexp.MustCompile(`(?s)<g class="bar" data-start="([^"]+)">(.*?)</g>`)
	reValue  = regexp.MustCompile(`<rect [^>]*data-value="(\d+)"`)
	reDot    = regexp.MustCompile(`<circle [^>]*data-start="([^"]+)" data-value="([0-9.]+)"`)
)

// TestDashboardInBrowser loads the dashboard in headless chromium, served
// from data that went through JetStream and the worker, and checks that the
// figures it shows are the ones /api/stats returns.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's chromium at %s (apt-get install -y chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	js := startJS(t)
	evs := demoCalls(t, demoDay)
	for i, n := range []string{"+6281234500003", "+6281234500005"} {
		until := demoDay.Add(time.Duration(11+6*i) * time.Hour)
		evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", demoDay.Add(time.Duration(8+i)*time.Hour),
			events.BlocklistChanged{Number: n, Until: &until, Strikes: 3 + i, Reason: "strikes"}))
	}
	// One call still in the IVR at the test's "now".
	evs = append(evs, callEvents(t, callSpec{id: "live", number: "+6281299990000", at: demoDay.Add(10*time.Hour + 29*time.Minute),
		outcome: events.OutcomeEmergency, typ: "fire", ttc: 5})[:2]...)
	publish(t, js, evs, true)

	agg := NewAggregator(Options{})
	w := NewWorker(js, agg, WorkerConfig{Durable: "reports-browser", Stream: configs.Default().NATS.Stream}, nil)
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

	ts := newTestServer(t, agg, ServerConfig{Ready: w.Ready, Lag: w.Lag, Title: "Bontang Siaga 112"})

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

	dom := runChromium(t, "--dump-dom", ts.URL+"/?range=today")
	shown := map[string]string{}
	for _, m := range reTestID.FindAllStringSubmatch(dom, -1) {
		shown[m[1]] = strings.TrimSpace(m[2])
	}
	tot := api.Totals
	want := map[string]string{
		"total-calls":       strconv.FormatInt(tot.Calls, 10),
		"total-put-through": strconv.FormatInt(tot.PutThrough, 10),
		"total-prank":       strconv.FormatInt(tot.Prank, 10),
		"total-prank-ratio": strconv.FormatFloat(tot.PrankRatio*100, 'f', 1, 64) + "%",
		"total-no-input":    strconv.FormatInt(tot.Outcomes["no_input"], 10),
		"total-blocked":     strconv.FormatInt(tot.Blocked, 10),
		"total-overrides":   strconv.FormatInt(tot.Overrides, 10),
		"classify-median":   strconv.FormatFloat(tot.ClassifyMedian, 'f', 1, 64),
		"classify-p90":      strconv.FormatFloat(tot.ClassifyP90, 'f', 1, 64),
		"active-calls":      "1",
	}
	for id, v := range want {
		if shown[id] != v {
			t.Errorf("%s shows %q, /api/stats says %q", id, shown[id], v)
		}
	}

	// Every bar of the outcome chart adds up to its bucket's calls, and the
	// type chart to its bucket's typed calls.
	byStart := map[string]Bucket{}
	for _, b := range api.Buckets {
		byStart[b.Start.Format(time.RFC3339)] = b
	}
	for _, chart := range []struct {
		id   string
		want func(Bucket) int64
	}{
		{"chart-outcomes", func(b Bucket) int64 { return b.Calls }},
		{"chart-types", func(b Bucket) int64 {
			var n int64
			for _, v := range b.Types {
				n += v
			}
			return n
		}},
	} {
		bars := reBar.FindAllStringSubmatch(section(t, dom, chart.id), -1)
		if len(bars) != len(api.Buckets) {
			t.Fatalf("%s has %d bars, /api/stats %d buckets", chart.id, len(bars), len(api.Buckets))
		}
		for _, bar := range bars {
			var sum int64
			for _, v := range reValue.FindAllStringSubmatch(bar[2], -1) {
				n, _ := strconv.ParseInt(v[1], 10, 64)
				sum += n
			}
			b, ok := byStart[bar[1]]
			if !ok || sum != chart.want(b) {
				t.Errorf("%s bar %s sums to %d, /api/stats %d", chart.id, bar[1], sum, chart.want(b))
			}
		}
	}
	dots := reDot.FindAllStringSubmatch(section(t, dom, "chart-prank"), -1)
	withCalls := 0
	for _, b := range api.Buckets {
		if b.Calls > 0 {
			withCalls++
		}
	}
	if len(dots) != withCalls {
		t.Errorf("prank chart has %d points, want %d", len(dots), withCalls)
	}
	for _, d := range dots {
		if v, _ := strconv.ParseFloat(d[2], 64); fmt.Sprintf("%.4f", byStart[d[1]].PrankRatio) != fmt.Sprintf("%.4f", v) {
			t.Errorf("prank point %s = %s, /api/stats %v", d[1], d[2], byStart[d[1]].PrankRatio)
		}
	}
	for _, s := range []string{"****0003", "****0005", `data-testid="recent-calls"`, "Bontang Siaga 112"} {
		if !strings.Contains(dom, s) {
			t.Errorf("dashboard lacks %q", s)
		}
	}
	if strings.Contains(dom, "+6281234500003") {
		t.Error("dashboard shows a full number without the admin token")
	}

	dir := filepath.Join(os.TempDir(), "siaga112-reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	_ = os.Remove(shot)
	runChromium(t, "--screenshot="+shot, "--window-size=1400,1000", ts.URL+"/?range=today")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s not written (%v)", shot, err)
	}
	t.Logf("dashboard screenshot: %s", shot)
	full := filepath.Join(dir, "dashboard-full.png")
	runChromium(t, "--screenshot="+full, "--window-size=1400,1700", ts.URL+"/?range=today")
	t.Logf("whole page: %s", full)
}
