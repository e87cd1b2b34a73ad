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

// CleanText is clean for text siaga112 writes itself from stored data (a
// block's reason kept from before it was bounded, say): the event it goes
// into is still valid, with the text cut on a character boundary and
// marked "…", instead of refused.
func CleanText(s string, maxLen int) string { return clean(s, maxLen) }

// CheckText checks text a person enters before it is stored or published
// as a free-text field: at most maxLen bytes of valid UTF-8 without control
// characters, as Validate checks it. The error names field and the bound.
func CheckText(field, v string, maxLen int) error { return text(field, v, maxLen) }

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
