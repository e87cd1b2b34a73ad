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
	// VarRecording is the name of the voice or location recording ("" if none).
	VarRecording = "SIAGA112_RECORDING"
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
	// Recording is the voice or location recording's name ("" if none).
	Recording string
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
	goodbye, menu                       []string
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
	f.goodbye = f.sounds(p.Goodbye)
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
	case cfg.TalkDetect && cfg.VoiceRecordMax <= 0:
		return bad("ivr.voice_record_max must be positive when ivr.talk_detect is on, got %s", cfg.VoiceRecordMax)
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
	if cfg.Location.Enabled {
		switch {
		case cfg.Prompts.Location == "":
			return bad("ivr.prompts.location is empty while ivr.location.enabled is on")
		case cfg.Location.MaxDuration <= 0:
			return bad("ivr.location.max_duration must be positive, got %s", cfg.Location.MaxDuration)
		}
	}
	if (cfg.Location.Enabled || cfg.TalkDetect) && cfg.Location.MaxSilence <= 0 {
		return bad("ivr.location.max_silence must be positive, got %s", cfg.Location.MaxSilence)
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
// The call, step by step:
//   - Answer, then call.answered.
//   - Greeting, taking one key without waiting after it: a key pressed
//     during the greeting is the first menu attempt's key.
//   - A blocked caller hears greeting and warning as one prompt; the
//     override key puts them through (blocked_override), silence ends the
//     call (blocked), a wrong key replays the warning up to MenuAttempts;
//     when every play was cut short by a wrong key, a last play runs in
//     full (keys do not stop it) before the override key is awaited.
//   - The menu, up to MenuAttempts times, each attempt ending in call.menu.
//     A retry after a wrong key starts with the invalid prompt, after
//     silence with the no-input prompt; both can be keyed through. Talk
//     makes the call voice at once; its recording is taken before transfer.
//   - Attempts used up with the last one silent: the silent-help prompt.
//     Otherwise (or without the code) invalid if any key was wrong, else
//     no_input; then goodbye and hang up.
//   - A chosen entry other than the operator entry records the location
//     when enabled; then the connecting prompt, call.classified, channel
//     variables, Continue and call.transferred.
//
// call.classified carries the time from answer to the decision; it is
// emitted after any recording so it can name it. A caller who hangs up
// before deciding is abandoned; after deciding, the decision stands.
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
		r.classify(ctx, d.outcome, "", decidedAt, "")
		r.endCall(ctx)
	default:
		r.putThrough(ctx, d, decidedAt)
	}
}

// decide plays the greeting and either the blocked warning or the menu until
// the caller's input amounts to a decision. On error it names the step.
func (r *run) decide(ctx context.Context) (decision, string, error) {
	if r.in.Blocked {
		r.log.Info("blocked caller", "until", r.in.BlockUntil)
		return r.blockedChoice(ctx)
	}
	var early string
	if len(r.f.greeting) > 0 {
		// The greeting takes one key without waiting after it: a caller who
		// already knows the menu keys the choice during the greeting, and
		// that key counts as the first menu attempt. Talk is not detected
		// here: callers often say "halo?" while the greeting starts.
		res, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.greeting), MaxDigits: 1})
		if err != nil {
			return decision{}, "greeting", err
		}
		if res.Digits != "" {
			early = res.Digits
		}
	}
	return r.menu(ctx, early)
}

// blockedChoice offers a blocked caller the override key. The greeting and
// the warning are one prompt so a key during either counts. A wrong key
// replays the warning (up to MenuAttempts plays) because a caller who presses
// something is trying to get through; silence ends the offer.
func (r *run) blockedChoice(ctx context.Context) (decision, string, error) {
	cfg := r.f.cfg
	sounds := slices.Concat(r.f.greeting, r.f.blocked)
	for a := 1; a <= cfg.MenuAttempts; a++ {
		r.res.Attempts = a
		res, err := r.call.Prompt(ctx, PromptSpec{
			Sounds:            sounds,
			MaxDigits:         1,
			FirstDigitTimeout: cfg.BlockedOverrideTimeout,
		})
		if err != nil {
			return decision{}, "blocked warning", err
		}
		if res.Digits == "" {
			break
		}
		if res.Digits[:1] == cfg.BlockedOverrideDigit {
			return decision{outcome: events.OutcomeBlockedOverride}, "", nil
		}
		sounds = slices.Clone(r.f.blocked)
		if a == cfg.MenuAttempts {
			return r.lastBlockedOffer(ctx)
		}
	}
	return decision{outcome: events.OutcomeBlocked}, "", nil
}

