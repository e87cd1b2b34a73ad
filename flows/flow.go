package flows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// TypeOperator is the menu entry type that means "put me through to a
// person". Its extension is where voice, silent-help and blocked-override
// calls go; without such an entry they go to FailoverExtension.
const TypeOperator = "operator"

// FailoverTimeout bounds the hand-off to operators when the call's own
// context has already ended (shutdown, or the session gave up on a step).
// The hand-off then runs on a fresh context so a caller who may need help is
// not dropped just because siaga112 is stopping.
const FailoverTimeout = 5 * time.Second

// Channel variables set before the call continues into the dialplan.
const (
	// VarCallID carries the call id (the Asterisk channel id).
	VarCallID = "SIAGA112_CALL_ID"
	// VarType is the chosen emergency type, or the outcome name (voice,
	// silent_help, blocked_override, failover) when no type was chosen.
	VarType = "SIAGA112_TYPE"
	// VarRecording is the name of the location recording ("" if none).
	VarRecording = "SIAGA112_RECORDING"
	// VarCallRecording is the whole-call recording the dialplan makes
	// ("" when ivr.call_recording_prefix is empty).
	VarCallRecording = "SIAGA112_CALL_RECORDING"
	// VarOutcome is the call's outcome (emergency, voice, silent_help, ...).
	VarOutcome = "SIAGA112_OUTCOME"
	// VarFailover is set only on failover and says which step failed.
	VarFailover = "SIAGA112_FAILOVER"
)

// Input is what the session knows about the call before the flow starts.
type Input struct {
	// CallID is the Asterisk channel id; recordings are named after it.
	CallID string
	// Number is the caller's number (for logs; the flow does not route on it).
	Number string
	// Anonymous is true when the caller withheld the number.
	Anonymous bool
	// Blocked is true when the blocklist holds the number right now.
	Blocked bool
	// BlockUntil is when the block ends (for logs).
	BlockUntil time.Time
	// Log is the call's logger (call id, node, masked number). Nil uses the
	// Flow's logger with the call id added.
	Log *slog.Logger
	// Incident is the incident announcement playing now, nil when none.
	Incident *Announcement
}

// Announcement is an incident announcement the caller hears right after
// the greeting.
type Announcement struct {
	// ID names the incident in events.
	ID string
	// Media is the announcement's media URI (sound:... or recording:...).
	Media string
}

// Result is how the flow left the call.
type Result struct {
	// Outcome is never empty once Run returns.
	Outcome events.Outcome
	// EmergencyType is the type of the chosen menu entry ("" if none was chosen).
	EmergencyType string
	// Attempts is how many choices the caller was offered, counting one in
	// progress when the call ended: menu attempts, or plays of the blocked
	// warning for a blocked caller.
	Attempts int
	// Recording is the location recording's name ("" if none).
	Recording string
	// Callback is true when the caller asked for help (emergency, voice,
	// silent_help, blocked_override) and the line dropped before the
	// hand-off to operators succeeded: someone must call them back.
	Callback bool
	// SecondsToQueue is the time from answer to the successful hand-off
	// (0 when the call was not handed off).
	SecondsToQueue float64
	// Transferred is true when Continue into the operators' context succeeded.
	Transferred bool
	// Extension is the operators' extension the call was (or was to be)
	// continued to; "" when the flow ended the call itself.
	Extension string
	// HangupBy is events.HangupByCaller when the caller hung up,
	// events.HangupBySystem when the flow hung up or a Call method reported
	// ErrSystemHangup, and "" when the call left to the dialplan or the
	// flow's own hangup failed.
	HangupBy string
	// Reason says why the call failed over, or which step failed after the
	// call was classified (a failed Continue or Hangup). When Transferred is
	// false and HangupBy is "", the session must still end or retry the call.
	Reason string
}

// Flow runs the emergency IVR of DESIGN.md over a Call. A Flow is immutable
// after New and safe for any number of concurrent calls; every PromptSpec it
// hands a Call has its own Sounds slice.
type Flow struct {
	cfg   configs.IVR
	clock Clock
	log   *slog.Logger

	entries     map[string]configs.MenuEntry
	operatorExt string

	greeting, blocked, invalid, noInput []string
	silentHelp, location, connecting    []string
	goodbye, menu, noInputHelp          []string
	incidentOffer, incidentAck          []string
	callback                            []string
}

