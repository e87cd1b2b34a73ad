package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siaga112/siaga112/callid"
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
	// Refresh is the dashboard's auto-refresh interval (default 10 s).
	Refresh time.Duration
	// TopCallers is how many repeat callers are shown (default 10).
	TopCallers int
	// Title is shown on the dashboard (default: the catalogue's "Siaga 112").
	Title string
	// Language is the dashboard's language when the request names none by
	// ?lang= or Accept-Language: LangID (default) or LangEN. New sets it
	// from Options.
	Language string
	// Health returns the server's composed health, the document /healthz
	// serves. The board turns it into its banner and data-health.
	// Optional: without it the board knows only the reports worker's own
	// state.
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
	// Thresholds are the alarm levels of the queue tile
	// (reports.thresholds); zero values turn an alarm off.
	Thresholds Thresholds
	// Blocks reads the blocklist's records, which the blocked tile and
	// list count from when set (board_lists.go says why); New sets it from
	// Options.Records. Nil: the board counts the blocks it heard of as
	// events.
	Blocks BlockRecords
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Log receives request errors. New sets it from Options.
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

// Thresholds are the board's alarm levels (configs.Thresholds): above one,
// its figure turns red with a ▲. 0 turns that alarm off.
type Thresholds struct {
	// WaitingSeconds is the longest wait in the queue above which the
	// queue tile is red; the page's script applies it as the wait ticks.
	WaitingSeconds int
	// WaitingCalls is how many callers may wait at once.
	WaitingCalls int
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
	// masks tags masked numbers so that two numbers never look alike.
	masks *maskTagger
	// renders are the boards shared by the open streams, gate counts them.
	renders boardRenders
	gate    streamGate
}

// newBoard builds the board's handlers and the private Prometheus registry;
// a tells who sent a request (New shares it with the console and the API).
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
		// when is a short time in the board's zone: the date when it is
		// not today, and the year when it is not this year's.
		"when": func(l *locale, t time.Time) string {
			return l.TimeAt(t.In(agg.Location()), cfg.Now().In(agg.Location()))
		},
		// phone shows a number as people read it (0812-3456-7890).
		"phone": displayNumber,
		// path escapes a call id or a number as one segment of a URL path.
		"path": callid.PathSegment,
		// moreRow is the data of a cut list's "+N lainnya" row.
		// favicon is every page's icon (favicon.go).
		"favicon": favicon,
		"moreRow": func(l *locale, n int) moreRowData { return moreRowData{L: l, N: n} },
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
	return &Board{agg: agg, cfg: cfg, auth: a, reg: reg, tmpl: tmpl, css: template.CSS(css), js: template.JS(js), masks: newMaskTagger()}, nil
}

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
