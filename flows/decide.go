package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Reasons a blocked caller was put through, in call.classified's reason.
const (
	OverrideKey        = "key"
	OverrideTalk       = "talk"
	OverrideSilentHelp = "silent_help"
)

// decide plays the greeting and either the blocked warning or the menu until
// the caller's input amounts to a decision. On error it names the step.
func (r *run) decide(ctx context.Context) (decision, string, error) {
	if r.in.Blocked {
		r.log.Info("blocked caller", "until", r.in.BlockUntil)
		return r.blockedChoice(ctx)
	}
	var early PromptResult
	if len(r.f.greeting) > 0 {
		// The greeting takes one key (or the silent-help code) without
		// waiting after it: a caller who already knows the menu keys the
		// choice during the greeting, and that key counts as the first menu
		// attempt. Talk counts from answer on: a caller shouting "fire!"
		// over the greeting is put through, while a short "halo?" stays
		// under the talk minimum.
		res, err := r.call.Prompt(ctx, r.keySpec(r.f.greeting, 0))
		if err != nil {
			return decision{}, "greeting", err
		}
		early = res
	}
	if r.in.Incident != nil && early.Digits == "" && early.Status != PromptTalk {
		// No wait after the offer: the menu follows at once, and 8 still
		// counts while it plays, so callers with another emergency lose
		// only the announcement's length.
		res, err := r.incidentOffer(ctx, nil, 0)
		if err != nil {
			return decision{}, "incident announcement", err
		}
		if r.isIncidentKey(res) {
			return decision{outcome: events.OutcomeIncidentAck}, "", nil
		}
		// Anything else the caller did there (talk, 55, a menu key, a
		// wrong key) is their answer to the menu's first attempt, under
		// the same rules.
		early = res
	}
	return r.menu(ctx, early)
}

// incidentOffer plays the incident announcement and the offer of the
// incident key, after before (the greeting, for a blocked caller), with the
// same key, code and talk rules as every prompt.
func (r *run) incidentOffer(ctx context.Context, before []string, first time.Duration) (PromptResult, error) {
	r.heardIncident = true
	sounds := slices.Concat(before, []string{r.in.Incident.Media}, r.f.incidentOffer)
	return r.call.Prompt(ctx, r.keySpec(sounds, first))
}

// isIncidentKey reports whether the answer is the incident key alone.
func (r *run) isIncidentKey(res PromptResult) bool {
	return res.Status != PromptTalk && res.Digits == r.f.cfg.IncidentDigit
}

// keySpec is a prompt that takes one key or the silent-help code and
// detects talk, waiting first for the first key after the sounds.
func (r *run) keySpec(sounds []string, first time.Duration) PromptSpec {
	cfg := r.f.cfg
	spec := PromptSpec{
		Sounds:            slices.Clone(sounds),
		MaxDigits:         1,
		FirstDigitTimeout: first,
		DetectTalk:        cfg.TalkDetect,
		TalkMin:           r.talkMin(),
	}
	if len(cfg.SilentHelpDigits) > 1 {
		spec.Code, spec.InterDigitTimeout = cfg.SilentHelpDigits, cfg.InterDigitTimeout
	}
	return spec
}

// isSilentHelp reports whether digits start with the silent-help code.
func (r *run) isSilentHelp(digits string) bool {
	code := r.f.cfg.SilentHelpDigits
	return code != "" && strings.HasPrefix(digits, code)
}

// menuKey returns the first menu entry among digits: a caller who pressed
// a wrong key and then a right one within the same answer still chose.
func (r *run) menuKey(digits string) (decision, bool) {
	for _, d := range digits {
		if e, ok := r.f.entries[string(d)]; ok {
			return decision{outcome: events.OutcomeEmergency, entry: e}, true
		}
	}
	return decision{}, false
}

