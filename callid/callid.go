// Package callid says what a call id may be where the board and the
// console take one: from the event stream, or from a URL. A call id is
// data that ends up inside URLs (a form's action, a link), and anybody
// who can publish on the stream chooses it; "x/../../console/blocks/…"
// placed in a form's action would post that form somewhere else. So a call
// id is held to the alphabet Asterisk's own ids use, and escaped wherever
// it becomes part of a path.
package callid

import "net/url"

// MaxLen bounds a call id: Asterisk's unique ids are at most 149
// characters (AST_MAX_UNIQUEID is 150 with the terminator), and channel
// ids chosen over ARI are held to the same limit.
const MaxLen = 150

// Valid reports whether id is a call id: 1 to MaxLen characters from
// Asterisk's id alphabet — letters, digits, '.', '-' and '_' (a unique id
// is "[system-name-]epoch.sequence"; ARI channel ids are usually UUIDs)
// and ';' (a Local channel's second half is "<id>;2") — starting with a
// letter or digit, so "." and ".." are never ids.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen || !alnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !alnum(c) && c != '.' && c != '-' && c != '_' && c != ';' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// PathSegment is s escaped as one segment of a URL path: whatever s
// holds, it cannot add a segment, climb out of one, or start a query.
// Pages use it for every call id and number they put into a path.
func PathSegment(s string) string { return url.PathEscape(s) }
