package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// A call id is data: one that would climb out of its URL segment is
// refused where the board takes it, and every call id the board puts into
// a form's action is escaped as one segment, so a role that publishes a
// call id cannot turn the board's prank form into a post elsewhere.
func TestCallIDsCannotRedirectForms(t *testing.T) {
	now := t0.Add(time.Hour)
	a := reports.NewAggregator(reports.Options{Now: func() time.Time { return now }})
	for _, id := range []string{"x/../../console/blocks/+6281234567890/lift", "..", "a?b", "a#b"} {
		e := ev(t, events.TypeStarted, id, "+6281234567890", t0, events.Started{Dialed: "112"})
		if _, err := a.Apply(e, 1); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("call id %q: Apply = %v, want ErrMalformed", id, err)
		}
	}
	// A Local channel's second half is a real id with a character a path
	// must escape.
	applyAll(t, a, callEvents(t, callSpec{id: "lt-7;2", number: "+6281234567890", at: t0.Add(time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: 2}))
	ts := newTestServerAs(t, a, BoardConfig{
		Now: func() time.Time { return now },
	}, &Session{Name: "siti", Role: console.RoleSupervisor, CSRF: "tok"})
	status, body, _ := get(t, ts.URL+"/?lang=en", false)
	if status != 200 {
		t.Fatalf("board: %d", status)
	}
	if !strings.Contains(body, `action="console/calls/lt-7%3b2/verdict"`) && !strings.Contains(body, `action="console/calls/lt-7%3B2/verdict"`) {
		t.Errorf("the prank form's action is not the escaped call id: %s", formActions(body))
	}
	if strings.Contains(body, "/lift") || strings.Contains(body, "x/..") {
		t.Errorf("a refused call id reached the board: %s", formActions(body))
	}
}

// formActions lists a page's form actions, for failure messages.
func formActions(body string) string {
	var out []string
	for _, part := range strings.Split(body, `action="`)[1:] {
		out = append(out, part[:strings.IndexByte(part, '"')])
	}
	return strings.Join(out, " ")
}
