package reports

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siaga112/siaga112/events"
)

//go:embed web
var webFS embed.FS

// Query limits.
const (
	// DefaultCallsLimit is /api/calls' limit when none is given.
	DefaultCallsLimit = 100
	// MaxCallsLimit caps the limit parameter.
	MaxCallsLimit = 100000
	// dashboardRecent is how many recent calls the dashboard lists.
	dashboardRecent = 25
)

// ServerConfig configures the HTTP side of the reports.
type ServerConfig struct {
	// AdminToken, when set, is accepted as "Authorization: Bearer <token>"
	// to show full phone numbers. Without it numbers show their last 4 digits.
	AdminToken string
	// Refresh is the dashboard's auto-refresh interval (default 10 s).
	Refresh time.Duration
	// TopCallers is how many repeat callers are shown (default 10).
	TopCallers int
	// Title is shown on the dashboard (default "Siaga 112").
	Title string
	// Lag reports the worker's consumer lag for /metrics; optional.
	Lag func(ctx context.Context) (uint64, error)
	// Ready tells whether the worker has caught up with the stream; while
	// it has not, the dashboard says the figures are still loading. Optional.
	Ready func(ctx context.Context) bool
	// Metrics, when set, is called once with the private registry so other
	// components (the publisher, the blocklist worker) can add collectors.
	Metrics func(reg prometheus.Registerer) error
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Log receives request errors.
	Log *slog.Logger
}

// Server serves the dashboard, the JSON/CSV API and /metrics from an
// Aggregator.
type Server struct {
	agg  *Aggregator
	cfg  ServerConfig
	reg  *prometheus.Registry
	tmpl *template.Template
	css  template.CSS
}

// NewServer builds the handlers and the private Prometheus registry.
func NewServer(agg *Aggregator, cfg ServerConfig) (*Server, error) {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.TopCallers <= 0 {
		cfg.TopCallers = 10
	}
	if cfg.Title == "" {
		cfg.Title = "Siaga 112"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("dashboard.html").Funcs(template.FuncMap{
		"pct":     func(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" },
		"secs":    func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"color":   outcomeColor,
		"label":   outcomeLabel,
		"hhmm":    func(t time.Time) string { return t.In(agg.Location()).Format("15:04:05") },
		"dayhhmm": func(t time.Time) string { return t.In(agg.Location()).Format("2 Jan 15:04") },
	}).ParseFS(webFS, "web/dashboard.html")
	if err != nil {
		return nil, fmt.Errorf("reports: dashboard template: %w", err)
	}
	css, err := webFS.ReadFile("web/dashboard.css")
	if err != nil {
		return nil, fmt.Errorf("reports: dashboard css: %w", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(&collector{agg: agg, lag: cfg.Lag, now: cfg.Now}); err != nil {
		return nil, fmt.Errorf("reports: metrics: %w", err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("reports: metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("reports: metrics: %w", err)
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics(reg); err != nil {
			return nil, fmt.Errorf("reports: metrics hook: %w", err)
		}
	}
	return &Server{agg: agg, cfg: cfg, reg: reg, tmpl: tmpl, css: template.CSS(css)}, nil // #nosec: our own embedded file
}

// Registry is the private registry behind /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Register adds the reports routes to mux: "/" (exactly), "/api/stats",
// "/api/calls", "/api/calls.csv" and "/metrics". /healthz and the blocklist
// routes are registered by others.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.dashboard)
	mux.HandleFunc("GET /api/stats", s.stats)
	mux.HandleFunc("GET /api/calls", s.calls)
	mux.HandleFunc("GET /api/calls.csv", s.callsCSV)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn)}))
}

// admin reports whether the request carries the admin token.
func (s *Server) admin(r *http.Request) bool {
	if s.cfg.AdminToken == "" {
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) == 1
}

// paramError is a bad query parameter; its message names the parameter.
type paramError struct {
	param, msg string
	status     int
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(param, format string, a ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, a...), status: http.StatusBadRequest}
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		status = pe.status
	case errors.Is(err, ErrRange), errors.Is(err, ErrBucket):
		status = http.StatusBadRequest
	default:
		s.cfg.Log.Error("reports request failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// parseTime accepts RFC3339 or a local date (2006-01-02). A date used as
// the end of a range means the end of that day, so from=to=<date> is that day.
func (s *Server) parseTime(q url.Values, param string, end bool) (time.Time, bool, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, s.agg.Location())
	if err != nil {
		return time.Time{}, false, badParam(param, "%q is neither RFC3339 (2026-11-27T10:00:00+08:00) nor a date (2026-11-27)", v)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, true, nil
}

// statsQuery reads from, to and bucket; defaults: the last 24 hours by
// hour, or the last 30 days by day.
func (s *Server) statsQuery(q url.Values) (from, to time.Time, size BucketSize, err error) {
	size = BucketSize(q.Get("bucket"))
	switch size {
	case "":
		size = Hour
	case Hour, Day:
	default:
		return from, to, size, badParam("bucket", "%q is not hour or day", size)
	}
	from, hasFrom, err := s.parseTime(q, "from", false)
	if err != nil {
		return from, to, size, err
	}
	to, hasTo, err := s.parseTime(q, "to", true)
	if err != nil {
		return from, to, size, err
	}
	if !hasTo {
		to = s.cfg.Now()
	}
	if !hasFrom {
		from = to.Add(-24 * time.Hour)
		if size == Day {
			from = to.AddDate(0, 0, -30)
		}
	}
	if !to.After(from) {
		return from, to, size, badParam("to", "must be after from")
	}
	return from, to, size, nil
}

// statsResponse is /api/stats' body: the statistics plus repeat callers.
type statsResponse struct {
	Stats
	TopCallers []RepeatCaller `json:"top_callers"`
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	from, to, size, err := s.statsQuery(r.URL.Query())
	if err != nil {
		s.fail(w, err)
		return
	}
	st, err := s.agg.Stats(from, to, size)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, statsResponse{Stats: st, TopCallers: s.agg.TopCallers(from, to, s.cfg.TopCallers, s.admin(r))})
}

// callFilter reads the /api/calls parameters.
func (s *Server) callFilter(r *http.Request, defLimit int) (CallFilter, error) {
	q := r.URL.Query()
	f := CallFilter{Outcome: q.Get("outcome"), Type: q.Get("type"), Number: q.Get("number"), Limit: defLimit, Unmasked: s.admin(r)}
	var err error
	if f.From, _, err = s.parseTime(q, "from", false); err != nil {
		return f, err
	}
	if f.To, _, err = s.parseTime(q, "to", true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, badParam("to", "must be after from")
	}
	if f.Outcome != "" && f.Outcome != OutcomeInProgress && !slices.Contains(events.AllOutcomes, events.Outcome(f.Outcome)) {
		return f, badParam("outcome", "%q is not an outcome", f.Outcome)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxCallsLimit {
			return f, badParam("limit", "%q is not a number from 1 to %d", v, MaxCallsLimit)
		}
		f.Limit = n
	}
	// Without the token a caller may search by the 4 digits the masked list
	// shows, but not confirm whether a full number called.
	if len(digits(f.Number)) > 4 && !f.Unmasked {
		return f, &paramError{param: "number", msg: "more than 4 digits needs the admin token", status: http.StatusForbidden}
	}
	return f, nil
}

func (s *Server) calls(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, DefaultCallsLimit)
	if err != nil {
		s.fail(w, err)
		return
	}
	calls := s.agg.Calls(f)
	if calls == nil {
		calls = []CallRecord{}
	}
	writeJSON(w, map[string]any{"calls": calls, "count": len(calls)})
}

