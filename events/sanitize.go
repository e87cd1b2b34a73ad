package events

import (
	"strings"
	"unicode/utf8"
)

// Sanitize returns e with the fields the caller chooses — caller.number and
// caller.name, as the network delivered them — cut to their bounds
// (MaxNumberLen, MaxNameLen) and with control characters replaced by
// U+FFFD. Validate refuses such fields; consumers clean them first
// instead, because refusing the event would let a caller hide every one of
// their calls from the blocklist and the reports just by choosing a long
// or hostile caller id. Every other field is set by siaga112 itself and
// is refused when out of bounds.
func Sanitize(e Envelope) Envelope {
	e.Caller.Number = clean(e.Caller.Number, MaxNumberLen)
	e.Caller.Name = clean(e.Caller.Name, MaxNameLen)
	return e
}

// clean replaces control characters and invalid UTF-8 with U+FFFD and cuts
// s to at most maxLen bytes on a character boundary, marking a cut with "…".
func clean(s string, maxLen int) string {
	if len(s) <= maxLen && utf8.ValidString(s) && strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= maxLen {
		return s
	}
	const ellipsis = "…"
	cut := maxLen - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// isControl reports the characters text refuses: C0 and C1 controls, DEL
// and the Unicode line and paragraph separators.
func isControl(r rune) bool {
	return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}
