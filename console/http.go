package console

import (
	"context"
	"crypto/subtle"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
)

// CookieName is the session cookie.
const CookieName = "siaga112_session"

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

// Records reads a number's blocklist record (blocklist.Store).
type Records interface {
	Get(ctx context.Context, e164 string) (blocklist.Record, error)
	Policy() blocklist.Policy
}

// Recordings fetches a stored recording from Asterisk (ari.Recordings).
type Recordings interface {
	Fetch(ctx context.Context, node, name string) (io.ReadCloser, string, error)
	// List names the stored recordings starting with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Options configure the console.
type Options struct {
	Accounts *Accounts
	// AccountsFile, when set, is read again before a sign-in whenever it
	// changed, so `siaga112 user add` takes effect without a restart.
	AccountsFile string
	// SessionTTL is how long a sign-in lasts (default 8 h: one shift).
	SessionTTL time.Duration
	Admin      Admin
	Publisher  Publisher
	Events     EventReader
	Records    Records
	Recordings Recordings
	Incidents  Incidents
	// IncidentPrompts are the prepared announcements offered on the
	// incident page (sound names); SoundPrefix makes them media URIs.
	IncidentPrompts []string
	SoundPrefix     string
	// AdminToken lets machines read /api/numbers with a bearer token.
	AdminToken string
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
	o        Options
	accMu    sync.Mutex
	accs     *Accounts
	accMod   time.Time
	sessions *sessions
	// pairs and addrs throttle failed sign-ins per (name, address) and
	// per address; gate bounds the password checks running at once.
	pairs, addrs *throttle
	gate         hashGate
	signins      signinAudit
	log          *slog.Logger
	pages        *template.Template
	// stop and stopped end the background loop (audit flushes, the accounts
	// file's watch); closeOnce makes Close idempotent.
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// New returns a console; a nil Accounts is an empty list.
func New(o Options) *Console {
	if o.Accounts == nil {
		o.Accounts = &Accounts{}
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
		sessions: newSessions(o.SessionTTL, o.Now),
		pairs:    newThrottle(o.MaxFails, o.FailWindow, o.FailDelay, o.MaxFailDelay, o.Now),
		addrs:    newThrottle(4*o.MaxFails, o.FailWindow, o.FailDelay, o.MaxFailDelay, o.Now),
		gate:     make(hashGate, o.HashSlots),
		log:      o.Log.With("component", "console"),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	c.pages = template.Must(template.New("pages").Funcs(template.FuncMap{
		// path escapes a call id or a number as one segment of a URL path.
		"path": callid.PathSegment,
		"t": func(lang, key string, args ...any) string {
			s := text(lang, key)
			if len(args) > 0 {
				return fmt.Sprintf(s, args...)
			}
			return s
		},
	}).Parse(pagesTemplate))
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
func (c *Console) accounts() *Accounts { return c.reloadAccounts(false) }

// reloadAccounts reads the accounts file again when it changed since the
// last read (or always, when force: a file rewritten within the same
// modification time still counts). A file that became unreadable or
// invalid keeps the last good list (and says so in the log): a typo must
// not lock everyone out in the middle of a shift. A removed account, or
// one whose password or role changed, is signed out everywhere.
func (c *Console) reloadAccounts(force bool) *Accounts {
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
	accs, err := LoadAccounts(c.o.AccountsFile)
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
	post("/console/calls/{id}/handled", c.handled)
	post("/console/blocks", c.block)
	post("/console/blocks/{number}/lift", c.lift)
	mux.HandleFunc("GET /numbers/{number}", c.numberPage)
	mux.HandleFunc("GET /api/numbers/{number}", c.numberAPI)
	mux.HandleFunc("GET /api/recordings/{name...}", c.recording)
	mux.HandleFunc("GET /console/blocks", c.blocksPage)
	mux.HandleFunc("GET /console/incident", c.incidentPage)
	post("/console/incident/start", c.incidentStart)
	post("/console/incident/stop", c.incidentStop)
}

// Who returns the signed-in session of a request.
func (c *Console) Who(r *http.Request) (Session, bool) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return Session{}, false
	}
	return c.sessions.get(ck.Value)
}

// EndSessionsOf signs an account out everywhere.
func (c *Console) EndSessionsOf(name string) { c.sessions.endAccount(name) }

// clientAddr is the address a request came from (no proxy headers are
// trusted: the listener is on loopback or behind the centre's own proxy,
// which must not be able to spoof the throttle's key).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath accepts only a path on this site as a redirect target.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return p
}

type page struct {
	Lang string
	// Name is the name typed on a refused sign-in, shown again.
	Name     string
	Title    string
	Error    string
	Notice   string
	Next     string
	Session  *Session
	NoUsers  bool
	Number   string
	Shown    string
	History  *historyView
	Incident *incidentView
	Blocks   *blocksView
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
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
	lang := pickLanguage(r, c.o.Language)
	p := page{Lang: lang, Title: text(lang, "title.login"), Next: localPath(r.URL.Query().Get("next")), NoUsers: c.accounts().Len() == 0}
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

// formSession checks a form post: a live session, the session's CSRF
// token in the form, and the supervisor role when asked. On failure it has
// answered the request.
func (c *Console) formSession(w http.ResponseWriter, r *http.Request, supervisor bool) (Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, pickLanguage(r, c.o.Language), http.StatusBadRequest, "bad form: "+err.Error())
		return Session{}, false
	}
	lang := c.formLang(r)
	s, ok := c.Who(r)
	if !ok {
		c.fail(w, r, lang, http.StatusUnauthorized, text(lang, "err.signin"))
		return Session{}, false
	}
	if !sameToken(r.PostForm.Get("csrf"), s.CSRF) {
		c.audit(r, s, "form", r.URL.Path, "refused: missing or wrong CSRF token")
		c.fail(w, r, lang, http.StatusForbidden, text(lang, "err.csrf"))
		return Session{}, false
	}
	if supervisor && !s.Supervisor() {
		c.audit(r, s, "form", r.URL.Path, "refused: not a supervisor")
		c.fail(w, r, lang, http.StatusForbidden, text(lang, "err.role"))
		return Session{}, false
	}
	return s, true
}

