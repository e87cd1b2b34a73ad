package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestDemoCallsBack: the demo's dropped callers (here the whole mix, with
// a call-back delay of 300 ms instead of 30 s) hang up at the location
// question and are called back: the console announces the drop and the
// call-back that put the caller through, and the closing line counts the
// call-backs. A demo whose call-backs were off, or whose droppers' phones
// did not answer, prints no such line.
func TestDemoCallsBack(t *testing.T) {
	clearEnv(t)
	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", closedAddr(t))
	t.Setenv("SIAGA112_CALLBACK_DELAY", "300ms")
	out, errOut, code, err := execute(t, "demo", "--duration", "6s", "--rate", "1", "--mix", "dropped=1",
		"--clock-scale", "0.2", "--listen", "127.0.0.1:0", "--sounds", "../../asterisk-conf/sounds/id")
	if err != nil || code != 0 {
		t.Fatalf("demo: code %d, %v; stderr: %s; stdout: %s", code, err, errOut, out)
	}
	for _, re := range []string{
		`(?m)^call-backs: +dropped callers hang up before an operator; each is called back 0 s later`,
		`(?m)^\d+ s  dropped 0812\d+: chose disaster and hung up before the hand-off; call-back at \d\d:\d\d:\d\d`,
		`(?m)^\d+ s  called back 0812\d+: put through \(attempt 1, \d+ s after the drop\)$`,
		`(?m)^call-backs: scheduled [1-9]\d*, attempts [1-9]\d*, put through [1-9]\d*, no answer 0, no response 0, busy 0, failed 0, `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("demo output lacks %s:\n%s", re, out)
		}
	}
	if !strings.Contains(out, "; 0 lost; errors 0\n") && !strings.Contains(out, " 0 lost; errors 0") {
		t.Errorf("demo had errors or lost events:\n%s", out)
	}
}
