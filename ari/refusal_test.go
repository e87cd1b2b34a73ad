package ari

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// refusalCall is a channel in the application on a bare node (no events
// connection: the test hands the router the events it wants, when it
// wants) and the call adapter over it.
func refusalCall(t *testing.T) (*arisim.Server, *node, *session, *call) {
	t.Helper()
	sim, _, n := bareNode(t, nil)
	h, err := n.client.Channel().Create(nil, ariv6.ChannelCreateRequest{Endpoint: "PJSIP/refused", App: simApp, ChannelID: "refused-1"})
	if err != nil {
		t.Fatalf("create channel: %v", err)
	}
	if err := n.client.Channel().Dial(h.Key(), "", 0); err != nil {
		t.Fatalf("dial: %v", err)
	}
	eventually(t, "channel up", func() bool {
		d, err := n.client.Channel().Data(h.Key())
		return err == nil && d.State == "Up"
	})
	s := newSession(context.Background(), n, ariv6.ChannelData{ID: "refused-1"})
	n.router.add(s)
	c := &call{s: s, client: n.client, key: h.Key(), timeout: n.ari.RequestTimeout, log: s.log}
	return sim, n, s, c
}

// simRequest makes a second ARI client's request on the simulated Asterisk.
func simRequest(t *testing.T, sim *arisim.Server, method, path string) {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(simUser, simPass)
	resp, err := (&http.Client{Timeout: waitMax}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
}

// TestRefusalDecidedByAsterisk: a 404 or 409 on the channel is not taken
// as "the caller hung up" from the refusal alone. The hang-up request that
// says who ended the call may reach us after the refusal (Asterisk promises
// no order); a channel still in the application was refused something
// else; one taken out of the application without a hang-up was the
// system's doing.
func TestRefusalDecidedByAsterisk(t *testing.T) {
	play := func(c *call) error {
		_, err := c.Prompt(context.Background(), flows.PromptSpec{Sounds: []string{"sound:siaga112/menu"}})
		return err
	}
	t.Run("system hang-up request after the 404", func(t *testing.T) {
		sim, n, s, c := refusalCall(t)
		// A second client hangs the channel up; its soft hang-up request
		// reaches the router only 200 ms after the play's 404.
		simRequest(t, sim, http.MethodDelete, "/channels/"+url.PathEscape(s.id))
		time.AfterFunc(200*time.Millisecond, func() {
			n.router.route(&ariv6.ChannelHangupRequest{Channel: ariv6.ChannelData{ID: s.id}, Soft: true, Cause: 32})
		})
		err := play(c)
		if !errors.Is(err, flows.ErrHangup) || !errors.Is(err, flows.ErrSystemHangup) {
			t.Fatalf("play: %v, want a hang-up by the system", err)
		}
		if by := s.hangupBy(); by != events.HangupBySystem {
			t.Fatalf("hangup_by %s, want system", by)
		}
	})
	t.Run("caller hang-up request after the 404", func(t *testing.T) {
		sim, n, s, c := refusalCall(t)
		simRequest(t, sim, http.MethodDelete, "/channels/"+url.PathEscape(s.id))
		time.AfterFunc(200*time.Millisecond, func() {
			n.router.route(&ariv6.ChannelHangupRequest{Channel: ariv6.ChannelData{ID: s.id}, Cause: 16})
		})
		err := play(c)
		if !errors.Is(err, flows.ErrHangup) || errors.Is(err, flows.ErrSystemHangup) {
			t.Fatalf("play: %v, want the caller's hang-up", err)
		}
		if by := s.hangupBy(); by != events.HangupByCaller {
			t.Fatalf("hangup_by %s, want caller", by)
		}
	})
	t.Run("hang-up request later than the wait: the answer given stands", func(t *testing.T) {
		sim, n, s, c := refusalCall(t)
		simRequest(t, sim, http.MethodDelete, "/channels/"+url.PathEscape(s.id))
		err := play(c) // no hang-up request within the request timeout
		if !errors.Is(err, flows.ErrHangup) || errors.Is(err, flows.ErrSystemHangup) {
			t.Fatalf("play: %v, want a hang-up with nothing said about the system", err)
		}
		// call.classified was decided on that answer; the late request must
		// not make call.ended say otherwise.
		n.router.route(&ariv6.ChannelHangupRequest{Channel: ariv6.ChannelData{ID: s.id}, Soft: true, Cause: 32})
		if by := s.hangupBy(); by != events.HangupByCaller {
			t.Fatalf("hangup_by %s after a late request, want caller as first answered", by)
		}
	})
	t.Run("409 with the channel still in the application", func(t *testing.T) {
		sim, _, s, c := refusalCall(t)
		sim.FailNextREST("POST", "/channels/*/play/*", http.StatusConflict)
		err := play(c)
		if errors.Is(err, flows.ErrHangup) || !errors.Is(err, ErrRefused) {
			t.Fatalf("play: %v, want ErrRefused and no hang-up", err)
		}
		if s.gone() {
			t.Fatal("session marked gone for a channel still in the application")
		}
	})
	t.Run("409 after the channel was taken out of the application", func(t *testing.T) {
		sim, _, s, c := refusalCall(t)
		simRequest(t, sim, http.MethodPost, "/channels/"+url.PathEscape(s.id)+"/continue?context=elsewhere&extension=s&priority=1")
		err := play(c)
		if !errors.Is(err, flows.ErrHangup) || !errors.Is(err, flows.ErrSystemHangup) {
			t.Fatalf("play: %v, want the system's doing", err)
		}
	})
}

// TestRecordRefusedKeepsType: Asterisk refuses the location recording
// with a 409 while the caller is still in the application (a recording
// name in use): the caller goes on to the chosen type's queue without the
// recording, is not listed for call-back, and the events say so.
func TestRecordRefusedKeepsType(t *testing.T) {
	e := startEnv(t, envOptions{})
	e.sim.FailNextREST("POST", "/channels/*/record", http.StatusConflict)
	// The caller stays until the operator answers: a call-back then
	// could only come from the refused recording.
	v := e.call(arisim.Caller{Number: "+628120000091", Script: append(fireScript(), arisim.WaitForOperator())})
	if v.Continued == nil || v.Continued.Context != e.cfg.IVR.OperatorContext || v.Continued.Extension != "fire" {
		t.Fatalf("caller after the refused recording: %s, want put through to the fire queue", fmtView(v))
	}
	evs := e.waitEnded(v.ChannelID)
	cl := dataOf[events.Classified](t, evs, evClassified)
	if cl.Outcome != events.OutcomeEmergency || cl.EmergencyType != "fire" || cl.Callback || cl.Recording != "" {
		t.Fatalf("call.classified %+v, want emergency fire, no call-back, no recording", cl)
	}
	tr := dataOf[events.Transferred](t, evs, evTransferred)
	if tr.Extension != "fire" {
		t.Fatalf("call.transferred %+v, want extension fire", tr)
	}
	end := dataOf[events.Ended](t, evs, evEnded)
	if end.Outcome != events.OutcomeEmergency || end.Callback {
		t.Fatalf("call.ended %+v, want emergency without call-back", end)
	}
}