// formLang is the language of a form's answer: the language of the page
// the form was on (its back address says it), else as for any page.
func (c *Console) formLang(r *http.Request) string {
	if u, err := url.Parse(r.PostForm.Get("back")); err == nil {
		if l := u.Query().Get("lang"); known(l) {
			return l
		}
	}
	return pickLanguage(r, c.o.Language)
}

// wantsJSON reports whether the client asked for a JSON answer.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers a refused or failed action: JSON for scripts, otherwise a
// short page with the message and a link back.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, lang string, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	p := page{Lang: lang, Title: "Siaga 112", Error: msg, Next: localPath(r.PostFormValue("back"))}
	if s, ok := c.Who(r); ok {
		p.Session = &s
	}
	c.render(w, status, "message", p)
}

// refuse audits a refused or failed action and answers it; status 0
// means 400. The message is the catalogue's "failed" with the error.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, s Session, lang, action, target string, status int, err error) {
	if status == 0 {
		status = http.StatusBadRequest
	}
	c.audit(r, s, action, target, "refused: "+err.Error())
	c.fail(w, r, lang, status, fmt.Sprintf(text(lang, "err.failed"), err.Error()))
}

// done answers a successful action: JSON with msg for scripts, else back
// to where the form was with the notice's code and subject (notice.go).
func (c *Console) done(w http.ResponseWriter, r *http.Request, code, on, msg string) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"result": msg})
		return
	}
	back := localPath(r.PostForm.Get("back"))
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	q := url.Values{"notice": {code}}
	if on != "" {
		q.Set("on", on)
	}
	http.Redirect(w, r, back+sep+q.Encode(), http.StatusSeeOther)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// audit publishes who did what from where. An audit that cannot be
// published is logged: the action itself has already been decided.
func (c *Console) audit(r *http.Request, s Session, action, target, result string) {
	c.log.Info("console action", "by", s.Name, "action", action, "target", target, "address", clientAddr(r), "result", result)
	c.publishAudit(context.WithoutCancel(r.Context()), events.Audit{
		By: s.Name, Role: s.Role, Action: action, Target: target, Address: clientAddr(r), Result: result,
	})
}

// publishAudit publishes one console.audit event, checked against the
// event bounds first: a field too long for them is cut, so the event every
// consumer would refuse is never stored.
func (c *Console) publishAudit(ctx context.Context, d events.Audit) {
	if c.o.Publisher == nil {
		return
	}
	d.By, d.Target, d.Address, d.Result = cutText(d.By), cutText(d.Target), cutText(d.Address), cutText(d.Result)
	e, err := events.New(events.TypeAudit, "", "", events.Caller{}, d)
	if err == nil {
		err = events.Validate(e, time.Now())
	}
	if err == nil {
		err = c.o.Publisher.Publish(ctx, e)
	}
	if err != nil {
		c.log.Warn("audit event not published", "action", d.Action, "err", err)
	}
}

