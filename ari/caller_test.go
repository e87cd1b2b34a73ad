package ari

import (
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// TestCallerNumberPublishedAsE164 runs calls with the caller ids a trunk
// gives through the IVR with the normaliser internal/stack wires in
// (phone.Normalize, country 62): every event carries the number in
// E.164, the blocklist is asked with that number, withheld numbers stay
// restricted, and a caller id that is no number is published as given.
func TestCallerNumberPublishedAsE164(t *testing.T) {
	normalize := func(raw string) (string, bool) {
		n, err := phone.Normalize(raw, "62")
		if err != nil || n.IsAnonymous() {
			return "", false
		}
		return n.E164, true
	}
	e := startEnv(t, envOptions{normalize: normalize})
	// Blocked under its E.164 form only: the lookup must use it.
	e.bl.Set("+6281199990002", time.Now().Add(time.Hour))

	tests := []struct {
		name, given, want string
		pres              string
		blocked           bool
	}{
		{"national with trunk prefix", "081199990001", "+6281199990001", events.PresentationAllowed, false},
		{"blocked, given nationally", "081199990002", "+6281199990002", events.PresentationAllowed, true},
		{"international without plus", "6281199990003", "+6281199990003", events.PresentationAllowed, false},
		{"withheld", "anonymous", "anonymous", events.PresentationRestricted, false},
		{"not a number", "operator-desk", "operator-desk", events.PresentationAllowed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("0")}
			if tc.blocked {
				script = []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Press("9")}
			}
			v := e.call(arisim.Caller{Number: tc.given, Script: script})
			evs := e.waitEnded(v.ChannelID)
			if len(evs) == 0 {
				t.Fatal("no events")
			}
			for _, ev := range evs {
				if ev.Caller.Number != tc.want || ev.Caller.Presentation != tc.pres {
					t.Fatalf("%s caller = %+v, want number %q, %s", ev.Type, ev.Caller, tc.want, tc.pres)
				}
			}
			if started := dataOf[events.Started](t, evs, evStarted); started.Blocked != tc.blocked {
				t.Fatalf("call.started blocked = %v, want %v", started.Blocked, tc.blocked)
			}
		})
	}
}
