package web

import (
	"math"
	"strings"
	"time"
)

// Length is a duration to the second, in words: "1 menit 12 detik",
// "4 detik", "1 jam 5 detik" (id); "1 min 12 s" (en). Span rounds up to
// minutes, which would make a 4-second call a minute long.
func (l *locale) Length(d time.Duration) string {
	secs := int64(max(d, time.Second).Round(time.Second) / time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	var parts []string
	if h > 0 {
		parts = append(parts, l.T("length.h", h))
	}
	if m > 0 {
		parts = append(parts, l.T("length.m", m))
	}
	if s > 0 {
		parts = append(parts, l.T("length.s", s))
	}
	return strings.Join(parts, " ")
}

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
