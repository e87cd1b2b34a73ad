package web

import (
	"math"
	"time"
)

// callLength says how long a recorded call lasted, which is how long its
// whole-call recording plays: MixMonitor records from the dialplan step
// before Stasis until the hang-up, and the IVR counts the call
// (call.ended's duration_s) from Stasis, the next step, to the hang-up,
// past the hand-off and the operator's conversation. The history already
// holds it, where the recording's own length would cost a request to
// Asterisk per row; it is named as the call's length, which is what it
// measures. "" when the length is not known: a call still going (no
// call.ended yet), or one that ended while no IVR followed it
// (duration_s -1).
func callLength(l *locale, durationS float64) string {
	if !(durationS > 0) || math.IsInf(durationS, 0) {
		return ""
	}
	return l.T("number.call_length", l.Length(time.Duration(durationS*float64(time.Second))))
}
