package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Display shows a stored number as people read it: an Indonesian number in
// the national format (0812-3456-7890, 0548-21234 for a Bontang landline),
// any other country's in the international one (+1 202-555-0143), using
// libphonenumber's numbering plans. A masked number (****7890), a withheld
// one or a number the plans do not know is shown as given. Storage, keys
// and the APIs keep E.164; this is for people only.
func Display(number string) string {
	if !strings.HasPrefix(number, "+") {
		return number
	}
	n, err := phonenumbers.Parse(number, "ID")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return number
	}
	if n.GetCountryCode() != 62 {
		return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	}
	s := phonenumbers.Format(n, phonenumbers.NATIONAL)
	// Landlines come as "(0548) 21234"; Indonesians write 0548-21234.
	if rest, ok := strings.CutPrefix(s, "("); ok {
		if area, local, ok := strings.Cut(rest, ") "); ok {
			s = area + "-" + local
		}
	}
	return s
}
