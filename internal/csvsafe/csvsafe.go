// Package csvsafe keeps a spreadsheet from running a CSV cell as a formula
// (CSV injection). Every CSV siaga112 writes for people — the calls export,
// the blocklist export — passes each cell through Cell, so that the rule is
// written once.
package csvsafe

// Cell returns v as a spreadsheet will read it as text or a plain number:
// a cell starting with = + - @, a tab, CR or LF gets a leading quote,
// which spreadsheets read as "this is text". The one exception is a cell
// that is wholly a signed decimal number ("+6281234567890", "-1", "-0.5"):
// a spreadsheet can only read it as a number, so E.164 numbers and
// negative figures stay usable. "-1+cmd|' /C calc'!A0" and
// "+1+HYPERLINK(...)" are not numbers and are quoted.
func Cell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r', '\n':
		return "'" + v
	case '+', '-':
		if !SignedDecimal(v) {
			return "'" + v
		}
	}
	return v
}

// Uncell undoes Cell for a program reading such a CSV back: a leading
// quote that Cell would have added (the rest starting with a character it
// guards, and not a plain number) is removed.
func Uncell(v string) string {
	if len(v) < 2 || v[0] != '\'' {
		return v
	}
	if rest := v[1:]; Cell(rest) == v {
		return rest
	}
	return v
}

// SignedDecimal reports whether v is a sign, digits and at most one '.'
// followed by digits, and nothing else.
func SignedDecimal(v string) bool {
	digits, dot := 0, false
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(v)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
