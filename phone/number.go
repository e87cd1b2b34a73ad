// Package phone is siaga112's one place for phone numbers: normalising
// what Asterisk and trunks send and what people type to E.164, checking
// typed numbers against the numbering plans, masking numbers where they
// must not be read whole, and showing them as people read them. It is a
// leaf: every package that needs a number imports it, none needs the
// blocklist for it.
package phone

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidNumber is wrapped by every error about a number that is neither a
// phone number nor a recognised "no number" marker.
var ErrInvalidNumber = errors.New("invalid phone number")

// Kind says what sort of caller identity a Number is.
type Kind int

// Kinds of Number.
const (
	// KindE164 is a phone number in E.164 form ("+628123456789").
	KindE164 Kind = iota
	// KindAnonymous is a caller whose number is withheld, restricted or
	// missing. Such callers are never blocked: there is nothing to block by,
	// and blocking "anonymous" would block everyone who hides their number.
	KindAnonymous
)

// String names the kind for logs.
func (k Kind) String() string {
	if k == KindAnonymous {
		return "anonymous"
	}
	return "e164"
}

// Anonymous is the text form of every anonymous Number.
const Anonymous = "anonymous"

// E.164 allows at most 15 digits; fewer than 7 is an extension or a
// service code, not a caller we can block by.
const (
	MinDigits = 7
	MaxDigits = 15
)

// Number is a normalised caller identity.
type Number struct {
	// E164 is "+" and digits; empty for KindAnonymous.
	E164 string
	// Kind says whether this is a number or an anonymous caller.
	Kind Kind
}

// String returns the E.164 form, or "anonymous".
func (n Number) String() string {
	if n.Kind == KindAnonymous {
		return Anonymous
	}
	return n.E164
}

// IsAnonymous reports whether the caller withheld their number.
func (n Number) IsAnonymous() bool { return n.Kind == KindAnonymous }

// anonymousMarkers are the caller ids that Asterisk, SIP trunks and
// operators use for "no number", compared without regard to case. (An array,
// not a map, so that nothing is mutable at package level.)
var anonymousMarkers = [...]string{
	"anonymous", "withheld", "unknown", "restricted", "private", "unavailable",
	"anonim", // Indonesian spelling seen on some trunks
}

// isAnonymousMarker reports whether s says "no number".
func isAnonymousMarker(s string) bool {
	if s == "" {
		return true
	}
	for _, m := range anonymousMarkers {
		if strings.EqualFold(s, m) {
			return true
		}
	}
	return false
}

// Normalize turns a caller id or an admin's input into a Number.
//
// Accepted forms, with spaces, dashes, dots and parentheses ignored:
//
//	+62 812-3456-7890   international with plus
//	0062 812 3456 7890  international with the 00 prefix
//	0812 3456 7890      national with trunk prefix 0 -> +<defaultCountry>812...
//	62812 3456 7890     international without plus (starts with defaultCountry)
//	812 3456 7890       national without trunk prefix -> +<defaultCountry>812...
//
// A SIP URI ("sip:0812...@host") is reduced to its user part. Withheld and
// anonymous markers (empty, "anonymous", "withheld", "unknown", "restricted",
// "private", "unavailable") give KindAnonymous. Anything else is an error
// wrapping ErrInvalidNumber that quotes the input.
func Normalize(raw, defaultCountry string) (Number, error) {
	s := strings.TrimSpace(raw)
	if user, ok := sipUser(s); ok {
		s = user
	}
	if isAnonymousMarker(s) {
		return Number{Kind: KindAnonymous}, nil
	}
	bad := func() (Number, error) { return Number{}, fmt.Errorf("%w %q", ErrInvalidNumber, raw) }

	plus := false
	digits := make([]byte, 0, len(s)+len(defaultCountry)+1)
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
			// Visual separators people type or trunks send.
		default:
			return bad()
		}
	}
	d := string(digits)
	switch {
	case plus:
		// Already international.
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = defaultCountry + d[1:]
	case defaultCountry != "" && strings.HasPrefix(d, defaultCountry):
		// International without the plus, as many trunks deliver it.
	default:
		// National significant number without its trunk prefix.
		d = defaultCountry + d
	}
	if len(d) < MinDigits || len(d) > MaxDigits || d[0] == '0' {
		return bad()
	}
	return Number{E164: "+" + d, Kind: KindE164}, nil
}

// sipUser returns the user part of "sip:user@host" or "tel:+62...".
func sipUser(s string) (string, bool) {
	for _, scheme := range [...]string{"sip:", "sips:", "tel:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			rest := s[len(scheme):]
			if at := strings.IndexAny(rest, "@;"); at >= 0 {
				rest = rest[:at]
			}
			return rest, true
		}
	}
	return "", false
}

// E164Func returns a caller-number normaliser for the IVR: Normalize with
// defaultCountry, reporting ok=false for withheld markers and for strings
// that are not phone numbers, so events carry the number the blocklist is
// keyed by.
func E164Func(defaultCountry string) func(raw string) (e164 string, ok bool) {
	return func(raw string) (string, bool) {
		n, err := Normalize(raw, defaultCountry)
		if err != nil || n.IsAnonymous() {
			return "", false
		}
		return n.E164, true
	}
}
