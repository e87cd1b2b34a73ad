package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// lockedClock is a test clock that handlers read while the test moves it.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lockedClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// verdictsOf reads the call.verdict events stored for callID, in order.
func verdictsOf(t *testing.T, js jetstream.JetStream, callID string) []string {
	t.Helper()
	cons, err := js.OrderedConsumer(ctxT(t), events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.TypeVerdict.Subject()}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for m := range batch.Messages() {
		e, err := events.Decode(m.Data())
		var d events.Verdict
		if err == nil && e.CallID == callID && e.DecodeData(&d) == nil {
			out = append(out, d.Verdict+" "+d.By)
		}
	}
	return out
}

// A supervisor without JavaScript confirms a prank verdict on the plain
// page and gets a result page: what was saved, what it does, until when
// (in the centre's clock) it can be undone, the undo's form and the way
// back. The form undoes it within the window — a genuine verdict is
// published on the stream — and is refused with the catalogue's message
// once the window and its grace are over.
func TestPrankVerdictUndoneWithoutJavaScript(t *testing.T) {
	js := startJS(t)
	wita, err := time.LoadLocation("Asia/Makassar")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	clock := &lockedClock{t: time.Now().UTC().Truncate(time.Second)}
	numbers := map[string]string{}
	for i, id := range []string{"p-1", "p-2"} {
		n := "+628120000003" + string(rune('1'+i))
		numbers[id] = n
		publishCall(t, js, events.TypeStarted, id, n, events.Started{Dialed: "112"})
	}
	policy, err := blocklist.NewPolicy(testPolicyConfig())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := blocklist.OpenBucket(ctxT(t), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	store := blocklist.NewStore(kv, policy, nil)
	srv, err := New(Options{Console: &ConsoleOptions{
		Accounts: testAccounts(t), Admin: blocklist.NewAdmin(store, blocklist.JSPublisher{JS: js}, nil), Records: store,
		Publisher: blocklist.JSPublisher{JS: js}, Location: wita, Now: clock.now,
		CallNumber: func(id string) (string, bool) { n, ok := numbers[id]; return n, ok },
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	sup := newWebClient(t, ts.URL)
	back := "/console/blocks?lang=id"
	code, page, _ := sup.post("/login", url.Values{"name": {testSup}, "password": {testSupPass}, "next": {back}})
	if code != http.StatusOK {
		t.Fatalf("sign in: %d %.300s", code, page)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token on the blocks page: %.500s", page)
	}
	csrf := m[1]

	// prankPage confirms a prank verdict on call as a browser without the
	// script does: the first post asks, the confirming post saves.
	prankPage := func(call, lang string) (string, string) {
		t.Helper()
		b := "/?lang=" + lang
		if call == "p-1" {
			b = back
		}
		code, body, _ := sup.post("/console/calls/"+call+"/verdict", url.Values{"csrf": {csrf}, "verdict": {"prank"}, "back": {b}})
		if code != http.StatusOK || !strings.Contains(body, `id="confirm-yes"`) {
			t.Fatalf("first post: %d %.500s", code, body)
		}
		code, body, where := sup.post("/console/calls/"+call+"/verdict", url.Values{"csrf": {csrf}, "verdict": {"prank"}, "confirm": {"1"}, "back": {b}})
		if code != http.StatusOK || !strings.HasPrefix(where, "/console/calls/"+call+"/verdict") {
			t.Fatalf("confirming post: %d at %s: %.500s", code, where, body)
		}
		tok := regexp.MustCompile(`name="undo" value="([0-9a-f]+)"`).FindStringSubmatch(body)
		if tok == nil {
			t.Fatalf("the result page holds no undo form: %.2000s", body)
		}
		return body, tok[1]
	}

	body, tok := prankPage("p-1", "id")
	until := clock.now().Add(undoWindow).In(wita).Format("2006-01-02 15:04:05") + " WITA"
	for _, want := range []string{
		`<html lang="id">`,
		"Penilaian Iseng untuk panggilan p-1 tersimpan.",
		"Tandai iseng: 0812-0000-0031 akan diblokir 1 jam.",
		"Salah klik? Anda dapat mengurungkannya sampai " + until + "; setelah itu penilaian ini tetap.",
		`action="/console/calls/p-1/verdict/undo"`,
		`>Urungkan: tandai asli</button>`,
		`<a href="` + back + `" id="undo-back">Kembali ke halaman sebelumnya</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the result page does not say %q: %.3000s", want, body)
		}
	}
	clock.add(9 * time.Second)
	code, _, where := sup.post("/console/calls/p-1/verdict/undo", url.Values{"csrf": {csrf}, "undo": {tok}, "back": {back}})
	if code != http.StatusOK || !strings.Contains(where, "notice=verdict_undone") || !strings.HasPrefix(where, "/console/blocks?lang=id&") {
		t.Fatalf("undo within the window: %d, ended at %s", code, where)
	}
	if got := verdictsOf(t, js, "p-1"); strings.Join(got, ",") != "prank siti,genuine siti" {
		t.Fatalf("verdicts on the stream for p-1: %v, want the prank and its undo", got)
	}

	// Too late: the page, in English this time, then 13 s (past 10 s and
	// the 2 s of grace) before the form is posted.
	body, tok = prankPage("p-2", "en")
	if !strings.Contains(body, "Wrong click? You can undo it until ") || !strings.Contains(body, `>Undo: mark genuine</button>`) {
		t.Errorf("the English result page: %.2000s", body)
	}
	clock.add(13 * time.Second)
	code, body, _ = sup.post("/console/calls/p-2/verdict/undo", url.Values{"csrf": {csrf}, "undo": {tok}, "back": {"/?lang=en"}})
	if code != http.StatusConflict || !strings.Contains(body, text(LangEN, "err.undo")) {
		t.Fatalf("undo after 13 s: %d, want 409 with %q: %.500s", code, text(LangEN, "err.undo"), body)
	}
	if got := verdictsOf(t, js, "p-2"); strings.Join(got, ",") != "prank siti" {
		t.Fatalf("verdicts on the stream for p-2: %v, want the prank alone", got)
	}
}
