package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
)

// Sign-in is the one form anybody on the centre's network can post without
// an account, so everything it costs is bounded here, and none of it can be
// turned against the staff:
//
//   - Failures are counted per (name, address) and per address, and past a
//     few they cost a growing wait, never a lock of the name from anywhere:
//     a supervisor at their own desk still gets in while somebody else
//     hammers their name from another address.
//   - Password checks (bcrypt, about 0.2 s of a core each) run a few at a
//     time; the rest wait briefly or get 503 with Retry-After, so sign-ins
//     from rotating addresses cannot take the CPU the calls need.
//   - A failed or refused sign-in is not one audit event each: they are
//     counted per (name, address) and published once a minute as one
//     event, the submitted name cut to a bound, so a flood cannot fill the
//     event stream.
//   - The form is refused from another site (Origin / Sec-Fetch-Site), as
//     every other form of the console is.

// Defaults of the sign-in bounds.
const (
	// defaultFailDelay is the first wait after the free failures; it
	// doubles with every further failure up to defaultMaxFailDelay.
	defaultFailDelay    = time.Second
	defaultMaxFailDelay = 2 * time.Minute
	// hashWait is how long a sign-in waits for a free password check
	// before it is told to come back.
	hashWait = 3 * time.Second
	// defaultAuditEvery is how often failed sign-ins are published.
	defaultAuditEvery = time.Minute
	// maxAuditName bounds the submitted name kept in throttle keys, audit
	// events and logs (account names have at most 32 characters).
	maxAuditName = 64
	// maxAuditKeys bounds the (name, address) pairs counted between two
	// audit events; the rest are counted together.
	maxAuditKeys = 256
)

// errBusy answers a sign-in that found no free password check in time.
var errBusy = errors.New("console: too many sign-ins at once")

// boundName cuts a submitted name to maxAuditName bytes of valid UTF-8
// without control characters: it goes into keys, events and logs.
func boundName(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
	if len(s) <= maxAuditName {
		return s
	}
	cut := maxAuditName
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// throttle delays failed sign-ins per key: the first free failures cost
// nothing, every further one a wait that doubles from delay up to
// maxDelay. A key's failures are forgotten window after its last one.
type throttle struct {
	now      func() time.Time
	free     int
	window   time.Duration
	delay    time.Duration
	maxDelay time.Duration

	mu   sync.Mutex // guards keys
	keys map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time // no attempt before this
}

// maxThrottleKeys bounds the throttle table (a scan of many addresses);
// when it is full the key failed longest ago is forgotten.
const maxThrottleKeys = 10000

func newThrottle(free int, window, delay, maxDelay time.Duration, now func() time.Time) *throttle {
	return &throttle{now: now, free: free, window: window, delay: delay, maxDelay: maxDelay, keys: map[string]*failures{}}
}

// wait returns how long the key must wait before its next attempt (0:
// now).
func (t *throttle) wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.liveLocked(key, t.now())
	if f == nil {
		return 0
	}
	return max(0, f.until.Sub(t.now()))
}

// fail records a failed attempt of key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.liveLocked(key, now)
	if f == nil {
		if len(t.keys) >= maxThrottleKeys {
			t.evictLocked(now)
		}
		f = &failures{}
		t.keys[key] = f
	}
	f.n++
	f.last = now
	f.until = now
	if over := f.n - t.free; over >= 0 {
		d := t.maxDelay
		if over < 30 {
			d = min(t.maxDelay, t.delay*time.Duration(math.Pow(2, float64(over))))
		}
		f.until = now.Add(d)
	}
}

// clear forgets the failures of key.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

func (t *throttle) liveLocked(key string, now time.Time) *failures {
	f := t.keys[key]
	if f != nil && now.Sub(f.last) >= t.window && !now.Before(f.until) {
		delete(t.keys, key)
		return nil
	}
	return f
}

func (t *throttle) evictLocked(now time.Time) {
	var oldest string
	var at time.Time
	for k, f := range t.keys {
		if now.Sub(f.last) >= t.window && !now.Before(f.until) {
			delete(t.keys, k)
			continue
		}
		if oldest == "" || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		delete(t.keys, oldest)
	}
}

// hashGate runs at most a few password checks at once.
type hashGate chan struct{}

// run calls fn once a slot is free, waiting at most hashWait (or until
// ctx ends); errBusy when none became free.
func (g hashGate) run(ctx context.Context, fn func()) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return errBusy
	}
	defer func() { <-g }()
	fn()
	return nil
}

// signinKey is one (name, address) pair of failed sign-ins.
type signinKey struct{ name, addr string }

