package phone

import "strings"

// Mask is the one way siaga112 hides a caller's number where it must not be
// read whole: in logs, on the dashboard and in answers to callers of the
// HTTP API without the admin token. It keeps the last four digits behind
// four stars, whatever the form and length of the number:
// "+6281234567890", "0812-3456-7890" and "6281234567890" all become
// "****7890", so the same caller looks the same everywhere and the mask
// tells nothing about the rest of the number. A string with four digits or
// fewer becomes "****". An empty string and a withheld marker
// ("anonymous") are returned as they are: there is no number to hide.
func Mask(number string) string {
	if isAnonymousMarker(strings.TrimSpace(number)) {
		return number
	}
	var last [4]byte
	n := 0
	for i := len(number) - 1; i >= 0; i-- {
		if c := number[i]; c >= '0' && c <= '9' {
			if n < len(last) {
				last[len(last)-1-n] = c
			}
			n++
		}
	}
	if n <= len(last) {
		return "****"
	}
	return "****" + string(last[:])
}
