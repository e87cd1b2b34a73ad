package blocklist

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// ErrAllowlisted is returned when an admin tries to block a number on the
// allowlist: the configuration says it is never blocked, and the config wins.
var ErrAllowlisted = errors.New("number is on the allowlist")

// ErrAnonymous is returned when an admin tries to block a withheld number.
var ErrAnonymous = errors.New("anonymous callers cannot be blocked")

// MaxReason bounds a block's reason in characters; it must also fit the
// events' bound for short text (events.MaxTextLen bytes), since every
// block is announced as blocklist.changed with its reason.
const MaxReason = 200

// ErrBadReason refuses a block reason that is too long or holds control
// characters.
var ErrBadReason = errors.New("invalid block reason")

// SetByAdmin prefixes the name of whoever blocked or lifted by hand.
const SetByAdmin = "admin:"

// CheckReason validates a block reason as typed: at most MaxReason
// characters and events.MaxTextLen bytes, one line of printable text.
func CheckReason(reason string) error {
	if n := utf8.RuneCountInString(reason); n > MaxReason || len(reason) > events.MaxTextLen {
		return fmt.Errorf("%w: %d characters (at most %d)", ErrBadReason, n, MaxReason)
	}
	if !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl) {
		return fmt.Errorf("%w: holds control characters", ErrBadReason)
	}
	return nil
}

// SetByAuto marks a block set by the policy; admin blocks use "admin:<who>"
// and lifts by a verdict "operator:<who>".
const SetByAuto = "auto"

// Strike reasons as stored in Strike.Reason.
const (
	ReasonNoInput      = "no_input"
	ReasonAbandoned    = "abandoned"
	ReasonInvalid      = "invalid"
	ReasonVerdictPrank = "verdict_prank"
)

// Reason codes as stored in Record.ReasonCode, one per reason text the
// policy writes itself. A typed reason has no code: it is shown as typed.
const (
	// CodeAutoBlock: enough strikes inside the window blocked the number.
	// Args: ArgStrikes, ArgWindow, ArgLevel, ArgLength and ArgCountPrefix
	// plus a strike reason for each kind of strike.
	CodeAutoBlock = "auto_block"
	// CodeLiftGenuine: a genuine verdict lifted an automatic block.
	CodeLiftGenuine = "lift_genuine"
	// CodeAdminBlock: an admin blocked without giving a reason.
	CodeAdminBlock = "admin_block"
	// CodeAdminRemove: an admin lifted the block and cleared the strikes.
	CodeAdminRemove = "admin_remove"
)

// Keys of Record.ReasonArgs. Durations are written with
// time.Duration.String and counts in decimal.
const (
	// ArgStrikes is the strike points that blocked.
	ArgStrikes = "strikes"
	// ArgWindow is the window the strikes counted in.
	ArgWindow = "window"
	// ArgLevel is the block's place on the ladder, from 1.
	ArgLevel = "level"
	// ArgLength is the block's length.
	ArgLength = "length"
	// ArgCountPrefix followed by a strike reason (ReasonNoInput, ...) is
	// how many strikes of that kind there were.
	ArgCountPrefix = "count."
)

// maxSeen bounds the event ids a record remembers for idempotency; a
// redelivery comes within the consumer's ack wait, far inside this.
const maxSeen = 128

// Policy is the blocking policy of configs.Blocklist, checked and with the
// allowlist normalised. Its methods are pure: no clock, no I/O.
type Policy struct {
	// DefaultCountry normalises national numbers.
	DefaultCountry string
	// Window is the rolling window strikes count in.
	Window time.Duration
	// Threshold is the points in the window that block.
	Threshold int
	// Points per outcome and verdict.
	Points configs.Strikes
	// AbandonedWithin: abandoned calls count only when they ended this soon after answer.
	AbandonedWithin time.Duration
	// Ladder is the block length per level; the last entry repeats.
	Ladder []time.Duration

	allow map[string]struct{}
}