// cutText fits free text to the events' bound for short text.
func cutText(s string) string {
	if len(s) <= events.MaxTextLen {
		return s
	}
	cut := events.MaxTextLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (c *Console) verdict(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id, v := r.PathValue("id"), r.PostForm.Get("verdict")
	if !c.checkCallID(w, r, s, lang, "verdict_"+safeWord(v), id) {
		return
	}
	_, err := c.o.Admin.Verdict(r.Context(), id, v, s.Name)
	if err != nil {
		c.audit(r, s, "verdict_"+safeWord(v), id, "refused: "+err.Error())
		status, msg := http.StatusBadRequest, fmt.Sprintf(text(lang, "err.failed"), err.Error())
		if errors.Is(err, blocklist.ErrUnknownCall) {
			status, msg = http.StatusNotFound, fmt.Sprintf(text(lang, "err.unknowncall"), id)
		}
		c.fail(w, r, lang, status, msg)
		return
	}
	c.audit(r, s, "verdict_"+v, id, "ok")
	c.done(w, r, "verdict_"+v, id, fmt.Sprintf(text(lang, "ok.verdict"), v, id))
}

func (c *Console) handled(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id, action := r.PathValue("id"), r.PostForm.Get("action")
	if !c.checkCallID(w, r, s, lang, "handled", id) {
		return
	}
	if action != events.HandledCalledBack && action != events.HandledDone {
		c.fail(w, r, lang, http.StatusBadRequest, fmt.Sprintf(text(lang, "err.failed"), "action must be called_back or handled"))
		return
	}
	if err := c.o.Admin.FindCall(r.Context(), id); err != nil {
		status := http.StatusBadRequest
		msg := fmt.Sprintf(text(lang, "err.failed"), err.Error())
		if errors.Is(err, blocklist.ErrUnknownCall) {
			status, msg = http.StatusNotFound, fmt.Sprintf(text(lang, "err.unknowncall"), id)
		}
		c.audit(r, s, action, id, "refused: "+err.Error())
		c.fail(w, r, lang, status, msg)
		return
	}
	e, err := events.New(events.TypeHandled, id, "", events.Caller{}, events.Handled{Action: action, By: s.Name})
	if err == nil && c.o.Publisher != nil {
		err = c.o.Publisher.Publish(r.Context(), e)
	}
	if err != nil {
		c.audit(r, s, action, id, "failed: "+err.Error())
		c.fail(w, r, lang, http.StatusServiceUnavailable, fmt.Sprintf(text(lang, "err.failed"), err.Error()))
		return
	}
	c.audit(r, s, action, id, "ok")
	c.done(w, r, "handled", id, fmt.Sprintf(text(lang, "ok.handled"), id))
}

func (c *Console) block(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	number, reason := strings.TrimSpace(r.PostForm.Get("number")), strings.TrimSpace(r.PostForm.Get("reason"))
	if err := blocklist.CheckReason(reason); err != nil {
		// Checked here, where it was typed, so the form comes back with
		// it rather than a bare error page.
		c.audit(r, s, "block", number, "refused: "+err.Error())
		form := blockForm{Number: number, For: r.PostForm.Get("for"), Reason: reason}
		c.showBlocks(w, r, s, lang, http.StatusBadRequest, form, fmt.Sprintf(text(lang, "err.reason"), blocklist.MaxReason, utf8.RuneCountInString(reason)))
		return
	}
	length, err := blocklist.ParseLength(strings.TrimSpace(r.PostForm.Get("for")))
	if err == nil && reason == "" {
		err = errors.New("a reason is required")
	}
	var rec blocklist.Record
	if err == nil {
		rec, err = c.o.Admin.Block(r.Context(), number, length, reason, s.Name)
	}
	if err != nil {
		c.refuse(w, r, s, lang, "block", number, 0, err)
		return
	}
	c.audit(r, s, "block", rec.Number, "ok")
	c.done(w, r, "blocked", rec.Number, fmt.Sprintf(text(lang, "ok.blocked"), rec.Number, rec.Until.In(c.o.Location).Format("2006-01-02 15:04")))
}

func (c *Console) lift(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	number := r.PathValue("number")
	rec, err := c.o.Admin.Unblock(r.Context(), number, s.Name)
	if err != nil {
		c.refuse(w, r, s, lang, "lift", number, 0, err)
		return
	}
	c.audit(r, s, "lift", rec.Number, "ok")
	c.done(w, r, "lifted", rec.Number, fmt.Sprintf(text(lang, "ok.lifted"), rec.Number))
}

// checkCallID refuses a call id outside Asterisk's id alphabet before
// anything is looked up or published with it; the id is not quoted back.
func (c *Console) checkCallID(w http.ResponseWriter, r *http.Request, s Session, lang, action, id string) bool {
	if callid.Valid(id) {
		return true
	}
	c.audit(r, s, action, "", "refused: not a call id")
	c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.callid"))
	return false
}

// recordingPath escapes each segment of a recording name ("siaga112/<call
// id>") for the recordings URL, whose route takes the rest of the path.
func recordingPath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = callid.PathSegment(s)
	}
	return strings.Join(segs, "/")
}