// csvHeader is the first row of /api/calls.csv.
var csvHeader = []string{"call_id", "node", "number", "started", "answered", "classified", "ended", "outcome",
	"emergency_type", "attempts", "seconds_to_classify", "duration_s", "transferred", "blocked", "override", "verdict", "prank"}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func (s *Server) callsCSV(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="siaga112-calls.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, c := range s.agg.Calls(f) {
		_ = cw.Write([]string{c.CallID, c.Node, csvSafe(c.Number), csvTime(c.Started), csvTime(c.Answered), csvTime(c.Classified), csvTime(c.Ended),
			c.Outcome, csvSafe(c.EmergencyType), strconv.Itoa(c.Attempts), strconv.FormatFloat(c.SecondsToClassify, 'f', -1, 64),
			strconv.FormatFloat(c.DurationS, 'f', -1, 64), strconv.FormatBool(c.Transferred), strconv.FormatBool(c.Blocked),
			strconv.FormatBool(c.Override), csvSafe(c.Verdict), strconv.FormatBool(c.Prank)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.cfg.Log.Warn("calls csv write", "err", err)
	}
}

// csvSafe keeps a spreadsheet from running a cell as a formula (CSV
// injection) by prefixing a quote. An E.164 number such as +6281... is left
// alone: a sign followed by a digit is only a number to a spreadsheet.
func csvSafe(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if len(v) == 1 || v[1] < '0' || v[1] > '9' {
			return "'" + v
		}
	}
	return v
}

func outcomeLabel(o string) string {
	for _, s := range outcomeSeries {
		if s.Key == o {
			return s.Label
		}
	}
	if o == "" {
		return "in progress"
	}
	return o
}

// rangeChoice is one button of the dashboard's range selector.
type rangeChoice struct {
	Key, Label string
	Active     bool
}

var dashboardRanges = []rangeChoice{{Key: "today", Label: "Today"}, {Key: "24h", Label: "24 h"}, {Key: "7d", Label: "7 days"}, {Key: "30d", Label: "30 days"}}

