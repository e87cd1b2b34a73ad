package web

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
)

// maxForm bounds every form body the console reads.
const maxForm = 8 << 10

// Admin is what the console does to the blocklist and the verdicts
// (blocklist.Admin).
type Admin interface {
	Verdict(ctx context.Context, callID, verdict, by string) (events.Envelope, error)
	FindCall(ctx context.Context, callID string) error
	Block(ctx context.Context, raw string, length time.Duration, reason, by string) (blocklist.Record, error)
	Unblock(ctx context.Context, raw, by string) (blocklist.Record, error)
}

// Publisher publishes the console's own events (call.handled,
// console.audit).
type Publisher interface {
	Publish(ctx context.Context, e events.Envelope) error
}

// EventReader reads the stream from its first stored event (events.Bus).
type EventReader interface {
	ReadAll(ctx context.Context, subjects []string, fn func(events.Envelope)) error
}

// Records reads the blocklist's records and the policy that scores them
// (blocklist.Store).
type Records interface {
	Get(ctx context.Context, e164 string) (blocklist.Record, error)
	List(ctx context.Context) ([]blocklist.Record, error)
	Policy() blocklist.Policy
}

// ConsoleOptions configure the console.
type ConsoleOptions struct {
	Accounts *console.Accounts
	// AccountsFile, when set, is followed (watch.go): `siaga112 user add`
	// takes effect without a restart, and `user rm` or `user passwd` ends
	// that person's sessions within a second.
	AccountsFile string
	// SessionTTL is how long a sign-in lasts (default 8 h: one shift).
	SessionTTL time.Duration
	Admin      Admin
	Publisher  Publisher
	Events     EventReader
	Records    Records
	// CallNumber returns the caller's E.164 number of a call the reports
	// still hold ("" or false when withheld or unknown); the verdict's
	// question names the number with it. New fills it from the
	// aggregator when it is nil.
	CallNumber func(callID string) (string, bool)
	Recordings Recordings
	Incidents  Incidents
	// Callbacks is the control side of the automatic call-backs: a
	// supervisor cancels one dropped call's call-back (with a reason) or
	// switches call-backs off and on for the whole centre, on
	// /console/callbacks and from the board's needs-attention panel. Nil
	// hides these controls: the page says call-backs are not available
	// here, the forms answer 503 and CallbackSwitch reports nothing.
	Callbacks Callbacks
	// IncidentPrompts are the prepared announcements offered on the
	// incident page (sound names); SoundPrefix makes them media URIs.
	IncidentPrompts []string
	SoundPrefix     string
	// Sounds holds the shipped prompts as Asterisk's sounds folder does
	// (<language>/<folder>/<name>.wav) with the texts they were spoken
	// from (prompts.<language>.txt): sounds.FS. The incident
	// page plays a prepared announcement from it before it is started;
	// nil, or a prompt it lacks, says the announcement cannot be heard
	// there.
	Sounds fs.FS
	// PromptLanguage is the language callers hear (ivr.language), the
	// folder of Sounds a prepared announcement is played from; default id.
	PromptLanguage string
	// Language is the default page language (id or en).
	Language string
	// DefaultCountry normalises numbers typed in URLs and forms.
	DefaultCountry string
	// Location shows times; default time.Local.
	Location *time.Location
	// MaxFails failed sign-ins of one name from one address cost nothing;
	// each further one makes the next wait FailDelay, doubling up to
	// MaxFailDelay. An address gets four times as many free failures (a
	// centre's desks may share one address). Failures are forgotten
	// FailWindow after the last one. The name is never locked from
	// everywhere. Defaults 5, 1 s, 2 min and 15 min.
	MaxFails     int
	FailDelay    time.Duration
	MaxFailDelay time.Duration
	FailWindow   time.Duration
	// HashSlots is how many password checks may run at once (default
	// half the cores, at least 1).
	HashSlots int
	// AuditEvery is how often failed sign-ins are published, one event
	// per name and address (default 1 min).
	AuditEvery time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// Console serves sign-in, the console's actions and number histories.
type Console struct {
	o      ConsoleOptions
	accMu  sync.Mutex
	accs   *console.Accounts
	accMod time.Time
	// auth holds the session table, shared with the board and the API.
	auth     *auth
	sessions *sessions
	// pairs and addrs throttle failed sign-ins per (name, address) and
	// per address; gate bounds the password checks running at once.
	pairs, addrs *throttle
	gate         hashGate
	signins      signinAudit
	// undo holds the prank verdicts that may still be undone.
	undo  undos
	log   *slog.Logger
	pages *template.Template
	// stop and stopped end the background loop (audit flushes, the accounts
	// file's watch); closeOnce makes Close idempotent.
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// newConsole returns a console whose session table is a's, so the board
// and the API see who signed in here; a nil Accounts is an empty list.
func newConsole(o ConsoleOptions, a *auth) *Console {
	if o.Accounts == nil {
		o.Accounts = &console.Accounts{}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.MaxFails <= 0 {
		o.MaxFails = 5
	}
	if o.FailWindow <= 0 {
		o.FailWindow = 15 * time.Minute
	}
	if o.FailDelay <= 0 {
		o.FailDelay = defaultFailDelay
	}
	if o.MaxFailDelay <= 0 {
		o.MaxFailDelay = defaultMaxFailDelay
	}
	if o.HashSlots <= 0 {
		o.HashSlots = max(1, runtime.NumCPU()/2)
	}
	if o.AuditEvery <= 0 {
		o.AuditEvery = defaultAuditEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Console{
		o:        o,
		accs:     o.Accounts,
		auth:     a,
		sessions: newSessions(o.SessionTTL, o.Now),
		pairs:    newThrottle(o.MaxFails, o.FailWindow, o.FailDelay, o.MaxFailDelay, o.Now),
		addrs:    newThrottle(4*o.MaxFails, o.FailWindow, o.FailDelay, o.MaxFailDelay, o.Now),
		gate:     make(hashGate, o.HashSlots),
		log:      o.Log.With("component", "console"),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	c.pages = template.Must(template.New("pages").Funcs(template.FuncMap{
		// favicon is every page's icon (favicon.go).
		"favicon": favicon,
		// path escapes a call id or a number as one segment of a URL path.
		"path": callid.PathSegment,
		// onOff names a switch's state for the catalogue's keys.
		"onOff": func(on bool) string {
			if on {
				return "on"
			}
			return "off"
		},
		"t": func(lang, key string, args ...any) string {
			s := text(lang, key)
			if len(args) > 0 {
				return fmt.Sprintf(s, args...)
			}
			return s
		},
	}).ParseFS(assetsFS, "assets/console.html"))
	a.sessions = c.sessions
	go c.loop()
	return c
}

// loop publishes the failed sign-ins every AuditEvery and follows the
// accounts file until Close.
func (c *Console) loop() {
	defer close(c.stopped)
	tick := time.NewTicker(c.o.AuditEvery)
	defer tick.Stop()
	w := c.watchAccounts()
	defer w.close()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			c.flushSignins(context.Background())
		case <-w.changed():
			c.reloadAccounts(w.force)
		}
	}
}

// Close stops the console's background work and publishes the failed
// sign-ins counted so far.
func (c *Console) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.stopped
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.flushSignins(ctx)
	})
}

