package ari

import (
	"context"
	"errors"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
)

// TestRouterReentryDisplacesSession: a second StasisStart for a channel
// whose session saw no StasisEnd registers the new session, which gets the
// channel's events from then on, and ends the old one as the system's
// doing; the old one's removal leaves the new one in place.
func TestRouterReentryDisplacesSession(t *testing.T) {
	n := testNode(t)
	r := n.router
	old := newSession(context.Background(), n, chanEvent("c1"))
	if r.add(old) != nil {
		t.Fatal("the first session of a channel displaced another")
	}
	fresh := newSession(context.Background(), n, chanEvent("c1"))
	if got := r.add(fresh); got != old {
		t.Fatalf("add returned %p as displaced, want the old session %p", got, old)
	}
	old.displace()
	if !old.ended.Load() || !old.systemHangup.Load() {
		t.Fatalf("old session ended %v, system hangup %v; want both", old.ended.Load(), old.systemHangup.Load())
	}
	if !errors.Is(context.Cause(old.ctx), ErrChannelGone) {
		t.Fatalf("old session's cause %v, want ErrChannelGone", context.Cause(old.ctx))
	}
	r.route(&ariv6.ChannelDtmfReceived{Channel: chanEvent("c1"), Digit: "1"})
	if len(fresh.inbox) != 1 || len(old.inbox) != 0 {
		t.Fatalf("inboxes: new %d, old %d; want the key in the new session's", len(fresh.inbox), len(old.inbox))
	}
	r.remove(old)
	if r.get("c1") != fresh {
		t.Fatal("removing the old session unregistered the new one")
	}
	// A session that saw its StasisEnd is simply followed by the next.
	fresh.markEnded()
	if got := r.add(newSession(context.Background(), n, chanEvent("c1"))); got != nil {
		t.Fatal("a session that saw its StasisEnd was displaced")
	}
}

// TestReentryAfterLostStasisEnd: the channel leaves the application and
// comes straight back (here moved back by another ARI client), and the
// StasisEnd of its first stay is lost. The caller is served by a new
// session — greeting, menu, a key, the operators — and the first stay ends
// as the system's doing, so the caller earns no strike for it.
func TestReentryAfterLostStasisEnd(t *testing.T) {
	e := startEnv(t, envOptions{})
	h := e.place(arisim.Caller{Number: "+628120000051", Script: []arisim.Step{
		arisim.WaitForPrompt("menu"),
		// The second stay begins with the greeting again.
		arisim.WaitForPrompt("greeting"), arisim.WaitForPrompt("menu"), arisim.Press("1"),
		arisim.WaitForPrompt("location"), arisim.Talk(2 * time.Second),
	}})
	waitPrompt(t, h, "menu")
	e.sim.LoseEvents("StasisEnd", 1)
	key := ariv6.NewKey(ariv6.ChannelKey, h.ID())
	if err := e.ivr.nodes[0].client.Channel().Move(key, simApp, ""); err != nil {
		t.Fatalf("move the channel back into the app: %v", err)
	}
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("caller after re-entering the app: %s, want put through as fire", fmtView(v))
	}
	var evs []events.Envelope
	eventually(t, "both stays ended on the stream", func() bool {
		evs = e.streamEvents(h.ID())
		return count(evs, evEnded) == 2
	})
	if count(evs, evStarted) != 2 {
		t.Fatalf("events %v, want two call.started (one per stay)", types(evs))
	}
	var ends []events.Ended
	for _, ev := range evs {
		if ev.Type == evEnded {
			var end events.Ended
			if err := ev.DecodeData(&end); err != nil {
				t.Fatalf("decode call.ended: %v", err)
			}
			ends = append(ends, end)
		}
	}
	if ends[0].HangupBy != events.HangupBySystem {
		t.Fatalf("first stay ended %+v, want hung up by the system (no strike for the caller)", ends[0])
	}
	if ends[1].Outcome != events.OutcomeEmergency {
		t.Fatalf("second stay ended %+v, want emergency", ends[1])
	}
	tr := dataOf[events.Transferred](t, evs, evTransferred)
	if tr.EmergencyType != "fire" {
		t.Fatalf("transferred %+v, want fire", tr)
	}
}
