package phone

import "testing"

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"+6281234567890": "0812-3456-7890",
		"+6254821234":    "0548-21234",
		"+622112345678":  "021-12345678",
		"+12025550143":   "+1 202-555-0143",
		"****7890":       "****7890",
		"anonymous":      "anonymous",
		"+628111":        "+628111", // not a number of the plan: as stored
		"":               "",
	} {
		if got := Display(in); got != want {
			t.Errorf("Display(%q) = %q, want %q", in, got, want)
		}
	}
}
