package stack

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/asterisk-conf/sounds"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/reports"
	"github.com/siaga112/siaga112/web"
)

// errBlocklistNotReady answers console actions while the blocklist store
// could not be built yet (NATS unreachable at start).
var errBlocklistNotReady = errors.New("the blocklist is not ready yet (NATS unreachable); try again shortly")

// lateBlocklist is the blocklist as the web side uses it (web.Admin,
// web.Records, web.Readiness) over whichever store the stack has now: when
// NATS is unreachable at start the store is built later, by the supervised
// blocklist role, and until then every use says it is not ready.
type lateBlocklist struct{ s *Stack }

// Ready reports whether the blocklist store has been built.
func (b lateBlocklist) Ready() bool { return b.s.Store() != nil }

func (b lateBlocklist) admin() (*blocklist.Admin, error) {
	store := b.s.Store()
	if store == nil {
		return nil, errBlocklistNotReady
	}
	return b.s.newAdmin(store), nil
}

func (b lateBlocklist) Verdict(ctx context.Context, callID, verdict, by string) (events.Envelope, error) {
	adm, err := b.admin()
	if err != nil {
		return events.Envelope{}, err
	}
	return adm.Verdict(ctx, callID, verdict, by)
}

func (b lateBlocklist) FindCall(ctx context.Context, callID string) error {
	adm, err := b.admin()
	if err != nil {
		return err
	}
	return adm.FindCall(ctx, callID)
}

// CallNumber finds a call's number in the call index (web.CallNumberer).
func (b lateBlocklist) CallNumber(ctx context.Context, callID string) (string, error) {
	adm, err := b.admin()
	if err != nil {
		return "", err
	}
	return adm.CallNumber(ctx, callID)
}

func (b lateBlocklist) Block(ctx context.Context, raw string, length time.Duration, reason, by string) (blocklist.Record, error) {
	adm, err := b.admin()
	if err != nil {
		return blocklist.Record{}, err
	}
	return adm.Block(ctx, raw, length, reason, by)
}

func (b lateBlocklist) Unblock(ctx context.Context, raw, by string) (blocklist.Record, error) {
	adm, err := b.admin()
	if err != nil {
		return blocklist.Record{}, err
	}
	return adm.Unblock(ctx, raw, by)
}

func (b lateBlocklist) Get(ctx context.Context, e164 string) (blocklist.Record, error) {
	store := b.s.Store()
	if store == nil {
		return blocklist.Record{}, errBlocklistNotReady
	}
	return store.Get(ctx, e164)
}

func (b lateBlocklist) List(ctx context.Context) ([]blocklist.Record, error) {
	store := b.s.Store()
	if store == nil {
		return nil, errBlocklistNotReady
	}
	return store.List(ctx)
}

func (b lateBlocklist) Policy() blocklist.Policy {
	if store := b.s.Store(); store != nil {
		return store.Policy()
	}
	p, _ := blocklist.NewPolicy(b.s.cfg.Blocklist)
	return p
}

// stackIncidents is the incident announcements as the web side uses them
// (web.Incidents, web.PlayingIncident): the bucket, opened on first use
// (NATS may be unreachable when the listener is built), and the IVR's watch
// when this process runs the IVR.
type stackIncidents struct {
	s *Stack
	// watch is the IVR's in-memory view (nil without the IVR role).
	watch *incident.Watch
	// bucket is true when the board may read the bucket: the console runs
	// here (without it and without the IVR the board shows no incident).
	bucket bool
	mu     sync.Mutex
	store  *incident.Store // guarded by mu
}

func (x *stackIncidents) get(ctx context.Context) (*incident.Store, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.store == nil {
		kv, err := incident.OpenBucket(ctx, x.s.bus.JS, x.s.cfg.NATS.Stream.Replicas)
		if err != nil {
			return nil, err
		}
		x.store = incident.NewStore(kv, blocklist.JSPublisher{JS: x.s.bus.JS}, x.s.log)
	}
	return x.store, nil
}

func (x *stackIncidents) Current(ctx context.Context) (incident.Incident, error) {
	st, err := x.get(ctx)
	if err != nil {
		return incident.Incident{}, err
	}
	return st.Current(ctx)
}

func (x *stackIncidents) Start(ctx context.Context, title, media string, length time.Duration, by string) (incident.Incident, error) {
	st, err := x.get(ctx)
	if err != nil {
		return incident.Incident{}, err
	}
	return st.Start(ctx, title, media, length, by)
}

func (x *stackIncidents) Stop(ctx context.Context, by string) (incident.Incident, error) {
	st, err := x.get(ctx)
	if err != nil {
		return incident.Incident{}, err
	}
	return st.Stop(ctx, by)
}

