package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/web"
)

// errBlocklistNotReady answers console actions while the blocklist store
// could not be built yet (NATS unreachable at start).
var errBlocklistNotReady = errors.New("the blocklist is not ready yet (NATS unreachable); try again shortly")

// stackAdmin is console.Admin over whichever blocklist store the stack has
// now: the store may be built late, after NATS came back.
// stackCallbacks gives the console the call-backs' controls, with the
// store's "nothing open" as the console's.
type stackCallbacks struct{ ctl *callback.Control }

func (c stackCallbacks) Cancel(ctx context.Context, callID, number, by, note string) error {
	err := c.ctl.Cancel(ctx, callID, number, by, note)
	if errors.Is(err, callback.ErrNoCallback) {
		return fmt.Errorf("%w: %w", web.ErrNoCallback, err)
	}
	return err
}

func (c stackCallbacks) SetEnabled(ctx context.Context, on bool, by string) error {
	return c.ctl.SetEnabled(ctx, on, by)
}

func (c stackCallbacks) Enabled(ctx context.Context) (bool, error) { return c.ctl.Enabled(ctx) }

type stackAdmin struct{ s *Stack }

func (a stackAdmin) admin() (*blocklist.Admin, error) {
	store := a.s.Store()
	if store == nil {
		return nil, errBlocklistNotReady
	}
	return a.s.newAdmin(store), nil
}

func (a stackAdmin) Verdict(ctx context.Context, callID, verdict, by string) (events.Envelope, error) {
	adm, err := a.admin()
	if err != nil {
		return events.Envelope{}, err
	}
	return adm.Verdict(ctx, callID, verdict, by)
}

func (a stackAdmin) FindCall(ctx context.Context, callID string) error {
	adm, err := a.admin()
	if err != nil {
		return err
	}
	return adm.FindCall(ctx, callID)
}

func (a stackAdmin) Block(ctx context.Context, raw string, length time.Duration, reason, by string) (blocklist.Record, error) {
	adm, err := a.admin()
	if err != nil {
		return blocklist.Record{}, err
	}
	return adm.Block(ctx, raw, length, reason, by)
}

func (a stackAdmin) Unblock(ctx context.Context, raw, by string) (blocklist.Record, error) {
	adm, err := a.admin()
	if err != nil {
		return blocklist.Record{}, err
	}
	return adm.Unblock(ctx, raw, by)
}

// stackRecords is console.Records over the late-built store.
type stackRecords struct{ s *Stack }

func (r stackRecords) Get(ctx context.Context, e164 string) (blocklist.Record, error) {
	store := r.s.Store()
	if store == nil {
		return blocklist.Record{}, errBlocklistNotReady
	}
	return store.Get(ctx, e164)
}

func (r stackRecords) List(ctx context.Context) ([]blocklist.Record, error) {
	store := r.s.Store()
	if store == nil {
		return nil, errBlocklistNotReady
	}
	return store.List(ctx)
}

func (r stackRecords) Policy() blocklist.Policy {
	if store := r.s.Store(); store != nil {
		return store.Policy()
	}
	p, _ := blocklist.NewPolicy(r.s.cfg.Blocklist)
	return p
}

// stackIncidents is console.Incidents over the incident bucket, opened on
// first use (NATS may be unreachable when the listener is built).
type stackIncidents struct {
	s     *Stack
	mu    sync.Mutex
	store *incident.Store
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

// buildConsole adds the console (sign-in, actions, number histories) to
// mux. It needs the blocklist role: verdicts and blocks go through the
// blocklist's admin side.
func (s *Stack) buildConsole(mux *http.ServeMux) error {
	if !s.roles.Blocklist || s.bus == nil {
		return nil
	}
	accs, err := console.LoadAccounts(s.cfg.HTTP.AccountsFile)
	if err != nil {
		return err
	}
	if accs.Len() == 0 {
		s.log.Info("console: no accounts yet; nobody can sign in until one is added with `siaga112 user add NAME --role supervisor`",
			"accounts_file", s.cfg.HTTP.AccountsFile)
	}
	loc := time.Local
	if tz := s.cfg.Reports.TimeZone; tz != "" && tz != "Local" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	s.incidentStore = &stackIncidents{s: s}
	var recs web.Recordings
	if len(s.cfg.ARI.Nodes) > 0 {
		recs = ari.NewRecordings(s.cfg.ARI)
	}
	var cbs web.Callbacks
	if ctl := s.callbackControl(blocklist.JSPublisher{JS: s.bus.JS}); ctl != nil {
		cbs = stackCallbacks{ctl}
	}
	s.console = web.NewConsole(web.ConsoleOptions{
		Callbacks: cbs, Recordings: recs, Incidents: s.incidentStore,
		IncidentPrompts: s.cfg.IVR.IncidentPrompts, SoundPrefix: s.cfg.IVR.SoundPrefix,
		Accounts: accs, AccountsFile: s.cfg.HTTP.AccountsFile, SessionTTL: s.cfg.HTTP.SessionTTL,
		Admin: stackAdmin{s}, Publisher: blocklist.JSPublisher{JS: s.bus.JS}, Events: s.bus, Records: stackRecords{s},
		AdminToken: s.cfg.HTTP.AdminToken, Language: s.cfg.Reports.Language, DefaultCountry: s.cfg.Blocklist.DefaultCountry,
		Location: loc, Log: s.log,
	})
	// Closed before the event bus (release runs newest first), so the
	// failed sign-ins counted last are still published.
	s.onRelease(s.console.Close)
	s.console.Register(mux)
	return nil
}

// boardViewer tells the board who is signed in to the console.
func (s *Stack) boardViewer(r *http.Request) (web.Viewer, bool) {
	if s.console == nil {
		return web.Viewer{}, false
	}
	sess, ok := s.console.Who(r)
	if !ok {
		return web.Viewer{}, false
	}
	return web.Viewer{Name: sess.Name, Supervisor: sess.Supervisor(), CSRF: sess.CSRF}, true
}

// boardIncident tells the board the incident announcement playing now:
// from the IVR's watch when this process runs one (memory), else from the
// bucket.
func (s *Stack) boardIncident(ctx context.Context) (web.IncidentInfo, bool) {
	if s.incidents != nil {
		i, ok := s.incidents.Active(time.Now())
		return web.IncidentInfo{ID: i.ID, Title: i.Title}, ok
	}
	if s.incidentStore == nil {
		return web.IncidentInfo{}, false
	}
	i, err := s.incidentStore.Current(ctx)
	if err != nil || !i.Active(time.Now()) {
		return web.IncidentInfo{}, false
	}
	return web.IncidentInfo{ID: i.ID, Title: i.Title}, true
}

// Console is the supervisors' console (nil without the blocklist role).
func (s *Stack) Console() *web.Console { return s.console }