// menu offers the menu up to MenuAttempts times. early is the greeting's
// result, used as the first attempt's answer when it holds a key or talk.
//
// Classification rules: talk at any attempt (or on the silent-help prompt)
// makes the call voice at once; the silent-help code makes it silent_help;
// a listed key makes it emergency. When the attempts run out, a caller
// whose last attempt was silent is offered the silent-help code once more,
// even after earlier wrong keys, since someone may have stopped them
// speaking or pressing mid-call; any key there puts them through. Without
// that the call is invalid if any attempt had a wrong key and no_input
// otherwise.
func (r *run) menu(ctx context.Context, early PromptResult) (decision, string, error) {
	cfg := r.f.cfg
	var prefix []string
	anyInvalid, lastSilent := false, false
	for a := 1; a <= cfg.MenuAttempts; a++ {
		r.res.Attempts = a
		res := early
		if a > 1 || (early.Digits == "" && early.Status != PromptTalk) {
			var err error
			res, err = r.call.Prompt(ctx, r.keySpec(slices.Concat(prefix, r.f.menu), cfg.FirstDigitTimeout))
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
			lastSilent, prefix = true, r.f.noInputHelp
		case r.isSilentHelp(res.Digits):
			r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuSilentHelp})
			return decision{outcome: events.OutcomeSilentHelp}, "", nil
		case r.heardIncident && r.isIncidentKey(res):
			// The incident key pressed once the menu began: still about
			// the incident (it is never a menu key).
			return decision{outcome: events.OutcomeIncidentAck}, "", nil
		default:
			if d, ok := r.menuKey(res.Digits); ok {
				r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuValid})
				return d, "", nil
			}
			r.emit(ctx, events.TypeMenu, events.Menu{Attempt: a, Digits: res.Digits, Result: events.MenuInvalid})
			anyInvalid, lastSilent, prefix = true, false, r.f.invalid
		}
	}
	if lastSilent && cfg.SilentHelpDigits != "" {
		d, ok, err := r.silentHelpOffer(ctx, events.OutcomeVoice, events.OutcomeSilentHelp)
		if err != nil || ok {
			d.reason = "" // the reason is for blocked callers only
			return d, "silent help", err
		}
	}
	if anyInvalid {
		return decision{outcome: events.OutcomeInvalid}, "", nil
	}
	return decision{outcome: events.OutcomeNoInput}, "", nil
}

// silentHelpOffer plays the silent-help prompt. Talk gives onTalk, any key
// gives onKey: a caller who presses anything here is a person, whether or
// not they pressed the whole code. So the first key decides at once: waiting
// for the rest of the code would only keep the caller from the operators
// for ivr.inter_digit_timeout. ok is false when the caller stayed silent.
func (r *run) silentHelpOffer(ctx context.Context, onTalk, onKey events.Outcome) (decision, bool, error) {
	cfg := r.f.cfg
	res, err := r.call.Prompt(ctx, PromptSpec{
		Sounds:            slices.Clone(r.f.silentHelp),
		MaxDigits:         1,
		FirstDigitTimeout: cfg.SilentHelpTimeout,
		DetectTalk:        cfg.TalkDetect,
		TalkMin:           r.talkMin(),
	})
	switch {
	case err != nil:
		return decision{}, false, err
	case res.Status == PromptTalk:
		r.talk = true
		return decision{outcome: onTalk, reason: OverrideTalk}, true, nil
	case res.Digits != "":
		return decision{outcome: onKey, reason: OverrideSilentHelp}, true, nil
	}
	return decision{}, false, nil
}

