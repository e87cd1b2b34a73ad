package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
)

// recorder is a Publisher that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	evs []events.Envelope
}

func (p *recorder) Publish(_ context.Context, e events.Envelope) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, e)
	return nil
}

// published returns every event given so far.
func (p *recorder) published() []events.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Envelope(nil), p.evs...)
}

func (p *recorder) audits(t *testing.T) []events.Audit {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []events.Audit
	for _, e := range p.evs {
		if e.Type != events.TypeAudit {
			continue
		}
		var d events.Audit
		if err := e.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

const (
	testSup, testSupPass = "siti", "correct horse battery"
	testOp, testOpPass   = "budi", "another good password"
)

// testAccounts holds a supervisor and an operator, hashed at bcrypt's
// least cost (the shipped cost is tested in TestAccountsSaveLoadCheck).
func testAccounts(t *testing.T) *console.Accounts {
	t.Helper()
	accs := &console.Accounts{}
	for _, a := range []struct{ name, role, pw string }{{testSup, console.RoleSupervisor, testSupPass}, {testOp, console.RoleOperator, testOpPass}} {
		h, err := bcrypt.GenerateFromPassword([]byte(a.pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := accs.Set(console.Account{Name: a.name, Role: a.role, Hash: string(h)}); err != nil {
			t.Fatal(err)
		}
	}
	return accs
}

// testConsole is a console over testAccounts and its mux.
func testConsole(t *testing.T, o ConsoleOptions) (*Console, http.Handler) {
	t.Helper()
	if o.Accounts == nil {
		o.Accounts = testAccounts(t)
	}
	c := newConsole(o, newAuth(""))
	t.Cleanup(c.Close)
	mux := http.NewServeMux()
	c.Register(mux)
	return c, mux
}

// post sends a form from addr with extra headers.
func post(h http.Handler, path, addr string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr + ":40000"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func signInForm(name, pw string) url.Values {
	return url.Values{"name": {name}, "password": {pw}, "next": {"/"}}
}

func TestThrottleGrowingDelays(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	th := newThrottle(3, 15*time.Minute, time.Second, time.Minute, c.now)
	for range 2 {
		th.fail("k")
		if w := th.wait("k"); w != 0 {
			t.Fatalf("free failure costs %s", w)
		}
	}
	var waits []time.Duration
	for range 9 {
		th.fail("k")
		w := th.wait("k")
		waits = append(waits, w)
		c.t = c.t.Add(w)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v (doubling, capped)", waits, want)
		}
	}
	if th.wait("other") != 0 {
		t.Fatal("an unrelated key waits")
	}
	c.t = c.t.Add(15 * time.Minute)
	th.fail("k")
	if w := th.wait("k"); w != 0 {
		t.Fatalf("failures not forgotten after the window: wait %s", w)
	}
}

// A supervisor signs in from their own desk while somebody else hammers
// the same name from another address: the attacker waits ever longer, the
// supervisor does not.
func TestSignInNotLockedByAnotherAddress(t *testing.T) {
	_, h := testConsole(t, ConsoleOptions{})
	const attacker, desk = "10.0.0.66", "10.0.0.5"
	var last *httptest.ResponseRecorder
	for range 40 {
		last = post(h, "/login", attacker, signInForm(testSup, "guess guess guess"))
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Fatalf("attacker's 40th attempt: %d Retry-After %q, want 429 with Retry-After", last.Code, last.Header().Get("Retry-After"))
	}
	// Even the right password waits from the attacker's address.
	if w := post(h, "/login", attacker, signInForm(testSup, testSupPass)); w.Code != http.StatusTooManyRequests {
		t.Fatalf("attacker with the right password: %d, want 429", w.Code)
	}
	w := post(h, "/login", desk, signInForm(testSup, testSupPass))
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), CookieName) {
		t.Fatalf("supervisor at the desk: %d %.300s, want 303 with a session", w.Code, w.Body.String())
	}
	// A refused sign-in shows the name typed again, never the password.
	w = post(h, "/login", "10.0.0.7", signInForm(testOp, "a wrong password"))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `value="budi"`) || strings.Contains(w.Body.String(), "a wrong password") {
		t.Fatalf("wrong password: %d %.400s", w.Code, w.Body.String())
	}
}

// Sign-in, like every other form, is refused when the browser says it was
// posted from another site.
func TestFormsRefuseCrossSite(t *testing.T) {
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Publisher: pub})
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "http://evil.example"},
	} {
		w := post(h, "/login", "10.0.0.66", signInForm(testSup, testSupPass), hdr...)
		if w.Code != http.StatusForbidden || w.Header().Get("Set-Cookie") != "" {
			t.Errorf("sign-in with %v: %d, want 403 without a session", hdr, w.Code)
		}
	}
	// None of it counted against the name or published anything.
	if c.pairs.wait(testSup+"\x0010.0.0.66") != 0 || len(pub.audits(t)) != 0 {
		t.Error("a refused cross-site post touched the throttle or the audit")
	}
	// The same browser's own page signs in.
	w := post(h, "/login", "10.0.0.66", signInForm(testSup, testSupPass), "Sec-Fetch-Site", "same-origin")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("same-origin sign-in: %d", w.Code)
	}
	ck := w.Result().Cookies()[0]
	s, _ := c.sessions.get(ck.Value)
	req := httptest.NewRequest("POST", "/console/calls/c1/verdict", strings.NewReader(url.Values{"csrf": {s.CSRF}, "verdict": {"prank"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site verdict with a valid token: %d, want 403", rec.Code)
	}
}

// Failed and refused sign-ins are published as one event per name and
// address, the name cut to a bound, not one event per attempt.
func TestFailedSignInsAggregated(t *testing.T) {
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Publisher: pub, AuditEvery: time.Hour})
	long := strings.Repeat("x", 8000)
	for _, addr := range []string{"10.0.0.1", "10.0.0.2"} {
		for range 30 {
			post(h, "/login", addr, signInForm(long, "whatever"))
		}
	}
	if n := len(pub.audits(t)); n != 0 {
		t.Fatalf("%d audit events published while signing in, want them held for the minute's event", n)
	}
	c.Close()
	got := pub.audits(t)
	if len(got) != 2 {
		t.Fatalf("%d audit events for 60 failed sign-ins from 2 addresses, want 2", len(got))
	}
	for _, a := range got {
		if a.Action != "login_failed" || len(a.By) > maxAuditName+len("…") || !strings.Contains(a.Result, "failed") {
			t.Errorf("audit %+v (name %d bytes)", a, len(a.By))
		}
		if !strings.Contains(a.Result, "30") && !strings.Contains(a.Result, " and ") {
			t.Errorf("result %q does not count the attempts", a.Result)
		}
	}
	pub.mu.Lock()
	for _, e := range pub.evs {
		if err := events.Validate(e, time.Now()); err != nil {
			t.Errorf("published an event its consumers refuse: %v", err)
		}
	}
	pub.mu.Unlock()
}

