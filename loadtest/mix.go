// Package loadtest places synthetic 112 callers through siaga112 and
// measures it: the caller mix and scripts, the runner (rate, concurrency,
// progress), the probes that time answers, keys and events from inside the
// process, and the summary with percentiles, memory and errors. The
// commands `siaga112 demo` and `siaga112 loadtest` are thin wiring over it.
package loadtest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// ErrBadMix is returned (wrapped) by ParseMix for a mix it cannot read.
var ErrBadMix = errors.New("bad caller mix")

// Kind is a kind of synthetic caller.
type Kind string

// The kinds of caller. Emergencies press the menu key of their type;
// pranksters call again and again from a few numbers until they are
// blocked, and one of them presses 9 once blocked. The kinds after
// KindPrankster are the behaviours an emergency line must put through fast
// (talk or a key at any moment, the silent-help code, a blocked caller who
// is in need); the blocked ones call from numbers the run blocks before it
// starts. KindIncidentCaller is the surge mode's caller: someone calling
// about the incident the announcement names, who presses the incident key
// while the offer plays; a run with such callers needs Options.Incident.
// KindDropper is a caller who chooses a type and hangs up before the
// hand-off, and whose phone answers the IVR's call-back; a run with such
// callers needs Options.Droppers.
const (
	KindFire       Kind = "fire"        // presses 1 during the menu
	KindMedical    Kind = "medical"     // presses 2 during the menu
	KindPolice     Kind = "police"      // presses 3 during the menu
	KindDisaster   Kind = "disaster"    // presses 4 during the menu
	KindOperator   Kind = "operator"    // presses 0 during the menu
	KindVoice      Kind = "voice"       // speaks during the menu instead of pressing
	KindSilentHelp Kind = "silent_help" // silent, then presses 55 at the first silent-help offer
	KindSilent     Kind = "silent"      // says and presses nothing
	KindChild      Kind = "child"       // hangs up during the greeting
	KindInvalid    Kind = "invalid"     // presses wrong keys three times
	KindPrankster  Kind = "prankster"   // repeat silent caller from a small pool

	KindGreetingKey       Kind = "greeting_key"        // presses 1 during the greeting
	KindGreetingTalker    Kind = "greeting_talker"     // talks 2 s, starting during the greeting
	KindMenu55            Kind = "menu_55"             // presses 55 during the menu
	KindMenuListener      Kind = "menu_listener"       // hears the whole menu, then presses 2
	KindBlockedTalker     Kind = "blocked_talker"      // blocked; talks during the warning
	KindBlockedSilentHelp Kind = "blocked_silent_help" // blocked; silent through the warning, 55 at the silent-help offer

	KindIncidentCaller Kind = "incident_caller" // presses 8 during the incident-offer prompt

	KindDropper Kind = "dropped" // presses 4 during the greeting, hangs up at the location question; answers the call-back and presses 1
)

// Kinds lists every kind in the order summaries show them.
var Kinds = []Kind{
	KindFire, KindMedical, KindPolice, KindDisaster, KindOperator, KindVoice,
	KindSilentHelp, KindSilent, KindChild, KindInvalid, KindPrankster,
	KindGreetingKey, KindGreetingTalker, KindMenu55, KindMenuListener,
	KindBlockedTalker, KindBlockedSilentHelp, KindIncidentCaller, KindDropper,
}

// menuDigit is the key a kind that chooses from the menu presses, and
// emergencyType the type that key means (configs.Default's menu).
var (
	menuDigit = map[Kind]string{
		KindFire: "1", KindMedical: "2", KindPolice: "3", KindDisaster: "4", KindOperator: "0",
		KindGreetingKey: "1", KindMenuListener: "2", KindDropper: "4",
	}
	emergencyType = map[Kind]string{
		KindFire: "fire", KindMedical: "medical", KindPolice: "police", KindDisaster: "disaster",
		KindOperator: "operator", KindGreetingKey: "fire", KindMenuListener: "medical",
		KindDropper: DropperType,
	}
)