// ErrConfig is wrapped by New when the IVR configuration cannot run a call.
var ErrConfig = errors.New("flows: unusable ivr config")

// systemClock is the real clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New checks that cfg can run a call and prepares the prompts. A nil clock
// uses the system clock; a nil logger discards.
func New(cfg configs.IVR, clock Clock, log *slog.Logger) (*Flow, error) {
	if clock == nil {
		clock = systemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	f := &Flow{cfg: cfg, clock: clock, log: log, entries: make(map[string]configs.MenuEntry, len(cfg.Menu))}
	f.operatorExt = cfg.FailoverExtension
	for _, e := range cfg.Menu {
		f.entries[e.Digit] = e
		if e.Type == TypeOperator {
			f.operatorExt = e.Extension
		}
	}
	p := cfg.Prompts
	f.greeting = f.sounds(p.Greeting)
	f.blocked = f.sounds(p.Blocked)
	f.invalid = f.sounds(p.Invalid)
	f.noInput = f.sounds(p.NoInput)
	f.silentHelp = f.sounds(p.SilentHelp)
	f.location = f.sounds(p.Location)
	f.connecting = f.sounds(p.Connecting)
	f.noInputHelp = f.noInput
	if cfg.SilentHelpDigits != "" {
		// After a silent attempt the retry offers the silent-help code at
		// once: a caller who cannot speak should not wait for three rounds
		// of the menu to learn it.
		f.noInputHelp = slices.Concat(f.noInput, f.silentHelp)
	}
	f.goodbye = f.sounds(p.Goodbye)
	f.incidentOffer = f.sounds(p.IncidentOffer)
	f.incidentAck = f.sounds(p.IncidentAck)
	f.callback = f.sounds(p.Callback)
	f.menu = f.sounds(p.Menu)
	for _, e := range cfg.Menu {
		f.menu = append(f.menu, f.sounds(e.Prompt)...)
	}
	return f, nil
}

// sounds turns prompt names into media URIs; an empty name is a prompt the
// administrator switched off.
func (f *Flow) sounds(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, f.cfg.SoundPrefix+n)
		}
	}
	return out
}

