package ari

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/flows"
)

// A supervisor records an incident announcement by phone: hears how,
// speaks, hears it back and keeps it (1) — or throws it away (3). The call
// is no 112 call: no call events are published for it.
func TestRecordAnnouncementByPhone(t *testing.T) {
	e := startEnv(t, envOptions{})
	recs := NewRecordings(e.cfg.ARI)
	ctx := context.Background()
	record := func(choice string) arisim.CallerView {
		t.Helper()
		return e.call(arisim.Caller{
			Number: "201", Dialed: "*112", Args: []string{ArgRecordIncident},
			Script: []arisim.Step{
				arisim.WaitForPrompt("incident-record"), arisim.Talk(4 * time.Second),
				arisim.WaitForPrompt("incident-record-confirm"), arisim.Press(choice),
			},
		})
	}
	v := record("1")
	if v.HungUpBy != arisim.HungUpByApp || v.Continued != nil {
		t.Fatalf("recording call ended %q, continued %+v; want hung up by the IVR", v.HungUpBy, v.Continued)
	}
	if heard := base(v.Prompts); !inOrder(heard, []string{"incident-record", "incident-record-confirm", "incident-record-saved"}) {
		t.Errorf("heard %v", heard)
	}
	names, err := recs.List(ctx, flows.RecordingPrefix)
	if err != nil || len(names) != 1 || !strings.HasPrefix(names[0], flows.RecordingPrefix) {
		t.Fatalf("stored announcements %v, %v; want the one kept", names, err)
	}
	if !strings.Contains(strings.Join(v.Prompts, " "), "recording:"+names[0]) {
		t.Errorf("the recording was not played back: %v", v.Prompts)
	}
	if evs := e.streamEvents(v.ChannelID); len(evs) != 0 {
		t.Errorf("a recording call published %d call events", len(evs))
	}

	record("3")
	after, err := recs.List(ctx, flows.RecordingPrefix)
	if err != nil || len(after) != 1 || after[0] != names[0] {
		t.Errorf("after a take thrown away: %v, %v; want only the kept %s", after, err, names[0])
	}
}
