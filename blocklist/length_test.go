package blocklist

import (
	"testing"
	"time"
)

func TestParseLength(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"24h", 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{" 1d ", 24 * time.Hour, true},
		{"0d", 0, false},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"99999d", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLength(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseLength(%q) = %s, %v", tc.in, got, err)
			}
		})
	}
}