// accounts returns the accounts, reading the file again when it changed
// since the last read.
func (c *Console) accounts() *console.Accounts { return c.reloadAccounts(false) }

// reloadAccounts reads the accounts file again when it changed since the
// last read (or always, when force: a file rewritten within the same
// modification time still counts). A file that became unreadable or
// invalid keeps the last good list (and says so in the log): a typo must
// not lock everyone out in the middle of a shift. A removed account, or
// one whose password or role changed, is signed out everywhere.
func (c *Console) reloadAccounts(force bool) *console.Accounts {
	c.accMu.Lock()
	defer c.accMu.Unlock()
	if c.o.AccountsFile == "" {
		return c.accs
	}
	st, err := os.Stat(c.o.AccountsFile)
	var mod time.Time
	if err == nil {
		mod = st.ModTime()
	}
	if !force && mod.Equal(c.accMod) {
		return c.accs
	}
	accs, err := console.LoadAccounts(c.o.AccountsFile)
	if err != nil {
		c.log.Error("accounts file changed but cannot be used; keeping the accounts read before", "err", err)
		c.accMod = mod
		return c.accs
	}
	if c.accs != nil {
		for _, old := range c.accs.List() {
			if now, ok := accs.Find(old.Name); !ok || now.Hash != old.Hash || now.Role != old.Role {
				c.sessions.endAccount(old.Name)
				c.log.Info("account changed or removed: its sessions are ended", "name", old.Name)
			}
		}
	}
	c.accs, c.accMod = accs, mod
	return accs
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	// Every form, sign-in included, is refused when a browser says it was
	// posted from another site; the session's form token below stays as
	// the check for browsers too old to say.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(c.crossOrigin))
	post := func(pattern string, h http.HandlerFunc) { mux.Handle("POST "+pattern, cop.Handler(h)) }
	mux.HandleFunc("GET /login", c.loginPage)
	post("/login", c.login)
	post("/logout", c.logout)
	post("/console/calls/{id}/verdict", c.verdict)
	post("/console/calls/{id}/verdict/undo", c.undoVerdict)
	post("/console/calls/{id}/handled", c.handled)
	post("/console/calls/{id}/take", c.take)
	post("/console/blocks", c.block)
	post("/console/blocks/{number}/lift", c.lift)
	mux.HandleFunc("GET /numbers/{number}", c.numberPage)
	mux.HandleFunc("GET /api/numbers/{number}", c.numberAPI)
	mux.HandleFunc("GET /api/recordings/{name...}", c.recording)
	mux.HandleFunc("GET /console/blocks", c.blocksPage)
	mux.HandleFunc("GET /console/incident", c.incidentPage)
	mux.HandleFunc("GET /console/incident/listen", c.listen)
	post("/console/incident/start", c.incidentStart)
	post("/console/incident/stop", c.incidentStop)
	mux.HandleFunc("GET /console/callbacks", c.callbacksPage)
	post("/console/callbacks/switch", c.callbackSwitch)
	post("/console/calls/{id}/callback/cancel", c.callbackCancel)
}

