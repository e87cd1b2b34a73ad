package loadtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
)

// Latency summarises a set of durations, in milliseconds for JSON.
type Latency struct {
	// N is the number of samples.
	N int `json:"n"`
	// P50, P95, P99 and Max are in milliseconds.
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Summarize computes percentiles by the nearest-rank method (the smallest
// sample with at least p of the samples at or below it), so p99 of 100
// samples is the 99th smallest, never an interpolation that no call had.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Latency{
		N:   len(s),
		P50: ms(rank(s, 0.50)),
		P95: ms(rank(s, 0.95)),
		P99: ms(rank(s, 0.99)),
		Max: ms(s[len(s)-1]),
	}
}

// rank is the nearest-rank percentile of sorted samples.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// QueueTime is how long one kind of caller took to reach the operators'
// queue: from the answer to the IVR's Continue into the operators'
// context, in the callers' time (Summary.TimeToQueueMeasured).
type QueueTime struct {
	Latency
	// KeyToQueue is from the deciding key reaching the IVR to the same
	// Continue, for the calls a key decided (nil when none did).
	KeyToQueue *Latency `json:"key_to_queue,omitempty"`
}

// Targets are the figures a run is judged against. The time-to-queue
// targets are for callers whose operators are free, and are judged only
// when the run had such callers of the kind.
type Targets struct {
	// AnswerP99 bounds the p99 of StasisStart -> answer.
	AnswerP99 time.Duration `json:"answer_p99"`
	// ClassifiedP99 bounds the p99 of key -> call.classified stored.
	ClassifiedP99 time.Duration `json:"classified_p99"`
	// HeapPerCall bounds the heap per live call.
	HeapPerCall int64 `json:"heap_per_call_bytes"`
	// GreetingKeyToQueueP95 bounds the p95 of key -> queue of the callers
	// who key their choice during the greeting, and
	// GreetingKeyAnswerToQueueP95 their answer -> queue.
	GreetingKeyToQueueP95       time.Duration `json:"greeting_key_to_queue_p95"`
	GreetingKeyAnswerToQueueP95 time.Duration `json:"greeting_key_answer_to_queue_p95"`
	// MenuListenerToQueueP95 bounds the p95 of answer -> queue of the
	// callers who hear the whole menu before they choose.
	MenuListenerToQueueP95 time.Duration `json:"menu_listener_to_queue_p95"`
	// TalkerToQueueP95 bounds the p95 of answer -> queue of the callers who
	// talk over the greeting: ivr.talk_min_duration + 3 s. Their talk
	// starts half a second into the greeting, so answer -> queue is a
	// little stricter than talk -> queue.
	TalkerToQueueP95 time.Duration `json:"greeting_talker_to_queue_p95"`
}

// DefaultTargets are the targets.
func DefaultTargets() Targets {
	return Targets{
		AnswerP99: 5 * time.Millisecond, ClassifiedP99: 20 * time.Millisecond, HeapPerCall: 64 << 10,
		GreetingKeyToQueueP95: 3 * time.Second, GreetingKeyAnswerToQueueP95: 6 * time.Second,
		MenuListenerToQueueP95: 20 * time.Second,
		TalkerToQueueP95:       TalkerTarget(configs.Default().IVR.TalkMinDuration),
	}
}

// TalkerTarget is the talkers' time-to-queue target for a talk minimum.
func TalkerTarget(talkMin time.Duration) time.Duration { return talkMin + 3*time.Second }