// dashboardRange turns ?range= (or ?from=&to=) into a range and bucket size.
func (s *Server) dashboardRange(q url.Values) (key, title string, from, to time.Time, size BucketSize, err error) {
	now := s.cfg.Now()
	key = q.Get("range")
	if q.Get("from") != "" || q.Get("to") != "" {
		from, to, size, err = s.statsQuery(q)
		if err == nil && q.Get("bucket") == "" && to.Sub(from) > 3*24*time.Hour {
			size = Day
		}
		return "custom", from.In(s.agg.Location()).Format("2 Jan 15:04") + " – " + to.In(s.agg.Location()).Format("2 Jan 15:04"), from, to, size, err
	}
	day := s.agg.BucketStart(now, Day)
	switch key {
	case "", "today":
		return "today", "Today", day, s.agg.nextBucket(day, Day), Hour, nil
	case "24h":
		return key, "Last 24 hours", now.Add(-23 * time.Hour), now, Hour, nil
	case "7d":
		return key, "Last 7 days", day.AddDate(0, 0, -6), s.agg.nextBucket(day, Day), Day, nil
	case "30d":
		return key, "Last 30 days", day.AddDate(0, 0, -29), s.agg.nextBucket(day, Day), Day, nil
	}
	return key, "", from, to, size, badParam("range", "%q is not today, 24h, 7d or 30d", key)
}

// legendItem is one entry of a chart legend.
type legendItem struct {
	Label, Color string
	Value        int64
}

type dashboardData struct {
	Title, RangeTitle, RangeKey   string
	Ranges                        []rangeChoice
	RefreshSeconds                int
	Now                           time.Time
	Ready                         bool
	Stats                         Stats
	Active                        int
	Silent                        int64
	ByOutcome, ByType, PrankChart template.HTML
	OutcomeLegend, TypeLegend     []legendItem
	Blocked                       []BlockedNumber
	TopCallers                    []RepeatCaller
	Recent                        []CallRecord
	Nodes                         []nodeRow
	CSS                           template.CSS
	From, To                      string
	// JSONLink and CSVLink ask the API for the range shown.
	JSONLink, CSVLink string
}

type nodeRow struct {
	Name string
	NodeStats
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, title, from, to, size, err := s.dashboardRange(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	st, err := s.agg.Stats(from, to, size)
	if err != nil {
		s.fail(w, err)
		return
	}
	admin := s.admin(r)
	now := s.cfg.Now()
	d := dashboardData{
		Title: s.cfg.Title, RangeTitle: title, RangeKey: key,
		RefreshSeconds: int(s.cfg.Refresh.Round(time.Second) / time.Second), Now: now.In(s.agg.Location()),
		Ready: s.cfg.Ready == nil || s.cfg.Ready(r.Context()), Stats: st, Active: s.agg.Active(now),
		Silent:     st.Totals.Outcomes[string(events.OutcomeNoInput)],
		Blocked:    s.agg.Blocked(now, admin),
		TopCallers: s.agg.TopCallers(from, to, s.cfg.TopCallers, admin),
		Recent:     s.agg.Calls(CallFilter{From: from, To: to, Limit: dashboardRecent, Unmasked: admin}),
		CSS:        s.css,
		From:       st.From.In(s.agg.Location()).Format(time.DateOnly),
		To:         st.To.Add(-time.Nanosecond).In(s.agg.Location()).Format(time.DateOnly),
	}
	apiQuery := url.Values{"from": {st.From.Format(time.RFC3339)}, "to": {st.To.Format(time.RFC3339)}, "bucket": {string(size)}}.Encode()
	d.JSONLink, d.CSVLink = "api/stats?"+apiQuery, "api/calls.csv?"+apiQuery
	for _, rc := range dashboardRanges {
		rc.Active = rc.Key == key
		d.Ranges = append(d.Ranges, rc)
	}
	outcomeVal := func(b Bucket, k string) int64 { return b.Outcomes[k] }
	d.ByOutcome = stackedBars("chart-outcomes", wideW, st.Buckets, size, outcomeSeries, outcomeVal)
	for _, se := range outcomeSeries {
		if v := st.Totals.Outcomes[se.Key]; v > 0 {
			d.OutcomeLegend = append(d.OutcomeLegend, legendItem{se.Label, se.Color, v})
		}
	}
	ts := typeSeries(st)
	d.ByType = stackedBars("chart-types", halfW, st.Buckets, size, ts, func(b Bucket, k string) int64 { return b.Types[k] })
	for _, se := range ts {
		d.TypeLegend = append(d.TypeLegend, legendItem{se.Label, se.Color, st.Totals.Types[se.Key]})
	}
	d.PrankChart = ratioLine("chart-prank", halfW, st.Buckets, size)
	for name, ns := range st.Totals.Nodes {
		d.Nodes = append(d.Nodes, nodeRow{name, ns})
	}
	slices.SortFunc(d.Nodes, func(a, b nodeRow) int { return strings.Compare(a.Name, b.Name) })

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.tmpl.Execute(w, d); err != nil {
		s.cfg.Log.Warn("dashboard render", "err", err)
	}
}
