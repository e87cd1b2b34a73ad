package callid

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, id := range []string{"1733561234.42", "asterisk-1-1733561234.42", "c-prank-1", "0f8e2a9c-5b1d-4c2e-9a51-2f0e8f1c7d3a", "lt-1;2", strings.Repeat("a", MaxLen)} {
		if !Valid(id) {
			t.Errorf("Valid(%q) = false", id)
		}
	}
	for _, id := range []string{"", ".", "..", "-x", "a/../../console/blocks/+6281234567890/lift", "a b", "a?b", "a#b", "a%2Fb", `a"b`, "a<b", "é", strings.Repeat("a", MaxLen+1)} {
		if Valid(id) {
			t.Errorf("Valid(%q) = true", id)
		}
	}
}

func TestPathSegment(t *testing.T) {
	for in, want := range map[string]string{
		"1733561234.42":  "1733561234.42",
		"+6281234567890": "+6281234567890",
		"a/../b":         "a%2F..%2Fb",
		"x?y#z":          "x%3Fy%23z",
		"lt-1;2":         "lt-1%3B2",
	} {
		if got := PathSegment(in); got != want {
			t.Errorf("PathSegment(%q) = %q, want %q", in, got, want)
		}
	}
}
