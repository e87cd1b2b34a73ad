package ari

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// fixedIncident plays one announcement for the whole test.
type fixedIncident struct{ a flows.Announcement }

func (f fixedIncident) Announcement(time.Time) (flows.Announcement, bool) { return f.a, true }

// classifiedOf waits for the call's events and returns its call.classified.
func classifiedOf(t *testing.T, e *env, v arisim.CallerView) events.Classified {
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

// With an incident announcement on, a caller hears it after the greeting;
// 8 ends the call politely as incident_ack, a menu key during it goes
// through as usual.
func TestIncidentAnnouncement(t *testing.T) {
	inc := fixedIncident{flows.Announcement{ID: "inc-test", Media: "sound:siaga112/incident-example"}}
	e := startEnv(t, envOptions{incidents: inc})
	classified := func(v arisim.CallerView) events.Classified { t.Helper(); return classifiedOf(t, e, v) }

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

// TestIncidentRecordingMissing: Asterisk never finishes the playback of a
// recording: that is not stored, so a recorded announcement deleted from a
// node must not hold its callers until max_prompt; they go on to the menu
// at once, and hear the announcement again once the node holds it.
func TestIncidentRecordingMissing(t *testing.T) {
	const name = "siaga112-incident/flood"
	inc := fixedIncident{flows.Announcement{ID: "inc-rec", Media: "recording:" + name}}
	e := startEnv(t, envOptions{incidents: inc, cfg: func(c *configs.Config) { c.IVR.MaxPrompt = 8 * time.Second }})
	outcome := func(v arisim.CallerView) events.Classified { t.Helper(); return classifiedOf(t, e, v) }

	start := time.Now()
	v := e.call(arisim.Caller{Number: "+6281100009101", Script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("1")}})
	cl := outcome(v)
	if cl.Outcome != events.OutcomeEmergency || cl.EmergencyType != "fire" || cl.IncidentID != "" {
		t.Errorf("classified %+v after %s, want emergency fire with no incident heard", cl, time.Since(start))
	}
	if heard := base(v.Prompts); slices.Contains(heard, "incident-offer") {
		t.Errorf("heard %v: the offer of an announcement that cannot play", heard)
	}

	e.sim.StoreRecording(name, 3*time.Second)
	deadline := time.Now().Add(recordingRecheck + waitMax)
	for i := 0; ; i++ {
		v := e.call(arisim.Caller{Number: fmt.Sprintf("+62811000092%02d", i), Script: []arisim.Step{arisim.WaitForPrompt("incident-offer"), arisim.Press("8")}})
		if cl := outcome(v); cl.Outcome == events.OutcomeIncidentAck && cl.IncidentID == "inc-rec" {
			if heard := v.Prompts; !slices.Contains(heard, "recording:"+name) {
				t.Errorf("acknowledged without hearing the recording: %v", heard)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stored announcement was never played again (last call %s)", fmtView(v))
		}
	}
}