// While every password check is taken, a sign-in waits at most briefly
// and is then told to come back, without a check of its own.
func TestSignInHashChecksBounded(t *testing.T) {
	c, h := testConsole(t, ConsoleOptions{HashSlots: 1})
	c.gate <- struct{}{} // a check running
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/login", strings.NewReader(signInForm(testSup, testSupPass).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "10.0.0.5:40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("sign-in with every check busy: %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	<-c.gate

	// Concurrent sign-ins never run more checks at once than the slots.
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_ = c.gate.run(context.Background(), func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
			})
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d checks ran at once with 1 slot", most.Load())
	}
}

// One account signing in again and again ends only its own oldest
// sessions, never another person's.
func TestSessionsCappedPerAccount(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s := newSessions(time.Hour, c.now)
	other, _, err := s.create(console.Account{Name: "siti", Role: console.RoleSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	for range maxSessions + 100 {
		c.t = c.t.Add(time.Millisecond)
		if _, _, err := s.create(console.Account{Name: "budi", Role: console.RoleOperator}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := s.get(other); !ok {
		t.Fatal("another account's session was evicted")
	}
	n := 0
	for _, x := range s.byID {
		if x.Name == "budi" {
			n++
		}
	}
	if n != maxSessionsPerAccount {
		t.Fatalf("budi holds %d sessions, want the cap %d", n, maxSessionsPerAccount)
	}
}
