package stack

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// burstCalls is how many calls' events TestShutdownWorkersCatchUp publishes
// just before the stop: enough that the workers, which apply them one at a
// time (the blocklist worker with a KV write each), are still behind when
// the stop comes, few enough that they catch up well inside catchUpTimeout
// under -race on a busy two-core machine.
const burstCalls = 150

// TestShutdownWorkersCatchUp: the events of the last calls, published just
// before the stop, are all handled by both workers by the time Run returns
// — every call counted by the reports and struck by the blocklist worker —
// because the shutdown waits for the workers to catch up with the stream
// before it stops them. The test checks that the workers were still behind
// when the stop came, so a shutdown that stopped them at once would fail
// it.
func TestShutdownWorkersCatchUp(t *testing.T) {
	sim := startSim(t)
	cfg := serveConfig(t, sim)
	// The burst is the only traffic: no operators' device states.
	for i := range cfg.IVR.Menu {
		cfg.IVR.Menu[i].Members = nil
	}
	sv := startServed(t, sim, cfg)
	s := sv.s
	eventually(t, "the reports worker ready and both workers running", func() bool {
		rs := s.RoleStates()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return rs[RoleBlocklistWorker].Running && rs[RoleReports].Running && s.ReportsWorker().Ready(ctx)
	})

	// The burst comes from a connection of its own, as from an IVR in
	// another process: 150 silent calls from 150 numbers, each a
	// call.started and a call.ended with outcome no_input (one strike).
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	ncfg := cfg.NATS
	ncfg.URL = s.NATSURL()
	bus, err := events.Open(ctx, ncfg, events.OpenOptions{Name: "burst", Embedded: events.EmbeddedAttach, SkipStream: true}, testLogger(t))
	if err != nil {
		t.Fatalf("burst connection: %v", err)
	}
	defer bus.Close()
	numbers := make([]string, burstCalls)
	var acks []jetstream.PubAckFuture
	now := time.Now()
	for i := range burstCalls {
		numbers[i] = fmt.Sprintf("+628190000%04d", i)
		callID := fmt.Sprintf("burst-%04d", i)
		caller := events.Caller{Number: numbers[i], Presentation: events.PresentationAllowed}
		started := events.Started{Dialed: "112", Channel: "PJSIP/telco-" + callID}
		ended := events.Ended{Outcome: events.OutcomeNoInput, DurationS: 40, HangupBy: events.HangupBySystem}
		for _, ev := range []struct {
			typ  events.Type
			data any
		}{{events.TypeStarted, started}, {events.TypeEnded, ended}} {
			e, err := events.New(ev.typ, callID, "stack-node", caller, ev.data)
			if err != nil {
				t.Fatal(err)
			}
			e.Time = now
			raw, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			f, err := bus.JS.PublishAsync(e.Subject(), raw, jetstream.WithMsgID(e.ID))
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			acks = append(acks, f)
		}
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish: %v", err)
		case <-ctx.Done():
			t.Fatal("publish acks not received in time")
		}
	}
	want := uint64(2 * burstCalls)

	// The stop comes at once; the workers must still be behind, or this
	// test would pass whether the shutdown waits for them or not.
	blHandled := s.BlocklistWorker().Stats().Consumer.Handled
	repHandled := s.ReportsWorker().Stats().Handled
	sv.stop()
	t.Logf("at the stop the blocklist worker had handled %d and the reports worker %d of the %d events", blHandled, repHandled, want)
	if blHandled >= want && repHandled >= want {
		t.Fatalf("both workers had handled the whole burst (%d, %d of %d events) before the stop: the test proves nothing; make burstCalls bigger",
			blHandled, repHandled, want)
	}

	// By the time Run has returned, both workers have handled every event.
	bl := s.BlocklistWorker().Stats()
	if bl.Consumer.Handled != want || bl.Strikes != burstCalls {
		t.Errorf("blocklist worker after the stop: handled %d events and struck %d numbers, want %d and %d (stats %+v)",
			bl.Consumer.Handled, bl.Strikes, want, burstCalls, bl)
	}
	if h := s.ReportsWorker().Stats().Handled; h != want {
		t.Errorf("reports worker after the stop: handled %d events, want %d", h, want)
	}
	c := s.Aggregator().Counters()
	var calls uint64
	for k, n := range c.Calls {
		calls += n
		if k.Outcome != string(events.OutcomeNoInput) {
			t.Errorf("reports counted %d calls with outcome %q, want only no_input", n, k.Outcome)
		}
	}
	if calls != burstCalls || c.Events != want {
		t.Errorf("reports after the stop: %d calls from %d events, want %d from %d", calls, c.Events, burstCalls, want)
	}
	for _, r := range s.Aggregator().Calls(reports.CallFilter{}) {
		if r.Outcome != string(events.OutcomeNoInput) {
			t.Errorf("report of call %s: outcome %q, want no_input", r.CallID, r.Outcome)
		}
	}
}