// NewPolicy checks cfg and returns its Policy. Errors name the config key.
func NewPolicy(cfg configs.Blocklist) (Policy, error) {
	p := Policy{
		DefaultCountry:  cfg.DefaultCountry,
		Window:          cfg.Window,
		Threshold:       cfg.Threshold,
		Points:          cfg.Strikes,
		AbandonedWithin: cfg.AbandonedWithin,
		Ladder:          append([]time.Duration(nil), cfg.Ladder...),
		allow:           make(map[string]struct{}, len(cfg.Allowlist)),
	}
	switch {
	case strings.Trim(cfg.DefaultCountry, "0123456789") != "" || cfg.DefaultCountry == "" || cfg.DefaultCountry[0] == '0':
		return Policy{}, fmt.Errorf("blocklist.default_country %q: want a country calling code such as 62", cfg.DefaultCountry)
	case cfg.Window <= 0:
		return Policy{}, fmt.Errorf("blocklist.window %s: must be positive", cfg.Window)
	case cfg.Threshold < 1:
		return Policy{}, fmt.Errorf("blocklist.threshold %d: must be at least 1", cfg.Threshold)
	case len(cfg.Ladder) == 0:
		return Policy{}, errors.New("blocklist.ladder: needs at least one block length")
	case cfg.Strikes.NoInput < 0 || cfg.Strikes.Abandoned < 0 || cfg.Strikes.Invalid < 0 || cfg.Strikes.VerdictPrank < 0:
		return Policy{}, errors.New("blocklist.strikes: points cannot be negative")
	case cfg.AbandonedWithin < 0:
		return Policy{}, fmt.Errorf("blocklist.abandoned_within %s: cannot be negative", cfg.AbandonedWithin)
	}
	for i, d := range cfg.Ladder {
		if d <= 0 {
			return Policy{}, fmt.Errorf("blocklist.ladder[%d] %s: must be positive", i, d)
		}
	}
	for i, raw := range cfg.Allowlist {
		n, err := Normalize(raw, cfg.DefaultCountry)
		if err != nil {
			return Policy{}, fmt.Errorf("blocklist.allowlist[%d]: %w", i, err)
		}
		if n.IsAnonymous() {
			return Policy{}, fmt.Errorf("blocklist.allowlist[%d] %q: not a number", i, raw)
		}
		p.allow[n.E164] = struct{}{}
	}
	return p, nil
}

// Normalize normalises raw with the policy's default country.
func (p Policy) Normalize(raw string) (Number, error) { return Normalize(raw, p.DefaultCountry) }

// Allowlisted reports whether the E.164 number is on the allowlist.
func (p Policy) Allowlisted(e164 string) bool {
	_, ok := p.allow[e164]
	return ok
}

// Strike is one reason to block, kept with the event that caused it.
type Strike struct {
	// EventID is the id of the event that added the strike.
	EventID string `json:"event_id"`
	// CallID is the call the strike is about; one call gives at most one
	// outcome strike and one verdict strike.
	CallID string `json:"call_id,omitempty"`
	// At is the event's time.
	At time.Time `json:"at"`
	// Points is how much the strike weighs.
	Points int `json:"points"`
	// Reason is the outcome or verdict (ReasonNoInput, ...).
	Reason string `json:"reason"`
}

