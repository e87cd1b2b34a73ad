package csvsafe

import "testing"

func TestCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"prank caller", "prank caller"},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
		{"+1+HYPERLINK(\"http://evil/\")", "'+1+HYPERLINK(\"http://evil/\")"},
		{"\tx", "'\tx"},
		{"+6281234567890", "+6281234567890"},
		{"-0.5", "-0.5"},
		{"-", "'-"},
		{"+1.", "'+1."},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got := Cell(tt.in)
			if got != tt.want {
				t.Fatalf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := Uncell(got); back != tt.in {
				t.Fatalf("Uncell(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
	// A quote the writer did not add stays.
	for _, v := range []string{"'quoted'", "'+6281234567890", "'"} {
		if got := Uncell(v); got != v {
			t.Fatalf("Uncell(%q) = %q", v, got)
		}
	}
}
