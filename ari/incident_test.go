package ari

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// fixedIncident plays one announcement for the whole test.
type fixedIncident struct{ a flows.Announcement }

func (f fixedIncident) Announcement(time.Time) (flows.Announcement, bool) { return f.a, true }

// With an incident announcement on, a caller hears it after the greeting;
// 8 ends the call politely as incident_ack, a menu key during it goes
// through as usual.
func TestIncidentAnnouncement(t *testing.T) {
	inc := fixedIncident{flows.Announcement{ID: "inc-test", Media: "sound:siaga112/incident-example"}}
	e := startEnv(t, envOptions{incidents: inc})
	classified := func(v arisim.CallerView) events.Classified {
		t.Helper()
		var cl events.Classified
		for _, ev := range e.waitEnded(v.ChannelID) {
			if ev.Type == events.TypeClassified {
				if err := json.Unmarshal(ev.Data, &cl); err != nil {
					t.Fatal(err)
				}
			}
		}
		return cl
	}

	v := e.call(arisim.Caller{Number: "+6281100009001", Script: []arisim.Step{arisim.WaitForPrompt("incident-offer"), arisim.Press("8")}})
	if cl := classified(v); cl.Outcome != events.OutcomeIncidentAck || cl.IncidentID != "inc-test" {
		t.Errorf("classified %+v, want incident_ack of inc-test", cl)
	}
	if v.Continued != nil || v.HungUpBy != arisim.HungUpByApp {
		t.Errorf("call went to %+v, hung up by %q; want a polite hang-up by the IVR", v.Continued, v.HungUpBy)
	}
	if heard := base(v.Prompts); !inOrder(heard, []string{"greeting", "incident-example", "incident-offer", "incident-ack"}) {
		t.Errorf("heard %v", heard)
	}

	v = e.call(arisim.Caller{Number: "+6281100009002", Script: []arisim.Step{arisim.WaitForPrompt("incident-example"), arisim.Press("0")}})
	if cl := classified(v); cl.Outcome != events.OutcomeEmergency || cl.EmergencyType != "operator" || cl.IncidentID != "inc-test" {
		t.Errorf("classified %+v, want emergency operator", cl)
	}
	if v.Continued == nil || v.Continued.Extension != "operator" {
		t.Errorf("continued %+v, want the operators", v.Continued)
	}

	e.bl.Set("+6281100009003", time.Now().Add(time.Hour))
	v = e.call(arisim.Caller{Number: "+6281100009003", Script: []arisim.Step{arisim.WaitForPrompt("incident-offer"), arisim.Press("8")}})
	if cl := classified(v); cl.Outcome != events.OutcomeIncidentAck {
		t.Errorf("blocked caller: classified %+v, want incident_ack", cl)
	}
}
