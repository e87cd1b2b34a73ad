// Package testkit holds the small helpers that the tests of several
// packages share: polling with a deadline, reading call events and
// building the events of scripted calls (calls.go). It is
// imported by tests only.
package testkit

import (
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// pollEvery is how often Eventually checks its condition.
const pollEvery = 10 * time.Millisecond

// Eventually polls cond until it holds, failing the test after within.
// Tests poll instead of sleeping a fixed time, so they stay fast on an idle
// machine and correct on a loaded one.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(pollEvery)
	}
}

// Types lists the events' types, in order.
func Types(evs []events.Envelope) []events.Type {
	out := make([]events.Type, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// IVRTypes lists the events' types without those of the operators' queue
// (an operator's answer, a queue abandon) and of the call's call-back
// (callback.*, published on the same call id once the call ended): which
// queue event a scripted caller who hangs up right after being put through
// gets is a race, the call-back comes after the call, and tests of the IVR
// compare what it decided.
func IVRTypes(evs []events.Envelope) []events.Type {
	var out []events.Type
	for _, e := range evs {
		if e.Type != events.TypeOperatorAnswered && e.Type != events.TypeQueueAbandoned && !strings.HasPrefix(string(e.Type), "callback.") {
			out = append(out, e.Type)
		}
	}
	return out
}

// Only decodes the data of the one event of type typ in evs, failing the
// test when there is none or more than one.
func Only[T any](t testing.TB, evs []events.Envelope, typ events.Type) T {
	t.Helper()
	var v T
	n := 0
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		n++
		if err := e.DecodeData(&v); err != nil {
			t.Fatalf("decode %s: %v", typ, err)
		}
	}
	if n != 1 {
		t.Fatalf("%d events of type %s, want 1 (events %v)", n, typ, Types(evs))
	}
	return v
}

// BaseNames strips the sound folder from prompt names
// ("siaga112/menu" -> "menu").
func BaseNames(prompts []string) []string {
	out := make([]string, len(prompts))
	for i, p := range prompts {
		out[i] = p[strings.LastIndex(p, "/")+1:]
	}
	return out
}
