package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/events"
)

// fakeCallbacks is a Callbacks of function fields; a nil field fails the
// test when called.
type fakeCallbacks struct {
	t          *testing.T
	cancel     func(callID, number, by, note string) error
	setEnabled func(on bool, by string) error
	enabled    func() (bool, error)
}

func (f *fakeCallbacks) Cancel(_ context.Context, callID, number, by, note string) error {
	if f.cancel == nil {
		f.t.Errorf("Cancel(%s) called", callID)
		return nil
	}
	return f.cancel(callID, number, by, note)
}

func (f *fakeCallbacks) SetEnabled(_ context.Context, on bool, by string) error {
	if f.setEnabled == nil {
		f.t.Errorf("SetEnabled(%v) called", on)
		return nil
	}
	return f.setEnabled(on, by)
}

func (f *fakeCallbacks) Enabled(context.Context) (bool, error) {
	if f.enabled == nil {
		return true, nil
	}
	return f.enabled()
}

// lastAudit is the latest console.audit published.
func lastAudit(t *testing.T, p *recorder) events.Audit {
	t.Helper()
	a := p.audits(t)
	if len(a) == 0 {
		t.Fatal("no audit event")
	}
	return a[len(a)-1]
}

// TestCallbackCancel: a supervisor cancels a call-back with a reason; the
// store gets the call, the number in E.164, the signed-in name and the
// reason, and every attempt, allowed or refused, is audited. An operator,
// a missing or long reason, a withheld number and a call without an open
// call-back are refused.
func TestCallbackCancel(t *testing.T) {
	type call struct{ id, number, by, note string }
	var calls []call
	cbs := &fakeCallbacks{t: t, cancel: func(id, number, by, note string) error {
		if id == "gone-1" {
			return fmt.Errorf("callback store: call %s: %w", id, callback.ErrNoCallback)
		}
		if id == "kv-down" {
			return fmt.Errorf("callback store: %w", nats.ErrTimeout)
		}
		calls = append(calls, call{id, number, by, note})
		return nil
	}}
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Callbacks: cbs, Publisher: pub, DefaultCountry: "62"})
	sup := signedIn(t, c, h, testSup, testSupPass)
	op := signedIn(t, c, h, testOp, testOpPass)
	long := strings.Repeat("alasan panjang ", 20) // 300 characters
	for _, tc := range []struct {
		name    string
		who     *browserAt
		id      string
		form    url.Values
		status  int
		store   *call // what the store must get; nil: nothing
		result  string
		action  string
		message string
	}{
		{"supervisor, national number", sup, "c1", url.Values{"number": {"0812 3456 7890"}, "note": {"  salah sambung, sudah dikonfirmasi  "}}, http.StatusSeeOther,
			&call{"c1", "+6281234567890", testSup, "salah sambung, sudah dikonfirmasi"}, "ok", "callback_cancel", ""},
		{"operator refused", op, "c2", url.Values{"number": {"+6281234567890"}, "note": {"tidak perlu"}}, http.StatusForbidden,
			nil, "refused: not a supervisor", "form", "Hanya supervisor"},
		{"no reason", sup, "c3", url.Values{"number": {"+6281234567890"}, "note": {"   "}}, http.StatusBadRequest,
			nil, "refused: the reason is missing or too long", "callback_cancel", "Alasan pembatalan wajib diisi"},
		{"reason too long", sup, "c4", url.Values{"number": {"+6281234567890"}, "note": {long}}, http.StatusBadRequest,
			nil, "refused: the reason is missing or too long", "callback_cancel", "sekarang 299"},
		{"withheld number", sup, "c5", url.Values{"number": {"anonymous"}, "note": {"tidak ada nomor"}}, http.StatusBadRequest,
			nil, "refused: not a caller's number", "callback_cancel", "Nomor penelepon tidak valid"},
		{"nothing open", sup, "gone-1", url.Values{"number": {"+6281234567890"}, "note": {"sudah selesai"}}, http.StatusConflict,
			nil, "refused: callback store: call gone-1: no open call-back for that call", "callback_cancel", "Tidak ada telepon balik yang masih berjalan untuk panggilan gone-1"},
		{"store down", sup, "kv-down", url.Values{"number": {"+6281234567890"}, "note": {"coba lagi"}}, http.StatusServiceUnavailable,
			nil, "refused: callback store: nats: timeout", "callback_cancel", "Penyimpanan data tidak menjawab tepat waktu. Tidak ada yang tersimpan"},
		{"not a call id", sup, "a%3Fb", url.Values{"number": {"+6281234567890"}, "note": {"x"}}, http.StatusBadRequest,
			nil, "refused: not a call id", "callback_cancel", "bukan ID panggilan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(calls)
			tc.form.Set("back", "/?lang=id")
			w := tc.who.do("POST", "/console/calls/"+tc.id+"/callback/cancel", tc.form)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %.400s", w.Code, tc.status, w.Body.String())
			}
			switch {
			case tc.store == nil && len(calls) != before:
				t.Errorf("the store was asked: %+v", calls[before:])
			case tc.store != nil && (len(calls) != before+1 || calls[before] != *tc.store):
				t.Errorf("the store got %+v, want %+v", calls[before:], *tc.store)
			}
			a := lastAudit(t, pub)
			wantBy := testSup
			if tc.who == op {
				wantBy = testOp
			}
			if a.Action != tc.action || a.Result != tc.result || a.By != wantBy {
				t.Errorf("audit %+v, want %s by %s: %s", a, tc.action, wantBy, tc.result)
			}
			if tc.message != "" && !strings.Contains(html.UnescapeString(w.Body.String()), tc.message) {
				t.Errorf("answer lacks %q: %.600s", tc.message, w.Body.String())
			}
			if tc.status == http.StatusSeeOther && w.Header().Get("Location") != "/?lang=id&notice=callback_cancelled&on="+tc.id {
				t.Errorf("redirect to %q", w.Header().Get("Location"))
			}
		})
	}
}

