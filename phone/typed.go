package phone

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrNotDiallable is wrapped (with ErrInvalidNumber) by ParseTyped's error
// for input that normalises but that no numbering plan knows: "12345"
// becomes +6212345, which no phone in Indonesia has.
var ErrNotDiallable = fmt.Errorf("%w: not a number in its country's numbering plan", ErrInvalidNumber)

// ParseTyped normalises a number a person typed (a block, a look-up, an
// import row) and checks it against libphonenumber's numbering plans, so
// that a typo is refused with a clear error instead of being blocked as a
// number nobody has. What Asterisk sends is not checked this way
// (Normalize): a caller id the plans do not know is still a caller.
// Withheld markers are refused too: a person cannot act on "anonymous".
func ParseTyped(raw, defaultCountry string) (Number, error) {
	n, err := Normalize(raw, defaultCountry)
	if err != nil {
		return Number{}, err
	}
	if n.IsAnonymous() {
		return Number{}, fmt.Errorf("%w %q: a withheld number cannot be acted on", ErrInvalidNumber, strings.TrimSpace(raw))
	}
	p, err := phonenumbers.Parse(n.E164, "")
	if err != nil || !phonenumbers.IsPossibleNumber(p) || !phonenumbers.IsValidNumber(p) {
		return Number{}, fmt.Errorf("%w: %q (read as %s)", ErrNotDiallable, strings.TrimSpace(raw), n.E164)
	}
	return n, nil
}
