package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

const testToken = "s3cret-token"

// demoDay is the day the demo calls are placed on; the test clock is 10:30.
var demoDay = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func newTestServer(t *testing.T, agg *reports.Aggregator, cfg BoardConfig) *httptest.Server {
	t.Helper()
	return newTestServerAs(t, agg, cfg, nil)
}

// newTestServerAs is newTestServer with sess signed in to the console on
// every request (nil: nobody): the requests carry its session cookie, and
// the board finds the session as it finds a real one.
func newTestServerAs(t *testing.T, agg *reports.Aggregator, cfg BoardConfig, sess *Session) *httptest.Server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return demoDay.Add(10*time.Hour + 30*time.Minute) }
	}
	a := newAuth(testToken)
	a.sessions = newSessions(time.Hour, time.Now)
	const cookie = "test-session"
	if sess != nil {
		s := *sess
		s.Created, s.Expires = time.Now(), time.Now().Add(24*time.Hour)
		a.sessions.byID[cookie] = &s
	}
	s, err := newBoard(agg, cfg, a)
	if err != nil {
		t.Fatalf("newBoard: %v", err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	h := http.Handler(mux)
	if sess != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
			mux.ServeHTTP(w, r)
		})
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// switchFunc is a CallbackSwitch whose state is a function; ok false is a
// switch that cannot be read now.
type switchFunc func(context.Context) (on, ok bool)

func (f switchFunc) Enabled(ctx context.Context) (bool, error) {
	on, ok := f(ctx)
	if !ok {
		return false, errors.New("the call-back switch cannot be read")
	}
	return on, nil
}

func demoAggregator(t *testing.T) *reports.Aggregator {
	t.Helper()
	a := reports.NewAggregator(reports.Options{})
	applyAll(t, a, demoCalls(t, demoDay))
	return a
}

func get(t *testing.T, url string, admin bool) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

func TestAPIStats(t *testing.T) {
	agg := demoAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{})
	day := demoDay.Format(time.DateOnly)
	tests := []struct {
		name    string
		query   string
		status  int
		errWord string // the bad parameter the error must name
		buckets int
	}{
		{"default last 24h", "", 200, "", 25},
		{"one day by hour", "from=" + day + "&to=" + day, 200, "", 24},
		{"rfc3339 by day", "from=2026-11-20T00:00:00Z&to=2026-11-28T00:00:00Z&bucket=day", 200, "", 8},
		{"bad from", "from=yesterday", 400, "from", 0},
		{"bad to", "to=2026-13-01", 400, "to", 0},
		{"bad bucket", "bucket=week", 400, "bucket", 0},
		{"to before from", "from=2026-11-27T10:00:00Z&to=2026-11-27T09:00:00Z", 400, "to", 0},
		{"too many buckets", "from=2020-01-01&to=2026-01-01", 400, "buckets", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := get(t, ts.URL+"/api/stats?"+tc.query, false)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", h.Get("Content-Type"))
			}
			if tc.status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.errWord) {
					t.Fatalf("error %q does not name %q (%v)", e.Error, tc.errWord, err)
				}
				return
			}
			var got statsResponse
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Buckets) != tc.buckets {
				t.Fatalf("%d buckets, want %d", len(got.Buckets), tc.buckets)
			}
			want, err := agg.Stats(got.From, got.To, got.Bucket)
			if err != nil {
				t.Fatal(err)
			}
			if got.Totals.Calls != want.Totals.Calls || got.Totals.Prank != want.Totals.Prank || got.Totals.Calls == 0 {
				t.Fatalf("totals %+v, want %+v", got.Totals, want.Totals)
			}
			for _, c := range got.TopCallers {
				if !strings.HasPrefix(c.Number, "****") {
					t.Fatalf("top caller number %q is not masked", c.Number)
				}
			}
		})
	}
}