// DropperType is the emergency type the dropped callers choose
// (configs.Default's key 4). Whoever keys a type while an operator of its
// queue is free is handed over by the IVR within a few milliseconds of the
// key (configs.Default asks the location only when every operator of the
// queue is busy, and plays no connecting prompt): no caller can hang up in
// between, so a caller who drops before the queue is one asked where they
// are. A run with dropped callers therefore has the target report no free
// operator in this type's queue (Options.Droppers), the only way the
// simulated Asterisk can ask them and nobody else, and the disaster
// callers of that run are asked the location too (and answer it).
const DropperType = "disaster"

// lastMenuPrompt is the last sound of configs.Default's menu: a menu
// listener waits for it before choosing.
const lastMenuPrompt = "menu-operator"

// incidentDigit is configs.Default's ivr.incident_digit, and
// incidentOfferPrompt the prompt that offers it after the announcement.
const (
	incidentDigit       = "8"
	incidentOfferPrompt = "incident-offer"
)

// Blocked reports whether the kind calls from a number that is blocked.
func (k Kind) Blocked() bool { return k == KindBlockedTalker || k == KindBlockedSilentHelp }

// DemoMix is DefaultMix with dropped callers, who are called back: a
// weight of 8 (one call in 17) makes the first of them the ninth call, 20 s
// into a demo at its default rate, so that its call-back, callback.delay
// (30 s) after the drop, comes within the demo's first minute. DefaultMix
// has none: a run with them reports the disaster queue busy (DropperType),
// which would move the disaster callers of a load test's figures.
func DemoMix() Mix {
	m := DefaultMix()
	m[KindDropper] = demoDroppers
	return m
}

// demoDroppers is DemoMix's weight of dropped callers.
const demoDroppers = 8

// Mix is the weight of each kind of caller; a kind with weight w is placed
// w times in every sum-of-weights calls.
type Mix map[Kind]int

// DefaultMix is a day at a busy centre, compressed: most calls are real
// emergencies, but children, silent callers and repeat pranksters make up
// a large share, as the centre reported. The callers who key or talk
// during the greeting, listen to the whole menu or press 55 are there to
// time how fast each kind of sign gets a caller to the operators.
func DefaultMix() Mix {
	return Mix{
		KindFire: 6, KindMedical: 14, KindPolice: 8, KindDisaster: 3, KindOperator: 7,
		KindVoice: 8, KindSilentHelp: 3, KindSilent: 8, KindChild: 20, KindInvalid: 5,
		KindPrankster:   18,
		KindGreetingKey: 8, KindGreetingTalker: 6, KindMenu55: 3, KindMenuListener: 8,
		KindBlockedTalker: 2, KindBlockedSilentHelp: 2,
	}
}

// hasBlocked reports whether the mix has callers from blocked numbers.
func (m Mix) hasBlocked() bool {
	for k, w := range m {
		if w > 0 && k.Blocked() {
			return true
		}
	}
	return false
}

// hasDroppers reports whether the mix has callers who drop before the
// hand-off and are called back.
func (m Mix) hasDroppers() bool { return m[KindDropper] > 0 }

// hasIncident reports whether the mix has callers about an incident.
func (m Mix) hasIncident() bool { return m[KindIncidentCaller] > 0 }

// ErrBadShare is returned (wrapped) by WithShare for a share it cannot
// make.
var ErrBadShare = errors.New("bad share")

