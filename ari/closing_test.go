package ari

import (
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
)

// TestSignDuringGoodbye: a caller silent through the whole menu who then
// presses 5 5 or talks while "goodbye" plays is put through, and the
// events tell it as it happened: one call.classified, for the sign, then
// the transfer; never no_input followed by a transfer.
func TestSignDuringGoodbye(t *testing.T) {
	cases := []struct {
		name string
		does arisim.Step
		want events.Outcome
	}{
		{"presses 5 5", arisim.Press("55"), events.OutcomeSilentHelp},
		{"talks", arisim.Talk(3 * time.Second), events.OutcomeVoice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{})
			v := e.call(arisim.Caller{Number: "+628120000095", Script: []arisim.Step{arisim.WaitForPrompt("goodbye"), tc.does}})
			if v.Continued == nil || v.Continued.Extension != "operator" {
				t.Fatalf("caller who gave a sign during goodbye: %s, want put through", fmtView(v))
			}
			evs := e.waitEnded(v.ChannelID)
			want := []events.Type{evStarted, evAnswered, evMenu, evMenu, evMenu, evClassified, evTransferred, evEnded}
			if got := ivrTypes(evs); !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			if cl := dataOf[events.Classified](t, evs, evClassified); cl.Outcome != tc.want {
				t.Fatalf("call.classified %+v, want %s", cl, tc.want)
			}
			e.close()
		})
	}
}