type signinCount struct{ failed, refused int }

// signinAudit counts failed and refused sign-ins between two audit events.
type signinAudit struct {
	mu      sync.Mutex // guards pending and since
	pending map[signinKey]*signinCount
	since   time.Time
}

// overflowKey counts the pairs beyond maxAuditKeys together.
var overflowKey = signinKey{name: "*", addr: "*"}

func (a *signinAudit) add(name, addr string, failed bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		a.pending = map[signinKey]*signinCount{}
	}
	if len(a.pending) == 0 {
		a.since = now
	}
	k := signinKey{name: boundName(name), addr: addr}
	if _, ok := a.pending[k]; !ok && len(a.pending) >= maxAuditKeys {
		k = overflowKey
	}
	n := a.pending[k]
	if n == nil {
		n = &signinCount{}
		a.pending[k] = n
	}
	if failed {
		n.failed++
	} else {
		n.refused++
	}
}

// take returns the counts since the last take and forgets them.
func (a *signinAudit) take() (map[signinKey]*signinCount, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, since := a.pending, a.since
	a.pending = nil
	return p, since
}

// flushSignins publishes one console.audit event per (name, address) that
// failed or was refused since the last flush.
func (c *Console) flushSignins(ctx context.Context) {
	pending, since := c.signins.take()
	if len(pending) == 0 {
		return
	}
	took := c.o.Now().Sub(since).Round(time.Second)
	for k, n := range pending {
		result := fmt.Sprintf("%d failed and %d refused sign-ins in the last %s", n.failed, n.refused, max(took, time.Second))
		c.log.Warn("failed sign-ins", "name", k.name, "address", k.addr, "failed", n.failed, "refused", n.refused, "within", took)
		c.publishAudit(ctx, events.Audit{By: k.name, Action: "login_failed", Address: k.addr, Result: result})
	}
}

// throttleKeys are the throttle keys of a sign-in.
func throttleKeys(name, addr string) (pair, address string) {
	return boundName(name) + "\x00" + addr, addr
}

// retryAfter sets Retry-After in whole seconds (at least 1).
func retryAfter(w http.ResponseWriter, d time.Duration) int {
	s := max(1, int(math.Ceil(d.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(s))
	return s
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r, c.o.Language).Tag
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	next := localPath(r.PostForm.Get("next"))
	addr := clientAddr(r)
	accs := c.accounts()
	p := consolePage{Lang: lang, Title: text(lang, "title.login"), Next: next, NoUsers: accs.Len() == 0, Name: boundName(name)}
	pair, address := throttleKeys(name, addr)
	if wait := max(c.pairs.wait(pair), c.addrs.wait(address)); wait > 0 {
		p.Error = fmt.Sprintf(text(lang, "login.throttled"), retryAfter(w, wait))
		c.signins.add(name, addr, false, c.o.Now())
		c.render(w, http.StatusTooManyRequests, "login", p)
		return
	}
	var acc console.Account
	ok := false
	// A name no account can have, or a password no account can have (bcrypt
	// reads 72 bytes; HashPassword refuses longer), is wrong without a
	// password check: the rules for both are public.
	if console.CheckName(name) == nil && len(password) <= 72 {
		if err := c.gate.run(r.Context(), func() { acc, ok = accs.Check(name, password) }); err != nil {
			p.Error = fmt.Sprintf(text(lang, "login.busy"), retryAfter(w, hashWait))
			c.signins.add(name, addr, false, c.o.Now())
			c.render(w, http.StatusServiceUnavailable, "login", p)
			return
		}
	}
	if !ok {
		c.pairs.fail(pair)
		c.addrs.fail(address)
		c.signins.add(name, addr, true, c.o.Now())
		p.Error = text(lang, "login.failed")
		c.render(w, http.StatusUnauthorized, "login", p)
		return
	}
	c.pairs.clear(pair)
	id, s, err := c.sessions.create(acc)
	if err != nil {
		p.Error = fmt.Sprintf(text(lang, "login.busy"), retryAfter(w, time.Minute))
		c.audit(r, Session{Name: acc.Name, Role: acc.Role}, "login", "", "refused: "+err.Error())
		c.render(w, http.StatusServiceUnavailable, "login", p)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(c.o.SessionTTL / time.Second),
	})
	c.audit(r, s, "login", "", "ok")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// crossOrigin answers a form posted from another site.
func (c *Console) crossOrigin(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r, c.o.Language).Tag
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": text(lang, "err.origin")})
		return
	}
	c.render(w, http.StatusForbidden, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: text(lang, "err.origin"), Next: "/"})
}