// WithShare returns a copy of the mix in which kind k makes up share of
// the calls (0 < share < 1), the other kinds keeping their proportions.
// Weights are whole numbers, so the share is met to within one call in
// every sum-of-weights calls.
func (m Mix) WithShare(k Kind, share float64) (Mix, error) {
	if !(share > 0 && share < 1) {
		return nil, fmt.Errorf("%w: the share of %s must be above 0 and below 1, got %g", ErrBadShare, k, share)
	}
	out := Mix{}
	others := 0
	for kind, w := range m {
		if kind != k && w > 0 {
			out[kind] = w
			others += w
		}
	}
	if others == 0 {
		return nil, fmt.Errorf("%w: the mix has no callers but %s", ErrBadShare, k)
	}
	out[k] = max(1, int(math.Round(share*float64(others)/(1-share))))
	return out, nil
}

// ParseMix reads "fire=5,medical=10,child=3". Kinds not named get weight 0;
// "default" alone is DefaultMix.
func ParseMix(s string) (Mix, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "default" {
		return DefaultMix(), nil
	}
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not kind=weight", ErrBadMix, part)
		}
		k := Kind(strings.TrimSpace(name))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%w: unknown kind %q (kinds: %s)", ErrBadMix, name, kindList())
		}
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 {
			return nil, fmt.Errorf("%w: weight of %s must be a whole number >= 0, got %q", ErrBadMix, k, val)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("%w: every weight is 0", ErrBadMix)
	}
	return m, nil
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// String writes the mix as ParseMix reads it, kinds in Kinds order.
func (m Mix) String() string {
	var parts []string
	for _, k := range Kinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() int {
	t := 0
	for _, k := range Kinds {
		t += m[k]
	}
	return t
}

// picker hands out kinds in the mix's proportions, evenly spread
// (smooth weighted round robin), so a short run has the same mix as a long
// one and every run is the same.
type picker struct {
	mix     Mix
	current map[Kind]int
	total   int
}

func newPicker(m Mix) *picker {
	return &picker{mix: m, current: make(map[Kind]int), total: m.total()}
}

func (p *picker) next() Kind {
	var best Kind
	for _, k := range Kinds {
		w := p.mix[k]
		if w == 0 {
			continue
		}
		p.current[k] += w
		if best == "" || p.current[k] > p.current[best] {
			best = k
		}
	}
	p.current[best] -= p.total
	return best
}

// Caller is one synthetic call: who calls and what they will do.
type Caller struct {
	// Seq numbers the calls of a run from 0.
	Seq int
	// Kind is what the caller does.
	Kind Kind
	// Number is the caller id, E.164.
	Number string
	// Presses9 marks the prankster who presses 9 once blocked.
	Presses9 bool
	// Busy says that no operator of the caller's queue is free on the
	// simulated Asterisk (Options.OperatorsBusy, or the dropped callers'
	// queue in a run with them): a caller who chooses a type is then asked
	// for the location and answers it (a dropped caller hangs up instead).
	Busy bool
	// Talk is how long a caller the IVR puts through talks with the
	// operator who answers, before hanging up (callers' time).
	Talk time.Duration
	// Patience is how long a caller the IVR puts through waits in the
	// operators' queue for someone to answer before hanging up (callers'
	// time, from joining the queue); 0 waits as long as it takes. The sim
	// target applies it (SimTarget.Place); a script cannot, as it has no
	// step that waits for an operator with a time limit.
	Patience time.Duration
}

// Impatient reports whether c gives up in the queue before the usual
// operator answers (one caller in impatientEveryN of each kind): such a
// caller is called back.
func (c Caller) Impatient() bool { return c.Patience > 0 && c.Patience < patientWait }

// Expectation is what the IVR should make of a caller.
type Expectation struct {
	// Outcomes are the acceptable outcomes (a prankster's changes once the
	// number is blocked).
	Outcomes []events.Outcome
	// Type is the emergency type of an emergency outcome ("" otherwise).
	Type string
	// Reason is the reason call.classified must give ("" for any): what a
	// blocked caller did to get through.
	Reason string
}

// Allows reports whether outcome and type meet the expectation.
func (e Expectation) Allows(o events.Outcome, typ string) bool {
	if !slices.Contains(e.Outcomes, o) {
		return false
	}
	return o != events.OutcomeEmergency || typ == e.Type
}

// Expect is what the IVR with the default configuration makes of the
// caller. onARI selects the real Asterisk's scripts, whose prankster who
// presses 9 does so during the menu too (outcome invalid until blocked).
func (c Caller) Expect(onARI bool) Expectation {
	one := func(o events.Outcome) Expectation { return Expectation{Outcomes: []events.Outcome{o}} }
	if typ, ok := emergencyType[c.Kind]; ok {
		return Expectation{Outcomes: []events.Outcome{events.OutcomeEmergency}, Type: typ}
	}
	switch c.Kind {
	case KindVoice, KindGreetingTalker:
		return one(events.OutcomeVoice)
	case KindSilentHelp, KindMenu55:
		return one(events.OutcomeSilentHelp)
	case KindSilent:
		return one(events.OutcomeNoInput)
	case KindIncidentCaller:
		// Resolved without an operator; the blocklist gives no strike for
		// it (checked at the end of the run, Options.Strikes).
		return one(events.OutcomeIncidentAck)
	case KindChild:
		return one(events.OutcomeAbandoned)
	case KindInvalid:
		return one(events.OutcomeInvalid)
	case KindBlockedTalker:
		e := one(events.OutcomeBlockedOverride)
		e.Reason = flows.OverrideTalk
		return e
	case KindBlockedSilentHelp:
		e := one(events.OutcomeBlockedOverride)
		e.Reason = flows.OverrideSilentHelp
		return e
	case KindPrankster:
		if !c.Presses9 {
			return Expectation{Outcomes: []events.Outcome{events.OutcomeNoInput, events.OutcomeBlocked}}
		}
		if onARI {
			// Before the block, the dialplan's press-9 script is a wrong
			// key in the first menu attempt and then a hang-up a little
			// later, in a later attempt: a real Asterisk 22.10.1 run showed
			// it ending abandoned; with more wrong keys it is invalid.
			return Expectation{Outcomes: []events.Outcome{events.OutcomeInvalid, events.OutcomeAbandoned, events.OutcomeBlockedOverride}}
		}
		return Expectation{Outcomes: []events.Outcome{events.OutcomeNoInput, events.OutcomeBlockedOverride}}
	}
	return Expectation{}
}

// AsksLocation reports whether the IVR must ask this caller where they
// are: only a caller who chose a type with a queue (not the operator),
// and only while every operator is busy.
func (c Caller) AsksLocation() bool {
	typ, ok := emergencyType[c.Kind]
	return ok && typ != "operator" && c.Busy
}

// SimScript is the caller's script for the simulated Asterisk, in media
// time (the sim's ClockScale applies). Callers listen a moment before they
// press, as people do, so keys usually cut a prompt short (barge-in). A
// caller who chose a type answers the location question only when it is
// asked (Busy): a step waiting for a prompt that never comes would hold the
// call open after the IVR put it through.
//
// A caller put through then waits for an operator and talks with them for
// Talk (Patience is applied by SimTarget). Every script ends so: one the
// IVR does not put through never gets that far (the IVR hangs up first,
// or the caller did), except when the IVR's drain puts it through, and
// then the caller waits for an operator like the others.
func (c Caller) SimScript() []arisim.Step {
	return append(c.simIVRScript(), arisim.WaitForOperator(), arisim.Talk(c.Talk), arisim.Hangup())
}

// simIVRScript is the part of SimScript heard in the IVR.
func (c Caller) simIVRScript() []arisim.Step {
	var s []arisim.Step
	switch c.Kind {
	case KindFire, KindMedical, KindPolice, KindDisaster, KindOperator:
		s = []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Wait(2 * time.Second), arisim.Press(menuDigit[c.Kind])}
	case KindGreetingKey:
		// Knows the menu already and keys the choice 2 s into the greeting.
		s = []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(2 * time.Second), arisim.Press(menuDigit[c.Kind])}
	case KindMenuListener:
		// Hears every choice read out (the last one lasts 1.7 s), then
		// presses just after the menu ends.
		s = []arisim.Step{arisim.WaitForPrompt(lastMenuPrompt), arisim.Wait(2 * time.Second), arisim.Press(menuDigit[c.Kind])}
	case KindVoice:
		return []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Wait(time.Second), arisim.Talk(4 * time.Second)}
	case KindGreetingTalker:
		// "Tolong, kebakaran!" over the greeting, half a second into it.
		return []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(500 * time.Millisecond), arisim.Talk(2 * time.Second)}
	case KindBlockedTalker:
		return []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Wait(time.Second), arisim.Talk(2 * time.Second)}
	case KindSilentHelp, KindBlockedSilentHelp:
		// The first silent-help offer: inside the retry after a silent
		// menu attempt, or after a blocked caller's silent warning.
		return []arisim.Step{arisim.WaitForPrompt("silent-help"), arisim.Wait(time.Second), arisim.Press("55")}
	case KindMenu55:
		return []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Wait(2 * time.Second), arisim.Press("55")}
	case KindIncidentCaller:
		// Hears the announcement and two seconds of the offer ("press 8
		// if you are calling about this"), then presses 8.
		return []arisim.Step{arisim.WaitForPrompt(incidentOfferPrompt), arisim.Wait(2 * time.Second), arisim.Press(incidentDigit)}
	case KindChild:
		return []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(3 * time.Second), arisim.Hangup()}
	case KindDropper:
		// Keys the type 2 s into the greeting and hangs up as the location
		// question begins: the choice is made, no operator reached, and the
		// IVR marks the call for a call-back. The phone's answer to that
		// call-back is SimTarget's (dropperCallee).
		return []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(2 * time.Second), arisim.Press(menuDigit[c.Kind]),
			arisim.WaitForPrompt("location"), arisim.Hangup()}
	case KindInvalid:
		return []arisim.Step{
			// 7, 9 and # are wrong keys in every case: 8 is the incident
			// key while an announcement plays, 5 starts the silent-help code.
			arisim.WaitForPrompt("menu"), arisim.Wait(time.Second), arisim.Press("7"),
			arisim.WaitForPrompt("invalid"), arisim.Press("9"),
			arisim.WaitForPrompt("invalid"), arisim.Press("#"),
		}
	case KindPrankster:
		if c.Presses9 {
			// Silent until the warning of a blocked number is heard.
			return []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Press("9")}
		}
		return nil
	default:
		return nil // silent: the IVR decides when the call ends
	}
	if c.AsksLocation() {
		// The question lasts 7.5 s; the caller answers once it is over,
		// so the recording that follows it hears them.
		s = append(s, arisim.WaitForPrompt("location"), arisim.Wait(8*time.Second), arisim.Talk(3*time.Second))
	}
	return s
}

