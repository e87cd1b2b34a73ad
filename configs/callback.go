package configs

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Callback is the automatic call-back of callers who gave a sign of a person
// (a menu key, talk, 5 5, a blocked caller's override) and ended before an
// operator answered: they are called back until a person is reached.
type Callback struct {
	// Enabled turns automatic call-backs on. A supervisor can switch them
	// off and on for the whole centre from the console; this is the
	// setting at first start.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Endpoint is the ARI endpoint dialled, with {number} replaced by the
	// number in NumberFormat: PJSIP/{number}@telco. Empty turns call-backs
	// off.
	Endpoint string `mapstructure:"endpoint" yaml:"endpoint"`
	// NumberFormat is how {number} is written: "national" (0812...) or
	// "e164" (+62812...).
	NumberFormat string `mapstructure:"number_format" yaml:"number_format"`
	// CallerID is the caller id the callee sees: the centre's number.
	CallerID string `mapstructure:"caller_id" yaml:"caller_id"`
	// Formats are the codecs of the originated channel. Without them
	// Asterisk gives an ARI-originated channel slin192 and resamples every
	// frame (about 15x the CPU of the same call).
	Formats string `mapstructure:"formats" yaml:"formats"`
	// Delay is the wait before the first attempt: many callers ring again
	// at once, and a new call that reaches a person cancels the call-back.
	Delay time.Duration `mapstructure:"delay" yaml:"delay"`
	// Attempts is the most attempts made.
	Attempts int `mapstructure:"attempts" yaml:"attempts"`
	// Retry are the waits before the second, third... attempt; the last
	// one repeats when Attempts asks for more.
	Retry []time.Duration `mapstructure:"retry" yaml:"retry"`
	// RingTimeout is how long one attempt rings before it counts as not
	// answered.
	RingTimeout time.Duration `mapstructure:"ring_timeout" yaml:"ring_timeout"`
	// MaxConcurrent is the most call-backs one IVR instance places at once,
	// so a surge of dropped calls cannot take every line of the trunk.
	MaxConcurrent int `mapstructure:"max_concurrent" yaml:"max_concurrent"`
	// Tag is shown on the operator's display for a call-back put through
	// (CALLERID(name) = "<tag> <number>").
	Tag string `mapstructure:"tag" yaml:"tag"`
}

// Number formats for callback.number_format.
const (
	NumberNational = "national"
	NumberE164     = "e164"
)

// EndpointNumber is the placeholder callback.endpoint must hold.
const EndpointNumber = "{number}"

// DefaultCallback is the call-back section of Default.
func DefaultCallback() Callback {
	return Callback{
		Enabled:       true,
		Endpoint:      "PJSIP/{number}@telco",
		NumberFormat:  NumberNational,
		CallerID:      `"Siaga 112" <112>`,
		Formats:       "ulaw",
		Delay:         30 * time.Second,
		Attempts:      3,
		Retry:         []time.Duration{2 * time.Minute, 5 * time.Minute},
		RingTimeout:   30 * time.Second,
		MaxConcurrent: 2,
		Tag:           "BALIK",
	}
}

// On reports whether call-backs are placed at all: enabled, with an
// endpoint to dial.
func (c Callback) On() bool { return c.Enabled && strings.TrimSpace(c.Endpoint) != "" }

// RetryBefore returns the wait before attempt n (n ≥ 2).
func (c Callback) RetryBefore(n int) time.Duration {
	if len(c.Retry) == 0 {
		return c.Delay
	}
	i := min(max(n-2, 0), len(c.Retry)-1)
	return c.Retry[i]
}

// Dial returns the endpoint to dial for a number given in E.164
// (+62812...) with the country code cc: the template with {number}
// written as NumberFormat says. A number of another country is always
// dialled in E.164.
func (c Callback) Dial(e164, cc string) string {
	num := e164
	if c.NumberFormat == NumberNational && cc != "" && strings.HasPrefix(e164, "+"+cc) {
		num = "0" + strings.TrimPrefix(e164, "+"+cc)
	}
	return strings.ReplaceAll(c.Endpoint, EndpointNumber, num)
}

