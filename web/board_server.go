package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/reports"
)

// assetsFS holds the pages' templates, the board's style sheet and its
// script: every HTML the listener sends is one of these files.
//
//go:embed assets
var assetsFS embed.FS

// Query limits.
const (
	// DefaultCallsLimit is /api/calls' limit when none is given.
	DefaultCallsLimit = 100
	// MaxCallsLimit caps the limit parameter.
	MaxCallsLimit = 100000
	// dashboardRecent is how many recent calls the dashboard lists.
	dashboardRecent = 25
)

// BoardConfig configures the HTTP side of the reports.
type BoardConfig struct {
	// AdminToken, when set, is accepted as "Authorization: Bearer <token>"
	// to show full phone numbers. Without it numbers show their last 4 digits.
	AdminToken string
	// Refresh is the dashboard's auto-refresh interval (default 10 s).
	Refresh time.Duration
	// TopCallers is how many repeat callers are shown (default 10).
	TopCallers int
	// Title is shown on the dashboard (default: the catalogue's "Siaga 112").
	Title string
	// Language is the dashboard's language when the request names none by
	// ?lang= or Accept-Language: LangID (default) or LangEN.
	Language string
	// Health returns the server's composed health: a value whose JSON is
	// /healthz's body ({"ok":…,"checks":{"ari":{"ok":…,"detail":{"nodes":…}},…}}).
	// The board turns it into its banner and data-health. Optional: without
	// it the board knows only the reports worker's own state.
	Health func(ctx context.Context) health.Health
	// Lag reports the worker's consumer lag for /metrics; optional.
	Lag func(ctx context.Context) (uint64, error)
	// Ready tells whether the worker has caught up with the stream; while
	// it has not, the dashboard says the figures are still loading. Optional.
	Ready func(ctx context.Context) bool
	// Metrics, when set, is called once with the private registry so other
	// components (the publisher, the blocklist worker) can add collectors.
	Metrics func(reg prometheus.Registerer) error
	// Incidents tells the incident announcement playing now (nil: none).
	Incidents PlayingIncident
	// Callbacks tells whether automatic call-backs are on for the whole
	// centre (the console's switch). Nil means the centre has no call-back
	// control: the board then shows neither the switch's state nor the
	// buttons that cancel a call-back.
	Callbacks CallbackSwitch
	// StreamMaxClients caps the open /api/stream connections in all, and
	// StreamMaxPerAddress those of one client address (defaults 32 and 4);
	// one more is refused with 503 and Retry-After.
	StreamMaxClients, StreamMaxPerAddress int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Log receives request errors.
	Log *slog.Logger
}

// PlayingIncident tells the incident announcement callers hear now, as
// cheaply as it can be known: every open board asks each second.
type PlayingIncident interface {
	Playing(ctx context.Context) (incident.Incident, bool)
}

// CallbackSwitch reads whether automatic call-backs are on for the whole
// centre (callback.Control).
type CallbackSwitch interface {
	Enabled(ctx context.Context) (bool, error)
}

// Viewer is a signed-in console user as the board needs them.
type Viewer struct {
	Name       string
	Supervisor bool
	// CSRF is the session's form token, put into the board's forms.
	CSRF string
}

// Board serves the dashboard, the JSON/CSV API and /metrics from an
// Aggregator.
type Board struct {
	agg  *reports.Aggregator
	cfg  BoardConfig
	auth *auth
	reg  *prometheus.Registry
	tmpl *template.Template
	css  template.CSS
	js   template.JS
	hc   healthCache
	sd   shutdowns
	// renders are the boards shared by the open streams, gate counts them.
	renders boardRenders
	gate    streamGate
}

// NewBoard builds the handlers and the private Prometheus registry. A board
// built alone knows the admin token and nobody signed in; New builds one
// that sees the console's sign-ins.
func NewBoard(agg *reports.Aggregator, cfg BoardConfig) (*Board, error) {
	return newBoard(agg, cfg, newAuth(cfg.AdminToken))
}

