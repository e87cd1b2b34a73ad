package events

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeCallerFields(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
	}{
		{"plain", "Budi Santoso", MaxNameLen},
		{"control characters", "\x1b[2J\x07bell\u2028x", MaxNameLen},
		{"long ascii", strings.Repeat("n", 5000), MaxNameLen},
		{"long multibyte", strings.Repeat("é", 200), MaxNameLen},
		{"long number", strings.Repeat("9", 500), MaxNumberLen},
		{"invalid utf-8", "a\xffb", MaxNameLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := clean(tc.in, tc.max)
			if len(got) > tc.max || !utf8.ValidString(got) || strings.IndexFunc(got, isControl) >= 0 {
				t.Fatalf("clean = %q (%d bytes)", got, len(got))
			}
			if err := text("x", got, tc.max); err != nil {
				t.Fatalf("cleaned value still refused: %v", err)
			}
		})
	}
	if got := clean("Budi", MaxNameLen); got != "Budi" {
		t.Fatalf("clean changed a clean name: %q", got)
	}

	// A call.started whose caller chose a hostile name validates once
	// sanitised; the fields siaga112 sets are left alone.
	e := goodEvent(t, TypeStarted, Started{Dialed: "112"})
	e.Caller.Name = strings.Repeat("\x07", 300)
	e.Caller.Number = "+62 812\x00" + strings.Repeat("1", 300)
	if err := Validate(e, validNow); err == nil {
		t.Fatal("hostile caller fields passed Validate unsanitised")
	}
	s := Sanitize(e)
	if err := Validate(s, validNow); err != nil {
		t.Fatalf("sanitised event: %v", err)
	}
	if s.CallID != e.CallID || s.ID != e.ID || string(s.Data) != string(e.Data) {
		t.Fatal("Sanitize changed a field siaga112 sets")
	}
}
