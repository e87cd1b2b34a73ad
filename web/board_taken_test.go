package web

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// webClient is a person at a browser without JavaScript: an HTTP client
// with a cookie jar that follows redirects, against one listener.
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newWebClient(t *testing.T, base string) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// get fetches a page and returns its status and body, unescaped.
func (w *webClient) get(path string) (int, string) {
	w.t.Helper()
	resp, err := w.c.Get(w.base + path)
	if err != nil {
		w.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(b))
}

// post sends a form as a browser does and returns the status and body
// of the answer, after any redirect, and where it ended up.
func (w *webClient) post(path string, form url.Values) (int, string, string) {
	w.t.Helper()
	resp, err := w.c.PostForm(w.base+path, form)
	if err != nil {
		w.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(b)), resp.Request.URL.RequestURI()
}

// signIn signs in on the sign-in page's form and returns the session's
// form token, read from the board as a browser would read it.
func (w *webClient) signIn(name, pw string) string {
	w.t.Helper()
	if code, body, _ := w.post("/login", signInForm(name, pw)); code != http.StatusOK {
		w.t.Fatalf("sign in as %s: %d %.300s", name, code, body)
	}
	_, body := w.get("/?lang=id")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		w.t.Fatalf("no form token on the board after signing in as %s", name)
	}
	return m[1]
}

// runReports runs a reports worker with durable name into a new
// aggregator, as a reports process does at its start, until the test
// ends or stop is called.
func runReports(t *testing.T, js jetstream.JetStream, durable string) (agg *reports.Aggregator, stop func()) {
	t.Helper()
	agg = reports.NewAggregator(reports.Options{})
	w := reports.NewWorker(js, agg, reports.WorkerConfig{Durable: durable, Stream: configs.Default().NATS.Stream}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && ctx.Err() == nil {
				t.Errorf("reports worker %s: %v", durable, err)
			}
		})
	}
	t.Cleanup(stop)
	eventually(t, "the reports worker "+durable+" to catch up", func() bool { return w.Ready(ctx) })
	return agg, stop
}

// webOver is one web process over agg whose console publishes to js.
func webOver(t *testing.T, js jetstream.JetStream, agg *reports.Aggregator) *httptest.Server {
	t.Helper()
	srv, err := New(Options{
		Aggregator: agg,
		Console: &ConsoleOptions{Accounts: testAccounts(t), Admin: &fakeAdmin{}, Records: fakeRecords{},
			Publisher: blocklist.JSPublisher{JS: js}, Location: time.UTC},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// Who took a needs-attention item is a fact on the event stream: after a
// take on one web server, a second one on the same NATS shows it, and so
// does a web server whose reports worker started again from the stream.
// A colleague who takes it over replaces the name, and the tick closes it.
func TestTakeIsSeenByEveryWebServerAndSurvivesRestart(t *testing.T) {
	js := startJS(t)
	at := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Millisecond)
	publish(t, js, callEvents(t, callSpec{id: "sh-1", number: "+6281200000021", at: at, outcome: events.OutcomeSilentHelp, ttc: 3}), true)

	aggA, stopA := runReports(t, js, "reports-a")
	aggB, _ := runReports(t, js, "reports-b")
	a, b := webOver(t, js, aggA), webOver(t, js, aggB)
	budiA, sitiB := newWebClient(t, a.URL), newWebClient(t, b.URL)
	budiCSRF, sitiCSRF := budiA.signIn(testOp, testOpPass), sitiB.signIn(testSup, testSupPass)

	taken := func(c *webClient, who string) func() bool {
		return func() bool {
			_, body := c.get("/?lang=id")
			return strings.Contains(attentionPanel(body), "Sedang ditangani "+who)
		}
	}
	if _, body := sitiB.get("/?lang=id"); !strings.Contains(attentionPanel(body), `action="console/calls/sh-1/take"`) || strings.Contains(body, "Sedang ditangani") {
		t.Fatalf("before any take the item should offer its take button; panel: %.2000s", attentionPanel(body))
	}
	code, body, where := budiA.post("/console/calls/sh-1/take", url.Values{"csrf": {budiCSRF}, "back": {"/?lang=id"}})
	if code != http.StatusOK || !strings.Contains(where, "notice=taken") {
		t.Fatalf("take: %d at %s: %.300s", code, where, body)
	}
	eventually(t, "the other web server shows budi's take", taken(sitiB, testOp))
	eventually(t, "the web server that took it shows the take", taken(budiA, testOp))

	// The reports process of server A starts again: a new aggregator,
	// replayed from the stream, behind a new web process.
	stopA()
	aggA2, _ := runReports(t, js, "reports-a")
	budiA2 := newWebClient(t, webOver(t, js, aggA2).URL)
	budiA2.signIn(testOp, testOpPass)
	eventually(t, "after a restart the board still says who took it", taken(budiA2, testOp))

	// Siti takes it over from server B; every server follows.
	code, body, _ = sitiB.post("/console/calls/sh-1/take", url.Values{"csrf": {sitiCSRF}, "back": {"/?lang=id"}})
	if code != http.StatusOK {
		t.Fatalf("siti's take: %d %.300s", code, body)
	}
	eventually(t, "the restarted server shows siti's take", taken(budiA2, testSup))
	code, body, _ = sitiB.post("/console/calls/sh-1/handled", url.Values{"csrf": {sitiCSRF}, "back": {"/?lang=id"}, "action": {events.HandledDone}})
	if code != http.StatusOK {
		t.Fatalf("tick: %d %.300s", code, body)
	}
	eventually(t, "the tick closes the taken item", func() bool {
		_, body := budiA2.get("/?lang=id")
		p := attentionPanel(body)
		return p != "" && !strings.Contains(p, `data-call-id="sh-1"`)
	})

	// The audit names the take.
	var audited bool
	cons, err := js.OrderedConsumer(ctxT(t), events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SubjectAudit}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		e, err := events.Decode(m.Data())
		var d events.Audit
		if err == nil && e.DecodeData(&d) == nil && d.Action == "take" && d.Target == "sh-1" && d.By == testOp && d.Result == "ok" {
			audited = true
		}
	}
	if !audited {
		t.Error("budi's take was not audited")
	}
}

// attentionPanel is the needs-attention panel of a board page.
func attentionPanel(body string) string {
	i := strings.Index(body, `data-testid="attention"`)
	if i < 0 {
		return ""
	}
	if j := strings.Index(body[i:], "</section>"); j >= 0 {
		return body[i : i+j]
	}
	return body[i:]
}
