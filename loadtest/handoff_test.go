package loadtest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
)

// handoffScale is slower than testScale: the operators answer after 3 and
// 5 s and the impatient callers leave after 8 s (callers' time), so at
// 0.05 the margins between them are a hundred milliseconds or more of wall
// time, which a busy machine under -race keeps.
const handoffScale = 0.05

// TestRunOperatorsAnswer: with the menu's operators free, every caller put
// through is answered by a person; time_to_person is in the callers' time
// and shows each operator's ring time (op201, the fire queue's, answers
// after 3 s; op202, the medical queue's, after 5 s) on top of the time to
// the queue; nobody hangs up in the queue, every call ends with the
// operator, and the JSON and the closing lines carry the figures.
func TestRunOperatorsAnswer(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: cfg, ClockScale: handoffScale, SoundsDir: soundsDir(t), Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	o := e.Options()
	// Fire and medical callers alternate, each type every 2 s of wall
	// time, 40 s of the callers' time: longer than an operator is taken by
	// a call (3-5 s ringing, at most 25 s talk, 5 s wrap-up), so each
	// finds its operator free.
	o.Mix, o.Calls, o.Rate, o.Concurrency = Mix{KindFire: 1, KindMedical: 1}, 6, 1, 10
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Lost != 0 || s.Finished != 6 {
		t.Fatalf("finished %d, %d errors %v, %d events lost", s.Finished, s.Errors, s.ErrorSamples, s.Lost)
	}
	for _, tc := range []struct {
		kind Kind
		ring time.Duration
	}{{KindFire, SimAnswerAfter[0]}, {KindMedical, SimAnswerAfter[1]}} {
		p, q := s.TimeToPerson[tc.kind], s.TimeToQueue[tc.kind]
		if p.N != 3 || q.N != 3 {
			t.Fatalf("%s: time to a person of %d calls, to the queue of %d; want 3 each (%+v)", tc.kind, p.N, q.N, s.TimeToPerson)
		}
		// The wait is the ring time, plus the IVR's and the event's way
		// back; divided by the clock scale, 200 ms of wall time here.
		wait := time.Duration((p.P50 - q.P50) * float64(time.Millisecond))
		t.Logf("%s: time to a person p50 %.0f ms, to the queue %.0f ms", tc.kind, p.P50, q.P50)
		if wait < tc.ring-time.Second || wait > tc.ring+2*time.Second {
			t.Errorf("%s: time to a person %.0f ms, to the queue %.0f ms: %s between, want the operator's ring time %s",
				tc.kind, p.P50, q.P50, wait, tc.ring)
		}
	}
	if n := total(s.QueueAbandoned); n != 0 {
		t.Errorf("%d callers hung up in the queue with the operators free: %v", n, s.QueueAbandoned)
	}
	if s.EndedWhere[events.WhereOperator] != 6 || s.LetGo != 0 {
		t.Errorf("calls ended %v, %d let go; want 6 with the operator", s.EndedWhere, s.LetGo)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Person map[string]struct {
			N   int     `json:"n"`
			P50 float64 `json:"p50_ms"`
			P95 float64 `json:"p95_ms"`
			Max float64 `json:"max_ms"`
		} `json:"time_to_person"`
		Abandoned map[string]int `json:"queue_abandoned"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if f := j.Person["fire"]; f.N != 3 || f.P50 <= 0 || f.P95 < f.P50 || f.Max < f.P95 || j.Abandoned == nil {
		t.Errorf("JSON time_to_person %+v, queue_abandoned %v", j.Person, j.Abandoned)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"time to a person (s)", "past the hand-off  answered by an operator 6, hung up in the queue 0"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
}

// TestRunOperatorsAllBusy: with every operator busy on another call, no
// one is answered: each caller put through waits until their patience
// runs out and hangs up in the queue (call.queue_abandoned), and there is
// no time to a person.
func TestRunOperatorsAllBusy(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	e, err := StartSim(ctx, SimOptions{Config: cfg, ClockScale: testScale, SoundsDir: soundsDir(t), Log: testLogger(t), OperatorsBusy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	for _, d := range []string{"PJSIP/op201", "PJSIP/op202"} {
		if st := e.Sim.DeviceState(d); st != arisim.DeviceInUse {
			t.Fatalf("%s is %s with the operators busy", d, st)
		}
	}
	o := e.Options()
	o.Mix, o.Calls, o.Rate, o.Concurrency = Mix{KindOperator: 1, KindVoice: 1, KindChild: 1}, 9, 50, 20
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Lost != 0 || s.Finished != 9 {
		t.Fatalf("finished %d, %d errors %v, %d events lost", s.Finished, s.Errors, s.ErrorSamples, s.Lost)
	}
	if len(s.TimeToPerson) != 0 {
		t.Errorf("time to a person with every operator busy: %+v", s.TimeToPerson)
	}
	want := map[Kind]int{KindOperator: 3, KindVoice: 3}
	if len(s.QueueAbandoned) != len(want) || s.QueueAbandoned[KindOperator] != 3 || s.QueueAbandoned[KindVoice] != 3 {
		t.Errorf("queue abandons %v, want %v", s.QueueAbandoned, want)
	}
	if s.EndedWhere[events.WhereQueue] != 6 || s.EndedWhere[events.WhereIVR] != 3 {
		t.Errorf("calls ended %v, want 6 in the queue and the 3 children in the IVR", s.EndedWhere)
	}
}

// TestCallersInTheQueue: every kind gets talk times and patience in the
// same spread (one in three impatient), and every script ends by waiting
// for an operator, talking and hanging up.
func TestCallersInTheQueue(t *testing.T) {
	g := newCallers(Mix{KindFire: 2, KindChild: 1, KindVoice: 1}, 1, 1, false)
	impatient, talks := map[Kind]int{}, map[Kind][]time.Duration{}
	for range 48 {
		c := g.next()
		if c.Patience <= 0 || c.Talk <= 0 {
			t.Fatalf("%s caller %d: patience %s, talk %s", c.Kind, c.Seq, c.Patience, c.Talk)
		}
		if c.Impatient() {
			impatient[c.Kind]++
		}
		talks[c.Kind] = append(talks[c.Kind], c.Talk)
		s := c.SimScript()
		tail := []string{"WaitForOperator()", "Talk(" + c.Talk.String() + ")", "Hangup()"}
		if got := stepNames(s[max(0, len(s)-3):]); !slices.Equal(got, tail) {
			t.Fatalf("%s script ends %v, want %v", c.Kind, got, tail)
		}
	}
	for k, n := range map[Kind]int{KindFire: 24, KindChild: 12, KindVoice: 12} {
		if impatient[k] != n/3 {
			t.Errorf("%s: %d of %d impatient, want one in three", k, impatient[k], n)
		}
		if l := slices.Compact(slices.Sorted(slices.Values(talks[k]))); !slices.Equal(l, talkTimes) {
			t.Errorf("%s: talk times %v, want each of %v", k, l, talkTimes)
		}
	}
}

func stepNames(steps []arisim.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.String()
	}
	return out
}

func total(m map[Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
