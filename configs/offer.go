package configs

import "time"

// SilentHelpOfferWithin is the rule for a silent caller: the offer
// "if you cannot speak, press 5 5" is heard within this time of answer.
const SilentHelpOfferWithin = 30 * time.Second

// How long the shipped prompts (asterisk-conf/sounds, the longer of the
// languages, Indonesian) play before the first silent-help offer. The
// configuration names prompts but does not know their length; these are the
// shipped recordings' (configs' tests read the WAV files), so a site that
// records longer prompts must keep its timeouts lower by the difference.
const (
	// ShippedBeforeOffer: greeting, the menu read out in full and the
	// no-input prompt, which the offer follows after the first silent
	// menu attempt.
	ShippedBeforeOffer = 20_570 * time.Millisecond
	// ShippedBeforeBlockedOffer: greeting and the blocked warning, which a
	// silent blocked caller hears before the offer.
	ShippedBeforeBlockedOffer = 13_900 * time.Millisecond
)

// checkSilentHelpOffer refuses timeouts that would put the first
// silent-help offer later than SilentHelpOfferWithin after answer with the
// shipped prompts: ivr.first_digit_timeout for an unblocked caller,
// ivr.blocked_override_timeout for a blocked one.
func (iv IVR) checkSilentHelpOffer(ck *checker) {
	if iv.SilentHelpDigits == "" {
		return
	}
	for _, c := range []struct {
		key     string
		timeout time.Duration
		before  time.Duration
	}{
		{"ivr.first_digit_timeout", iv.FirstDigitTimeout, ShippedBeforeOffer},
		{"ivr.blocked_override_timeout", iv.BlockedOverrideTimeout, ShippedBeforeBlockedOffer},
	} {
		if at := c.before + c.timeout; c.timeout > 0 && at > SilentHelpOfferWithin {
			ck.add(c.key, c.timeout, "puts the first silent-help offer %s after answer with the shipped prompts; it must come within %s (at most %s here)",
				FormatDuration(at), FormatDuration(SilentHelpOfferWithin), FormatDuration(SilentHelpOfferWithin-c.before))
		}
	}
}