// lastBlockedOffer runs when every play of the warning was cut short by a
// wrong key. A key stops the warning (barge-in), often before it names the
// override key, and the first play's key may even have come during the
// greeting: such a caller may never have heard how to get through. So the
// warning is played once more in full, keys not stopping it, and then the
// override key is awaited; a key pressed during this play counts.
func (r *run) lastBlockedOffer(ctx context.Context) (decision, string, error) {
	cfg := r.f.cfg
	r.res.Attempts++
	if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.blocked)}); err != nil {
		return decision{}, "blocked warning", err
	}
	res, err := r.call.Prompt(ctx, PromptSpec{MaxDigits: 1, FirstDigitTimeout: cfg.BlockedOverrideTimeout})
	if err != nil {
		return decision{}, "blocked warning", err
	}
	if res.Digits != "" && res.Digits[:1] == cfg.BlockedOverrideDigit {
		return decision{outcome: events.OutcomeBlockedOverride}, "", nil
	}
	return decision{outcome: events.OutcomeBlocked}, "", nil
}

// menu offers the menu up to MenuAttempts times. early is a key pressed
// during the greeting, used as the first attempt's answer.
//
// Classification rules: talk at any attempt (or on the silent-help prompt)
// makes the call `voice` at once; a listed key makes it `emergency`. When the
// attempts run out, a caller whose last attempt was silent is offered the
// silent-help code, even after earlier wrong keys, since someone may have
// stopped them speaking or pressing mid-call. Without the code the call is
// `invalid` if any attempt had a wrong key and `no_input` otherwise.
func (r *run) menu(ctx context.Context, early string) (decision, string, error) {
	cfg := r.f.cfg
	var prefix []string
	anyInvalid, lastSilent := false, false
	for a := 1; a <= cfg.MenuAttempts; a++ {
		r.res.Attempts = a
		var res PromptResult
		if a == 1 && early != "" {
			res = PromptResult{Digits: early, Status: PromptDone}
		} else {
			var err error
			res, err = r.call.Prompt(ctx, PromptSpec{
				Sounds:            slices.Concat(prefix, r.f.menu),
				MaxDigits:         1,
				FirstDigitTimeout: cfg.FirstDigitTimeout,
				DetectTalk:        cfg.TalkDetect,
				TalkMin:           r.talkMin(),
			})
			if err != nil {
				return decision{}, fmt.Sprintf("menu attempt %d", a), err
			}
		}
		switch {
		case res.Status == PromptTalk:
			r.talk = true
			r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuVoice})
			return decision{outcome: events.OutcomeVoice}, "", nil
		case res.Digits == "":
			r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Result: events.MenuTimeout})
			lastSilent, prefix = true, r.f.noInput
		default:
			if e, ok := r.f.entries[res.Digits[:1]]; ok {
				r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuValid})
				return decision{outcome: events.OutcomeEmergency, entry: e}, "", nil
			}
			r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuInvalid})
			anyInvalid, lastSilent, prefix = true, false, r.f.invalid
		}
	}
	if lastSilent && cfg.SilentHelpDigits != "" {
		res, err := r.call.Prompt(ctx, PromptSpec{
			Sounds:            slices.Clone(r.f.silentHelp),
			MaxDigits:         len(cfg.SilentHelpDigits),
			FirstDigitTimeout: cfg.SilentHelpTimeout,
			InterDigitTimeout: cfg.InterDigitTimeout,
			DetectTalk:        cfg.TalkDetect,
			TalkMin:           r.talkMin(),
		})
		if err != nil {
			return decision{}, "silent help", err
		}
		switch {
		case res.Status == PromptTalk:
			r.talk = true
			return decision{outcome: events.OutcomeVoice}, "", nil
		case res.Digits == cfg.SilentHelpDigits:
			return decision{outcome: events.OutcomeSilentHelp}, "", nil
		}
	}
	if anyInvalid {
		return decision{outcome: events.OutcomeInvalid}, "", nil
	}
	return decision{outcome: events.OutcomeNoInput}, "", nil
}

