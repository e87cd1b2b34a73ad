package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// TestClassifyFailure: the errors the store and the bus return, wrapped
// as the code wraps them, are sorted by their kind, by value and not by
// their words; each kind's sentence names what failed, what it means and
// the code, in the page's language only.
func TestClassifyFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want failKind
	}{
		{"a KV read past its deadline", fmt.Errorf("blocklist: read: %w", context.DeadlineExceeded), failTimeout},
		{"a request timed out", fmt.Errorf("callback store: %w", nats.ErrTimeout), failTimeout},
		{"a socket deadline", fmt.Errorf("blocklist: list: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), failTimeout},
		{"no server serves the bucket", fmt.Errorf("blocklist: read: %w", nats.ErrNoResponders), failUnreachable},
		{"no stream answers a publish", fmt.Errorf("publish: %w", jetstream.ErrNoStreamResponse), failUnreachable},
		{"the connection is closed", fmt.Errorf("blocklist: list: %w", nats.ErrConnectionClosed), failUnreachable},
		{"the connection is reconnecting", fmt.Errorf("incident: current: %w", nats.ErrConnectionReconnecting), failUnreachable},
		{"the server is disconnected", nats.ErrDisconnected, failUnreachable},
		{"JetStream is off", fmt.Errorf("blocklist: read: %w", jetstream.ErrJetStreamNotEnabled), failUnreachable},
		{"a timeout's words, not its value", errors.New("nats: timeout"), failOther},
		{"a key that is not there", fmt.Errorf("callback store: %w", jetstream.ErrKeyNotFound), failOther},
		{"the request was cancelled", fmt.Errorf("blocklist: read: %w", context.Canceled), failOther},
		{"a record the store cannot read", errors.New("blocklist: decode +6281234567890: unexpected end of JSON input"), failOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyFailure(tc.err); got != tc.want {
				t.Errorf("classifyFailure(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}

	at := time.Date(2026, 12, 7, 2, 45, 12, 0, time.UTC)
	c := newConsole(ConsoleOptions{Accounts: testAccounts(t), Location: time.FixedZone("WITA", 8*3600), Now: func() time.Time { return at }}, newAuth(""))
	t.Cleanup(c.Close)
	r := httptest.NewRequest("POST", "/console/blocks", nil)
	for _, tc := range []struct {
		lang string
		op   failOp
		err  error
		want string
	}{
		{LangID, failSave, fmt.Errorf("blocklist: read: %w", context.DeadlineExceeded),
			"Penyimpanan data tidak menjawab tepat waktu. Tidak ada yang tersimpan; kirim lagi sebentar lagi. Jika terus terjadi, hubungi administrator dan sebutkan kode T-104512."},
		{LangID, failRead, fmt.Errorf("blocklist: list: %w", nats.ErrConnectionClosed),
			"Penyimpanan data tidak dapat dihubungi saat ini. Halaman ini belum dapat ditampilkan; muat ulang sebentar lagi. Jika terus terjadi, hubungi administrator dan sebutkan kode N-104512."},
		{LangID, failSave, errors.New("invalid JSON"), "Tidak dapat disimpan: penyimpanan data menolaknya. Tidak ada yang tersimpan"},
		{LangEN, failSave, errors.New("invalid JSON"), "It could not be saved: the data store refused it. Nothing was saved; send it again in a moment. If it keeps happening, call the administrator and give the code E-104512."},
		{LangEN, failRead, fmt.Errorf("x: %w", nats.ErrTimeout), "The data store did not answer in time. This page cannot be shown yet"},
	} {
		got := c.failure(r, tc.lang, tc.op, tc.err)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %s %v: %q, want %q", tc.lang, tc.op, tc.err, got, tc.want)
		}
		if bad := foreignWords(tc.lang, got); len(bad) > 0 || strings.Contains(got, "JSON") || strings.Contains(got, "nats") {
			t.Errorf("%s: %q holds words of the error or of the other language: %v", tc.lang, got, bad)
		}
	}
}

// TestStoreFailureInPageLanguage: the blocklist's NATS server stops under
// a signed-in supervisor. The blocked numbers page and a confirmed block
// say, in Indonesian, that the data store does not answer, that nothing
// was saved and what to do, with a code; the block form keeps what was
// typed, and the error's English stays in the audit. With the connection closed, the page says the store cannot be
// reached.
func TestStoreFailureInPageLanguage(t *testing.T) {
	e, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, js := connect(t, e.ClientURL())
	p, err := blocklist.NewPolicy(configs.Default().Blocklist)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := blocklist.OpenBucket(ctxT(t), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	store := blocklist.NewStore(kv, p, testLog(t))
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Admin: blocklist.NewAdmin(store, blocklist.JSPublisher{JS: js}, testLog(t)), Records: store,
		Publisher: pub, DefaultCountry: "ID"})
	sup := signedIn(t, c, h, testSup, testSupPass)
	if w := sup.do("GET", "/console/blocks?lang=id", nil); w.Code != http.StatusOK {
		t.Fatalf("with the store up: %d", w.Code)
	}
	code := regexp.MustCompile(`kode [TNE]-[0-9]{6}\.`)
	check := func(what string, w *httptest.ResponseRecorder, status int, want ...string) {
		t.Helper()
		body := html.UnescapeString(w.Body.String())
		if w.Code != status {
			t.Errorf("%s: %d, want %d: %.300s", what, w.Code, status, body)
		}
		for _, typed := range []string{"0812 5555 0000", "iseng tiap malam"} {
			if strings.HasPrefix(what, "a confirmed block") && !strings.Contains(body, `value="`+typed+`"`) {
				t.Errorf("%s: the form lost %q", what, typed)
			}
		}
		seen := visibleText(w.Body.String())
		for _, s := range want {
			if !strings.Contains(seen, s) {
				t.Errorf("%s: the page lacks %q: %.1500s", what, s, seen)
			}
		}
		if !code.MatchString(seen) {
			t.Errorf("%s: no code for the administrator", what)
		}
		if bad := foreignWords(LangID, seen); len(bad) > 0 || strings.Contains(seen, "deadline") || strings.Contains(seen, "nats") {
			t.Errorf("%s: English on the Indonesian page: %v", what, bad)
		}
	}

	e.Shutdown()
	check("blocked numbers, server stopped", sup.do("GET", "/console/blocks?lang=id", nil), http.StatusServiceUnavailable,
		"Penyimpanan data tidak menjawab tepat waktu.", "Halaman ini belum dapat ditampilkan", "hubungi administrator")
	check("a confirmed block, server stopped", sup.do("POST", "/console/blocks", url.Values{"number": {"0812 5555 0000"}, "for": {"2 jam"},
		"reason": {"iseng tiap malam"}, "confirm": {"1"}, "back": {"/console/blocks?lang=id"}}), http.StatusServiceUnavailable,
		"Penyimpanan data tidak menjawab tepat waktu.", "Tidak ada yang tersimpan")
	if a := lastAudit(t, pub); a.Action != "block" || a.Result != "refused: blocklist: read: context deadline exceeded" {
		t.Errorf("audit %+v: want the error's own words", a)
	}

	nc.Close()
	check("blocked numbers, connection closed", sup.do("GET", "/console/blocks?lang=id", nil), http.StatusServiceUnavailable,
		"Penyimpanan data tidak dapat dihubungi saat ini.")
}