func TestAPICalls(t *testing.T) {
	agg := demoAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{})
	type resp struct {
		Calls []reports.CallRecord
		Count int
	}
	tests := []struct {
		name    string
		query   string
		admin   bool
		status  int
		errWord string
		check   func(t *testing.T, r resp)
	}{
		{"default limit and masked", "", false, 200, "", func(t *testing.T, r resp) {
			if r.Count != min(DefaultCallsLimit, len(agg.Calls(reports.CallFilter{}))) {
				t.Fatalf("count %d", r.Count)
			}
			for _, c := range r.Calls {
				if !strings.HasPrefix(c.Number, "****") || len(c.Number) != 8 {
					t.Fatalf("number %q not masked", c.Number)
				}
			}
		}},
		{"admin sees full numbers", "limit=3", true, 200, "", func(t *testing.T, r resp) {
			if r.Count != 3 || !strings.HasPrefix(r.Calls[0].Number, "+62") {
				t.Fatalf("calls %+v", r.Calls)
			}
		}},
		{"outcome filter", "outcome=no_input", false, 200, "", func(t *testing.T, r resp) {
			if r.Count == 0 {
				t.Fatal("no no_input calls")
			}
			for _, c := range r.Calls {
				if c.Outcome != "no_input" {
					t.Fatalf("outcome %q", c.Outcome)
				}
			}
		}},
		{"type and time filter", "type=medical&from=2026-11-27T02:00:00Z&to=2026-11-27T06:00:00Z", false, 200, "", func(t *testing.T, r resp) {
			for _, c := range r.Calls {
				if c.EmergencyType != "medical" || c.Started.Hour() < 2 || c.Started.Hour() >= 6 {
					t.Fatalf("call %+v outside filter", c)
				}
			}
		}},
		{"last 4 digits without token", "number=0003", false, 200, "", func(t *testing.T, r resp) {
			if r.Count == 0 || r.Calls[0].Number != "****0003" {
				t.Fatalf("calls %+v", r.Calls)
			}
		}},
		{"full number needs token", "number=%2B6281234500003", false, 403, "number", nil},
		{"full number with token", "number=%2B6281234500003", true, 200, "", func(t *testing.T, r resp) {
			if r.Count == 0 || r.Calls[0].Number != "+6281234500003" {
				t.Fatalf("calls %+v", r.Calls)
			}
		}},
		{"national form with token", "number=0812-3450-0003", true, 200, "", func(t *testing.T, r resp) {
			want := len(agg.Calls(reports.CallFilter{Number: "+6281234500003"}))
			if r.Count == 0 || r.Count != want {
				t.Fatalf("count %d, want %d (as for the E.164 form)", r.Count, want)
			}
			for _, c := range r.Calls {
				if c.Number != "+6281234500003" {
					t.Fatalf("number %q", c.Number)
				}
			}
		}},
		{"national form needs token", "number=081234500003", false, 403, "number", nil},
		{"bad outcome", "outcome=prank", false, 400, "outcome", nil},
		{"bad limit", "limit=0", false, 400, "limit", nil},
		{"bad from", "from=now", false, 400, "from", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+"/api/calls?"+tc.query, tc.admin)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status != 200 {
				if !strings.Contains(body, tc.errWord) {
					t.Fatalf("error %s does not name %q", body, tc.errWord)
				}
				return
			}
			var r resp
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}

	// A wrong token is treated as no token.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/calls?limit=1", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r resp
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r.Calls[0].Number[:4] != "****" {
		t.Fatalf("wrong token unmasked %q", r.Calls[0].Number)
	}
}