// TestCallbackSwitch: a supervisor switches automatic call-backs off and
// on from /console/callbacks, which shows the state to everyone signed in;
// an operator sees the state but cannot switch; both are audited.
func TestCallbackSwitch(t *testing.T) {
	on := true
	var sets []string
	cbs := &fakeCallbacks{t: t,
		enabled: func() (bool, error) { return on, nil },
		setEnabled: func(v bool, by string) error {
			on = v
			sets = append(sets, fmt.Sprintf("%v by %s", v, by))
			return nil
		},
	}
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Callbacks: cbs, Publisher: pub})
	sup := signedIn(t, c, h, testSup, testSupPass)
	op := signedIn(t, c, h, testOp, testOpPass)

	body := html.UnescapeString(sup.do("GET", "/console/callbacks?lang=id", nil).Body.String())
	if !strings.Contains(body, "Telepon balik otomatis: AKTIF") || !strings.Contains(body, `<input type="hidden" name="on" value="off">`) || !strings.Contains(body, "Matikan telepon balik otomatis") {
		t.Fatalf("supervisor's page: %.1500s", body)
	}
	for _, english := range []string{"call-back", "Automatic", "Switch", ": ON", ": OFF"} {
		if strings.Contains(body, english) {
			t.Errorf("the Indonesian page says %q", english)
		}
	}
	w := sup.do("POST", "/console/callbacks/switch", url.Values{"on": {"off"}, "back": {"/console/callbacks?lang=en"}})
	if w.Code != http.StatusSeeOther || strings.Join(sets, ",") != "false by siti" {
		t.Fatalf("switch off: %d, store %v", w.Code, sets)
	}
	if a := lastAudit(t, pub); a.Action != "callback_switch_off" || a.Result != "ok" || a.By != testSup {
		t.Errorf("audit %+v", a)
	}
	body = html.UnescapeString(sup.do("GET", w.Header().Get("Location"), nil).Body.String())
	if !strings.Contains(body, "Automatic call-back: OFF") || !strings.Contains(body, "Automatic call-back switched off.") || !strings.Contains(body, "Switch automatic call-back on") {
		t.Errorf("page after switching off: %.1500s", body)
	}

	body = html.UnescapeString(op.do("GET", "/console/callbacks?lang=en", nil).Body.String())
	if !strings.Contains(body, "Automatic call-back: OFF") || strings.Contains(body, "/console/callbacks/switch") || !strings.Contains(body, "Only a supervisor") {
		t.Errorf("operator's page: %.1500s", body)
	}
	if w := op.do("POST", "/console/callbacks/switch", url.Values{"on": {"on"}, "back": {"/console/callbacks?lang=en"}}); w.Code != http.StatusForbidden || len(sets) != 1 {
		t.Errorf("operator's switch: %d, store %v", w.Code, sets)
	}
	if a := lastAudit(t, pub); a.Action != "form" || a.Result != "refused: not a supervisor" || a.By != testOp || a.Target != "/console/callbacks/switch" {
		t.Errorf("audit %+v", a)
	}
	if w := sup.do("POST", "/console/callbacks/switch", url.Values{"on": {"maybe"}}); w.Code != http.StatusBadRequest || len(sets) != 1 {
		t.Errorf("on=maybe: %d, store %v", w.Code, sets)
	}
	if w := sup.do("POST", "/console/callbacks/switch", url.Values{"on": {"on"}, "back": {"/"}}); w.Code != http.StatusSeeOther || strings.Join(sets, ",") != "false by siti,true by siti" {
		t.Errorf("switch on: %d, store %v", w.Code, sets)
	}
	if a := lastAudit(t, pub); a.Action != "callback_switch_on" || a.Result != "ok" {
		t.Errorf("audit %+v", a)
	}
	if v, ok := switchOnBoard(c); !v || !ok {
		t.Errorf("the board reads the switch as %v, %v; want on", v, ok)
	}
	cbs.enabled = func() (bool, error) { return false, errors.New("kv: timeout") }
	if _, ok := switchOnBoard(c); ok {
		t.Error("the board was told a state that could not be read")
	}
	body = html.UnescapeString(sup.do("GET", "/console/callbacks?lang=id", nil).Body.String())
	if !strings.Contains(body, "tidak diketahui") || strings.Contains(body, "/console/callbacks/switch") {
		t.Errorf("unreadable switch: %.1200s", body)
	}
}