// ARIScript is the extension in the siaga112-loadtest context of
// asterisk-conf/extensions.conf that plays this caller on a real Asterisk
// ("" for the dropped callers, who have none).
// Those scripts keep time from their own answer, not by listening, so
// their LT_* variables place each key or talk in the same prompt as
// SimScript does with the default configuration and the Indonesian
// prompts (asterisk-conf/extensions.conf lists them).
func (c Caller) ARIScript() string {
	switch c.Kind {
	case KindFire, KindMedical, KindPolice, KindDisaster, KindOperator:
		return string(c.Kind)
	case KindVoice:
		return "talk"
	case KindSilentHelp:
		return "silent-help"
	case KindChild:
		return "abandon"
	case KindInvalid:
		return "invalid"
	case KindGreetingKey:
		return "greeting-key"
	case KindGreetingTalker:
		return "greeting-talk"
	case KindMenu55:
		return "menu-55"
	case KindMenuListener:
		return "menu-listener"
	case KindBlockedTalker:
		return "blocked-talk"
	case KindBlockedSilentHelp:
		return "blocked-silent-help"
	case KindIncidentCaller:
		return "incident"
	case KindDropper:
		// None: on a real Asterisk the call-back goes out through
		// callback.endpoint, to a phone the load tool cannot answer, and
		// Run refuses these callers there (Options.Droppers).
		return ""
	case KindPrankster:
		if c.Presses9 {
			return "press-9"
		}
	}
	return "silent"
}

