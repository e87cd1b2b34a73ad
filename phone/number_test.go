package phone

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, raw, want string
		kind            Kind
		wantErr         bool
	}{
		{name: "national mobile", raw: "081234567890", want: "+6281234567890"},
		{name: "international without plus", raw: "6281234567890", want: "+6281234567890"},
		{name: "plus with spaces and dashes", raw: "+62 812-3456-7890", want: "+6281234567890"},
		{name: "00 prefix", raw: "006281234567890", want: "+6281234567890"},
		{name: "00 prefix foreign", raw: "0044 20 7946 0958", want: "+442079460958"},
		{name: "foreign with plus", raw: "+1 (202) 555-0143", want: "+12025550143"},
		{name: "landline with dots", raw: "0548.21.112", want: "+6254821112"},
		{name: "national without trunk prefix", raw: "81234567890", want: "+6281234567890"},
		{name: "surrounding space", raw: "  0812 3456 7890 ", want: "+6281234567890"},
		{name: "sip uri", raw: "sip:081234567890@trunk.example;user=phone", want: "+6281234567890"},
		{name: "tel uri", raw: "tel:+6281234567890", want: "+6281234567890"},
		{name: "empty", raw: "", kind: KindAnonymous},
		{name: "blank", raw: "   ", kind: KindAnonymous},
		{name: "anonymous", raw: "Anonymous", kind: KindAnonymous},
		{name: "withheld", raw: "withheld", kind: KindAnonymous},
		{name: "unknown", raw: "UNKNOWN", kind: KindAnonymous},
		{name: "restricted", raw: "restricted", kind: KindAnonymous},
		{name: "private", raw: "Private", kind: KindAnonymous},
		{name: "sip anonymous", raw: "sip:anonymous@anonymous.invalid", kind: KindAnonymous},
		{name: "letters", raw: "abc", wantErr: true},
		{name: "digits with letter", raw: "0812x4567890", wantErr: true},
		{name: "plus in middle", raw: "62+81234567", wantErr: true},
		{name: "too short", raw: "112", wantErr: true},
		{name: "too long", raw: "+1234567890123456", wantErr: true},
		{name: "plus zero", raw: "+0812345678", wantErr: true},
		{name: "only separators", raw: "--", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.raw, "62")
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidNumber) {
					t.Fatalf("Normalize(%q) error = %v, want ErrInvalidNumber", tc.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tc.raw, err)
			}
			if got.Kind != tc.kind || got.E164 != tc.want {
				t.Fatalf("Normalize(%q) = %+v, want kind %v %q", tc.raw, got, tc.kind, tc.want)
			}
		})
	}
}

func TestNormalizeErrorMessage(t *testing.T) {
	_, err := Normalize("abc", "62")
	if err == nil || err.Error() != `invalid phone number "abc"` {
		t.Fatalf("error = %v, want invalid phone number \"abc\"", err)
	}
}

func TestNumberString(t *testing.T) {
	if s := (Number{Kind: KindAnonymous}).String(); s != Anonymous {
		t.Fatalf("anonymous String = %q", s)
	}
	if s := (Number{E164: "+6281234567890"}).String(); s != "+6281234567890" {
		t.Fatalf("String = %q", s)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+6281234567890", "****7890"},
		{"081234567890", "****7890"},
		{"+62 812-3456-7890", "****7890"},
		{"+12025550143", "****0143"},
		{"", ""},
		{"anonymous", "anonymous"},
		{"1234", "****"},
		{"alice", "****"},
		{"sip:0812345@trunk", "****2345"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Fatalf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestE164Func(t *testing.T) {
	norm := E164Func("62")
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"081234567890", "+6281234567890", true},
		{"+62 812-3456-7890", "+6281234567890", true},
		{"6281234567890", "+6281234567890", true},
		{"anonymous", "", false},
		{"desk", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if got, ok := norm(tt.raw); got != tt.want || ok != tt.ok {
				t.Fatalf("E164Func(62)(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}
