package ari

import (
	"context"
	"fmt"
	"testing"

	ariv6 "github.com/CyCoreSystems/ari/v6"
)

// TestSweepListsChannelsOnce: the orphan sweep on a box with many channels
// (calls in the dialplan, another application's channels) asks Asterisk
// for the channel list once and touches only the channels in our
// application without a session: it puts each through to operators, and
// makes no request per channel merely to look at it.
func TestSweepListsChannelsOnce(t *testing.T) {
	const dialplanCalls = 30
	sim, v, n := bareNode(t, nil)
	for i := range dialplanCalls {
		_, err := n.client.Channel().Originate(nil, ariv6.OriginateRequest{
			Endpoint: fmt.Sprintf("PJSIP/phone-%d", i), Extension: "100", Context: "internal",
		})
		if err != nil {
			t.Fatalf("originate a dialplan call: %v", err)
		}
	}
	create := func(id, app string) *ariv6.Key {
		t.Helper()
		h, err := n.client.Channel().Create(nil, ariv6.ChannelCreateRequest{Endpoint: "PJSIP/" + id, App: app, ChannelID: id})
		if err != nil {
			t.Fatalf("create channel %s in %s: %v", id, app, err)
		}
		// Dialled and answered, as a call in the application is.
		if err := n.client.Channel().Dial(h.Key(), "", 0); err != nil {
			t.Fatalf("dial channel %s: %v", id, err)
		}
		eventually(t, id+" answered", func() bool {
			d, err := n.client.Channel().Data(h.Key())
			return err == nil && d.State == "Up"
		})
		return h.Key()
	}
	orphans := []*ariv6.Key{create("orphan-1", simApp), create("orphan-2", simApp)}
	other := create("other-app", "other-app")
	if got := sim.ActiveChannels(); got != dialplanCalls+3 {
		t.Fatalf("%d channels on the box, want %d", got, dialplanCalls+3)
	}

	before := sim.Stats().RESTRequests
	if !n.recoverOrphans(context.Background()) {
		t.Fatal("sweep did not complete")
	}
	requests := sim.Stats().RESTRequests - before
	// One list, then per orphan its four variables and the continue.
	if want := int64(1 + len(orphans)*5); requests != want {
		t.Fatalf("sweep made %d REST requests on a box of %d channels, want %d", requests, dialplanCalls+3, want)
	}
	if got := v.Stats().Orphans; got != uint64(len(orphans)) {
		t.Fatalf("orphans put through = %d, want %d", got, len(orphans))
	}
	for _, k := range orphans {
		d, err := n.client.Channel().Data(k)
		if err != nil {
			t.Fatalf("orphan %s: %v", k.ID, err)
		}
		if d.Dialplan == nil || d.Dialplan.Context != v.ivr.OperatorContext || d.Dialplan.Exten != v.ivr.FailoverExtension {
			t.Fatalf("orphan %s at %+v, want %s,%s", k.ID, d.Dialplan, v.ivr.OperatorContext, v.ivr.FailoverExtension)
		}
	}
	d, err := n.client.Channel().Data(other)
	if err != nil {
		t.Fatalf("other application's channel: %v", err)
	}
	if !inApp(d, "other-app") {
		t.Fatalf("other application's channel moved to %+v", d.Dialplan)
	}
}
