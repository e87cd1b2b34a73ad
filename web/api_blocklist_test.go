package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// apiServer serves the API with token over a fresh NATS and returns its URL
// and the connection.
func apiServer(t *testing.T, token string) (string, *nats.Conn, *blocklist.Store) {
	t.Helper()
	url := startNATS(t)
	nc, js := connect(t, url)
	if _, err := events.EnsureStream(ctxT(t), js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	cfg := configs.Default().Blocklist
	cfg.Allowlist = []string{"0811-000-111"}
	p, err := blocklist.NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := blocklist.OpenBucket(ctxT(t), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := blocklist.NewStore(kv, p, testLog(t))
	mux := http.NewServeMux()
	newAPI(blocklist.NewAdmin(s, blocklist.JSPublisher{JS: js}, testLog(t)), s, newAuth(token), testLog(t)).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, nc, s
}

// do sends a request and returns the status and decoded JSON body.
func do(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, url, raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	return resp.StatusCode, out
}

func TestAPIWrites(t *testing.T) {
	base, _, s := apiServer(t, testToken)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		errContains                     string
	}{
		{"add without token", "POST", "/api/blocklist", "", `{"number":"081234567890"}`, 401, "admin token required"},
		{"add with wrong token", "POST", "/api/blocklist", "nope", `{"number":"081234567890"}`, 401, "admin token required"},
		{"add bad json", "POST", "/api/blocklist", testToken, `{"number":`, 400, "invalid JSON body"},
		{"add empty body", "POST", "/api/blocklist", testToken, ``, 400, "invalid JSON body"},
		{"add unknown field", "POST", "/api/blocklist", testToken, `{"numbr":"0812"}`, 400, `unknown field "numbr"`},
		{"add wrong type", "POST", "/api/blocklist", testToken, `{"number":812}`, 400, "number: want a JSON string"},
		{"add missing number", "POST", "/api/blocklist", testToken, `{"for":"1h"}`, 400, "number: required"},
		{"add garbage number", "POST", "/api/blocklist", testToken, `{"number":"abc"}`, 400, `number: invalid phone number "abc"`},
		{"add anonymous", "POST", "/api/blocklist", testToken, `{"number":"withheld"}`, 400, "number: anonymous"},
		{"add bad duration", "POST", "/api/blocklist", testToken, `{"number":"0812-3456-7890","for":"soon"}`, 400, `for: invalid duration "soon"`},
		{"add negative duration", "POST", "/api/blocklist", testToken, `{"number":"0812-3456-7890","for":"-1h"}`, 400, "for: invalid duration"},
		{"add allowlisted", "POST", "/api/blocklist", testToken, `{"number":"0811000111"}`, 409, "allowlist"},
		{"add long reason", "POST", "/api/blocklist", testToken, `{"number":"0812-3456-7890","reason":"` + strings.Repeat("x", 329) + `"}`, 400, "reason: invalid block reason"},
		{"add long by", "POST", "/api/blocklist", testToken, `{"number":"0812-3456-7890","by":"` + strings.Repeat("b", 65) + `"}`, 400, "by: at most 64 bytes"},
		{"remove without token", "DELETE", "/api/blocklist/%2B6281234567890", "", ``, 401, "admin token required"},
		{"remove garbage", "DELETE", "/api/blocklist/abc", testToken, ``, 400, `number: invalid phone number "abc"`},
		{"remove unknown", "DELETE", "/api/blocklist/%2B442079460958", testToken, ``, 404, "not in blocklist"},
		{"verdict without token", "POST", "/api/calls/c1/verdict", "", `{"verdict":"prank"}`, 401, "admin token required"},
		{"verdict bad", "POST", "/api/calls/c1/verdict", testToken, `{"verdict":"maybe"}`, 400, "verdict: verdict must be prank or genuine"},
		{"verdict bad json", "POST", "/api/calls/c1/verdict", testToken, `[]`, 400, "want a JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.method, base+tc.path, tc.token, tc.body)
			msg, _ := body["error"].(string)
			if status != tc.status || !strings.Contains(msg, tc.errContains) {
				t.Fatalf("%d %q, want %d with %q", status, msg, tc.status, tc.errContains)
			}
		})
	}
	if list, err := s.List(ctxT(t)); err != nil || len(list) != 0 {
		t.Fatalf("a refused request wrote: %+v %v", list, err)
	}
}

