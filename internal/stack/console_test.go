package stack

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/web"
)

// consoleWorld is a serve-like stack without the IVR (workers, HTTP and the
// console over the embedded NATS), a second connection that publishes call
// events as the IVR would, and two accounts.
type consoleWorld struct {
	t    *testing.T
	s    *Stack
	base string
	ivr  blocklist.JSPublisher
}

const (
	supName, supPass = "siti", "correct horse battery"
	opName, opPass   = "budi", "another good password"
)

func startConsoleWorld(t *testing.T, tweak ...func(*configs.Config)) *consoleWorld {
	t.Helper()
	cfg := testConfig(t)
	for _, f := range tweak {
		f(&cfg)
	}
	cfg.HTTP.AccountsFile = filepath.Join(t.TempDir(), "accounts.yaml")
	cfg.HTTP.AdminToken = "machine-token-0123456789"
	accs := &console.Accounts{}
	for _, a := range []struct{ name, role, pw string }{{supName, console.RoleSupervisor, supPass}, {opName, console.RoleOperator, opPass}} {
		// The hash's own cost is what a sign-in pays. The shipped cost
		// (console.HashPassword: about 0.2 s) took over 10 s per sign-in
		// under -race on a loaded two-core machine and timed the tests
		// out; these accounts sign in dozens of times, so they are hashed
		// at bcrypt's least cost. Hashing itself is tested in console.
		hb, err := bcrypt.GenerateFromPassword([]byte(a.pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		h := string(hb)
		if err := accs.Set(console.Account{Name: a.name, Role: a.role, Hash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := accs.Save(cfg.HTTP.AccountsFile); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{Config: cfg, Roles: Roles{Blocklist: true, Reports: true, HTTP: true}, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	ncfg := cfg.NATS
	ncfg.URL = s.NATSURL()
	bus, err := events.Open(context.Background(), ncfg, events.OpenOptions{Name: "test-ivr", User: events.UserIVR, SkipStream: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	w := &consoleWorld{t: t, s: s, base: "http://" + s.HTTPAddr(), ivr: blocklist.JSPublisher{JS: bus.JS}}
	return w
}

// call publishes the events of one call as the IVR would.
func (w *consoleWorld) call(id, number string, o events.Outcome, callback bool) {
	w.t.Helper()
	caller := events.Caller{Number: number, Presentation: events.PresentationAllowed}
	for _, ev := range []struct {
		typ  events.Type
		data any
	}{
		{events.TypeStarted, events.Started{Dialed: "112", Channel: "PJSIP/telco-1"}},
		{events.TypeAnswered, events.Answered{}},
		{events.TypeClassified, events.Classified{Outcome: o, Callback: callback}},
		{events.TypeEnded, events.Ended{Outcome: o, DurationS: 20, HangupBy: events.HangupByCaller, Callback: callback}},
	} {
		e, err := events.New(ev.typ, id, "asterisk-1", caller, ev.data)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.ivr.Publish(context.Background(), e); err != nil {
			w.t.Fatal(err)
		}
	}
}

// browser is one person's HTTP client with its own cookies.
func (w *consoleWorld) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (w *consoleWorld) do(c *http.Client, method, path string, form url.Values) (int, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.base+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *consoleWorld) signIn(c *http.Client, name, pw string) {
	w.t.Helper()
	code, body := w.do(c, "POST", "/login", url.Values{"name": {name}, "password": {pw}, "next": {"/"}})
	if code != http.StatusSeeOther {
		w.t.Fatalf("sign in as %s: %d %s", name, code, body)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// catalogueKeyRE finds a message key shown instead of its text.
var catalogueKeyRE = regexp.MustCompile(`\b(?:col|btn|number|login|err|ok|outcome|incident|title|block|role)\.[a-z_.]+\b`)

// csrf reads the session's form token off a page, as a browser has it.
func (w *consoleWorld) csrf(c *http.Client, number string) string {
	w.t.Helper()
	code, body := w.do(c, "GET", "/numbers/"+url.PathEscape(number), nil)
	m := csrfRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		w.t.Fatalf("number page: %d, no csrf token in %.300s", code, body)
	}
	return m[1]
}

func (w *consoleWorld) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (w *consoleWorld) blocked(number string) bool {
	rec, err := w.s.Store().Get(context.Background(), number)
	return err == nil && rec.Blocked(time.Now())
}

func TestConsoleVerdictBlockLiftAndHistory(t *testing.T) {
	w := startConsoleWorld(t)
	const prankster = "+6281211110000"
	w.call("c-prank-1", prankster, events.OutcomeNoInput, false)
	w.call("c-help-1", "+6281299990000", events.OutcomeSilentHelp, true)

	sup := w.browser()
	w.signIn(sup, supName, supPass)
	tok := w.csrf(sup, "081211110000") // national form: the console normalises it
	back := "/numbers/" + prankster

	// An operator's verdict "prank" (3 strikes) blocks the number; saved
	// without the script, it answers with its result page and undo.
	w.eventually("call known to the blocklist", func() bool {
		code, body := w.do(sup, "POST", "/console/calls/c-prank-1/verdict", url.Values{"csrf": {tok}, "verdict": {"prank"}, "confirm": {"1"}, "back": {back}})
		return code == http.StatusOK && strings.Contains(body, `name="undo"`)
	})
	w.eventually("number blocked after the prank verdict", func() bool { return w.blocked(prankster) })

	// The history shows the call, the verdict by the signed-in name, and the block.
	w.eventually("history with the verdict", func() bool {
		code, body := w.do(sup, "GET", "/api/numbers/"+url.PathEscape(prankster), nil)
		var h web.History
		if code != http.StatusOK || json.Unmarshal([]byte(body), &h) != nil {
			return false
		}
		// Read from the history index, which the worker (logged in with
		// its role's permissions) built and keeps.
		return h.Number == prankster && len(h.Calls) == 1 && len(h.Calls[0].Verdicts) == 1 &&
			h.Calls[0].Verdicts[0].By == supName && h.Now != nil && h.Now.Blocked && h.Source == blocklist.SourceIndex
	})
	code, page := w.do(sup, "GET", "/numbers/"+url.PathEscape(prankster)+"?lang=id", nil)
	if code != http.StatusOK || !strings.Contains(page, `<html lang="id">`) || !strings.Contains(page, "Diblokir sampai") || !strings.Contains(page, "c-prank-1") {
		t.Fatalf("number page (id): %d %.600s", code, page)
	}
	if m := catalogueKeyRE.FindString(page); m != "" {
		t.Errorf("page shows the catalogue key %q instead of its text", m)
	}

	// The supervisor lifts the block.
	code, _ = w.do(sup, "POST", "/console/blocks/"+url.PathEscape(prankster)+"/lift", url.Values{"csrf": {tok}, "confirm": {"1"}, "back": {back}})
	if code != http.StatusSeeOther {
		t.Fatalf("lift: %d", code)
	}
	if w.blocked(prankster) {
		t.Fatal("still blocked after the lift")
	}
	// ... and blocks another number by hand for a chosen time.
	code, body := w.do(sup, "POST", "/console/blocks", url.Values{"csrf": {tok}, "number": {"0812 5555 0000"}, "for": {"6h"}, "reason": {"fake fire reports"}, "confirm": {"1"}, "back": {"/"}})
	if code != http.StatusSeeOther || !w.blocked("+6281255550000") {
		t.Fatalf("block by hand: %d %s", code, body)
	}
	rec, _ := w.s.Store().Get(context.Background(), "+6281255550000")
	if !strings.Contains(rec.SetBy, supName) {
		t.Errorf("block set by %q, want the signed-in name %s", rec.SetBy, supName)
	}
	// The blocks page lists it with its reason and who, and a lift button.
	code, page = w.do(sup, "GET", "/console/blocks?lang=en", nil)
	page = html.UnescapeString(page)
	if i := strings.Index(page, `data-number="+6281255550000"`); code != http.StatusOK || i < 0 ||
		!strings.Contains(page[i:], "fake fire reports") || !strings.Contains(page[i:], supName) || !strings.Contains(page[i:], "/console/blocks/+6281255550000/lift") {
		t.Errorf("blocks page: %d %.1500s", code, page)
	}
	if m := catalogueKeyRE.FindString(page); m != "" {
		t.Errorf("blocks page shows the catalogue key %q", m)
	}

	// An operator ticks the dropped help call as called back. The board
	// lists it under "needs attention" with the button, once signed in.
	op := w.browser()
	if _, board := w.do(op, "GET", "/?lang=en", nil); strings.Contains(board, `data-testid="attention"`) || !strings.Contains(board, `data-testid="signin"`) {
		t.Errorf("board before sign-in: attention panel shown or no sign-in link")
	}
	w.signIn(op, opName, opPass)
	w.eventually("the board lists the dropped help call under needs attention", func() bool {
		_, board := w.do(op, "GET", "/?lang=en", nil)
		i := strings.Index(board, `data-testid="attention"`)
		return i >= 0 && strings.Contains(board[i:], `data-call-id="c-help-1"`) && strings.Contains(board[i:], "console/calls/c-help-1/handled") &&
			strings.Contains(board, "Signed in as "+opName)
	})
	otok := w.csrf(op, "+6281299990000")
	code, _ = w.do(op, "POST", "/console/calls/c-help-1/handled", url.Values{"csrf": {otok}, "action": {"called_back"}, "back": {"/"}})
	if code != http.StatusSeeOther {
		t.Fatalf("tick: %d", code)
	}
	w.eventually("the ticked call leaves needs attention", func() bool {
		_, board := w.do(op, "GET", "/?lang=en", nil)
		i := strings.Index(board, `data-testid="attention"`)
		j := strings.Index(board, `data-testid="recent-calls"`)
		return i >= 0 && j > i && !strings.Contains(board[i:j], `data-call-id="c-help-1"`)
	})
	w.eventually("tick in the history", func() bool {
		_, body := w.do(sup, "GET", "/api/numbers/%2B6281299990000", nil)
		var h web.History
		return json.Unmarshal([]byte(body), &h) == nil && len(h.Calls) == 1 && len(h.Calls[0].Handled) == 1 && h.Calls[0].Handled[0].By == opName
	})
	// The operator sees the number masked and may not lift or block.
	_, body = w.do(op, "GET", "/api/numbers/%2B6281299990000", nil)
	if strings.Contains(body, "6281299990000") {
		t.Errorf("operator sees the whole number: %.200s", body)
	}
	if code, _ := w.do(op, "POST", "/console/blocks", url.Values{"csrf": {otok}, "number": {"+6281266660000"}, "for": {"1h"}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("operator block: %d, want 403", code)
	}
	if w.blocked("+6281266660000") {
		t.Error("the operator's block went through")
	}
	// A machine reads the history with the token; nobody else gets it.
	req, _ := http.NewRequest("GET", w.base+"/api/numbers/%2B6281211110000", nil)
	req.Header.Set("Authorization", "Bearer machine-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token history: %d", resp.StatusCode)
	}
	if code, _ := w.do(w.browser(), "GET", "/api/numbers/%2B6281211110000", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous history: %d, want 401", code)
	}
}

func TestConsoleRefusals(t *testing.T) {
	w := startConsoleWorld(t)
	w.call("c-1", "+6281233330000", events.OutcomeEmergency, false)

	// A wrong password, then too many from this address: the next attempt
	// from here waits (the name is not locked elsewhere: see the console
	// package's tests, which can choose addresses).
	c := w.browser()
	if code, body := w.do(c, "POST", "/login", url.Values{"name": {supName}, "password": {"not the password"}}); code != http.StatusUnauthorized || !strings.Contains(body, "salah") {
		t.Fatalf("wrong password: %d %.200s", code, body)
	}
	for range 4 {
		w.do(c, "POST", "/login", url.Values{"name": {supName}, "password": {"still wrong"}})
	}
	if code, _ := w.do(w.browser(), "POST", "/login", url.Values{"name": {supName}, "password": {supPass}}); code != http.StatusTooManyRequests {
		t.Fatalf("sign-in after 5 failures: %d, want 429", code)
	}

	op := w.browser()
	w.signIn(op, opName, opPass)
	tok := w.csrf(op, "+6281233330000")
	// A form without its CSRF token, or with another one, is refused.
	for _, bad := range []string{"", "forged"} {
		if code, _ := w.do(op, "POST", "/console/calls/c-1/verdict", url.Values{"csrf": {bad}, "verdict": {"prank"}}); code != http.StatusForbidden {
			t.Errorf("csrf %q: %d, want 403", bad, code)
		}
	}
	// A verdict for a call the system does not know.
	if code, body := w.do(op, "POST", "/console/calls/no-such-call/verdict", url.Values{"csrf": {tok}, "verdict": {"prank"}}); code != http.StatusNotFound || !strings.Contains(body, "no-such-call") {
		t.Errorf("unknown call: %d %.200s", code, body)
	}
	// Without a session nothing happens, and pages send people to sign in.
	if code, _ := w.do(w.browser(), "POST", "/console/calls/c-1/verdict", url.Values{"csrf": {tok}, "verdict": {"prank"}}); code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", code)
	}
	if code, _ := w.do(w.browser(), "GET", "/numbers/%2B6281233330000", nil); code != http.StatusSeeOther {
		t.Errorf("number page without a session: %d, want a redirect to /login", code)
	}
	// Signing out ends the session.
	w.do(op, "POST", "/logout", url.Values{"csrf": {tok}})
	if code, _ := w.do(op, "GET", "/api/numbers/%2B6281233330000", nil); code != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d, want 401", code)
	}
}

func TestConsoleIncident(t *testing.T) {
	w := startConsoleWorld(t)
	sup, op := w.browser(), w.browser()
	w.signIn(sup, supName, supPass)
	w.signIn(op, opName, opPass)
	page := func(c *http.Client) string {
		t.Helper()
		code, body := w.do(c, "GET", "/console/incident?lang=en", nil)
		if code != http.StatusOK {
			t.Fatalf("incident page: %d %.300s", code, body)
		}
		return body
	}
	tokenOf := func(body string) string {
		m := csrfRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no csrf token in %.300s", body)
		}
		return m[1]
	}
	body := page(sup)
	if m := catalogueKeyRE.FindString(body); m != "" {
		t.Errorf("page shows the catalogue key %q instead of its text", m)
	}
	if !strings.Contains(body, "No announcement is playing") || !strings.Contains(body, `value="sound:siaga112/incident-example"`) {
		t.Fatalf("incident page before: %.800s", body)
	}
	stok := tokenOf(body)
	otok := tokenOf(page(op))
	if strings.Contains(page(op), `id="incident-start"`) {
		t.Error("an operator is offered the start button")
	}
	if code, _ := w.do(op, "POST", "/console/incident/start", url.Values{"csrf": {otok}, "title": {"Kebakaran pasar"}, "media": {"sound:siaga112/incident-example"}}); code != http.StatusForbidden {
		t.Errorf("operator start: %d, want 403", code)
	}
	if code, body := w.do(sup, "POST", "/console/incident/start", url.Values{"csrf": {stok}, "title": {"Kebakaran Pasar Rawa Indah"}, "media": {"file:///etc/passwd"}}); code != http.StatusBadRequest {
		t.Errorf("bad media: %d %.200s", code, body)
	}
	code, _ := w.do(sup, "POST", "/console/incident/start", url.Values{"csrf": {stok}, "title": {"Kebakaran Pasar Rawa Indah"}, "media": {"sound:siaga112/incident-example"}, "for": {"2h"}, "confirm": {"1"}, "back": {"/console/incident"}})
	if code != http.StatusSeeOther {
		t.Fatalf("start: %d", code)
	}
	if body := page(op); !strings.Contains(body, "Playing: Kebakaran Pasar Rawa Indah") || !strings.Contains(body, supName) {
		t.Fatalf("incident page after start: %.800s", body)
	}
	if _, board := w.do(w.browser(), "GET", "/?lang=en", nil); !strings.Contains(board, `data-testid="incident-banner"`) || !strings.Contains(board, "Kebakaran Pasar Rawa Indah") {
		t.Errorf("the board does not show the incident announcement")
	}
	if code, _ := w.do(sup, "POST", "/console/incident/stop", url.Values{"csrf": {stok}, "confirm": {"1"}, "back": {"/console/incident"}}); code != http.StatusSeeOther {
		t.Fatalf("stop: %d", code)
	}
	if body := page(sup); !strings.Contains(body, "No announcement is playing") {
		t.Fatalf("incident page after stop: %.500s", body)
	}
	if code, _ := w.do(sup, "POST", "/console/incident/stop", url.Values{"csrf": {stok}}); code != http.StatusConflict {
		t.Errorf("second stop: %d, want 409", code)
	}
}

// A signed-in person plays a call's whole-call recording through the
// console: the server fetches it from Asterisk over ARI; nobody else can.
func TestConsoleRecording(t *testing.T) {
	sim := arisim.New(arisim.Options{Username: "siaga112", Password: "secret", Application: "siaga112", ClockScale: 0.01, MixMonitor: "siaga112/"})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// No IVR listens: the sim's dialplan hangs the call up, and its
	// MixMonitor leaves the recording as Asterisk's does.
	h, err := sim.Call(context.Background(), arisim.Caller{Number: "+6281288880000", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("sim call did not end")
	}
	name := "siaga112/" + h.ID()
	w := startConsoleWorld(t, func(c *configs.Config) {
		c.ARI.Nodes = []configs.ARINode{{Name: "sim-1", URL: sim.URL(), WSURL: sim.WSURL(), Username: "siaga112", Password: "secret"}}
	})
	if code, _ := w.do(w.browser(), "GET", "/api/recordings/"+name+"?node=sim-1", nil); code != http.StatusUnauthorized {
		t.Errorf("recording without a session: %d, want 401", code)
	}
	op := w.browser()
	w.signIn(op, opName, opPass)
	code, body := w.do(op, "GET", "/api/recordings/"+name+"?node=sim-1", nil)
	if code != http.StatusOK || len(body) < 44 || body[:4] != "RIFF" {
		t.Fatalf("recording: %d, %d bytes %q", code, len(body), body[:min(len(body), 12)])
	}
	if code, _ := w.do(op, "GET", "/api/recordings/siaga112/no-such-call", nil); code != http.StatusNotFound {
		t.Errorf("unknown recording: %d, want 404", code)
	}
	if code, _ := w.do(op, "GET", "/api/recordings/..%2F..%2Fetc%2Fpasswd", nil); code != http.StatusBadRequest && code != http.StatusNotFound {
		t.Errorf("hostile name: %d, want 400", code)
	}
}

// Sign-ins flooded with wrong passwords and long names leave the calls
// stream as it was: they are counted and published once a minute per name
// and address, not stored one event each.
func TestConsoleFailedSignInsDoNotGrowTheStream(t *testing.T) {
	w := startConsoleWorld(t)
	ctx := context.Background()
	stream, err := w.s.Bus().JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := info.State
	long := strings.Repeat("n", 8000)
	for i := range 200 {
		w.do(w.browser(), "POST", "/login", url.Values{"name": {long + strconv.Itoa(i%3)}, "password": {"guess"}})
	}
	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grew := info.State.Msgs - before.Msgs; grew != 0 {
		t.Fatalf("200 failed sign-ins stored %d events (%d bytes) at once, want none before the minute's count", grew, info.State.Bytes-before.Bytes)
	}
}

// Removing an account from the accounts file signs it out within a
// second, with nobody signing in meanwhile.
func TestConsoleRemovedAccountSignedOut(t *testing.T) {
	w := startConsoleWorld(t)
	op := w.browser()
	w.signIn(op, opName, opPass)
	if code, _ := w.do(op, "GET", "/api/numbers/%2B6281233330000", nil); code != http.StatusOK {
		t.Fatalf("signed in: %d", code)
	}
	accs, err := console.LoadAccounts(w.s.cfg.HTTP.AccountsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := accs.Remove(opName); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := accs.Save(w.s.cfg.HTTP.AccountsFile); err != nil {
		t.Fatal(err)
	}
	for {
		code, _ := w.do(op, "GET", "/api/numbers/%2B6281233330000", nil)
		if code == http.StatusUnauthorized {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("the removed account's session still answers %d a second after the save", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("signed out %s after the save", time.Since(start).Round(time.Millisecond))
}