func (r *run) talkMin() time.Duration {
	if !r.f.cfg.TalkDetect {
		return 0
	}
	return r.f.cfg.TalkMinDuration
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

// putThrough records what the decision asks for, classifies the call and
// continues it to the operators.
func (r *run) putThrough(ctx context.Context, d decision, decidedAt time.Time) {
	cfg := r.f.cfg
	ext, typ := r.f.operatorExt, ""
	if d.outcome == events.OutcomeEmergency {
		ext, typ = d.entry.Extension, d.entry.Type
	}
	var recording string
	step, err := func() (string, error) {
		switch {
		case d.outcome == events.OutcomeVoice:
			name, err := r.call.Record(ctx, RecordSpec{
				Name:        "siaga112-" + r.in.CallID + "-voice",
				MaxDuration: cfg.VoiceRecordMax,
				MaxSilence:  cfg.Location.MaxSilence,
			})
			recording = name
			if err != nil {
				return "voice recording", err
			}
		// The operator entry skips the location question: that caller asked
		// for a person, and the person can ask.
		case d.outcome == events.OutcomeEmergency && cfg.Location.Enabled && typ != TypeOperator:
			if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.location)}); err != nil {
				return "location prompt", err
			}
			name, err := r.call.Record(ctx, RecordSpec{
				Name:        "siaga112-" + r.in.CallID + "-location",
				MaxDuration: cfg.Location.MaxDuration,
				MaxSilence:  cfg.Location.MaxSilence,
			})
			recording = name
			if err != nil {
				return "location recording", err
			}
		}
		if len(r.f.connecting) > 0 {
			if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.connecting)}); err != nil {
				return "connecting prompt", err
			}
		}
		return "", nil
	}()
	r.res.Recording = recording
	if err != nil {
		if errors.Is(err, ErrHangup) {
			// The caller chose and then hung up: the choice stands, so the
			// operators see a fire call that dropped, not an abandoned one.
			r.log.Info("caller hung up after choosing", "step", step, "outcome", d.outcome)
			r.classify(ctx, d.outcome, typ, decidedAt, "")
			r.res.Extension = ""
			r.res.HangupBy = hangupBy(err)
			return
		}
		r.failover(ctx, typ, ext, step, err)
		return
	}
	r.classify(ctx, d.outcome, typ, decidedAt, "")
	r.transfer(ctx, ext, d.outcome == events.OutcomeBlockedOverride, nil)
}

// failover is emergency first: whatever broke, the caller goes to an
// operator, to the chosen type's extension when the type is known.
func (r *run) failover(ctx context.Context, typ, ext, step string, err error) {
	reason := step + ": " + err.Error()
	if ctx.Err() != nil {
		// The call's context ends when the IVR drains for shutdown (or
		// loses Asterisk): putting the caller through is the planned
		// behaviour then, not a fault worth an error line per call.
		reason = step + ": shutdown: " + err.Error()
		r.log.Warn("call interrupted, putting the caller through to operators", "step", step, "err", err, "extension", ext)
	} else {
		r.log.Error("ivr step failed, putting the caller through to operators", "step", step, "err", err, "extension", ext)
	}
	r.res.Reason = reason
	r.classify(ctx, events.OutcomeFailover, typ, r.f.clock.Now(), reason)
	r.transfer(ctx, ext, false, map[string]string{VarFailover: reason})
}

// classify records the outcome and emits call.classified once.
func (r *run) classify(ctx context.Context, o events.Outcome, typ string, at time.Time, reason string) {
	r.res.Outcome, r.res.EmergencyType = o, typ
	if r.classified {
		return
	}
	r.classified = true
	var secs float64
	if !r.answeredAt.IsZero() {
		secs = at.Sub(r.answeredAt).Seconds()
	}
	r.emit(ctx, events.TypeClassified, events.Classified{
		Outcome:           o,
		EmergencyType:     typ,
		Attempts:          r.res.Attempts,
		SecondsToClassify: secs,
		TalkDetected:      r.talk,
		Recording:         r.res.Recording,
		Reason:            reason,
		HangupBy:          abandonedBy(o, r.res.HangupBy),
	})
}