// blockedChoice offers a blocked caller the way through. The greeting and
// the warning are one prompt so a key or talk during either counts. The
// override key, talk or the silent-help code put the caller through; a
// wrong key replays the warning (up to MenuAttempts plays) because a caller
// who presses something is trying to get through; silence leads to the
// silent-help offer that every silent caller gets.
func (r *run) blockedChoice(ctx context.Context) (decision, string, error) {
	cfg := r.f.cfg
	sounds := slices.Concat(r.f.greeting, r.f.blocked)
	if r.in.Incident != nil {
		// A blocked caller hears the announcement too: a surge of calls
		// about one fire includes people blocked for earlier pranks, and
		// pressing 8 costs them nothing.
		res, err := r.incidentOffer(ctx, r.f.greeting, 0)
		if err != nil {
			return decision{}, "incident announcement", err
		}
		if r.isIncidentKey(res) {
			return decision{outcome: events.OutcomeIncidentAck}, "", nil
		}
		if d, ok := r.blockedSign(res); ok {
			return d, "", nil
		}
		sounds = r.f.blocked
	}
	for a := 1; a <= cfg.MenuAttempts; a++ {
		r.res.Attempts = a
		res, err := r.call.Prompt(ctx, r.keySpec(sounds, cfg.BlockedOverrideTimeout))
		if err != nil {
			return decision{}, "blocked warning", err
		}
		if d, ok := r.blockedSign(res); ok {
			return d, "", nil
		}
		if res.Digits == "" {
			return r.blockedSilent(ctx)
		}
		sounds = r.f.blocked
		if a == cfg.MenuAttempts {
			return r.lastBlockedOffer(ctx)
		}
	}
	return decision{outcome: events.OutcomeBlocked}, "", nil
}

// blockedSign turns a blocked caller's answer into blocked_override when it
// is a sign of a person in need: talk, the override key or the silent-help
// code.
func (r *run) blockedSign(res PromptResult) (decision, bool) {
	override := func(reason string) (decision, bool) {
		return decision{outcome: events.OutcomeBlockedOverride, reason: reason}, true
	}
	switch {
	case res.Status == PromptTalk:
		r.talk = true
		return override(OverrideTalk)
	case r.isSilentHelp(res.Digits):
		return override(OverrideSilentHelp)
	case strings.Contains(res.Digits, r.f.cfg.BlockedOverrideDigit):
		return override(OverrideKey)
	}
	return decision{}, false
}

// blockedSilent ends a silent blocked caller's offer: like any silent
// caller they hear the silent-help prompt first, where any key or talk
// puts them through.
func (r *run) blockedSilent(ctx context.Context) (decision, string, error) {
	if r.f.cfg.SilentHelpDigits != "" {
		d, ok, err := r.silentHelpOffer(ctx, events.OutcomeBlockedOverride, events.OutcomeBlockedOverride)
		if err != nil || ok {
			return d, "silent help", err
		}
	}
	return decision{outcome: events.OutcomeBlocked}, "", nil
}

// lastBlockedOffer runs when every play of the warning was cut short by a
// wrong key. A key stops the warning (barge-in), often before it names the
// override key, and the first play's key may even have come during the
// greeting: such a caller may never have heard how to get through. So the
// warning is played once more in full, keys not stopping it (talk still
// counts), and then the override key is awaited; a key pressed during this
// play counts.
func (r *run) lastBlockedOffer(ctx context.Context) (decision, string, error) {
	cfg := r.f.cfg
	r.res.Attempts++
	res, err := r.call.Prompt(ctx, PromptSpec{
		Sounds: slices.Clone(r.f.blocked), DetectTalk: cfg.TalkDetect, TalkMin: r.talkMin(),
	})
	if err != nil {
		return decision{}, "blocked warning", err
	}
	if d, ok := r.blockedSign(res); ok {
		return d, "", nil
	}
	res, err = r.call.Prompt(ctx, r.keySpec(nil, cfg.BlockedOverrideTimeout))
	if err != nil {
		return decision{}, "blocked warning", err
	}
	if d, ok := r.blockedSign(res); ok {
		return d, "", nil
	}
	if res.Digits == "" {
		return r.blockedSilent(ctx)
	}
	return decision{outcome: events.OutcomeBlocked}, "", nil
}

func (r *run) talkMin() time.Duration {
	if !r.f.cfg.TalkDetect {
		return 0
	}
	return r.f.cfg.TalkMinDuration
}