// callers makes the run's callers: genuine callers each from their own
// number, pranksters round-robin over a pool whose first member presses 9,
// blocked callers round-robin over the blocked pool.
type callers struct {
	pick    *picker
	pool    int
	seq     int
	pranks  int
	blocked int
	perKind map[Kind]int // callers placed so far, by kind
	busy    bool
	// busyTypes are the emergency types whose queue the target reports
	// with no operator free although busy is false (the dropped callers').
	busyTypes map[string]bool
	runID     uint32
}

// What callers do in the operators' queue (callers' time), counted per
// kind so that every kind has the same spread. Each talks for 10, 15, 20
// or 25 s in turn once an operator answers. One in three is impatient and
// hangs up after 8, 12 or 16 s in the queue without an answer, some 10 to
// 35 s into the call (answer standards are judged at 10 s, EENA, and 15
// and 20 s, NENA); the others wait up to a minute and a half. Nobody waits for ever, so a run always ends, even with every
// operator busy. Kinds the IVR does not put through get the same, for the
// calls the IVR's drain puts through.
var (
	talkTimes       = []time.Duration{10 * time.Second, 15 * time.Second, 20 * time.Second, 25 * time.Second}
	impatientWaits  = []time.Duration{8 * time.Second, 12 * time.Second, 16 * time.Second}
	patientWait     = 90 * time.Second
	impatientEveryN = 3
)

