package callback

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

func TestSchedulerLifecycle(t *testing.T) {
	const other = "+6281111111111"
	tests := []struct {
		name   string
		steps  []func(t testing.TB) events.Envelope
		state  State
		reason string // callback.done's reason when done
		sched  int    // callback.scheduled events
	}{
		{
			name:  "a dropped caller is scheduled once, a second drop folds in",
			steps: []func(t testing.TB) events.Envelope{func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) }, func(t testing.TB) events.Envelope { return dropped(t, "c2", testNumber) }, func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) }},
			state: StateWaiting, sched: 1,
		},
		{
			name: "the number called again and an operator answered",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeStarted, "c3", caller(testNumber), events.Started{Dialed: "112"})
				},
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeOperatorAnswered, "c3", caller(testNumber), events.OperatorAnswered{EmergencyType: "fire", Operator: "PJSIP/op201"})
				},
			},
			state: StateDone, reason: events.DoneCalledAgain, sched: 1,
		},
		{
			name: "another number's answer changes nothing",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeOperatorAnswered, "c9", caller(other), events.OperatorAnswered{EmergencyType: "fire"})
				},
			},
			state: StateWaiting, sched: 1,
		},
		{
			name: "a prank verdict since",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeVerdict, "c0", events.Caller{}, events.Verdict{Verdict: events.VerdictPrank, By: "sari"})
				},
			},
			state: StateDone, reason: events.DonePrank, sched: 1,
		},
		{
			name: "a verdict's own caller field is not trusted",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeVerdict, "x-forged", caller(testNumber), events.Verdict{Verdict: events.VerdictPrank, By: "?"})
				},
			},
			state: StateWaiting, sched: 1,
		},
		{
			name: "an operator ticked the dropped call",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeHandled, "c1", events.Caller{}, events.Handled{Action: events.HandledCalledBack, By: "budi"})
				},
			},
			state: StateDone, reason: events.DoneHandled, sched: 1,
		},
		{
			name: "a tick on another call of the number does not close it",
			steps: []func(t testing.TB) events.Envelope{
				func(t testing.TB) events.Envelope { return dropped(t, "c1", testNumber) },
				func(t testing.TB) events.Envelope {
					return envelope(t, events.TypeHandled, "c7", events.Caller{}, events.Handled{Action: events.HandledDone, By: "budi"})
				},
			},
			state: StateWaiting, sched: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := startStore(t)
			rec := &recorder{t: t}
			// The call index knows the calls c0-c9 of testNumber only.
			numbers := func(_ context.Context, id string) (string, error) {
				if len(id) == 2 && id[0] == 'c' {
					return testNumber, nil
				}
				return "", errors.New("unknown call")
			}
			s := NewScheduler(SchedulerOptions{Config: testConfig(), Store: st, Publisher: rec, Node: "n1", Numbers: numbers})
			for _, mk := range tt.steps {
				if err := s.Handle(context.Background(), mk(t), events.Meta{}); err != nil {
					t.Fatal(err)
				}
			}
			r, ok := record(t, st, testNumber)
			if !ok {
				t.Fatal("no record")
			}
			if r.State != tt.state {
				t.Errorf("state %s, want %s", r.State, tt.state)
			}
			if got := len(rec.of(events.TypeCallbackScheduled)); got != tt.sched {
				t.Errorf("%d callback.scheduled, want %d", got, tt.sched)
			}
			done := rec.of(events.TypeCallbackDone)
			if tt.reason == "" {
				if len(done) != 0 {
					t.Errorf("callback.done published: %s", done[0].Data)
				}
				return
			}
			if len(done) != 1 {
				t.Fatalf("%d callback.done, want 1", len(done))
			}
			var d events.CallbackDone
			if err := done[0].DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			if d.Reason != tt.reason || done[0].CallID != "c1" {
				t.Errorf("done %+v on %s, want reason %s on c1", d, done[0].CallID, tt.reason)
			}
			if d.ReachedPerson != (tt.reason == events.DoneCalledAgain) {
				t.Errorf("reached_person %v for %s", d.ReachedPerson, tt.reason)
			}
		})
	}
}

func TestSchedulerRefuses(t *testing.T) {
	st := startStore(t)
	rec := &recorder{t: t}
	s := NewScheduler(SchedulerOptions{Config: testConfig(), Store: st, Publisher: rec, Node: "n1", Blocklist: blockedAll{}})
	withheld := envelope(t, events.TypeEnded, "w1", events.Caller{Number: "anonymous", Presentation: events.PresentationRestricted},
		events.Ended{Outcome: events.OutcomeEmergency, Callback: true})
	for _, e := range []events.Envelope{withheld, dropped(t, "b1", testNumber)} {
		if err := s.Handle(context.Background(), e, events.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := record(t, st, testNumber); ok {
		t.Error("a blocked number that did not override the block was scheduled")
	}
	if n := len(rec.all()); n != 0 || s.Stats().Refused != 2 {
		t.Errorf("events %d, refused %d; want 0 and 2", n, s.Stats().Refused)
	}
	override := envelope(t, events.TypeEnded, "b2", caller(testNumber), events.Ended{Outcome: events.OutcomeBlockedOverride, Callback: true})
	if err := s.Handle(context.Background(), override, events.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := record(t, st, testNumber); !ok {
		t.Error("a blocked caller who overrode the block and dropped was not scheduled")
	}
}

type blockedAll struct{}

func (blockedAll) Check(string, time.Time) (time.Time, bool) { return time.Now().Add(time.Hour), true }

func TestSchedulerHoldsWhileTheNumberIsOnACall(t *testing.T) {
	st := startStore(t)
	s := NewScheduler(SchedulerOptions{Config: testConfig(), Store: st, Publisher: &recorder{t: t}, Node: "n1"})
	ctx := context.Background()
	must := func(e events.Envelope) {
		t.Helper()
		if err := s.Handle(ctx, e, events.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	must(dropped(t, "c1", testNumber))
	must(envelope(t, events.TypeStarted, "c2", caller(testNumber), events.Started{}))
	r, _ := record(t, st, testNumber)
	if r.Live != "c2" || Due(r, time.Now().Add(time.Second)) {
		t.Fatalf("live %q: a number on another call must hold its call-back", r.Live)
	}
	must(envelope(t, events.TypeEnded, "c2", caller(testNumber), events.Ended{Outcome: events.OutcomeNoInput, Where: events.WhereIVR}))
	r, _ = record(t, st, testNumber)
	if r.Live != "" || !Due(r, time.Now().Add(time.Second)) {
		t.Fatalf("live %q after the call ended", r.Live)
	}
}