func TestAPICallsCSV(t *testing.T) {
	agg := demoAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{})
	tests := []struct {
		name   string
		query  string
		admin  bool
		status int
		rows   int
		prefix string
	}{
		{"all masked", "", false, 200, len(agg.Calls(reports.CallFilter{})), "****"},
		{"filtered admin", "outcome=emergency&limit=5", true, 200, 5, "+62"},
		{"bad param", "bucket=x&to=soon", false, 400, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := get(t, ts.URL+"/api/calls.csv?lang=en&"+tc.query, tc.admin)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status != 200 {
				if !strings.Contains(body, "to:") {
					t.Fatalf("error %s does not name to", body)
				}
				return
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
				t.Fatalf("content type %q", h.Get("Content-Type"))
			}
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != strings.Join(csvColumns, ",") {
				t.Fatalf("header %v", rows[0])
			}
			if len(rows)-1 != tc.rows {
				t.Fatalf("%d rows, want %d", len(rows)-1, tc.rows)
			}
			for _, row := range rows[1:] {
				if !strings.HasPrefix(row[2], tc.prefix) {
					t.Fatalf("number %q, want prefix %q", row[2], tc.prefix)
				}
				if tc.query != "" && row[7] != "emergency" {
					t.Fatalf("outcome %q", row[7])
				}
				if _, err := time.Parse(time.RFC3339Nano, row[3]); err != nil {
					t.Fatalf("started %q: %v", row[3], err)
				}
			}
		})
	}
	if got := csvSafe("=cmd|' /C calc'!A0"); got[0] != '\'' {
		t.Fatalf("formula not neutralised: %q", got)
	}
	if got := csvSafe("+6281234567890"); got != "+6281234567890" {
		t.Fatalf("number altered: %q", got)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	status, body, _ := get(t, url+"/metrics", false)
	if status != 200 {
		t.Fatalf("/metrics status %d: %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// metricValue finds the sample of family name whose labels include want.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for k, v := range want {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	agg := reports.NewAggregator(reports.Options{})
	now := t0.Add(time.Minute)
	hook := prometheus.NewCounter(prometheus.CounterOpts{Name: "siaga112_test_hook_total", Help: "registered through the hook"})
	ts := newTestServer(t, agg, BoardConfig{
		Now: func() time.Time { return now },
		Lag: func(context.Context) (uint64, error) { return 7, nil },
		Metrics: func(reg prometheus.Registerer) error {
			if err := reg.Register(hook); err != nil {
				return err
			}
			return reg.Register(reports.PublisherCollector(func() events.PublisherStats {
				return events.PublisherStats{Published: 40, Spooled: 2, Replayed: 2, SpoolBytes: 0}
			}))
		},
	})
	fire := map[string]string{"outcome": "emergency", "type": "fire"}
	evs := callEvents(t, callSpec{id: "m1", number: "+62811", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 4, transfer: true})

	steps := []struct {
		name   string
		apply  []events.Envelope
		calls  float64
		hist   float64
		active float64
	}{
		{"nothing yet", nil, 0, 0, 0},
		{"started", evs[:2], 0, 0, 1},
		{"classified", evs[2:4], 1, 1, 1},
		{"ended", evs[4:], 1, 1, 0},
		{"second call", callEvents(t, callSpec{id: "m2", number: "+62812", at: t0, outcome: events.OutcomeEmergency, typ: "fire", ttc: 9, transfer: true}), 2, 2, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			applyAll(t, agg, st.apply)
			mfs := scrape(t, ts.URL)
			calls, _ := metricValue(mfs, "siaga112_calls_total", fire)
			hist, ok := metricValue(mfs, "siaga112_classify_seconds", nil)
			active, _ := metricValue(mfs, "siaga112_active_calls", nil)
			if !ok || calls != st.calls || hist != st.hist || active != st.active {
				t.Fatalf("calls_total=%v classify_count=%v active=%v, want %v %v %v", calls, hist, active, st.calls, st.hist, st.active)
			}
			if v, _ := metricValue(mfs, "siaga112_reports_consumer_lag", nil); v != 7 {
				t.Fatalf("lag %v, want 7", v)
			}
			if v, ok := metricValue(mfs, "siaga112_events_published_total", nil); !ok || v != 40 {
				t.Fatalf("published %v (%v), want 40 from the hook", v, ok)
			}
			if _, ok := mfs["siaga112_test_hook_total"]; !ok {
				t.Fatal("hook collector missing")
			}
		})
	}
	// The histogram has the documented bounds and a sum of 4 + 9 seconds.
	h := scrape(t, ts.URL)["siaga112_classify_seconds"].GetMetric()[0].GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			bounds = append(bounds, b.GetUpperBound())
		}
	}
	if h.GetSampleSum() != 13 || !slices.Equal(bounds, reports.ClassifyBounds) {
		t.Fatalf("histogram sum %v bounds %v", h.GetSampleSum(), bounds)
	}
}

func TestDashboardHTML(t *testing.T) {
	agg := demoAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Ready: func(context.Context) bool { return false }})
	tests := []struct {
		name, query string
		status      int
		contains    []string
	}{
		{"today", "", 200, []string{`data-testid="total-calls">`, `data-testid="chart-outcomes"`, `data-testid="loading"`, `http-equiv="refresh" content="10"`}},
		{"week", "?range=7d&lang=en", 200, []string{`Last 7 days`, `Calls per day`}},
		{"custom dates", "?from=2026-11-26&to=2026-11-27&lang=en", 200, []string{`Calls per hour`, `value="2026-11-26"`}},
		{"bad range", "?range=year", 400, []string{`range`}},
		{"bad custom", "?from=x", 400, []string{`from`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+"/"+tc.query, false)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", status, tc.status, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Fatalf("page lacks %q", s)
				}
			}
			if strings.Contains(body, "+62812345") {
				t.Fatal("dashboard shows an unmasked number without the token")
			}
		})
	}
	// The page's JSON link asks /api/stats for exactly the range shown.
	_, page, _ := get(t, ts.URL+"/?range=today", false)
	m := regexp.MustCompile(`href="(api/stats\?[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON link on the dashboard")
	}
	status, body, _ := get(t, ts.URL+"/"+html.UnescapeString(m[1]), false)
	var st statsResponse
	if err := json.Unmarshal([]byte(body), &st); status != 200 || err != nil || len(st.Buckets) != 24 || !st.From.Equal(demoDay) {
		t.Fatalf("JSON link %s: %d %v, %d buckets from %s", m[1], status, err, len(st.Buckets), st.From)
	}
	if status, _, _ := get(t, ts.URL+"/nope", false); status != http.StatusNotFound {
		t.Fatalf("/nope status %d, want 404", status)
	}
}
