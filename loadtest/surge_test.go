package loadtest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// TestRunSurge runs a surge: an incident announcement on before the first
// call, incident callers pressing 8 during the offer and other callers
// keeping their scripts. Incident callers end incident_ack with no strike,
// the others as their scripts say; the counts behind "operator load
// avoided" add up; the callers who keyed or talked during the greeting
// never heard the announcement and the others did, which shows in the menu
// listeners' time to the queue.
func TestRunSurge(t *testing.T) {
	e := startSim(t, testConfig(t))
	o := e.Options()
	o.Mix = Mix{
		KindIncidentCaller: 6, KindFire: 1, KindGreetingKey: 1, KindGreetingTalker: 1, KindMenuListener: 1,
		KindSilent: 1, KindBlockedTalker: 1, KindChild: 1,
	}
	o.Calls, o.Concurrency, o.Rate = 26, 26, 50
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrBadMix) {
		t.Fatalf("incident callers without an incident: err %v, want ErrBadMix", err)
	}
	o.Incident = e.StartIncident
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	if s.Errors != 0 || s.Lost != 0 || s.Finished != 26 {
		t.Fatalf("%d errors, %d events lost, %d finished: %v", s.Errors, s.Lost, s.Finished, s.ErrorSamples)
	}
	i := s.Incident
	if i == nil || !strings.HasPrefix(i.ID, "inc-") || i.Media != "sound:siaga112/incident-example" {
		t.Fatalf("incident summary %+v", i)
	}
	k := s.ByKind
	reached := k[KindFire] + k[KindGreetingKey] + k[KindGreetingTalker] + k[KindMenuListener] + k[KindBlockedTalker]
	heard := k[KindFire] + k[KindMenuListener] + k[KindSilent] + k[KindBlockedTalker]
	want := IncidentSummary{
		ID: i.ID, Media: i.Media, Callers: 12, Share: math.Round(1e3*12.0/26) / 1e3, Acked: 12,
		ReachedOperators: reached, OperatorLoadAvoided: math.Round(1e3*12.0/float64(12+reached)) / 1e3,
		Others: 14, OthersHeard: heard, Struck: 0,
	}
	got := *i
	got.OthersTimeToQueue = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incident summary\n got %+v\nwant %+v", got, want)
	}
	if s.Outcomes[events.OutcomeIncidentAck] != k[KindIncidentCaller] || s.Outcomes[events.OutcomeVoice] != k[KindGreetingTalker] ||
		s.Outcomes[events.OutcomeBlockedOverride] != k[KindBlockedTalker] {
		t.Errorf("outcomes %v for %v", s.Outcomes, k)
	}
	if _, ok := i.OthersTimeToQueue[KindIncidentCaller]; ok || len(i.OthersTimeToQueue) != 5 {
		t.Errorf("others' time to queue %v", i.OthersTimeToQueue)
	}
	// A menu listener hears the greeting (5.9 s), the announcement (6.8 s)
	// and its offer (3.9 s), then at once the whole menu (12.4 s): at
	// least 29 s, where without the announcement it is in the queue
	// after about 19 s.
	if q := i.OthersTimeToQueue[KindMenuListener]; q.N != 2 || q.P50 < 29e3 {
		t.Errorf("menu listeners' time to queue %+v, want at least 29 s with the announcement", q)
	}

	// The strike check is not vacuous: the silent callers' numbers were
	// struck (no_input) and StrikesOn says so.
	g := newCallers(o.Mix, DefaultPranksterPool, o.RunID, false)
	var silent []string
	for range s.Placed {
		if c := g.next(); c.Kind == KindSilent {
			silent = append(silent, c.Number)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	strikes, err := StrikesOn(e.Stack)(ctx, silent)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range silent {
		if strikes[n] == 0 {
			t.Errorf("silent caller %s: no strike (%v)", n, strikes)
		}
	}
}

// TestRunSurgeIncidentNotOn reports calls that started while the IVR had
// not the run's incident on: they would be measured without it.
func TestRunSurgeIncidentNotOn(t *testing.T) {
	e := startSim(t, testConfig(t))
	o := e.Options()
	o.Mix, o.Calls, o.Concurrency, o.Rate = Mix{KindFire: 1}, 2, 2, 50
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	o.Incident = func(context.Context) (incident.Incident, error) {
		return incident.Incident{ID: "inc-never-started", Media: "sound:siaga112/incident-example", Expires: time.Now().Add(time.Hour)}, nil
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 2 || len(s.ErrorSamples) != 2 || !strings.Contains(s.ErrorSamples[0], `want "inc-never-started"`) {
		t.Fatalf("errors %d: %v", s.Errors, s.ErrorSamples)
	}
	if s.Incident == nil || s.Incident.OthersHeard != 0 || s.Incident.ReachedOperators != 2 {
		t.Fatalf("incident summary %+v", s.Incident)
	}
}

// TestRunSurgeAnnouncementStopped stops the announcement mid-run, as a
// supervisor may from the console. The incident callers placed after the
// stop hear no offer and so never press the key: they are judged as the
// silent callers they become, counted apart, and left out of the strike
// check, with no error; those placed before it still end incident_ack.
func TestRunSurgeAnnouncementStopped(t *testing.T) {
	e := startSim(t, testConfig(t))
	o := e.Options()
	o.Mix, o.Calls, o.Concurrency, o.Rate = Mix{KindIncidentCaller: 1}, 8, 8, 2
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	stopped := make(chan error, 1)
	o.Incident = func(ctx context.Context) (incident.Incident, error) {
		inc, err := e.StartIncident(ctx)
		if err != nil {
			return inc, err
		}
		// Stopped after the first calls are placed (two a second) and
		// before the last.
		time.AfterFunc(1500*time.Millisecond, func() {
			bus := e.Stack.Bus()
			sctx, cancel := context.WithTimeout(context.Background(), waitMax)
			defer cancel()
			kv, err := incident.OpenBucket(sctx, bus.JS, e.Config.NATS.Stream.Replicas)
			if err == nil {
				_, err = incident.NewStore(kv, blocklist.JSPublisher{JS: bus.JS}, e.log).Stop(sctx, "supervisor")
			}
			stopped <- err
		})
		return inc, nil
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop the announcement: %v", err)
	}
	i := s.Incident
	if s.Errors != 0 || s.Finished != 8 || i == nil {
		t.Fatalf("%d errors, %d finished: %v; incident %+v", s.Errors, s.Finished, s.ErrorSamples, i)
	}
	if i.Acked == 0 || i.NoOffer == 0 || i.Acked+i.NoOffer != i.Callers || i.AfterStop != i.NoOffer || i.Struck != 0 {
		t.Fatalf("incident summary %+v, want some acked, some with no offer, none struck", i)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "announcement stopped mid-run") {
		t.Errorf("the summary does not say the announcement stopped:\n%s", text.String())
	}
	if s.Outcomes[events.OutcomeNoInput] != i.NoOffer {
		t.Fatalf("outcomes %v, want no_input for each of the %d callers with no offer", s.Outcomes, i.NoOffer)
	}
}
