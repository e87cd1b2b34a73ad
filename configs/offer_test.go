package configs_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

// TestSilentHelpOfferWithin30s: config check refuses a first-digit or
// blocked-override timeout that would put the silent-help offer past 30 s
// after answer with the shipped prompts, and accepts the longest that
// keeps it within.
func TestSilentHelpOfferWithin30s(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *configs.IVR)
		key    string // "" : valid
	}{
		{"defaults", func(*configs.IVR) {}, ""},
		{"first digit at the limit", func(c *configs.IVR) { c.FirstDigitTimeout = configs.SilentHelpOfferWithin - configs.ShippedBeforeOffer }, ""},
		{"first digit past the limit", func(c *configs.IVR) {
			c.FirstDigitTimeout = configs.SilentHelpOfferWithin - configs.ShippedBeforeOffer + 100*time.Millisecond
		}, "ivr.first_digit_timeout"},
		{"first digit 10 s", func(c *configs.IVR) { c.FirstDigitTimeout = 10 * time.Second }, "ivr.first_digit_timeout"},
		{"blocked override at the limit", func(c *configs.IVR) {
			c.BlockedOverrideTimeout = configs.SilentHelpOfferWithin - configs.ShippedBeforeBlockedOffer
		}, ""},
		{"blocked override 16.2 s", func(c *configs.IVR) { c.BlockedOverrideTimeout = 16200 * time.Millisecond }, "ivr.blocked_override_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := configs.Default()
			tc.mutate(&c.IVR)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), "silent-help offer") {
				t.Fatalf("error %v, want %s refused for the silent-help offer", err, tc.key)
			}
		})
	}
}

// TestShippedPromptLengths: the lengths config check assumes are the
// shipped recordings', in the longer language, to the nearest 10 ms.
func TestShippedPromptLengths(t *testing.T) {
	dir := filepath.Join("..", "asterisk-conf", "sounds")
	langs, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(lang string, names ...string) time.Duration {
		var d time.Duration
		for _, n := range names {
			d += wavLength(t, filepath.Join(dir, lang, "siaga112", n+".wav"))
		}
		return d
	}
	var before, blocked time.Duration
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		menu := []string{"menu"}
		for _, m := range configs.Default().IVR.Menu {
			menu = append(menu, m.Prompt)
		}
		before = max(before, sum(l.Name(), append(append([]string{"greeting"}, menu...), "no-input")...))
		blocked = max(blocked, sum(l.Name(), "greeting", "blocked"))
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"ShippedBeforeOffer", configs.ShippedBeforeOffer, before},
		{"ShippedBeforeBlockedOffer", configs.ShippedBeforeBlockedOffer, blocked},
	} {
		if d := c.got - c.want; d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Errorf("%s = %s, the shipped prompts play %s", c.name, c.got, c.want)
		}
	}
}

// wavLength reads a PCM WAV file's length from its fmt and data chunks.
func wavLength(t *testing.T, path string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	var byteRate, data uint32
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), binary.LittleEndian.Uint32(b[p+4:p+8])
		switch id {
		case "fmt ":
			byteRate = binary.LittleEndian.Uint32(b[p+16 : p+20])
		case "data":
			data = size
		}
		p += 8 + int(size) + int(size%2)
	}
	if byteRate == 0 || data == 0 {
		t.Fatalf("%s: no fmt or data chunk", path)
	}
	return time.Duration(float64(data) / float64(byteRate) * float64(time.Second))
}
