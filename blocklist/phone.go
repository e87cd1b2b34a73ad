package blocklist

import "github.com/siaga112/siaga112/phone"

// The blocklist keys its records by the phone package's numbers. These
// names keep the blocklist's own code and its admin API reading as before.
type (
	// Number is phone.Number.
	Number = phone.Number
)

// Number kinds, as phone names them.
const (
	KindE164      = phone.KindE164
	KindAnonymous = phone.KindAnonymous
)

// ErrInvalidNumber is phone.ErrInvalidNumber.
var ErrInvalidNumber = phone.ErrInvalidNumber

// Normalize is phone.Normalize.
func Normalize(raw, defaultCountry string) (Number, error) {
	return phone.Normalize(raw, defaultCountry)
}

// Mask is phone.Mask.
func Mask(number string) string { return phone.Mask(number) }

// Display is phone.Display.
func Display(number string) string { return phone.Display(number) }

// E164Func is phone.E164Func.
func E164Func(defaultCountry string) func(raw string) (e164 string, ok bool) {
	return phone.E164Func(defaultCountry)
}

// Anonymous is phone.Anonymous.
const Anonymous = phone.Anonymous
