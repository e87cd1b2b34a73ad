package phone

import (
	"errors"
	"testing"
)

func TestParseTyped(t *testing.T) {
	tests := []struct {
		in, want string
		bad      error
	}{
		{in: "0812-3456-7890", want: "+6281234567890"},
		{in: "+62 548 21234", want: "+6254821234"},
		{in: "+1 202-555-0143", want: "+12025550143"},
		{in: "12345", bad: ErrNotDiallable},
		{in: "548 21234", want: "+6254821234"},
		{in: "622 123456", want: "+62622123456"},
		{in: "6281234567890", want: "+6281234567890"},
		{in: "0062 812 3456 7890", want: "+6281234567890"},
		{in: "0000000", bad: ErrInvalidNumber},
		{in: "anonymous", bad: ErrInvalidNumber},
		{in: "08x12", bad: ErrInvalidNumber},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := ParseTyped(tt.in, "62")
			if tt.bad != nil {
				if !errors.Is(err, tt.bad) {
					t.Fatalf("ParseTyped(%q) = %v, %v; want an error wrapping %v", tt.in, n, err, tt.bad)
				}
				return
			}
			if err != nil || n.E164 != tt.want {
				t.Fatalf("ParseTyped(%q) = %v, %v; want %s", tt.in, n.E164, err, tt.want)
			}
		})
	}
}