func newBoard(agg *reports.Aggregator, cfg BoardConfig, a *auth) (*Board, error) {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.TopCallers <= 0 {
		cfg.TopCallers = 10
	}
	if cfg.StreamMaxClients <= 0 {
		cfg.StreamMaxClients = defaultStreamMaxClients
	}
	if cfg.StreamMaxPerAddress <= 0 {
		cfg.StreamMaxPerAddress = defaultStreamMaxPerAddress
	}
	if !SupportedLanguage(cfg.Language) {
		cfg.Language = LangID
	}
	if cfg.Title == "" {
		cfg.Title = locales[cfg.Language].T("title")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("dashboard.html").Funcs(template.FuncMap{
		"meaningOf": outcomeMeaning,
		"int64":     func(n int) int64 { return int64(n) },
		"dash":      func() string { return Dash },
		"local":     func(t time.Time) time.Time { return t.In(agg.Location()) },
		// phone shows a number as people read it (0812-3456-7890).
		"phone": displayNumber,
		// path escapes a call id or a number as one segment of a URL path.
		"path": callid.PathSegment,
		// onOff names a switch's state for the catalogue's keys.
		"onOff": func(on bool) string {
			if on {
				return "on"
			}
			return "off"
		},
	}).ParseFS(assetsFS, "assets/dashboard.html")
	if err != nil {
		return nil, fmt.Errorf("reports: dashboard template: %w", err)
	}
	css, err := assetsFS.ReadFile("assets/dashboard.css")
	if err != nil {
		return nil, fmt.Errorf("reports: dashboard css: %w", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(reports.NewCollector(agg, cfg.Lag, cfg.Now)); err != nil {
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
	js, err := assetsFS.ReadFile("assets/dashboard.js")
	if err != nil {
		return nil, fmt.Errorf("reports: dashboard script: %w", err)
	}
	// #nosec: our own embedded files
	return &Board{agg: agg, cfg: cfg, auth: a, reg: reg, tmpl: tmpl, css: template.CSS(css), js: template.JS(js)}, nil
}

// Registry is the private registry behind /metrics.
func (s *Board) Registry() *prometheus.Registry { return s.reg }

// Register adds the reports routes to mux: "/" (exactly), "/api/stats",
// "/api/calls", "/api/calls.csv", "/api/stream" and "/metrics". /healthz and the blocklist
// routes are registered by others.
func (s *Board) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.dashboard)
	mux.HandleFunc("GET /api/stats", s.stats)
	mux.HandleFunc("GET /api/calls", s.calls)
	mux.HandleFunc("GET /api/calls.csv", s.callsCSV)
	mux.HandleFunc("GET /api/stream", s.stream)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn)}))
}

// viewer returns the signed-in console user of a request.
func (s *Board) viewer(r *http.Request) *Viewer {
	sess, ok := s.auth.session(r)
	if !ok {
		return nil
	}
	return &Viewer{Name: sess.Name, Supervisor: sess.Supervisor(), CSRF: sess.CSRF}
}

// unmasked reports whether whole numbers may be shown: the admin token, or
// a signed-in supervisor.
func (s *Board) unmasked(r *http.Request, v *Viewer) bool {
	return s.admin(r) || (v != nil && v.Supervisor)
}

// admin reports whether the request carries the admin token.
func (s *Board) admin(r *http.Request) bool { return s.auth.who(r).token }

// paramError is a bad query parameter; its message names the parameter.
type paramError struct {
	param, msg string
	status     int
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(param, format string, a ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, a...), status: http.StatusBadRequest}
}