func TestAPIBlockListUnblock(t *testing.T) {
	base, nc, s := apiServer(t, testToken)
	ctx := ctxT(t)

	status, body := do(t, "POST", base+"/api/blocklist", testToken, `{"number":"0812-3456-7890","for":"7d","reason":"threats","by":"budi"}`)
	if status != 200 || body["number"] != testCallerNumber || body["blocked"] != true || body["set_by"] != "admin:budi" {
		t.Fatalf("add: %d %v", status, body)
	}
	r, err := s.Get(ctx, testCallerNumber)
	if err != nil || r.Until.Sub(r.Updated) != 7*24*time.Hour {
		t.Fatalf("stored %+v %v", r, err)
	}
	if _, _, err := s.Add(ctx, "+12025550143", time.Hour, "", "x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Remove(ctx, "+12025550143", "x"); err != nil {
		t.Fatal(err)
	}

	t.Run("list masked without token", func(t *testing.T) {
		status, body := do(t, "GET", base+"/api/blocklist", "", "")
		entries, _ := body["entries"].([]any)
		if status != 200 || len(entries) != 2 {
			t.Fatalf("%d %v", status, body)
		}
		for _, e := range entries {
			n := e.(map[string]any)["number"].(string)
			if n != "****7890" && n != "****0143" {
				t.Fatalf("number %q not masked as Mask does", n)
			}
			if _, ok := e.(map[string]any)["strikes"]; ok {
				t.Fatal("strikes shown without token")
			}
			if m := e.(map[string]any); m["set_by"] != nil || m["reason"] != nil || m["reason_code"] != nil {
				t.Fatalf("a manual block's set_by %v or reason %v (code %v) shown without token", m["set_by"], m["reason"], m["reason_code"])
			}
		}
	})
	t.Run("list full with token, only blocked", func(t *testing.T) {
		status, body := do(t, "GET", base+"/api/blocklist?blocked=true", testToken, "")
		entries, _ := body["entries"].([]any)
		if status != 200 || len(entries) != 1 || entries[0].(map[string]any)["number"] != testCallerNumber {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("reason codes beside the reasons", func(t *testing.T) {
		// reason stays the English text it always was; a code comes beside
		// it only for a reason the policy wrote, never for a typed one.
		_, body := do(t, "GET", base+"/api/blocklist", testToken, "")
		entries, _ := body["entries"].([]any)
		got := map[string][2]any{}
		for _, e := range entries {
			m := e.(map[string]any)
			got[m["number"].(string)] = [2]any{m["reason"], m["reason_code"]}
		}
		if want := [2]any{"threats", nil}; got[testCallerNumber] != want {
			t.Errorf("typed reason: %v, want %v", got[testCallerNumber], want)
		}
		if want := [2]any{"removed by admin", blocklist.CodeAdminRemove}; got["+12025550143"] != want {
			t.Errorf("lift by admin: %v, want %v", got["+12025550143"], want)
		}
	})
	t.Run("list with wrong token", func(t *testing.T) {
		if status, _ := do(t, "GET", base+"/api/blocklist", "wrong", ""); status != 401 {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("list bad filter", func(t *testing.T) {
		status, body := do(t, "GET", base+"/api/blocklist?blocked=maybe", "", "")
		if status != 400 || !strings.Contains(body["error"].(string), "blocked:") {
			t.Fatalf("%d %v", status, body)
		}
	})

	status, body = do(t, "DELETE", base+"/api/blocklist/0812-3456-7890?by=budi", testToken, "")
	if status != 200 || body["blocked"] != false {
		t.Fatalf("remove: %d %v", status, body)
	}

	t.Run("verdict publishes call.verdict", func(t *testing.T) {
		got := make(chan *nats.Msg, 1)
		sub, err := nc.ChanSubscribe(events.TypeVerdict.Subject(), got)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		// No worker runs here, so the call is not in the call index: the
		// lookup finds it by scanning the call.started events.
		publishCall(t, js, events.TypeStarted, "1732700000.42", testCallerNumber, events.Started{Dialed: "112"})
		status, body := do(t, "POST", base+"/api/calls/1732700000.42/verdict", testToken, `{"verdict":"genuine","by":"siti"}`)
		if status != 202 || body["call_id"] != "1732700000.42" || body["id"] == "" {
			t.Fatalf("%d %v", status, body)
		}
		select {
		case m := <-got:
			e, err := events.Decode(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			var v events.Verdict
			if err := e.DecodeData(&v); err != nil || v.Verdict != "genuine" || v.By != "siti" || e.CallID != "1732700000.42" || e.ID != body["id"] {
				t.Fatalf("published %+v %+v %v", e, v, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("call.verdict not published")
		}
		status, body = do(t, "POST", base+"/api/calls/no-such-call/verdict", testToken, `{"verdict":"prank"}`)
		if msg, _ := body["error"].(string); status != 404 || !strings.Contains(msg, `unknown call "no-such-call"`) {
			t.Fatalf("unknown call: %d %v", status, body)
		}
		select {
		case m := <-got:
			t.Fatalf("verdict for an unknown call published: %s", m.Data)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

func TestAPIWithoutAdminToken(t *testing.T) {
	base, _, _ := apiServer(t, "")
	for _, path := range []string{"/api/blocklist", "/api/calls/c1/verdict"} {
		status, body := do(t, "POST", base+path, "anything", `{}`)
		if status != 403 || !strings.Contains(body["error"].(string), "http.admin_token") {
			t.Fatalf("POST %s: %d %v", path, status, body)
		}
	}
	// Reading still works, masked; a token cannot unmask without a configured one.
	if status, _ := do(t, "GET", base+"/api/blocklist", "", ""); status != 200 {
		t.Fatalf("GET status %d", status)
	}
	if status, _ := do(t, "GET", base+"/api/blocklist", "anything", ""); status != 401 {
		t.Fatalf("GET with a token when none is configured: %d", status)
	}
}

// TestAPIBlockReasonBounded: the HTTP API refuses a reason longer than the
// blocklist.changed event takes with 400 and an error that names the bound,
// and writes nothing.
func TestAPIBlockReasonBounded(t *testing.T) {
	base, _, s := apiServer(t, testToken)
	status, body := do(t, "POST", base+"/api/blocklist", testToken, `{"number":"0812-3456-7890","reason":"`+strings.Repeat("r", 329)+`"}`)
	if msg, _ := body["error"].(string); status != 400 || !strings.Contains(msg, "329 characters (at most 200)") {
		t.Fatalf("API: %d %q, want 400 naming the bound", status, msg)
	}
	if list, err := s.List(ctxT(t)); err != nil || len(list) != 0 {
		t.Fatalf("a refused reason was written: %+v %v", list, err)
	}
}

// effectAdmin knows calls c1 to c4 and c9 (withheld), finds their numbers
// in its "call index" (c-broken's index cannot be read), and records the
// verdicts it publishes.
type effectAdmin struct {
	verdictAdmin
	numbers map[string]string
}

func (a *effectAdmin) FindCall(_ context.Context, id string) error {
	if _, ok := a.numbers[id]; ok || id == "c9" {
		return nil
	}
	return fmt.Errorf("%w %q", blocklist.ErrUnknownCall, id)
}

func (a *effectAdmin) Verdict(ctx context.Context, id, v, by string) (events.Envelope, error) {
	if err := a.FindCall(ctx, id); err != nil {
		return events.Envelope{}, err
	}
	_, _ = a.verdictAdmin.Verdict(ctx, id, v, by)
	return events.Envelope{ID: "01JVERDICT"}, nil
}

func (a *effectAdmin) CallNumber(_ context.Context, id string) (string, error) {
	if id == "c-broken" {
		return "", errors.New("call index: nats: timeout")
	}
	if n, ok := a.numbers[id]; ok {
		return n, nil
	}
	return "", fmt.Errorf("%w %q: not in the call index", blocklist.ErrUnknownCall, id)
}

// POST /api/calls/{id}/verdict?dry_run=1 answers 200 with what the
// verdict would do — the console's question in English, and its change,
// block length and end as fields — and publishes nothing; a real verdict's
// 202 carries the same effect.
func TestAPIVerdictDryRun(t *testing.T) {
	now := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	recs := fakeRecords{recs: []blocklist.Record{
		{Number: "+6281200000003", Level: 1, Until: now.Add(45 * time.Minute), SetBy: blocklist.SetByAuto},
		{Number: "+6281200000004", Until: now.Add(48 * time.Hour), SetBy: "admin:siti", Manual: true},
	}}
	adm := &effectAdmin{numbers: map[string]string{"c1": "+6281200000001", "c3": "+6281200000003", "c4": "+6281200000004", "c-broken": ""}}
	api := newAPI(adm, recs, newAuth(testToken), testLog(t))
	api.now, api.loc = func() time.Time { return now }, time.UTC
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, call, query, body string
		status                  int
		want                    map[string]any
	}{
		{"prank blocks a fresh number", "c1", "?dry_run=1", `{"verdict":"prank"}`, 200, map[string]any{
			"dry_run": true, "change": "block", "blocks_for": "1h0m0s", "until": "2026-11-27T03:30:00Z", "lifts_block": false,
			"effect": "Mark as prank: 0812-0000-0001 will be blocked for 1 h."}},
		{"prank extends a block", "c3", "?dry_run=true", `{"verdict":"prank","by":"script"}`, 200, map[string]any{
			"dry_run": true, "change": "extend", "blocks_for": "6h0m0s", "until": "2026-11-27T08:30:00Z", "lifts_block": false}},
		{"genuine lifts an automatic block", "c3", "?dry_run=1", `{"verdict":"genuine"}`, 200, map[string]any{
			"dry_run": true, "change": "lift", "lifts_block": true, "until": nil, "blocks_for": nil}},
		{"genuine keeps a supervisor's block", "c4", "?dry_run=1", `{"verdict":"genuine"}`, 200, map[string]any{
			"dry_run": true, "change": "none", "lifts_block": false,
			"effect": "Mark as genuine: 0812-0000-0004 is blocked by a supervisor and that block stays; nothing changes."}},
		{"a withheld caller", "c9", "?dry_run=1", `{"verdict":"prank"}`, 200, map[string]any{
			"dry_run": true, "change": "no_number", "effect": "Mark as prank: call c9 has no visible number; nothing is blocked."}},
		{"an index that cannot be read", "c-broken", "?dry_run=1", `{"verdict":"prank"}`, 200, map[string]any{
			"dry_run": true, "change": "unknown"}},
		{"unknown call", "c7", "?dry_run=1", `{"verdict":"prank"}`, 404, nil},
		{"not a verdict", "c1", "?dry_run=1", `{"verdict":"maybe"}`, 400, nil},
		{"not a call id", "a%3Fb", "?dry_run=1", `{"verdict":"prank"}`, 400, nil},
		{"not a dry_run value", "c1", "?dry_run=yes", `{"verdict":"prank"}`, 400, nil},
		{"the body's dry_run is not the switch", "c1", "", `{"verdict":"prank","dry_run":true}`, 400, nil},
		{"a real verdict carries its effect", "c1", "?dry_run=0", `{"verdict":"prank","by":"script"}`, 202, map[string]any{
			"id": "01JVERDICT", "dry_run": nil, "change": "block", "blocks_for": "1h0m0s", "until": "2026-11-27T03:30:00Z",
			"effect": "Mark as prank: 0812-0000-0001 will be blocked for 1 h."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(adm.published())
			status, body := do(t, "POST", srv.URL+"/api/calls/"+tc.call+"/verdict"+tc.query, testToken, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			for k, v := range tc.want {
				if got, ok := body[k]; v == nil && ok || v != nil && got != v {
					t.Errorf("%s = %v, want %v (answer %v)", k, got, v, body)
				}
			}
			if published := len(adm.published()) - before; published != 0 && status != 202 || published != 1 && status == 202 {
				t.Errorf("%d verdicts published, answered %d", published, status)
			}
		})
	}
	if got := adm.published(); len(got) != 1 || got[0] != "c1 prank script" {
		t.Fatalf("verdicts published: %v, want only the real one", got)
	}
}