// Who returns the signed-in session of a request.
func (c *Console) Who(r *http.Request) (Session, bool) { return c.auth.session(r) }

// consolePage is the data of every console page: who is signed in, the
// language, a message or notice, and the view of the page shown.
type consolePage struct {
	Lang string
	// Name is the name typed on a refused sign-in, shown again.
	Name      string
	Title     string
	Error     string
	Notice    string
	Next      string
	Session   *Session
	NoUsers   bool
	Number    string
	Shown     string
	History   *historyView
	Incident  *incidentView
	Blocks    *blocksView
	Callbacks *callbacksView
	Confirm   *confirmView
	Cancel    *cancelView
	// Undo is the result of a prank verdict confirmed without the
	// script, with its undo (console_confirm.go).
	Undo *undoView
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p consolePage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	if err := c.pages.ExecuteTemplate(w, name, p); err != nil {
		c.log.Warn("render page", "page", name, "err", err)
	}
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r, c.o.Language).Tag
	p := consolePage{Lang: lang, Title: text(lang, "title.login"), Next: localPath(r.URL.Query().Get("next")), NoUsers: c.accounts().Len() == 0}
	if s, ok := c.Who(r); ok {
		p.Session = &s
	}
	c.render(w, http.StatusOK, "login", p)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		c.sessions.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	c.audit(r, s, "logout", "", "ok")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