var (
	// tagRE: what a phone's display shows well and a dialplan Set() takes.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)
	// formatsRE: a comma-separated codec list (ulaw,alaw,g722).
	formatsRE = regexp.MustCompile(`^[a-z0-9_]+(,[a-z0-9_]+)*$`)
)

func (c Callback) validate(ck *checker) {
	if c.Endpoint != "" {
		tech, rest, ok := strings.Cut(c.Endpoint, "/")
		switch {
		case !ok || tech == "" || rest == "":
			ck.add("callback.endpoint", c.Endpoint, "must be tech/resource, e.g. PJSIP/{number}@telco")
		case !strings.Contains(rest, EndpointNumber):
			ck.add("callback.endpoint", c.Endpoint, "must hold %s where the number goes, e.g. PJSIP/{number}@telco", EndpointNumber)
		case strings.ContainsAny(c.Endpoint, " \t\r\n,"):
			ck.add("callback.endpoint", c.Endpoint, "must not contain spaces or commas")
		}
	}
	ck.oneOf("callback.number_format", c.NumberFormat, []string{NumberNational, NumberE164})
	if len(c.CallerID) > 80 || strings.ContainsAny(c.CallerID, "\r\n") {
		ck.add("callback.caller_id", c.CallerID, "must be one line of at most 80 characters, e.g. \"Siaga 112\" <112>")
	}
	if !formatsRE.MatchString(c.Formats) {
		ck.add("callback.formats", c.Formats, "must be a comma-separated codec list such as ulaw or alaw,ulaw (never empty: Asterisk would resample every frame)")
	}
	if c.Delay < 0 || c.Delay > time.Hour {
		ck.add("callback.delay", c.Delay.String(), "must be between 0s and 1h")
	}
	ck.intRange("callback.attempts", c.Attempts, 1, 10)
	for i, d := range c.Retry {
		if d < 10*time.Second || d > 24*time.Hour {
			ck.add(fmt.Sprintf("callback.retry[%d]", i), d.String(), "must be between 10s and 24h")
		}
	}
	if c.Attempts > 1 && len(c.Retry) == 0 {
		ck.add("callback.retry", nil, "must list at least one wait when callback.attempts is more than 1, e.g. [2m, 5m]")
	}
	if c.RingTimeout < 5*time.Second || c.RingTimeout > 2*time.Minute {
		ck.add("callback.ring_timeout", c.RingTimeout.String(), "must be between 5s and 2m")
	}
	ck.intRange("callback.max_concurrent", c.MaxConcurrent, 1, 100)
	if !tagRE.MatchString(c.Tag) {
		ck.add("callback.tag", c.Tag, "must be 1-12 letters, digits, - or _ (shown on the operator's phone)")
	}
}

// callbackWarnings are the call-back settings `config check` and start-up
// point out.
func (c Config) callbackWarnings() []FieldError {
	var w []FieldError
	switch {
	case !c.Callback.Enabled:
		w = append(w, FieldError{Key: "callback.enabled", Value: false,
			Msg: "turns automatic call-backs off: callers who asked for help and dropped are only listed for operators to call back by hand"})
	case strings.TrimSpace(c.Callback.Endpoint) == "":
		w = append(w, FieldError{Key: "callback.endpoint", Value: "",
			Msg: "is empty, so automatic call-backs are off: callers who asked for help and dropped are only listed for operators to call back by hand"})
	default:
		if ext := c.IVR.CallbackEntry(); ext != nil && len(ext.Members) == 0 {
			w = append(w, FieldError{Key: "ivr.menu", Msg: fmt.Sprintf(
				"entry %q lists no members, so call-backs cannot wait for a free operator and are placed whether one is free or not", ext.Type)})
		}
	}
	return w
}

// CallbackEntry is the menu entry a put-through call-back goes to when the
// dropped call chose no type: the operator entry, else the failover
// extension's entry; nil when neither is in the menu.
func (iv IVR) CallbackEntry() *MenuEntry {
	for i := range iv.Menu {
		if iv.Menu[i].Type == "operator" {
			return &iv.Menu[i]
		}
	}
	for i := range iv.Menu {
		if iv.Menu[i].Extension == iv.FailoverExtension {
			return &iv.Menu[i]
		}
	}
	return nil
}
