package phone

import (
	"fmt"
	"strconv"
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
//
// The input is read first as libphonenumber reads a number dialled in the
// default country, then as Normalize reads it; the first reading that is a
// valid number wins. The national reading comes first because it alone
// reads a landline typed without its trunk 0 right when its area code
// starts with the country code: "622 123456" is 0622-123456 in
// Pematangsiantar, not +62 2123456. Withheld markers are refused: a person
// cannot act on "anonymous".
func ParseTyped(raw, defaultCountry string) (Number, error) {
	in := strings.TrimSpace(raw)
	n, err := Normalize(in, defaultCountry)
	if err == nil && n.IsAnonymous() {
		return Number{}, fmt.Errorf("%w %q: a withheld number cannot be acted on", ErrInvalidNumber, in)
	}
	if err != nil {
		return Number{}, err
	}
	if cc, cerr := strconv.Atoi(defaultCountry); cerr == nil && !strings.HasPrefix(in, "+") {
		region := phonenumbers.GetRegionCodeForCountryCode(cc)
		if p, perr := phonenumbers.Parse(in, region); perr == nil && phonenumbers.IsValidNumber(p) {
			return Number{E164: phonenumbers.Format(p, phonenumbers.E164), Kind: KindE164}, nil
		}
	}
	if p, perr := phonenumbers.Parse(n.E164, ""); perr == nil && phonenumbers.IsValidNumber(p) {
		return n, nil
	}
	return Number{}, fmt.Errorf("%w: %q (read as %s)", ErrNotDiallable, in, n.E164)
}