func validate(cfg configs.IVR) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if len(cfg.Menu) == 0 {
		return bad("ivr.menu has no entries")
	}
	menuHeard := cfg.Prompts.Menu != ""
	seen := make(map[string]bool, len(cfg.Menu))
	for i, e := range cfg.Menu {
		switch {
		case !isKey(e.Digit):
			return bad("ivr.menu[%d].digit %q is not one key (0-9, *, #)", i, e.Digit)
		case seen[e.Digit]:
			return bad("ivr.menu[%d].digit %q is used twice", i, e.Digit)
		case e.Type == "":
			return bad("ivr.menu[%d].type is empty", i)
		case e.Extension == "":
			return bad("ivr.menu[%d].extension is empty", i)
		}
		seen[e.Digit] = true
		menuHeard = menuHeard || e.Prompt != ""
	}
	switch {
	case !menuHeard:
		return bad("ivr.prompts.menu and every ivr.menu[].prompt are empty: the caller would hear no choices")
	case cfg.MenuAttempts < 1:
		return bad("ivr.menu_attempts must be at least 1, got %d", cfg.MenuAttempts)
	case cfg.FirstDigitTimeout <= 0:
		return bad("ivr.first_digit_timeout must be positive, got %s", cfg.FirstDigitTimeout)
	case cfg.TalkDetect && cfg.TalkMinDuration <= 0:
		return bad("ivr.talk_min_duration must be positive when ivr.talk_detect is on, got %s", cfg.TalkMinDuration)
	case cfg.IncidentDigit != "" && !isKey(cfg.IncidentDigit):
		return bad("ivr.incident_digit %q is not one key (0-9, *, #)", cfg.IncidentDigit)
	case !isKey(cfg.BlockedOverrideDigit):
		return bad("ivr.blocked_override_digit %q is not one key (0-9, *, #)", cfg.BlockedOverrideDigit)
	case cfg.Prompts.Blocked == "":
		return bad("ivr.prompts.blocked is empty: a blocked caller must hear how to get through")
	case cfg.BlockedOverrideTimeout <= 0:
		return bad("ivr.blocked_override_timeout must be positive, got %s", cfg.BlockedOverrideTimeout)
	case cfg.OperatorContext == "":
		return bad("ivr.operator_context is empty")
	case cfg.FailoverExtension == "":
		return bad("ivr.failover_extension is empty")
	}
	if cfg.SilentHelpDigits != "" {
		for _, c := range cfg.SilentHelpDigits {
			if !isKey(string(c)) {
				return bad("ivr.silent_help_digits %q has a character that is not a key", cfg.SilentHelpDigits)
			}
		}
		switch {
		case cfg.Prompts.SilentHelp == "":
			return bad("ivr.prompts.silent_help is empty while ivr.silent_help_digits is set")
		case cfg.SilentHelpTimeout <= 0:
			return bad("ivr.silent_help_timeout must be positive, got %s", cfg.SilentHelpTimeout)
		case len(cfg.SilentHelpDigits) > 1 && cfg.InterDigitTimeout <= 0:
			return bad("ivr.inter_digit_timeout must be positive, got %s", cfg.InterDigitTimeout)
		}
	}
	switch cfg.Location.When {
	case configs.LocationBusy, configs.LocationAlways:
		switch {
		case cfg.Prompts.Location == "":
			return bad("ivr.prompts.location is empty while ivr.location.when is %s", cfg.Location.When)
		case cfg.Location.MaxDuration <= 0:
			return bad("ivr.location.max_duration must be positive, got %s", cfg.Location.MaxDuration)
		case cfg.Location.MaxSilence <= 0:
			return bad("ivr.location.max_silence must be positive, got %s", cfg.Location.MaxSilence)
		}
	case configs.LocationNever:
	default:
		return bad("ivr.location.when %q is not busy, always or never", cfg.Location.When)
	}
	return nil
}

func isKey(s string) bool {
	if len(s) != 1 {
		return false
	}
	c := s[0]
	return c >= '0' && c <= '9' || c == '*' || c == '#'
}

// Emitter that drops everything, used when Run is given none.
type noEmitter struct{}

func (noEmitter) Emit(context.Context, events.Type, any) {}

// Run plays the call to its end: it returns once the call was continued into
// the dialplan, hung up, or left by the caller. It never panics on any
// PromptResult and always returns a non-empty Outcome.
//
// The rule: the IVR filters only callers who give no sign of a person in
// need. Any sign puts the caller through: a menu key; talk of at least
// TalkMinDuration at any prompt from answer on (greeting and warnings
// included); the silent-help code at any prompt; any key at the
// silent-help prompt. Only silence, an early hang-up, or nothing but wrong
// keys ends a call.
//
// The call, step by step:
//   - Answer, then call.answered.
//   - Greeting, taking one key (or the silent-help code) without waiting
//     after it: a key pressed during the greeting is the first menu
//     attempt's key. Talk during the greeting makes the call voice.
//   - A blocked caller hears greeting and warning as one prompt; the
//     override key, talk or the silent-help code puts them through
//     (blocked_override, with the reason); a wrong key replays the warning
//     up to MenuAttempts (when every play was cut short by a wrong key, a
//     last play runs in full before the override key is awaited); silence
//     leads to the silent-help prompt, where any key or talk still puts
//     them through, else the call ends as blocked.
//   - The menu, up to MenuAttempts times, each attempt ending in call.menu.
//     A retry after a wrong key starts with the invalid prompt, after
//     silence with the no-input prompt followed by the silent-help offer,
//     so a silent caller hears "press 5 5" early. Talk makes the call
//     voice at once; the silent-help code makes it silent_help.
//   - Attempts used up with the last one silent: the silent-help prompt,
//     where any key puts the caller through. Otherwise invalid if any key
//     was wrong, else no_input; then goodbye and hang up. Goodbye (and the
//     incident acknowledgement) listens like every prompt: talk, the
//     silent-help code or a menu key there still puts the caller through,
//     and the call is classified only once it is over.
//   - A chosen type asks for the location only when ivr.location.when says
//     so (busy: no operator of the entry's queue is free); then the
//     connecting prompt if configured, call.classified, channel variables,
//     Continue and call.transferred with the time from answer.
//
// call.classified carries the time from answer to the decision; it is
// emitted after any recording so it can name it. A caller who hangs up
// before deciding is abandoned; after deciding, the decision stands and a
// caller who asked for help is marked for call-back.
//
// Emergency first: any other error (including the end of ctx) fails the
// call over to operators, to the chosen type's extension when known, else
// FailoverExtension, with outcome failover and a Reason. When ctx has ended
// the hand-off runs on a fresh context bounded by FailoverTimeout.
func (f *Flow) Run(ctx context.Context, call Call, in Input, em Emitter) Result {
	if em == nil {
		em = noEmitter{}
	}
	log := in.Log
	if log == nil {
		log = f.log.With("call_id", in.CallID)
	}
	r := &run{f: f, call: call, in: in, em: em, log: log}
	r.execute(ctx)
	return r.res
}