// Playing is the announcement callers hear now: from the IVR's watch when
// this process runs one (memory, and right while NATS is down), else from
// the bucket.
func (x *stackIncidents) Playing(ctx context.Context) (incident.Incident, bool) {
	now := time.Now()
	if x.watch != nil {
		return x.watch.Active(now)
	}
	if !x.bucket {
		return incident.Incident{}, false
	}
	i, err := x.Current(ctx)
	if err != nil || !i.Active(now) {
		return incident.Incident{}, false
	}
	return i, true
}

// buildWeb builds everything the listener serves and adds it to mux: the
// board and the reports API (Reports role), the blocklist API (Blocklist
// role), the console (Blocklist role: verdicts and blocks go through the
// blocklist's admin side).
func (s *Stack) buildWeb(mux *http.ServeMux) error {
	cfg := s.cfg
	incidents := &stackIncidents{s: s, watch: s.incidents}
	o := web.Options{
		AdminToken: cfg.HTTP.AdminToken, Language: cfg.Reports.Language, Log: s.log,
		Health: s.Health, Live: s.running.Load,
	}
	if s.rWorker != nil {
		var metrics func(reg prometheus.Registerer) error
		if s.pub != nil {
			pub := s.pub
			metrics = func(reg prometheus.Registerer) error {
				return reg.Register(reports.PublisherCollector(pub.Stats))
			}
		}
		// Lag and Ready ask whichever worker runs now (a restart replaces it).
		o.Aggregator = s.agg
		o.Board = web.BoardConfig{
			Refresh: cfg.Reports.Refresh, TopCallers: cfg.Reports.TopCallers,
			Lag:     func(ctx context.Context) (uint64, error) { return s.reportsWorker().Lag(ctx) },
			Ready:   func(ctx context.Context) bool { return s.reportsWorker().Ready(ctx) },
			Metrics: metrics, Health: s.Health,
			Incidents:        incidents,
			StreamMaxClients: cfg.HTTP.StreamMaxClients, StreamMaxPerAddress: cfg.HTTP.StreamMaxPerAddress,
			Thresholds: web.Thresholds(cfg.Reports.Thresholds),
		}
	}
	if s.roles.Blocklist {
		bl := lateBlocklist{s}
		o.Blocklist, o.Records, o.Location = bl, bl, s.cfg.Location()
	}
	if s.roles.Blocklist && s.bus != nil {
		co, err := s.consoleOptions(incidents)
		if err != nil {
			return err
		}
		o.Console = co
		incidents.bucket = true
	}
	w, err := web.New(o)
	if err != nil {
		return err
	}
	// Closed before the event bus (release runs newest first), so the
	// failed sign-ins counted last are still published.
	s.onRelease(w.Close)
	w.Register(mux)
	return nil
}

// consoleOptions are the console's: its accounts, its sources and the
// controls it offers.
func (s *Stack) consoleOptions(incidents web.Incidents) (*web.ConsoleOptions, error) {
	cfg := s.cfg
	accs, err := console.LoadAccounts(cfg.HTTP.AccountsFile)
	if err != nil {
		return nil, err
	}
	if accs.Len() == 0 {
		s.log.Info("console: no accounts yet; nobody can sign in until one is added with `siaga112 user add NAME --role supervisor`",
			"accounts_file", cfg.HTTP.AccountsFile)
	}
	loc := time.Local
	if tz := cfg.Reports.TimeZone; tz != "" && tz != "Local" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	bl := lateBlocklist{s}
	co := &web.ConsoleOptions{
		Incidents: incidents, IncidentPrompts: cfg.IVR.IncidentPrompts, SoundPrefix: cfg.IVR.SoundPrefix,
		Sounds: sounds.FS(), PromptLanguage: cfg.IVR.Language,
		Accounts: accs, AccountsFile: cfg.HTTP.AccountsFile, SessionTTL: cfg.HTTP.SessionTTL,
		Admin: bl, Records: bl, Publisher: blocklist.JSPublisher{JS: s.bus.JS}, Events: blocklist.NewHistoryReader(s.bus.JS, s.bus),
		DefaultCountry: cfg.Blocklist.DefaultCountry, Location: loc,
	}
	if len(cfg.ARI.Nodes) > 0 {
		co.Recordings = ari.NewRecordings(cfg.ARI)
	}
	// A nil control stays a nil interface: the console then has no
	// call-back controls and the board no switch.
	if ctl := s.callbackControl(blocklist.JSPublisher{JS: s.bus.JS}); ctl != nil {
		co.Callbacks = ctl
	}
	return co, nil
}