// abandonedBy is call.classified's hangup_by: set for an abandoned call
// only, where it tells the caller's hangup from the system's.
func abandonedBy(o events.Outcome, by string) string {
	if o != events.OutcomeAbandoned {
		return ""
	}
	return by
}

// transfer sets the channel variables and continues the call to ext in the
// operators' context. Variables are best effort: a caller is put through
// even when they could not be set.
func (r *run) transfer(ctx context.Context, ext string, override bool, extra map[string]string) {
	cfg := r.f.cfg
	r.res.Extension = ext
	hctx, cancel := handoffContext(ctx)
	defer cancel()

	typ := r.res.EmergencyType
	if typ == "" {
		typ = string(r.res.Outcome)
	}
	vars := map[string]string{
		VarCallID:    r.in.CallID,
		VarType:      typ,
		VarRecording: r.res.Recording,
		VarOutcome:   string(r.res.Outcome),
	}
	for k, v := range extra {
		vars[k] = v
	}
	if err := r.call.SetVariables(hctx, vars); err != nil {
		if errors.Is(err, ErrHangup) {
			r.res.HangupBy = hangupBy(err)
			return
		}
		r.log.Warn("could not set channel variables; continuing without them", "err", err)
	}
	err := r.call.Continue(hctx, cfg.OperatorContext, ext, 1)
	if err != nil && !errors.Is(err, ErrHangup) && hctx.Err() != nil {
		// The context ended during Continue (shutdown began): try once more
		// on a fresh one rather than leave the caller in Stasis.
		cancel()
		hctx, cancel = handoffContext(hctx)
		defer cancel()
		err = r.call.Continue(hctx, cfg.OperatorContext, ext, 1)
	}
	if err != nil {
		if errors.Is(err, ErrHangup) {
			r.res.HangupBy = hangupBy(err)
			return
		}
		msg := "continue to " + cfg.OperatorContext + "," + ext + ",1: " + err.Error()
		if r.res.Reason != "" {
			msg = r.res.Reason + "; " + msg
		}
		r.res.Reason = msg
		r.log.Error("could not put the caller through to operators", "err", err, "extension", ext)
		return
	}
	r.res.Transferred = true
	r.emit(hctx, events.TypeTransferred, events.Transferred{
		EmergencyType:   r.res.EmergencyType,
		Context:         cfg.OperatorContext,
		Extension:       ext,
		BlockedOverride: override,
	})
}

// endCall says goodbye and hangs up a classified call that goes nowhere.
func (r *run) endCall(ctx context.Context) {
	if len(r.f.goodbye) > 0 {
		if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.goodbye)}); err != nil {
			if errors.Is(err, ErrHangup) {
				r.res.HangupBy = hangupBy(err)
				return
			}
			// The call ends either way; a goodbye that did not play is no
			// reason to keep the caller on the line.
			r.log.Warn("goodbye prompt failed; hanging up", "err", err)
		}
	}
	hctx, cancel := handoffContext(ctx)
	defer cancel()
	if err := r.call.Hangup(hctx); err != nil {
		if errors.Is(err, ErrHangup) {
			r.res.HangupBy = hangupBy(err)
			return
		}
		r.res.Reason = "hangup: " + err.Error()
		r.log.Error("could not hang up", "err", err)
		return
	}
	r.res.HangupBy = events.HangupBySystem
}

// handoffContext returns ctx while it is live, else a fresh context bounded
// by FailoverTimeout that keeps ctx's values.
func handoffContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), FailoverTimeout)
}

func (r *run) emit(ctx context.Context, t events.Type, data any) {
	if ctx.Err() != nil {
		// The emitter must not lose an event because shutdown began; the
		// context only carries values here.
		ctx = context.WithoutCancel(ctx)
	}
	r.em.Emit(ctx, t, data)
}