// decision is what the caller's input amounted to, before anything is said
// about it to the world.
type decision struct {
	outcome events.Outcome
	// entry is the chosen menu entry (outcome emergency only).
	entry configs.MenuEntry
	// reason says what a blocked caller did to get through (key, talk,
	// silent_help); empty otherwise.
	reason string
}

// run is one call's state.
type run struct {
	f    *Flow
	call Call
	in   Input
	em   Emitter
	log  *slog.Logger

	answeredAt time.Time
	res        Result
	talk       bool
	classified bool
	// helpAsked is set once the caller's input asked for an operator.
	helpAsked bool
	// heardIncident is set once the incident announcement started.
	heardIncident bool
}

func (r *run) execute(ctx context.Context) {
	if err := r.call.Answer(ctx); err != nil {
		r.undecidedError(ctx, "answer", err)
		return
	}
	r.answeredAt = r.f.clock.Now()
	r.emit(ctx, events.TypeAnswered, events.Answered{})

	d, step, err := r.decide(ctx)
	if err != nil {
		r.undecidedError(ctx, step, err)
		return
	}
	decidedAt := r.f.clock.Now()
	switch d.outcome {
	case events.OutcomeNoInput, events.OutcomeInvalid, events.OutcomeBlocked:
		r.endCall(ctx, d, decidedAt, r.f.goodbye)
	case events.OutcomeIncidentAck:
		r.endCall(ctx, d, decidedAt, r.f.incidentAck)
	default:
		r.putThrough(ctx, d, decidedAt)
	}
}

// undecidedError handles an error before the call was classified: a caller
// who hung up abandoned the call; anything else fails over to operators.
func (r *run) undecidedError(ctx context.Context, step string, err error) {
	if errors.Is(err, ErrHangup) {
		// The outcome stays abandoned either way (DESIGN's contract);
		// hangup_by lets the blocklist spare a caller whose call Asterisk
		// ended (CLI, AMI, restart).
		by := hangupBy(err)
		r.log.Info("call hung up before choosing", "step", step, "hangup_by", by)
		r.res.HangupBy = by
		r.classify(ctx, events.OutcomeAbandoned, "", r.f.clock.Now(), "")
		return
	}
	r.failover(ctx, "", r.f.cfg.FailoverExtension, step, err)
}

// hangupBy says who ended a call whose Call method returned err, an
// ErrHangup: the system when the Call marked it ErrSystemHangup, else the
// caller.
func hangupBy(err error) string {
	if errors.Is(err, ErrSystemHangup) {
		return events.HangupBySystem
	}
	return events.HangupByCaller
}

func (r *run) emit(ctx context.Context, t events.Type, data any) {
	if ctx.Err() != nil {
		// The emitter must not lose an event because shutdown began; the
		// context only carries values here.
		ctx = context.WithoutCancel(ctx)
	}
	r.em.Emit(ctx, t, data)
}