// Seen is an event already applied to a record.
type Seen struct {
	ID string `json:"id"`
	// CallID and Reason of a strike, kept after a block has consumed the
	// strike so that the same call cannot strike again.
	CallID string    `json:"call_id,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Record is everything stored for one number.
type Record struct {
	// Number is the E.164 number.
	Number string `json:"number"`
	// Strikes inside the window, oldest first. A block consumes them.
	Strikes []Strike `json:"strikes,omitempty"`
	// Level is how many automatic blocks the number has had; it indexes the ladder.
	Level int `json:"level"`
	// Until is when the current block ends; zero or past means not blocked.
	Until time.Time `json:"until,omitzero"`
	// Reason says why the number is (or was last) blocked or unblocked, in
	// English; the CLI and the API show it, and it is all an older record
	// or a reason an admin typed has.
	Reason string `json:"reason,omitempty"`
	// ReasonCode names the policy's reason (CodeAutoBlock, ...) so that a
	// page can say it in its reader's language; empty when the reason is
	// someone's own words or the record predates codes.
	ReasonCode string `json:"reason_code,omitempty"`
	// ReasonArgs are the code's parameters (the Arg* keys). Values are
	// text, not typed fields, so that a new code's parameters need no new
	// field here and a page that cannot read one shows Reason instead.
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
	// SetBy is SetByAuto, "admin:<who>" or "operator:<who>".
	SetBy string `json:"set_by,omitempty"`
	// Manual is true while the block was set by an admin; a genuine verdict
	// does not lift a manual block.
	Manual bool `json:"manual,omitempty"`
	// Seen holds recent event ids already applied (idempotency).
	Seen []Seen `json:"seen,omitempty"`
	// Updated is the time of the last change.
	Updated time.Time `json:"updated,omitzero"`
}

// Blocked reports whether the number is blocked at now. A block ends at
// Until exactly: at now == Until the caller is no longer blocked.
func (r Record) Blocked(now time.Time) bool { return now.Before(r.Until) }

// Blocked is Record.Blocked as a function.
func Blocked(r Record, now time.Time) bool { return r.Blocked(now) }

// Score sums the strikes still inside the window at now.
func (p Policy) Score(r Record, now time.Time) int {
	sum := 0
	for _, s := range r.Strikes {
		if p.inWindow(s.At, now) {
			sum += s.Points
		}
	}
	return sum
}

// Forgettable reports whether r holds nothing that still matters at now,
// so that its record may be deleted: no block in force, no automatic block
// behind it (Level indexes the ladder, so a number once blocked is kept),
// no strike inside the window, and no change for a whole window (the event
// ids it remembers against redeliveries are older than any redelivery).
// A number struck once, by a child's call or a wrong key, is forgotten a
// window after its strike.
func (p Policy) Forgettable(r Record, now time.Time) bool {
	return r.Level == 0 && !r.Blocked(now) && p.Score(r, now) == 0 && now.Sub(r.Updated) >= p.Window
}

// inWindow: a strike of age exactly Window has expired; younger ones count.
func (p Policy) inWindow(at, now time.Time) bool { return now.Sub(at) < p.Window }

// Change says what applying an event did to a record.
type Change int

// Changes, from none to a lifted block.
const (
	// ChangeNone: nothing to store.
	ChangeNone Change = iota
	// ChangeStrike: a strike was added, the block state did not change.
	ChangeStrike
	// ChangeBlock: the number became blocked.
	ChangeBlock
	// ChangeExtend: an active block was lengthened or replaced.
	ChangeExtend
	// ChangeLift: an active block was lifted.
	ChangeLift
	// ChangeClear: strikes were cleared, no block was active.
	ChangeClear
)

// String names the change for logs and event reasons.
func (c Change) String() string {
	switch c {
	case ChangeNone:
		return "none"
	case ChangeStrike:
		return "strike"
	case ChangeBlock:
		return "block"
	case ChangeExtend:
		return "extend"
	case ChangeLift:
		return "lift"
	case ChangeClear:
		return "clear"
	}
	return "unknown"
}

// Changed reports whether the record must be stored.
func (c Change) Changed() bool { return c != ChangeNone }

// BlockChanged reports whether the block state changed (what
// blocklist.changed announces).
func (c Change) BlockChanged() bool {
	return c == ChangeBlock || c == ChangeExtend || c == ChangeLift
}

// Decision is the result of applying one event.
type Decision struct {
	// Change is what happened.
	Change Change
	// Points is the strike total that led to the decision (before a block consumed them).
	Points int
}

// Event identifies the event being applied.
type Event struct {
	// ID is the event id; an id already applied to the record is ignored.
	ID string
	// CallID is the call the event is about.
	CallID string
	// At is the event's time; windows and block lengths count from it.
	At time.Time
}

// ApplyOutcome applies a call's outcome. sinceAnswer is how long after the
// answer the call was classified (only used for abandoned calls; a negative
// value means unknown and does not count). hangupBy is the event's hangup_by
// ("" when it has none): an abandoned call that events.HangupBySystem ended
// was hung up inside Asterisk (CLI, AMI, a restart), not by the caller, and
// does not count. Outcomes without points, the allowlist, anonymous callers
// and already-seen events change nothing.
func (p Policy) ApplyOutcome(r Record, ev Event, outcome events.Outcome, sinceAnswer time.Duration, hangupBy string) (Record, Decision) {
	var points int
	var reason string
	switch outcome {
	case events.OutcomeNoInput:
		points, reason = p.Points.NoInput, ReasonNoInput
	case events.OutcomeInvalid:
		points, reason = p.Points.Invalid, ReasonInvalid
	case events.OutcomeAbandoned:
		if hangupBy != events.HangupBySystem && sinceAnswer >= 0 && sinceAnswer <= p.AbandonedWithin {
			points, reason = p.Points.Abandoned, ReasonAbandoned
		}
	}
	return p.strike(r, ev, points, reason)
}

// ApplyVerdict applies an operator's verdict on a call. prank adds
// Points.VerdictPrank; genuine clears the strikes and lifts an automatic
// block (a manual block is the admin's decision and stays; the lifted block
// also does not count towards the ladder, since it was a mistake).
func (p Policy) ApplyVerdict(r Record, ev Event, verdict, by string) (Record, Decision) {
	switch verdict {
	case events.VerdictPrank:
		return p.strike(r, ev, p.Points.VerdictPrank, ReasonVerdictPrank)
	case events.VerdictGenuine:
	default:
		return r, Decision{}
	}
	if !p.eligible(r) || r.seen(ev.ID) {
		return r, Decision{}
	}
	lift := r.Blocked(ev.At) && !r.Manual
	if len(r.Strikes) == 0 && !lift {
		return r, Decision{}
	}
	r = r.clone()
	d := Decision{Change: ChangeClear, Points: p.Score(r, ev.At)}
	r.Strikes = nil
	if lift {
		d.Change = ChangeLift
		r.Until = time.Time{}
		r.Level = max(r.Level-1, 0)
		r.Reason = "lifted: verdict genuine"
		r.ReasonCode, r.ReasonArgs = CodeLiftGenuine, nil
		r.SetBy = "operator:" + by
	}
	r.remember(ev, "", p.Window)
	return r, d
}

// eligible: anonymous callers and the allowlist are never stored.
func (p Policy) eligible(r Record) bool {
	return r.Number != "" && r.Number != phone.Anonymous && !p.Allowlisted(r.Number)
}

func (p Policy) strike(r Record, ev Event, points int, reason string) (Record, Decision) {
	if points <= 0 || !p.eligible(r) || r.seen(ev.ID) {
		return r, Decision{}
	}
	if ev.CallID != "" {
		// classified and ended of one call both carry its outcome; the call
		// counts once. A prank verdict is a separate strike, once per call.
		same := func(callID, other string) bool {
			return callID == ev.CallID && other != "" && (other == ReasonVerdictPrank) == (reason == ReasonVerdictPrank)
		}
		for _, s := range r.Strikes {
			if same(s.CallID, s.Reason) {
				return r, Decision{}
			}
		}
		for _, s := range r.Seen {
			if same(s.CallID, s.Reason) {
				return r, Decision{}
			}
		}
	}
	r = r.clone()
	kept := r.Strikes[:0]
	for _, s := range r.Strikes {
		if p.inWindow(s.At, ev.At) {
			kept = append(kept, s)
		}
	}
	r.Strikes = append(kept, Strike{EventID: ev.ID, CallID: ev.CallID, At: ev.At, Points: points, Reason: reason})
	r.remember(ev, reason, p.Window)
	total := p.Score(r, ev.At)
	if total < p.Threshold {
		return r, Decision{Change: ChangeStrike, Points: total}
	}
	return p.escalate(r, ev.At, total), Decision{Change: p.blockChange(r, ev.At), Points: total}
}

func (p Policy) blockChange(before Record, at time.Time) Change {
	if before.Blocked(at) {
		return ChangeExtend
	}
	return ChangeBlock
}

// escalate blocks for the ladder's length at the record's level. The strikes
// are consumed so that the next block needs a fresh set of strikes.
func (p Policy) escalate(r Record, at time.Time, total int) Record {
	length := p.Ladder[min(r.Level, len(p.Ladder)-1)]
	wasManual := r.Manual && r.Blocked(at)
	r.Level++
	if until := at.Add(length); until.After(r.Until) {
		r.Until = until
	}
	r.Reason = fmt.Sprintf("%d strikes within %s (%s); block %d for %s", total, HumanDuration(p.Window), summarise(r.Strikes), r.Level, HumanDuration(length))
	r.ReasonCode = CodeAutoBlock
	r.ReasonArgs = map[string]string{
		ArgStrikes: strconv.Itoa(total),
		ArgWindow:  p.Window.String(),
		ArgLevel:   strconv.Itoa(r.Level),
		ArgLength:  length.String(),
	}
	for _, s := range r.Strikes {
		n, _ := strconv.Atoi(r.ReasonArgs[ArgCountPrefix+s.Reason])
		r.ReasonArgs[ArgCountPrefix+s.Reason] = strconv.Itoa(n + 1)
	}
	if !wasManual {
		// An admin's block stays the admin's: a genuine verdict must not lift it.
		r.SetBy, r.Manual = SetByAuto, false
	}
	r.Strikes = nil
	return r
}

// summarise lists strike reasons with counts, e.g. "no_input x2, invalid x1".
func summarise(ss []Strike) string {
	count := map[string]int{}
	for _, s := range ss {
		count[s.Reason]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s x%d", n, count[n])
	}
	return strings.Join(parts, ", ")
}

// AddManual blocks the number until at+length on an admin's order; the
// admin's length replaces any current block, shorter or longer.
func (p Policy) AddManual(r Record, at time.Time, length time.Duration, reason, by string) (Record, Decision, error) {
	switch {
	case r.Number == "" || r.Number == phone.Anonymous:
		return r, Decision{}, ErrAnonymous
	case p.Allowlisted(r.Number):
		return r, Decision{}, fmt.Errorf("%w: %s", ErrAllowlisted, r.Number)
	case length <= 0:
		return r, Decision{}, fmt.Errorf("block length %s: must be positive", length)
	}
	if err := CheckReason(reason); err != nil {
		return r, Decision{}, err
	}
	if len(SetByAdmin+by) > events.MaxTextLen {
		return r, Decision{}, fmt.Errorf("%w: who blocked is %d bytes (at most %d)", ErrBadReason, len(by), events.MaxTextLen-len(SetByAdmin))
	}
	d := Decision{Change: p.blockChange(r, at), Points: p.Score(r, at)}
	r = r.clone()
	r.Until = at.Add(length)
	r.Manual = true
	r.SetBy = SetByAdmin + by
	// A typed reason is the admin's own words and carries no code, so no
	// page translates it; only the text we put in its place has one.
	r.Reason, r.ReasonCode, r.ReasonArgs = reason, "", nil
	if r.Reason == "" {
		r.Reason, r.ReasonCode = "blocked by admin", CodeAdminBlock
	}
	r.Updated = at
	return r, d, nil
}

// RemoveManual lifts any block (automatic or manual) and clears the strikes
// on an admin's order. The level stays, so a later automatic block still
// escalates.
func (p Policy) RemoveManual(r Record, at time.Time, by string) (Record, Decision) {
	blocked := r.Blocked(at)
	if !blocked && len(r.Strikes) == 0 {
		return r, Decision{}
	}
	d := Decision{Change: ChangeClear, Points: p.Score(r, at)}
	if blocked {
		d.Change = ChangeLift
	}
	r = r.clone()
	r.Strikes = nil
	r.Until = time.Time{}
	r.Manual = false
	r.SetBy = SetByAdmin + by
	r.Reason = "removed by admin"
	r.ReasonCode, r.ReasonArgs = CodeAdminRemove, nil
	r.Updated = at
	return r, d
}

func (r Record) seen(id string) bool {
	if id == "" {
		return false
	}
	for _, s := range r.Seen {
		if s.ID == id {
			return true
		}
	}
	for _, s := range r.Strikes {
		if s.EventID == id {
			return true
		}
	}
	return false
}

// remember records ev as applied, forgetting ids older than the window (a
// redelivery comes long before) and keeping at most maxSeen.
func (r *Record) remember(ev Event, strikeReason string, window time.Duration) {
	kept := r.Seen[:0]
	for _, s := range r.Seen {
		if ev.At.Sub(s.At) < window {
			kept = append(kept, s)
		}
	}
	seen := Seen{ID: ev.ID, At: ev.At}
	if strikeReason != "" {
		seen.CallID, seen.Reason = ev.CallID, strikeReason
	}
	kept = append(kept, seen)
	if len(kept) > maxSeen {
		kept = kept[len(kept)-maxSeen:]
	}
	r.Seen = kept
	if ev.At.After(r.Updated) {
		r.Updated = ev.At
	}
}

// clone copies the slices so a caller's record is never changed in place.
func (r Record) clone() Record {
	r.Strikes = append([]Strike(nil), r.Strikes...)
	r.Seen = append([]Seen(nil), r.Seen...)
	return r
}
