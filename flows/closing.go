package flows

import "github.com/siaga112/siaga112/events"

// closingSign turns what the caller did during the closing prompt of a
// call decided as going nowhere (goodbye, the incident acknowledgement)
// into the decision that puts them through, when it is a sign of a person
// in need. The rule holds at every prompt: talk and the silent-help code
// always count. A blocked caller's other sign is the override key, as at
// the warning; anyone else's is a menu key. A caller who has been silent
// all along (no_input) has just heard the silent-help offer, where any key
// counts, so any key counts for them here too; a caller who pressed only
// wrong keys (invalid) or acknowledged the incident is not put through by
// one more key that is not a menu key.
func (r *run) closingSign(d decision, res PromptResult) (decision, bool) {
	if d.outcome == events.OutcomeBlocked {
		return r.blockedSign(res)
	}
	switch {
	case res.Status == PromptTalk:
		r.talk = true
		return decision{outcome: events.OutcomeVoice}, true
	case r.isSilentHelp(res.Digits):
		return decision{outcome: events.OutcomeSilentHelp}, true
	}
	if m, ok := r.menuKey(res.Digits); ok {
		return m, true
	}
	if d.outcome == events.OutcomeNoInput && res.Digits != "" && r.f.cfg.SilentHelpDigits != "" {
		return decision{outcome: events.OutcomeSilentHelp}, true
	}
	return decision{}, false
}
