package blocklist

import (
	"strings"
	"testing"

	"github.com/siaga112/siaga112/phone"
)

// FuzzNormalize: whatever a trunk or an admin sends as a number, Normalize
// does not panic, and what it accepts is E.164 (plus, 7 to 15 digits, no
// leading zero), is its own normal form, and makes a valid, reversible KV
// key. `go test` runs the seeds; `go test -fuzz FuzzNormalize ./blocklist/`
// explores further.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"081234567890", "+62 812-3456-7890", "006281234567890", "sip:0812@host;user=phone", "tel:+6281234567890",
		"anonymous", "", "112", "+1234567890123456", "-1+cmd|' /C calc'!A0", "+1+HYPERLINK(\"x\")",
		"=1+1", "@SUM(A1)", "\t0812", "0812\r\n", strings.Repeat("9", 4000), "sip:" + strings.Repeat("1", 300) + "@x",
		"+", "00", "0", "(0)812", "+٦٢٨١٢٣٤٥٦٧", "\xff\xfe",
	} {
		f.Add(s, "62")
	}
	f.Add("5550143", "1")
	f.Add("0812345678", "")
	f.Fuzz(func(t *testing.T, raw, country string) {
		if len(country) > 3 || strings.Trim(country, "0123456789") != "" {
			// configs refuses a blocklist.default_country that is not 1 to
			// 3 digits; Normalize trusts it (with "1A" it would return
			// "+1A...", found by this target).
			return
		}
		n, err := Normalize(raw, country)
		if err != nil || n.IsAnonymous() {
			return
		}
		d, ok := strings.CutPrefix(n.E164, "+")
		if !ok || len(d) < phone.MinDigits || len(d) > phone.MaxDigits || d[0] == '0' || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("Normalize(%q, %q) = %q: not E.164", raw, country, n.E164)
		}
		again, err := Normalize(n.E164, country)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %+v, %v; not its own normal form", n.E164, again, err)
		}
		k, err := Key(n.E164)
		if err != nil || !kvKeyOK(k) {
			t.Fatalf("Key(%q) = %q, %v", n.E164, k, err)
		}
		if back, ok := NumberFromKey(k); !ok || back != n.E164 {
			t.Fatalf("NumberFromKey(%q) = %q, %v", k, back, ok)
		}
		if m := phone.Mask(n.E164); m != "****"+d[len(d)-4:] {
			t.Fatalf("Mask(%q) = %q", n.E164, m)
		}
	})
}

// FuzzCallKey: every call id gives a short, valid KV key.
func FuzzCallKey(f *testing.F) {
	for _, s := range []string{"1732700000.42", strings.Repeat("A", 2100), "a b>*", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if k := callKey(id); !kvKeyOK(k) || len(k) > 1+2*maxHexCallID {
			t.Fatalf("callKey(%q) = %q", id, k)
		}
	})
}