// safeWord keeps an audit action name to a word even for a hostile form.
func safeWord(v string) string {
	if v == events.VerdictPrank || v == events.VerdictGenuine {
		return v
	}
	return "other"
}

// bearer reports whether the request carries the admin token.
func (c *Console) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && c.o.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(c.o.AdminToken)) == 1
}

// history builds a number's history from the stream and the blocklist.
func (c *Console) history(ctx context.Context, raw string) (History, error) {
	n, err := blocklist.Normalize(raw, c.o.DefaultCountry)
	if err != nil {
		return History{}, err
	}
	if n.IsAnonymous() {
		// A withheld number has no history to trace by.
		return History{}, fmt.Errorf("%w %q: withheld numbers have no history", blocklist.ErrInvalidNumber, raw)
	}
	number := n.E164
	b := newHistoryBuilder(number)
	if c.o.Events != nil {
		if err := c.o.Events.ReadAll(ctx, []string{events.SubjectAllCalls, events.SubjectAllBlocklist}, b.add); err != nil {
			return History{}, fmt.Errorf("read the event stream: %w", err)
		}
	}
	h := b.result()
	if c.o.Records != nil {
		rec, err := c.o.Records.Get(ctx, number)
		if err == nil && rec.Number != "" {
			now := c.o.Now()
			st := &BlockState{Blocked: rec.Blocked(now), Level: rec.Level, Strikes: c.o.Records.Policy().Score(rec, now), Reason: rec.Reason, SetBy: rec.SetBy}
			if st.Blocked {
				u := rec.Until
				st.Until = &u
			}
			h.Now = st
		}
	}
	return h, nil
}

func (c *Console) numberAPI(w http.ResponseWriter, r *http.Request) {
	s, signed := c.Who(r)
	machine := c.bearer(r)
	if !signed && !machine {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in or send the admin token (Authorization: Bearer ...)"})
		return
	}
	supervisor := machine || s.Supervisor()
	h, err := c.history(r.Context(), r.PathValue("number"))
	if err != nil {
		status := http.StatusBadRequest
		if !errors.Is(err, blocklist.ErrInvalidNumber) {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	if signed {
		c.audit(r, s, "history", h.Number, "ok")
	}
	if r.URL.Query().Get("format") == "csv" {
		if !supervisor {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "only a supervisor may export"})
			return
		}
		c.writeHistoryCSV(w, h)
		return
	}
	if !supervisor {
		h.Number = blocklist.Mask(h.Number)
	}
	writeJSON(w, http.StatusOK, h)
}

// writeHistoryCSV writes one row per call, local time with offset.
func (c *Console) writeHistoryCSV(w http.ResponseWriter, h History) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="siaga112-`+strings.TrimPrefix(h.Number, "+")+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "number", "call_id", "outcome", "emergency_type", "seconds_to_queue", "callback", "recording", "call_recording", "verdicts"})
	for _, call := range h.Calls {
		q := ""
		if call.SecondsToQueue != nil {
			q = strconv.FormatFloat(*call.SecondsToQueue, 'f', 1, 64)
		}
		var vs []string
		for _, v := range call.Verdicts {
			vs = append(vs, v.Verdict+" by "+v.By)
		}
		_ = cw.Write([]string{
			call.Start.In(c.o.Location).Format(time.RFC3339), h.Number, cell(call.CallID), cell(string(call.Outcome)),
			cell(call.EmergencyType), q, strconv.FormatBool(call.Callback), cell(call.Recording), cell(call.CallRecording), cell(strings.Join(vs, "; ")),
		})
	}
	cw.Flush()
}

// cell neutralises a CSV cell a spreadsheet would run as a formula.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r\n", rune(v[0])) {
		return "'" + v
	}
	return v
}

// historyView is a History laid out for the page.
type historyView struct {
	Lang       string
	Supervisor bool
	CSRF       string
	Back       string
	Number     string
	Calls      []callView
	Blocks     []blockView
	State      string
	Blocked    bool
	E164       string
	MaxReason  int
}

type callView struct {
	ID, Time, Outcome, Type, Queue, Recording, Verdicts string
	// Audio is the URL the page plays the whole-call recording from.
	Audio    string
	Callback bool
}

type blockView struct{ Time, Until, Strikes, Reason string }

