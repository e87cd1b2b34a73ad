package web

import "github.com/siaga112/siaga112/phone"

// Every phone-number rule the web side applies — reading a number typed in
// a form or a URL, showing it, masking it for those who may not see it
// whole — goes through the functions of this file to the phone package.

// phoneNumber is a number read from a form or a URL.
type phoneNumber = phone.Number

// errBadNumber is what normalizeNumber's errors wrap for input that is
// not a phone number.
var errBadNumber = phone.ErrInvalidNumber

// normalizeNumber reads raw as a number of defaultCountry's plan.
func normalizeNumber(raw, defaultCountry string) (phoneNumber, error) {
	return phone.Normalize(raw, defaultCountry)
}

// displayNumber shows an E.164 number as people read it (0812-3456-7890).
func displayNumber(e164 string) string { return phone.Display(e164) }

// maskNumber shows only a number's last 4 digits.
func maskNumber(e164 string) string { return phone.Mask(e164) }

// numberDigits is the digits of s, without signs, spaces or dashes.
func numberDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}