// TestCallbacksAbsent: without Callbacks the controls are not there: the
// page says so, the forms answer 503 and the board is told nothing.
func TestCallbacksAbsent(t *testing.T) {
	pub := &recorder{}
	c, h := testConsole(t, ConsoleOptions{Publisher: pub})
	sup := signedIn(t, c, h, testSup, testSupPass)
	if w := sup.do("GET", "/console/callbacks?lang=en", nil); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not available here") {
		t.Errorf("page: %d %.300s", w.Code, w.Body.String())
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/console/calls/c1/callback/cancel", url.Values{"number": {"+6281234567890"}, "note": {"x"}}},
		{"/console/callbacks/switch", url.Values{"on": {"off"}}},
	} {
		if w := sup.do("POST", p.path, p.form); w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: %d, want 503", p.path, w.Code)
		}
		if a := lastAudit(t, pub); !strings.HasPrefix(a.Result, "refused: call-backs are not available") {
			t.Errorf("%s audit %+v", p.path, a)
		}
	}
	if _, ok := switchOnBoard(c); ok {
		t.Error("the board was told a state without Callbacks")
	}
	// Not signed in: to the sign-in page.
	w := post(h, "/console/callbacks/switch", "10.0.0.9", url.Values{"on": {"off"}})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("switch without a session: %d", w.Code)
	}
}

// switchOnBoard is what a board wired to c's call-back control (as New wires
// it) reads of the switch.
func switchOnBoard(c *Console) (on, ok bool) {
	b := &Board{cfg: BoardConfig{Callbacks: c.o.Callbacks, Log: slog.New(slog.DiscardHandler)}}
	return b.callbackSwitch(context.Background())
}