func (c *Console) numberPage(w http.ResponseWriter, r *http.Request) {
	lang := pickLanguage(r, c.o.Language)
	s, ok := c.Who(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	raw := r.PathValue("number")
	h, err := c.history(r.Context(), raw)
	if err != nil {
		status, msg := http.StatusServiceUnavailable, fmt.Sprintf(text(lang, "err.failed"), err.Error())
		if errors.Is(err, blocklist.ErrInvalidNumber) {
			status, msg = http.StatusBadRequest, fmt.Sprintf(text(lang, "number.bad"), raw)
		}
		c.render(w, status, "message", page{Lang: lang, Title: "Siaga 112", Error: msg, Session: &s, Next: "/"})
		return
	}
	c.audit(r, s, "history", h.Number, "ok")
	shown := blocklist.Display(h.Number)
	if !s.Supervisor() {
		shown = blocklist.Mask(h.Number)
	}
	dash := text(lang, "dash")
	// Back keeps the page's language through the form's answer.
	v := &historyView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF, Back: r.URL.Path + "?lang=" + lang, Number: shown, E164: h.Number, MaxReason: blocklist.MaxReason}
	for _, call := range h.Calls {
		cv := callView{ID: call.CallID, Time: call.Start.In(c.o.Location).Format("2006-01-02 15:04:05"),
			Outcome: orDash(text(lang, "outcome."+string(call.Outcome)), call.Outcome == "", dash),
			Type:    orDash(call.EmergencyType, call.EmergencyType == "", dash), Queue: dash,
			Recording: orDash(call.CallRecording, call.CallRecording == "", dash), Callback: call.Callback}
		if call.CallRecording != "" && c.o.Recordings != nil {
			cv.Audio = "/api/recordings/" + recordingPath(call.CallRecording) + "?node=" + url.QueryEscape(call.Node)
		}
		if call.SecondsToQueue != nil {
			cv.Queue = strconv.FormatFloat(*call.SecondsToQueue, 'f', 1, 64) + " s"
		}
		var vs []string
		for _, vd := range call.Verdicts {
			vs = append(vs, vd.Verdict+" ("+vd.By+")")
		}
		cv.Verdicts = orDash(strings.Join(vs, ", "), len(vs) == 0, dash)
		v.Calls = append(v.Calls, cv)
	}
	for _, b := range h.Blocks {
		bv := blockView{Time: b.Time.In(c.o.Location).Format("2006-01-02 15:04"), Until: dash, Strikes: strconv.Itoa(b.Strikes), Reason: orDash(b.Reason, b.Reason == "", dash)}
		if b.Until != nil {
			bv.Until = b.Until.In(c.o.Location).Format("2006-01-02 15:04")
		}
		v.Blocks = append(v.Blocks, bv)
	}
	if h.Now != nil {
		v.Blocked = h.Now.Blocked
		if h.Now.Blocked && h.Now.Until != nil {
			v.State = fmt.Sprintf(text(lang, "number.blocked"), h.Now.Until.In(c.o.Location).Format("2006-01-02 15:04"), h.Now.Level, h.Now.Strikes, h.Now.Reason)
		} else {
			v.State = fmt.Sprintf(text(lang, "number.notblocked"), h.Now.Strikes)
		}
	}
	c.render(w, http.StatusOK, "number", page{
		Lang: lang, Title: fmt.Sprintf(text(lang, "title.number"), shown), Session: &s, Number: h.Number, Shown: shown,
		History: v, Notice: c.noticeText(lang, s, r.URL.Query()),
	})
}

func orDash(v string, empty bool, dash string) string {
	if empty {
		return dash
	}
	return v
}

// recording streams a stored recording to a signed-in person (or a
// machine with the token), fetched from Asterisk by the server.
func (c *Console) recording(w http.ResponseWriter, r *http.Request) {
	s, signed := c.Who(r)
	if !signed && !c.bearer(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in or send the admin token (Authorization: Bearer ...)"})
		return
	}
	if c.o.Recordings == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "recordings are not available here (no Asterisk node configured)"})
		return
	}
	name := r.PathValue("name")
	body, ctype, err := c.o.Recordings.Fetch(r.Context(), r.URL.Query().Get("node"), name)
	if err != nil {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, ari.ErrBadRecordingName):
			status = http.StatusBadRequest
		case errors.Is(err, ari.ErrNoRecording):
			status = http.StatusNotFound
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	defer body.Close()
	if signed {
		c.audit(r, s, "recording", name, "ok")
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := io.Copy(w, body); err != nil {
		c.log.Warn("recording not streamed to the end", "recording", name, "err", err)
	}
}