// Summary is the result of a run; `--json` prints it as is.
type Summary struct {
	Target      string  `json:"target"`
	Mix         string  `json:"mix"`
	ClockScale  float64 `json:"clock_scale"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	CPUs        int     `json:"cpus"`

	Placed   int `json:"calls_placed"`
	Finished int `json:"calls_finished"`
	// PutThrough counts calls that Options.Drain put through to operators
	// before their script was over (outcome failover).
	PutThrough int `json:"calls_put_through_at_drain"`
	// Placing is how long calls were placed (seconds); Elapsed runs from
	// the first call placed until the last call ended.
	Placing float64 `json:"placing_s"`
	Elapsed float64 `json:"elapsed_s"`
	// PlacedPerSec is Placed over Placing; FinishedPerSec is Finished
	// over Elapsed.
	PlacedPerSec   float64 `json:"placed_per_s"`
	FinishedPerSec float64 `json:"finished_per_s"`
	// PeakLive is the most calls in progress at once, as the load tool saw
	// them; PeakIVR as the IVR counted its sessions (sampled).
	PeakLive int `json:"peak_live_calls"`
	PeakIVR  int `json:"peak_ivr_sessions"`
	// Outcomes counts calls by the outcome in their call.classified event.
	Outcomes map[events.Outcome]int `json:"outcomes"`
	// ByKind counts calls placed per kind of caller.
	ByKind map[Kind]int `json:"by_kind"`

	// Answer is StasisStart -> answer; AnswerAt says where it was measured.
	Answer   Latency `json:"stasis_start_to_answer"`
	AnswerAt string  `json:"answer_measured_at"`
	// Classified is the decisive key -> call.classified stored in the
	// stream, less the media played or recorded in between (see README).
	Classified Latency `json:"dtmf_to_classified_acked"`

	// TimeToQueue is, per kind of caller, the time from the answer to the
	// IVR's Continue into the operators' context of the calls put through
	// without the location question; TimeToQueueLocation of those asked it
	// (operators busy). TimeToQueueMeasured says where the two ends are
	// taken. Calls the IVR failed over are in neither.
	TimeToQueue         map[Kind]QueueTime `json:"time_to_queue"`
	TimeToQueueLocation map[Kind]QueueTime `json:"time_to_queue_location_asked,omitempty"`
	TimeToQueueMeasured string             `json:"time_to_queue_measured"`
	// TimeToPerson is, per kind of caller, the time from the answer to an
	// operator's answer of the calls an operator answered: the figure
	// answer standards judge (NENA: 90 % within 15 s, 95 % within 20 s;
	// EENA: 10 s). It is call.operator_answered's seconds_to_person, in the
	// callers' time (TimeToPersonMeasured); a kind none of whose calls a
	// person answered is absent.
	TimeToPerson         map[Kind]Latency `json:"time_to_person"`
	TimeToPersonMeasured string           `json:"time_to_person_measured"`
	// QueueAbandoned counts, per kind of caller, the callers who hung up
	// in the operators' queue before anyone answered
	// (call.queue_abandoned: callers to call back).
	QueueAbandoned map[Kind]int `json:"queue_abandoned"`
	// EndedWhere counts the calls by call.ended's where (ivr, queue,
	// operator, unknown).
	EndedWhere map[string]int `json:"ended_where"`
	// LetGo counts the calls handed to the operators that the IVR let go
	// when it stopped (Options.Drain) before they ended: they go on in
	// Asterisk, and no call.ended comes for them.
	LetGo int `json:"calls_handed_over_not_followed_to_end"`
	// OperatorsBusy is Options.OperatorsBusy.
	OperatorsBusy bool `json:"operators_busy"`
	// Incident is the surge mode's result, nil without Options.Incident.
	Incident *IncidentSummary `json:"incident,omitempty"`
	// Callbacks are the call-backs the stream told of during the run; nil
	// when none was scheduled and the mix had no dropped callers.
	Callbacks *CallbackSummary `json:"callbacks,omitempty"`

	// Events is how many call events the IVR handed to the publisher;
	// Stored how many of them the stream holds at the end; Lost the rest.
	// EventsPerSec is Events over Elapsed.
	Events       int     `json:"events_published"`
	Stored       int     `json:"events_stored"`
	Lost         int     `json:"events_lost"`
	EventsPerSec float64 `json:"events_per_s"`
	Spooled      uint64  `json:"events_spooled"`
	Dropped      uint64  `json:"events_dropped"`

	// Memory: peak heap in use, peak RSS (VmHWM), and the live heap per
	// live call at the sample with the most live calls.
	PeakHeap    uint64 `json:"peak_heap_bytes"`
	PeakRSS     uint64 `json:"peak_rss_bytes"`
	HeapPerCall int64  `json:"heap_per_live_call_bytes"`

	// AsteriskCPU is the Asterisk process's CPU over the run, per live
	// call (Options.AsteriskCPU; nil when not asked for). ProcessCPU is
	// this process's: the IVR, its NATS server and the load tool, and with
	// the sim target the simulated Asterisk too.
	AsteriskCPU *CPUUse `json:"asterisk_cpu,omitempty"`
	ProcessCPU  *CPUUse `json:"process_cpu,omitempty"`

	// LateOriginates counts the calls whose originate got no answer in
	// time but which reached the IVR all the same, and were followed
	// (ARITarget.LateOriginates).
	LateOriginates int `json:"originates_answered_late,omitempty"`

	// Errors counts problems; ErrorSamples shows the first few.
	Errors       int      `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`

	Targets Targets `json:"targets"`
	// Met says, per target, whether the run met it.
	Met map[string]bool `json:"targets_met"`
}

// IncidentSummary is what an incident announcement did to a surge run.
type IncidentSummary struct {
	// ID and Media name the announcement the run started.
	ID    string `json:"id"`
	Media string `json:"media"`
	// Callers is how many incident callers were placed, and Share their
	// share of all calls placed.
	Callers int     `json:"incident_callers"`
	Share   float64 `json:"incident_share"`
	// Acked is how many calls ended incident_ack: resolved without an
	// operator.
	Acked int `json:"incident_ack"`
	// ReachedOperators is how many calls were put through to operators
	// (Continue into their context, or a failover).
	ReachedOperators int `json:"reached_operators"`
	// OperatorLoadAvoided is Acked over Acked + ReachedOperators: of the
	// calls that would have reached an operator, the share the
	// announcement ended instead. Each incident_ack counts as a call that
	// would have reached one, since without the announcement a caller
	// about a fire keys or talks and is put through.
	OperatorLoadAvoided float64 `json:"operator_load_avoided"`
	// Others is how many calls were not incident callers, and OthersHeard
	// how many of them heard (began to hear) the announcement before their
	// call was decided; the rest keyed, talked or hung up during the
	// greeting, or were put through by a blocked caller's sign during it.
	Others      int `json:"other_callers"`
	OthersHeard int `json:"other_callers_heard_announcement"`
	// Struck is how many incident callers hold a blocklist strike after
	// the run (-1: not checked, the target has no blocklist to ask).
	Struck int `json:"incident_callers_struck"`
	// AfterStop is how many calls started after the announcement was
	// stopped (from the console, mid-run), and NoOffer how many of them
	// were incident callers, who heard no offer and were judged as silent
	// callers rather than as errors.
	AfterStop int `json:"calls_after_stop"`
	NoOffer   int `json:"incident_callers_no_offer"`
	// OthersTimeToQueue is Summary.TimeToQueue, repeated here: the time to
	// the queue of the other callers, with the announcement on.
	OthersTimeToQueue map[Kind]QueueTime `json:"others_time_to_queue"`
}

// incidentSummary fills an IncidentSummary from the run's counts; st.mu
// is held.
func incidentSummary(inc incident.Incident, st *runState, struck int) *IncidentSummary {
	s := &IncidentSummary{
		ID: inc.ID, Media: inc.Media, Callers: st.byKind[KindIncidentCaller],
		Acked: st.outcomes[events.OutcomeIncidentAck], ReachedOperators: st.reached,
		Others: st.others, OthersHeard: st.othersHeard, Struck: struck,
		AfterStop: st.afterStop, NoOffer: len(st.noOffer),
	}
	if st.placed > 0 {
		s.Share = math.Round(1e3*float64(s.Callers)/float64(st.placed)) / 1e3
	}
	if n := s.Acked + s.ReachedOperators; n > 0 {
		s.OperatorLoadAvoided = math.Round(1e3*float64(s.Acked)/float64(n)) / 1e3
	}
	return s
}

// minLiveForHeap is the fewest live calls at which the heap per live call
// is judged: below it the process's fixed overhead, shared by few calls,
// would dominate the figure and say nothing about the cost of a call.
const minLiveForHeap = 100

// judge fills Met. The heap target is left out of Met when too few calls
// were live at once to judge it.
func (s *Summary) judge() {
	t := s.Targets
	s.Met = map[string]bool{
		"answer_p99":     s.Answer.N > 0 && s.Answer.P99 < ms(t.AnswerP99),
		"classified_p99": s.Classified.N > 0 && s.Classified.P99 < ms(t.ClassifiedP99),
		"no_errors":      s.Errors == 0,
		"no_lost_events": s.Lost == 0 && s.Dropped == 0,
	}
	if s.PeakLive >= minLiveForHeap {
		s.Met["heap_per_call"] = s.HeapPerCall > 0 && s.HeapPerCall < t.HeapPerCall
	}
	if !s.queueJudged() {
		return
	}
	for _, q := range s.queueTargets() {
		if q.l != nil && q.l.N > 0 {
			s.Met[q.name] = q.l.P95 <= ms(q.target)
		}
	}
}

// queueJudged reports whether the time-to-queue targets are judged: only
// in real time (clock scale 1, or 0 when the caller did not say). At a
// faster clock the IVR's own processing, divided by the scale like the
// rest, is inflated, and the figures say more about the machine than
// about the flow.
func (s *Summary) queueJudged() bool { return s.ClockScale == 0 || s.ClockScale == 1 }

// queueTarget is one time-to-queue target and the figure it judges.
type queueTarget struct {
	name, what string
	l          *Latency
	target     time.Duration
}

func (s *Summary) queueTargets() []queueTarget {
	get := func(k Kind) *Latency {
		if q, ok := s.TimeToQueue[k]; ok {
			return &q.Latency
		}
		return nil
	}
	var key *Latency
	if q, ok := s.TimeToQueue[KindGreetingKey]; ok {
		key = q.KeyToQueue
	}
	t := s.Targets
	return []queueTarget{
		{"greeting_key_to_queue_p95", "greeting_key, key -> queue", key, t.GreetingKeyToQueueP95},
		{"greeting_key_answer_to_queue_p95", "greeting_key, answer -> queue", get(KindGreetingKey), t.GreetingKeyAnswerToQueueP95},
		{"menu_listener_to_queue_p95", "menu_listener, answer -> queue", get(KindMenuListener), t.MenuListenerToQueueP95},
		{"greeting_talker_to_queue_p95", "greeting_talker, answer -> queue", get(KindGreetingTalker), t.TalkerToQueueP95},
	}
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "siaga112 load test: target %s, %d CPUs, clock scale %g, concurrency %d, rate %g/s\n",
		s.Target, s.CPUs, s.ClockScale, s.Concurrency, s.Rate)
	fmt.Fprintf(&b, "mix %s\n\n", s.Mix)
	fmt.Fprintf(&b, "calls        %d placed in %.1f s (%.1f/s), %d finished in %.1f s (%.1f/s); peak %d live (IVR sessions %d)\n",
		s.Placed, s.Placing, s.PlacedPerSec, s.Finished, s.Elapsed, s.FinishedPerSec, s.PeakLive, s.PeakIVR)
	if s.PutThrough > 0 {
		fmt.Fprintf(&b, "             %d put through to operators by the IVR's drain before their script was over\n", s.PutThrough)
	}
	fmt.Fprintf(&b, "outcomes    ")
	for _, o := range events.AllOutcomes {
		if n := s.Outcomes[o]; n > 0 {
			fmt.Fprintf(&b, " %s %d", o, n)
		}
	}
	fmt.Fprintf(&b, "\n\n%-30s %6s %9s %9s %9s %9s\n", "latency (ms)", "n", "p50", "p95", "p99", "max")
	row := func(name string, l Latency, target time.Duration, met bool) {
		fmt.Fprintf(&b, "%-30s %6d %9.3f %9.3f %9.3f %9.3f  target p99 < %s: %s\n",
			name, l.N, l.P50, l.P95, l.P99, l.Max, target, yes(met))
	}
	row("StasisStart -> answer", s.Answer, s.Targets.AnswerP99, s.Met["answer_p99"])
	row("DTMF -> call.classified acked", s.Classified, s.Targets.ClassifiedP99, s.Met["classified_p99"])
	fmt.Fprintf(&b, "  (answer measured at the %s; DTMF -> classified: key reaching the flow -> event\n"+
		"   delivered back from the stream, less the prompts/recording the flow plays in between)\n", s.AnswerAt)
	s.writeQueue(&b)
	s.writePerson(&b)
	s.writeIncident(&b)
	s.writeCallbacks(&b)
	fmt.Fprintf(&b, "\nevents       %d published, %d stored, %d lost, %d spooled, %d dropped; %.0f events/s  (no loss: %s)\n",
		s.Events, s.Stored, s.Lost, s.Spooled, s.Dropped, s.EventsPerSec, yes(s.Met["no_lost_events"]))
	heapVerdict := fmt.Sprintf("not judged below %d live calls", minLiveForHeap)
	if met, ok := s.Met["heap_per_call"]; ok {
		heapVerdict = yes(met)
	}
	fmt.Fprintf(&b, "memory       peak heap %s, peak RSS %s, heap per live call %s  (target < %s: %s)\n",
		mib(s.PeakHeap), mib(s.PeakRSS), kib(s.HeapPerCall), kib(s.Targets.HeapPerCall), heapVerdict)
	if s.AsteriskCPU != nil {
		fmt.Fprintf(&b, "asterisk CPU %s\n", s.AsteriskCPU.text())
	}
	if s.ProcessCPU != nil {
		fmt.Fprintf(&b, "process CPU  %s\n", s.ProcessCPU.text())
	}
	if s.LateOriginates > 0 {
		fmt.Fprintf(&b, "originates   %d got no answer in time, yet their calls arrived and were followed\n", s.LateOriginates)
	}
	fmt.Fprintf(&b, "errors       %d  (target 0: %s)\n", s.Errors, yes(s.Met["no_errors"]))
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(&b, "  - %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTimeToQueue prints the time-to-queue tables and the targets judged
// on them (part of WriteText; the demo prints it on its own).
func (s *Summary) WriteTimeToQueue(w io.Writer) error {
	var b strings.Builder
	s.writeQueue(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Summary) writeQueue(b *strings.Builder) {
	writeQueueTable(b, "time to queue, operators free", s.TimeToQueue)
	writeQueueTable(b, "time to queue, location asked (operators busy)", s.TimeToQueueLocation)
	if len(s.TimeToQueue)+len(s.TimeToQueueLocation) > 0 {
		fmt.Fprintf(b, "  (%s)\n", s.TimeToQueueMeasured)
	}
	if len(s.TimeToQueue) > 0 && !s.queueJudged() {
		fmt.Fprintf(b, "  (targets judged at clock scale 1 only)\n")
	}
	for _, q := range s.queueTargets() {
		if met, ok := s.Met[q.name]; ok {
			fmt.Fprintf(b, "  target %s p95 <= %s: %s\n", q.what, q.target, yes(met))
		}
	}
}

// WriteTimeToPerson prints the time to a person per kind and the queue's
// answers and abandons (part of WriteText; the demo prints it on its own).
func (s *Summary) WriteTimeToPerson(w io.Writer) error {
	var b strings.Builder
	s.writePerson(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Summary) writePerson(b *strings.Builder) {
	answered, abandoned := 0, 0
	for _, l := range s.TimeToPerson {
		answered += l.N
	}
	for _, n := range s.QueueAbandoned {
		abandoned += n
	}
	if answered+abandoned > 0 {
		fmt.Fprintf(b, "\ntime to a person (s)\n%-30s %6s %9s %9s %9s %15s\n", "  kind", "n", "p50", "p95", "max", "queue abandons")
		for _, k := range Kinds {
			l, ok := s.TimeToPerson[k]
			if !ok && s.QueueAbandoned[k] == 0 {
				continue
			}
			fmt.Fprintf(b, "  %-28s %6d %9.3f %9.3f %9.3f %15d\n", k, l.N, l.P50/1e3, l.P95/1e3, l.Max/1e3, s.QueueAbandoned[k])
		}
		fmt.Fprintf(b, "  (%s)\n", s.TimeToPersonMeasured)
	}
	fmt.Fprintf(b, "\npast the hand-off  answered by an operator %d, hung up in the queue %d (callers to call back); ended", answered, abandoned)
	for _, w := range []string{events.WhereIVR, events.WhereQueue, events.WhereOperator, events.WhereUnknown} {
		fmt.Fprintf(b, " %s %d", w, s.EndedWhere[w])
	}
	fmt.Fprintln(b)
	if s.LetGo > 0 {
		fmt.Fprintf(b, "                  handed over, not followed to its end: %d (the IVR stopped; the calls go on in Asterisk)\n", s.LetGo)
	}
}

// writeIncident prints the surge mode's figures; nothing without an
// incident.
func (s *Summary) writeIncident(b *strings.Builder) {
	i := s.Incident
	if i == nil {
		return
	}
	fmt.Fprintf(b, "\nincident     %s (%s) on from the first call\n", i.ID, i.Media)
	fmt.Fprintf(b, "             %d incident callers (%.1f%% of calls) pressed the incident key during the offer\n", i.Callers, 100*i.Share)
	fmt.Fprintf(b, "             resolved without an operator (incident_ack) %d; reached operators %d; operator load avoided %.1f%%\n",
		i.Acked, i.ReachedOperators, 100*i.OperatorLoadAvoided)
	fmt.Fprintf(b, "             other callers %d, of whom %d heard the announcement (the rest keyed, talked or hung up before it)\n",
		i.Others, i.OthersHeard)
	if i.AfterStop > 0 {
		fmt.Fprintf(b, "             announcement stopped mid-run: %d calls started after it, %d of them incident callers who heard no offer (judged as silent callers, not errors)\n",
			i.AfterStop, i.NoOffer)
	}
	if i.Struck < 0 {
		fmt.Fprintf(b, "             incident callers' blocklist strikes not checked\n")
	} else {
		fmt.Fprintf(b, "             incident callers with a blocklist strike: %d\n", i.Struck)
	}
	fmt.Fprintf(b, "             (the time to queue above is the other callers', with the announcement on)\n")
}

// writeQueueTable prints one time-to-queue table in seconds, kinds in
// Kinds order; nothing when it is empty.
func writeQueueTable(b *strings.Builder, title string, m map[Kind]QueueTime) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s (s)\n%-30s %6s %9s %9s %9s %15s\n", title, "  kind", "n", "p50", "p95", "max", "key->queue p95")
	for _, k := range Kinds {
		q, ok := m[k]
		if !ok {
			continue
		}
		key := "-"
		if q.KeyToQueue != nil {
			key = fmt.Sprintf("%.3f", q.KeyToQueue.P95/1e3)
		}
		fmt.Fprintf(b, "  %-28s %6d %9.3f %9.3f %9.3f %15s\n", k, q.N, q.P50/1e3, q.P95/1e3, q.Max/1e3, key)
	}
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
func kib(n int64) string  { return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10)) }