func (s *Board) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		status = pe.status
	case errors.Is(err, reports.ErrRange), errors.Is(err, reports.ErrBucket):
		status = http.StatusBadRequest
	default:
		s.cfg.Log.Error("reports request failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// parseTime accepts RFC3339 or a local date (2006-01-02). A date used as
// the end of a range means the end of that day, so from=to=<date> is that day.
func (s *Board) parseTime(q url.Values, param string, end bool) (time.Time, bool, error) {
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
func (s *Board) statsQuery(q url.Values) (from, to time.Time, size reports.BucketSize, err error) {
	size = reports.BucketSize(q.Get("bucket"))
	switch size {
	case "":
		size = reports.Hour
	case reports.Hour, reports.Day:
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
		if size == reports.Day {
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
	reports.Stats
	TopCallers []reports.RepeatCaller `json:"top_callers"`
	// Incidents are the incident announcements the figures still hold:
	// how many callers heard each, pressed its key (incident_ack) or
	// still went to operators.
	Incidents []reports.IncidentStats `json:"incidents"`
	// AnsweredWithin, SecondsToPerson and QueueAbandoned are the range's
	// figures past the hand-off, the same as totals' (queue.go defines
	// them): the shares answered by a person within 10, 15 and 20 s,
	// the percentiles of seconds to a person, and the callers who hung
	// up in the queue. The first two are absent when no call decides them.
	AnsweredWithin  map[string]*float64  `json:"answered_within,omitempty"`
	SecondsToPerson *reports.PersonTimes `json:"seconds_to_person,omitempty"`
	QueueAbandoned  int64                `json:"queue_abandoned"`
	// Callbacks are today's automatic call-back counts (scheduled,
	// attempts, put_through, no_answer, cancelled) and Unreached the
	// callers who gave a sign of a person today and have not reached one
	// yet, whatever the range; callback.go defines both. Unreached is the
	// one figure whose goal is 0.
	Callbacks reports.CallbackCounts `json:"callbacks"`
	Unreached int                    `json:"unreached"`
	// QueueNow is the queue at the request's time whatever the range:
	// waiting_now, waiting_by_type, longest_wait_s and operators (with
	// each device only for the admin token).
	reports.QueueNow
}

func (s *Board) stats(w http.ResponseWriter, r *http.Request) {
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
	tot := st.Totals.QueueStats
	writePrettyJSON(w, statsResponse{
		Stats: st, TopCallers: s.agg.TopCallers(from, to, s.cfg.TopCallers, s.admin(r)), Incidents: s.agg.Incidents(),
		AnsweredWithin: tot.AnsweredWithin, SecondsToPerson: tot.SecondsToPerson, QueueAbandoned: tot.QueueAbandoned,
		QueueNow:  s.agg.Queue(s.cfg.Now(), s.admin(r)),
		Callbacks: s.agg.Callbacks(s.cfg.Now()), Unreached: s.agg.Unreached(s.cfg.Now()),
	})
}

// callFilter reads the /api/calls parameters.
func (s *Board) callFilter(r *http.Request, defLimit int) (reports.CallFilter, error) {
	q := r.URL.Query()
	f := reports.CallFilter{Outcome: q.Get("outcome"), Type: q.Get("type"), Number: q.Get("number"), Limit: defLimit, Unmasked: s.admin(r)}
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
	if f.Outcome != "" && f.Outcome != reports.OutcomeInProgress && !slices.Contains(events.AllOutcomes, events.Outcome(f.Outcome)) {
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
	if len(numberDigits(f.Number)) > 4 && !f.Unmasked {
		return f, &paramError{param: "number", msg: "more than 4 digits needs the admin token", status: http.StatusForbidden}
	}
	return f, nil
}

func (s *Board) calls(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, DefaultCallsLimit)
	if err != nil {
		s.fail(w, err)
		return
	}
	calls := s.agg.Calls(f)
	if calls == nil {
		calls = []reports.CallRecord{}
	}
	writePrettyJSON(w, map[string]any{"calls": calls, "count": len(calls)})
}

func (s *Board) callsCSV(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	startCSV(w, "siaga112-calls.csv")
	if err := writeCallsCSV(w, s.agg.Calls(f), s.agg.Location()); err != nil {
		s.cfg.Log.Warn("calls csv write", "err", err)
	}
}
