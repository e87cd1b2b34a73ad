package callback

import (
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Pure decisions of the call-back: who is called back, when, and what an
// attempt's end means.

// Refusal says why a dropped call gets no call-back ("" when it does).
type Refusal string

// Reasons a dropped call is not called back.
const (
	RefusedWithheld Refusal = "withheld number"
	RefusedNumber   Refusal = "number not in E.164"
	RefusedBlocked  Refusal = "number blocked and the call did not override the block"
	RefusedNoSign   Refusal = "no sign of a person"
)

// Eligible decides whether a call.ended opens a call-back: it must carry
// callback: true (the IVR sets it only for a caller who gave a sign and
// reached no person), from a presented E.164 number that is not blocked
// now, unless the call overrode the block.
func Eligible(caller events.Caller, ended events.Ended, blockedNow bool) Refusal {
	switch {
	case !ended.Callback:
		return RefusedNoSign
	case caller.Presentation == events.PresentationRestricted:
		return RefusedWithheld
	}
	if _, ok := Key(caller.Number); !ok {
		return RefusedNumber
	}
	if blockedNow && ended.Outcome != events.OutcomeBlockedOverride {
		return RefusedBlocked
	}
	return ""
}

// liveMax bounds how long a call of the number in progress holds the
// call-back: a call.ended that never came (an IVR that died) must not hold
// it for ever.
const liveMax = 15 * time.Minute

// Due reports whether the record's next attempt may be placed at now, as
// far as the record says (the placer also asks for a free operator, a free
// line and the switch): waiting and due, or claimed by an instance whose
// lease ran out, and the number is not on another call.
func Due(r Record, now time.Time) bool {
	if r.Live != "" && now.Sub(r.LiveSince) < liveMax {
		return false
	}
	switch r.State {
	case StateWaiting:
		return !now.Before(r.DueAt)
	case StatePlacing:
		return now.After(r.LeaseUntil)
	}
	return false
}

// ResultOfCause turns the hang-up cause of an unanswered call-back into
// its attempt result (Q.850 causes as Asterisk reports them).
func ResultOfCause(cause int) string {
	switch cause {
	case 17: // user busy
		return events.CallbackBusy
	case 18, 19, 21, 16, 31:
		// No user responding, no answer, call rejected; a normal clearing
		// (16, 31) before an answer is the far end giving up ringing.
		return events.CallbackNoAnswer
	}
	return events.CallbackFailed
}

// ResultOfDialStatus turns the dial status Asterisk reports for an
// unanswered call-back (its Dial event's dialstatus) into the attempt's
// result; ok is false for a status that does not end the dial. It is read
// before the hang-up cause: on Asterisk 22.10.1 a busy callee behind a
// Local channel gives Dial BUSY but a ChannelDestroyed with cause 0.
func ResultOfDialStatus(status string) (result string, ok bool) {
	switch status {
	case "BUSY":
		return events.CallbackBusy, true
	case "NOANSWER":
		return events.CallbackNoAnswer, true
	case "CHANUNAVAIL", "CONGESTION", "INVALIDARGS", "DONTCALL", "TORTURE":
		return events.CallbackFailed, true
	}
	return "", false
}

// Next is what follows an attempt that did not put the callee through:
// the time of the next attempt, or done when the attempts ran out.
func Next(cfg configs.Callback, placed int, now time.Time) (at time.Time, done bool) {
	if placed >= cfg.Attempts {
		return time.Time{}, true
	}
	return now.Add(cfg.RetryBefore(placed + 1)), false
}