// PranksterNumber is the pool member i's number.
func PranksterNumber(i int) string { return fmt.Sprintf("+628190000%04d", i) }

// BlockedPool is how many blocked numbers the blocked kinds call from.
const BlockedPool = 2

// BlockedNumber is the blocked pool member i's number; Run blocks the pool
// before the first call when the mix has blocked kinds.
func BlockedNumber(i int) string { return fmt.Sprintf("+628190001%04d", i) }

// BlockedNumbers is the whole blocked pool.
func BlockedNumbers() []string {
	out := make([]string, BlockedPool)
	for i := range out {
		out[i] = BlockedNumber(i)
	}
	return out
}

func newCallers(m Mix, pool int, runID uint32, busy bool) *callers {
	if pool < 1 {
		pool = 1
	}
	return &callers{pick: newPicker(m), pool: pool, runID: runID, busy: busy, perKind: make(map[Kind]int)}
}

func (g *callers) next() Caller {
	c := Caller{Seq: g.seq, Kind: g.pick.next()}
	c.Busy = g.busy || g.busyTypes[emergencyType[c.Kind]]
	g.seq++
	n := g.perKind[c.Kind]
	g.perKind[c.Kind]++
	c.Talk, c.Patience = talkTimes[n%len(talkTimes)], patientWait
	if n%impatientEveryN == impatientEveryN-1 {
		c.Patience = impatientWaits[(n/impatientEveryN)%len(impatientWaits)]
	}
	switch {
	case c.Kind == KindPrankster:
		i := g.pranks % g.pool
		g.pranks++
		c.Number = PranksterNumber(i)
		c.Presses9 = i == 0
		return c
	case c.Kind.Blocked():
		c.Number = BlockedNumber(g.blocked % BlockedPool)
		g.blocked++
		return c
	}
	// A fresh number for each genuine caller, so none of them collects
	// strikes (a child who hangs up early is one strike). The run id keeps
	// numbers of successive runs on the same NATS apart.
	c.Number = fmt.Sprintf("+62812%03d%05d", g.runID%1000, c.Seq%100000)
	return c
}
