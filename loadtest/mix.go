// Package loadtest places synthetic 112 callers through siaga112 and
// measures it: the caller mix and scripts, the runner (rate, concurrency,
// progress), the probes that time answers, keys and events from inside the
// process, and the summary with percentiles, memory and errors. The
// commands `siaga112 demo` and `siaga112 loadtest` are thin wiring over it.
package loadtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
)

// ErrBadMix is returned (wrapped) by ParseMix for a mix it cannot read.
var ErrBadMix = errors.New("bad caller mix")

// Kind is a kind of synthetic caller.
type Kind string

// The kinds of caller. Emergencies press the menu key of their type;
// pranksters call again and again from a few numbers until they are
// blocked, and one of them presses 9 once blocked.
const (
	KindFire       Kind = "fire"        // presses 1, gives a location
	KindMedical    Kind = "medical"     // presses 2, gives a location
	KindPolice     Kind = "police"      // presses 3, gives a location
	KindDisaster   Kind = "disaster"    // presses 4, gives a location
	KindOperator   Kind = "operator"    // presses 0
	KindVoice      Kind = "voice"       // speaks instead of pressing
	KindSilentHelp Kind = "silent_help" // silent, then presses 55
	KindSilent     Kind = "silent"      // says and presses nothing
	KindChild      Kind = "child"       // hangs up during the greeting
	KindInvalid    Kind = "invalid"     // presses wrong keys three times
	KindPrankster  Kind = "prankster"   // repeat silent caller from a small pool
)

// Kinds lists every kind in the order summaries show them.
var Kinds = []Kind{
	KindFire, KindMedical, KindPolice, KindDisaster, KindOperator, KindVoice,
	KindSilentHelp, KindSilent, KindChild, KindInvalid, KindPrankster,
}

// menuDigit is the key an emergency kind presses (configs.Default's menu).
var menuDigit = map[Kind]string{
	KindFire: "1", KindMedical: "2", KindPolice: "3", KindDisaster: "4", KindOperator: "0",
}

// Mix is the weight of each kind of caller; a kind with weight w is placed
// w times in every sum-of-weights calls.
type Mix map[Kind]int

// DefaultMix is a day at a busy centre, compressed: most calls are real
// emergencies, but children, silent callers and repeat pranksters make up
// a large share, as the centre reported.
func DefaultMix() Mix {
	return Mix{
		KindFire: 6, KindMedical: 14, KindPolice: 8, KindDisaster: 3, KindOperator: 7,
		KindVoice: 8, KindSilentHelp: 3, KindSilent: 8, KindChild: 20, KindInvalid: 5,
		KindPrankster: 18,
	}
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
}

// Expectation is what the IVR should make of a caller.
type Expectation struct {
	// Outcomes are the acceptable outcomes (a prankster's changes once the
	// number is blocked).
	Outcomes []events.Outcome
	// Type is the emergency type of an emergency outcome ("" otherwise).
	Type string
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
	switch c.Kind {
	case KindFire, KindMedical, KindPolice, KindDisaster, KindOperator:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeEmergency}, Type: string(c.Kind)}
	case KindVoice:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeVoice}}
	case KindSilentHelp:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeSilentHelp}}
	case KindSilent:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeNoInput}}
	case KindChild:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeAbandoned}}
	case KindInvalid:
		return Expectation{Outcomes: []events.Outcome{events.OutcomeInvalid}}
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

// SimScript is the caller's script for the simulated Asterisk, in media
// time (the sim's ClockScale applies). Callers listen a moment before they
// press, as people do, so keys usually cut a prompt short (barge-in).
func (c Caller) SimScript() []arisim.Step {
	switch c.Kind {
	case KindFire, KindMedical, KindPolice, KindDisaster:
		return []arisim.Step{
			arisim.WaitForPrompt("menu"), arisim.Wait(2 * time.Second), arisim.Press(menuDigit[c.Kind]),
			arisim.WaitForPrompt("location"), arisim.Talk(3 * time.Second),
		}
	case KindOperator:
		return []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Wait(2 * time.Second), arisim.Press("0")}
	case KindVoice:
		return []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Wait(time.Second), arisim.Talk(4 * time.Second)}
	case KindSilentHelp:
		return []arisim.Step{arisim.WaitForPrompt("silent-help"), arisim.Wait(time.Second), arisim.Press("55")}
	case KindChild:
		return []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(3 * time.Second), arisim.Hangup()}
	case KindInvalid:
		return []arisim.Step{
			arisim.WaitForPrompt("menu"), arisim.Wait(time.Second), arisim.Press("7"),
			arisim.WaitForPrompt("invalid"), arisim.Press("8"),
			arisim.WaitForPrompt("invalid"), arisim.Press("#"),
		}
	case KindPrankster:
		if c.Presses9 {
			// Silent until the warning of a blocked number is heard.
			return []arisim.Step{arisim.WaitForPrompt("blocked"), arisim.Press("9")}
		}
	}
	return nil // silent: the IVR decides when the call ends
}

// ARIScript is the extension in the siaga112-loadtest context of
// asterisk-conf/extensions.conf that plays this caller on a real Asterisk.
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
	case KindPrankster:
		if c.Presses9 {
			return "press-9"
		}
	}
	return "silent"
}

// callers makes the run's callers: genuine callers each from their own
// number, pranksters round-robin over a pool whose first member presses 9.
type callers struct {
	pick   *picker
	pool   int
	seq    int
	pranks int
	runID  uint32
}

// PranksterNumber is the pool member i's number.
func PranksterNumber(i int) string { return fmt.Sprintf("+628190000%04d", i) }

func newCallers(m Mix, pool int, runID uint32) *callers {
	if pool < 1 {
		pool = 1
	}
	return &callers{pick: newPicker(m), pool: pool, runID: runID}
}

func (g *callers) next() Caller {
	c := Caller{Seq: g.seq, Kind: g.pick.next()}
	g.seq++
	if c.Kind == KindPrankster {
		i := g.pranks % g.pool
		g.pranks++
		c.Number = PranksterNumber(i)
		c.Presses9 = i == 0
		return c
	}
	// A fresh number for each genuine caller, so none of them collects
	// strikes (a child who hangs up early is one strike). The run id keeps
	// numbers of successive runs on the same NATS apart.
	c.Number = fmt.Sprintf("+62812%03d%05d", g.runID%1000, c.Seq%100000)
	return c
}
