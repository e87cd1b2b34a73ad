package configs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every *ValidationError, so callers can test
// errors.Is(err, configs.ErrInvalid) without caring about the details.
var ErrInvalid = errors.New("config: invalid configuration")

// FieldError is one problem with one key.
type FieldError struct {
	// Key is the dotted path of the setting, e.g. "ari.nodes[0].url", or
	// the name of an unknown SIAGA112_* environment variable.
	Key string
	// Value is the offending value, or nil when the key itself is the
	// problem (an unknown key).
	Value any
	// Msg says what is wrong, written to follow the value:
	// "is not an http(s) URL".
	Msg string
}

// Error formats the problem as `config: <key>: <value> <msg>`. A secret's
// value is never shown (see Shown): errors are printed and logged.
func (e FieldError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("config: %s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("config: %s: %s %s", e.Key, e.Shown(), e.Msg)
}

// Shown is the value as Error prints it: as the user wrote it, except that
// a set secret (a password, a token, a key or credentials path, or a text
// given for a whole ari.nodes list or entry, which hold passwords) is
// SecretMask, and the password of a URL is replaced by Redacted.
func (e FieldError) Shown() string {
	if e.Value == nil {
		return ""
	}
	str, isString := e.Value.(string)
	switch {
	case isString && str == "":
		return `""`
	case secretKey(e.Key) && (isString || !isScalar(e.Value)):
		return strconv.Quote(SecretMask)
	case isString && urlKey(e.Key):
		// RedactURL also knows a bare "user:pass@host:port", as nats.url
		// takes it.
		return strconv.Quote(RedactURL(str))
	}
	return RedactText(showValue(e.Value))
}

// isScalar reports whether v is a number or a boolean, which cannot hold
// a password.
func isScalar(v any) bool {
	switch v.(type) {
	case bool, int, int64, uint64, float64:
		return true
	}
	return false
}

// urlKey reports whether key holds URLs.
func urlKey(key string) bool {
	leaf := key[strings.LastIndex(key, ".")+1:]
	return leaf == "url" || leaf == "ws_url" || leaf == "origin"
}

// secretLeaves are the last elements of the keys whose values are secrets.
var secretLeaves = map[string]bool{"password": true, "admin_token": true, "creds": true, "nkey": true}

// nodeEntryRE matches a key naming a whole ari.nodes entry.
var nodeEntryRE = regexp.MustCompile(`^ari\.nodes(\[[0-9]+\])?$`)

// secretKey reports whether key's value is, or may contain, a secret.
func secretKey(key string) bool {
	leaf := key[strings.LastIndex(key, ".")+1:]
	return secretLeaves[leaf] || key == "nats.tls.key" || nodeEntryRE.MatchString(key)
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	// Errors holds the problems in the order of the keys in Config.
	Errors []FieldError
}

// Error puts one problem on each line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// showValue prints a value as a user would write it in the file: strings
// and durations quoted, numbers and booleans bare.
func showValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case time.Duration:
		return strconv.Quote(FormatDuration(x))
	case []time.Duration:
		parts := make([]string, len(x))
		for i, d := range x {
			parts[i] = strconv.Quote(FormatDuration(d))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return fmt.Sprintf("%v", v)
	}
}

// FormatDuration prints d the way it is written in the config file: like
// time.Duration.String but without zero trailing units ("1h", not
// "1h0m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Limits checked by Validate.
const (
	MinMenuAttempts = 1
	MaxMenuAttempts = 10
	MinReplicas     = 1
	MaxReplicas     = 5
	// MaxSilentHelpDigits bounds the silent-help code; a long code is hard
	// to press in an emergency.
	MaxSilentHelpDigits = 4
)

// Enumerations checked by Validate.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	languages  = []string{"id", "en"}
)

var (
	phoneRE = regexp.MustCompile(`^\+?[0-9]{3,15}$`)
	// A dialplan context, extension or emergency type: letters, digits
	// and a few separators, nothing Asterisk would read as a pattern.
	dialplanNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	countryRE      = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
	// schemeRE matches the one media scheme prompts are played from. With
	// any other scheme a missing prompt is worse than a missing file:
	// Asterisk starts the playback and never finishes it (seen on 22.10.1,
	// also for a recording: that is not stored), so the caller would wait
	// in silence until the IVR gives up on the prompt. A missing sound:
	// file fails at once and the flow puts the caller through.
	schemeRE = regexp.MustCompile(`^sound:`)
)

// checker collects problems.
type checker struct {
	errs []FieldError
}

func (c *checker) add(key string, value any, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Key: key, Value: value, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks every value and returns a *ValidationError listing all
// problems, or nil.
func (c Config) Validate() error {
	ck := &checker{}
	c.ARI.validate(ck)
	c.NATS.validate(ck)
	c.IVR.validate(ck)
	c.Blocklist.validate(ck)
	c.Reports.validate(ck)
	c.HTTP.validate(ck)
	c.Callback.validate(ck)
	c.Health.validate(ck)
	c.Log.validate(ck)
	if len(ck.errs) > 0 {
		return &ValidationError{Errors: ck.errs}
	}
	return nil
}

func (a ARI) validate(ck *checker) {
	ck.name("ari.application", a.Application)
	if len(a.Nodes) == 0 {
		ck.add("ari.nodes", nil, "must list at least one Asterisk node")
	}
	names := map[string]int{}
	for i, n := range a.Nodes {
		p := fmt.Sprintf("ari.nodes[%d]", i)
		if ck.name(p+".name", n.Name) {
			if j, dup := names[n.Name]; dup {
				ck.add(p+".name", n.Name, "is already the name of ari.nodes[%d]", j)
			} else {
				names[n.Name] = i
			}
		}
		ck.url(p+".url", n.URL, "is not an http(s) URL", "http", "https")
		ck.url(p+".ws_url", n.WSURL, "is not a ws(s) URL", "ws", "wss")
		ck.nonEmpty(p+".username", n.Username)
		ck.nonEmpty(p+".password", n.Password)
	}
	ck.positive("ari.request_timeout", a.RequestTimeout)
	ck.intRange("ari.max_connections", a.MaxConnections, 1, MaxARIConnections)
	ck.positive("ari.reconnect_min", a.ReconnectMin)
	if ck.positive("ari.reconnect_max", a.ReconnectMax) && a.ReconnectMax < a.ReconnectMin {
		ck.add("ari.reconnect_max", a.ReconnectMax, "is shorter than ari.reconnect_min (%s)", FormatDuration(a.ReconnectMin))
	}
	// An empty origin would leave the ARI library's own default, which
	// Asterisk rejects unless allowed_origins lists it.
	ck.url("ari.origin", a.Origin, "is not an http(s) URL", "http", "https")
}

func (n NATS) validate(ck *checker) {
	if n.URL != "" {
		for _, u := range strings.Split(n.URL, ",") {
			u = strings.TrimSpace(u)
			if !strings.Contains(u, "://") {
				u = "nats://" + u // nats.go reads a bare host:port this way
			}
			if !isURL(u, "nats", "tls", "ws", "wss") {
				ck.add("nats.url", n.URL, "is not a comma-separated list of nats://, tls://, ws:// or wss:// URLs")
				break
			}
		}
	}
	if n.Creds != "" && n.NKey != "" {
		ck.add("nats.nkey", n.NKey, "is set together with nats.creds; use one of them")
	}
	if (n.TLS.Cert == "") != (n.TLS.Key == "") {
		ck.add("nats.tls", nil, "needs both cert and key, or neither")
	}
	ck.positive("nats.stream.max_age", n.Stream.MaxAge)
	if n.Stream.MaxBytes < MinStreamMaxBytes {
		ck.add("nats.stream.max_bytes", n.Stream.MaxBytes, "must be at least %d (1 MiB): the stream must hold a day of calls", MinStreamMaxBytes)
	}
	ck.intRange("nats.stream.replicas", n.Stream.Replicas, MinReplicas, MaxReplicas)
	// JetStream rejects a duplicate window longer than the stream's max age.
	if ck.positive("nats.stream.duplicates", n.Stream.Duplicates) && n.Stream.Duplicates > n.Stream.MaxAge && n.Stream.MaxAge > 0 {
		ck.add("nats.stream.duplicates", n.Stream.Duplicates, "is longer than nats.stream.max_age (%s)", FormatDuration(n.Stream.MaxAge))
	}
	ck.positive("nats.publish.max_block", n.Publish.MaxBlock)
	ck.positive("nats.publish.ack_timeout", n.Publish.AckTimeout)
	ck.nonEmpty("nats.spool.dir", n.Spool.Dir)
	if n.Spool.MaxBytes <= 0 {
		ck.add("nats.spool.max_bytes", n.Spool.MaxBytes, "must be greater than zero")
	}
	if ck.listen("nats.embedded.listen", n.Embedded.Listen) && n.URL == "" && !EmbeddedLoopback(n.Embedded.Listen) {
		ck.add("nats.embedded.listen", n.Embedded.Listen,
			"is not a loopback address (127.0.0.1, ::1, localhost); the embedded NATS server serves this host only: give other hosts an external server in nats.url")
	}
	ck.nonEmpty("nats.embedded.data_dir", n.Embedded.DataDir)
	ck.intRange("nats.embedded.max_connections", n.Embedded.MaxConnections, 8, 100_000)
	ck.intRange("nats.consumer.max_ack_pending", n.Consumer.MaxAckPending, 1, 1<<20)
	ck.positive("nats.consumer.ack_wait", n.Consumer.AckWait)
}

func (iv IVR) validate(ck *checker) {
	ck.oneOf("ivr.language", iv.Language, languages)
	if !schemeRE.MatchString(iv.SoundPrefix) {
		ck.add("ivr.sound_prefix", iv.SoundPrefix, `does not start with the media scheme "sound:"`)
	}
	p := iv.Prompts
	for _, f := range []struct{ key, val string }{
		{"greeting", p.Greeting}, {"blocked", p.Blocked}, {"menu", p.Menu},
		{"invalid", p.Invalid}, {"no_input", p.NoInput}, {"silent_help", p.SilentHelp},
		{"location", p.Location}, {"goodbye", p.Goodbye},
		{"incident_offer", p.IncidentOffer}, {"incident_ack", p.IncidentAck},
		{"incident_record", p.IncidentRecord}, {"incident_record_confirm", p.IncidentRecordConfirm},
		{"incident_record_saved", p.IncidentRecordSaved}, {"callback", p.Callback},
	} {
		ck.nonEmpty("ivr.prompts."+f.key, f.val)
	}
	// ivr.prompts.connecting may be empty: it delays every caller's arrival
	// in the operators' queue by its length, so it is off by default.

	if len(iv.Menu) == 0 {
		ck.add("ivr.menu", nil, "must have at least one entry")
	}
	digits := map[string]int{}
	for i, m := range iv.Menu {
		k := fmt.Sprintf("ivr.menu[%d]", i)
		if ck.dtmf(k+".digit", m.Digit) {
			if j, dup := digits[m.Digit]; dup {
				ck.add(k+".digit", m.Digit, "is already used by ivr.menu[%d]", j)
			} else {
				digits[m.Digit] = i
			}
		}
		ck.dialplanName(k+".type", m.Type)
		ck.nonEmpty(k+".prompt", m.Prompt)
		ck.dialplanName(k+".extension", m.Extension)
		if m.Queue != "" {
			ck.dialplanName(k+".queue", m.Queue)
		}
		for j, d := range m.Members {
			ck.device(fmt.Sprintf("%s.members[%d]", k, j), d)
		}
	}
	// The silent-help code and the blocked-caller key are read on their
	// own prompts, after the menu and instead of it, so they may reuse
	// menu digits; each only has to be pressable.
	ck.intRange("ivr.menu_attempts", iv.MenuAttempts, MinMenuAttempts, MaxMenuAttempts)
	ck.positive("ivr.first_digit_timeout", iv.FirstDigitTimeout)
	ck.positive("ivr.inter_digit_timeout", iv.InterDigitTimeout)
	if iv.TalkDetect {
		ck.positive("ivr.talk_min_duration", iv.TalkMinDuration)
	}
	switch {
	case iv.SilentHelpDigits == "" || len(iv.SilentHelpDigits) > MaxSilentHelpDigits:
		ck.add("ivr.silent_help_digits", iv.SilentHelpDigits, "must be 1 to %d keys", MaxSilentHelpDigits)
	case strings.Trim(iv.SilentHelpDigits, "0123456789*#") != "":
		ck.add("ivr.silent_help_digits", iv.SilentHelpDigits, "may only hold the keys 0-9, * and #")
	}
	ck.positive("ivr.silent_help_timeout", iv.SilentHelpTimeout)
	ck.dtmf("ivr.blocked_override_digit", iv.BlockedOverrideDigit)
	for i, n := range iv.IncidentPrompts {
		ck.dialplanName(fmt.Sprintf("ivr.incident_prompts[%d]", i), n)
	}
	if ck.dtmf("ivr.incident_digit", iv.IncidentDigit) {
		_, onMenu := digits[iv.IncidentDigit]
		switch {
		case onMenu:
			ck.add("ivr.incident_digit", iv.IncidentDigit, "is a menu key; the incident key must differ from every ivr.menu[].digit")
		case iv.IncidentDigit == iv.BlockedOverrideDigit:
			ck.add("ivr.incident_digit", iv.IncidentDigit, "is also ivr.blocked_override_digit")
		case iv.SilentHelpDigits != "" && strings.HasPrefix(iv.SilentHelpDigits, iv.IncidentDigit):
			ck.add("ivr.incident_digit", iv.IncidentDigit, "starts ivr.silent_help_digits")
		}
	}
	ck.positive("ivr.blocked_override_timeout", iv.BlockedOverrideTimeout)
	iv.checkSilentHelpOffer(ck)
	switch iv.Location.When {
	case LocationBusy, LocationAlways:
		ck.positive("ivr.location.max_duration", iv.Location.MaxDuration)
		ck.positive("ivr.location.max_silence", iv.Location.MaxSilence)
	case LocationNever:
	default:
		ck.oneOf("ivr.location.when", iv.Location.When, []string{LocationBusy, LocationAlways, LocationNever})
	}
	if iv.CallRecordingPrefix != "" && strings.ContainsAny(iv.CallRecordingPrefix, " \t\n,;|\"'") {
		ck.add("ivr.call_recording_prefix", iv.CallRecordingPrefix, "may not hold spaces, commas, quotes or the characters ; and |")
	}
	ck.dialplanName("ivr.operator_context", iv.OperatorContext)
	ck.dialplanName("ivr.failover_extension", iv.FailoverExtension)
	ck.positive("ivr.max_prompt", iv.MaxPrompt)
	ck.positive("ivr.drain_timeout", iv.DrainTimeout)
}

func (b Blocklist) validate(ck *checker) {
	if !countryRE.MatchString(b.DefaultCountry) {
		ck.add("blocklist.default_country", b.DefaultCountry, "is not a country calling code (1 to 3 digits, without +)")
	}
	ck.positive("blocklist.window", b.Window)
	if b.Threshold < 1 {
		ck.add("blocklist.threshold", b.Threshold, "must be at least 1")
	}
	for _, s := range []struct {
		key string
		n   int
	}{
		{"no_input", b.Strikes.NoInput}, {"abandoned", b.Strikes.Abandoned},
		{"invalid", b.Strikes.Invalid}, {"verdict_prank", b.Strikes.VerdictPrank},
	} {
		if s.n < 0 {
			ck.add("blocklist.strikes."+s.key, s.n, "must not be negative")
		}
	}
	ck.positive("blocklist.abandoned_within", b.AbandonedWithin)
	if len(b.Ladder) == 0 {
		ck.add("blocklist.ladder", nil, "must list at least one block length")
	}
	for i, d := range b.Ladder {
		k := fmt.Sprintf("blocklist.ladder[%d]", i)
		if !ck.positive(k, d) {
			continue
		}
		if i > 0 && d < b.Ladder[i-1] {
			ck.add(k, d, "is shorter than the step before it (%s); the ladder must not go down", FormatDuration(b.Ladder[i-1]))
		}
	}
	for i, n := range b.Allowlist {
		if !phoneRE.MatchString(n) {
			ck.add(fmt.Sprintf("blocklist.allowlist[%d]", i), n, "is not a phone number (digits with an optional leading +)")
		}
	}
}

// indonesianZones maps Indonesia's time zone abbreviations to IANA names.
var indonesianZones = map[string]string{"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}

func (r Reports) validate(ck *checker) {
	ck.intRange("reports.recent_calls", r.RecentCalls, 1, 1_000_000)
	ck.intRange("reports.top_callers", r.TopCallers, 1, 10_000)
	ck.positive("reports.refresh", r.Refresh)
	if r.TimeZone == "" {
		ck.add("reports.time_zone", r.TimeZone, `must name an IANA time zone such as "Asia/Makassar", or "Local"`)
	} else if iana, ok := indonesianZones[strings.ToUpper(r.TimeZone)]; ok {
		// The abbreviations people say are not zone names: suggest the one.
		ck.add("reports.time_zone", r.TimeZone, "is an abbreviation, not an IANA time zone: use %q", iana)
	} else if _, err := time.LoadLocation(r.TimeZone); err != nil {
		ck.add("reports.time_zone", r.TimeZone, "is not a known IANA time zone")
	}
	ck.oneOf("reports.language", r.Language, []string{"id", "en"})
	ck.positive("reports.retention", r.Retention)
	ck.intRange("reports.thresholds.waiting_seconds", r.Thresholds.WaitingSeconds, 0, 3600)
	ck.intRange("reports.thresholds.waiting_calls", r.Thresholds.WaitingCalls, 0, 10_000)
	// JetStream consumer names may not contain white space, '.', '*' or '>'.
	if ck.nonEmpty("reports.durable", r.Durable) && strings.ContainsAny(r.Durable, " \t\r\n.*>") {
		ck.add("reports.durable", r.Durable, "is not a valid JetStream consumer name (no spaces, '.', '*' or '>')")
	}
}

func (h HTTP) validate(ck *checker) {
	ck.listen("http.listen", h.Listen)
	if strings.TrimSpace(h.AdminToken) != h.AdminToken {
		// Leading or trailing blanks are almost always a copy-paste
		// accident and would make every request fail to match. The value
		// is a secret, so it is not echoed.
		ck.add("http.admin_token", nil, "starts or ends with white space")
	}
	ck.nonEmpty("http.accounts_file", h.AccountsFile)
	if h.SessionTTL < time.Minute || h.SessionTTL > 7*24*time.Hour {
		ck.add("http.session_ttl", h.SessionTTL, "must be between 1m and 168h (a week)")
	}
	ck.positive("http.read_timeout", h.ReadTimeout)
	ck.positive("http.write_timeout", h.WriteTimeout)
	ck.positive("http.idle_timeout", h.IdleTimeout)
	ck.intRange("http.max_connections", h.MaxConnections, 8, 100_000)
	ck.intRange("http.stream_max_clients", h.StreamMaxClients, 1, h.MaxConnections/2)
	ck.intRange("http.stream_max_per_address", h.StreamMaxPerAddress, 1, max(1, h.StreamMaxClients))
	for _, host := range h.AllowedHosts {
		if host == "" || strings.ContainsAny(host, " \t/:@") {
			ck.add("http.allowed_hosts", host, "must be a host name without port or scheme")
		}
	}
}

func (h Health) validate(ck *checker) {
	ck.intRange("health.max_worker_lag", h.MaxWorkerLag, 1, 100_000_000)
	ck.positive("health.max_spooling", h.MaxSpooling)
	ck.positive("health.stream_probe", h.StreamProbe)
}

func (l Log) validate(ck *checker) {
	ck.oneOf("log.level", l.Level, logLevels)
	ck.oneOf("log.format", l.Format, logFormats)
}

func (ck *checker) nonEmpty(key, v string) bool {
	if strings.TrimSpace(v) == "" {
		ck.add(key, v, "must not be empty")
		return false
	}
	return true
}

func (ck *checker) name(key, v string) bool {
	if !ck.nonEmpty(key, v) {
		return false
	}
	if strings.ContainsAny(v, " \t\r\n") {
		ck.add(key, v, "must not contain white space")
		return false
	}
	return true
}

func (ck *checker) dialplanName(key, v string) {
	if !ck.nonEmpty(key, v) {
		return
	}
	if !dialplanNameRE.MatchString(v) {
		ck.add(key, v, "may only hold letters, digits, '_', '.' and '-'")
	}
}

// deviceRE is an Asterisk device as a queue member names it: a channel
// technology, a slash and a resource (PJSIP/op201, Local/op1@operators).
// A Local channel member may end in its options (Local/op201@ops/n: /n
// keeps the Local pair from optimising itself away).
var deviceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9_.@+-]+(/[A-Za-z]+)?$`)

// device checks a queue member's device name.
func (ck *checker) device(key, v string) {
	if !ck.nonEmpty(key, v) {
		return
	}
	if len(v) > 128 || !deviceRE.MatchString(v) {
		ck.add(key, v, "must be a device as queues.conf names a member, e.g. PJSIP/op201")
	}
}

func (ck *checker) positive(key string, d time.Duration) bool {
	if d <= 0 {
		ck.add(key, d, "must be greater than zero")
		return false
	}
	return true
}

func (ck *checker) intRange(key string, v, lo, hi int) {
	if v < lo || v > hi {
		ck.add(key, v, "must be between %d and %d", lo, hi)
	}
}

func (ck *checker) oneOf(key, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	ck.add(key, v, "is not one of %s", strings.Join(allowed, ", "))
}

func (ck *checker) dtmf(key, v string) bool {
	if len(v) != 1 || !strings.Contains("0123456789*#", v) {
		ck.add(key, v, "is not a single key 0-9, * or #")
		return false
	}
	return true
}

func (ck *checker) url(key, v, msg string, schemes ...string) {
	if !isURL(v, schemes...) {
		ck.add(key, v, "%s", msg)
	}
}

func isURL(v string, schemes ...string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// listen checks a host:port listen address and reports whether it is one.
func (ck *checker) listen(key, v string) bool {
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		ck.add(key, v, "is not a host:port listen address (port 0-65535)")
		return false
	}
	return true
}

// Warnings lists settings that are valid but risky in production: the
// sample ARI password, and listeners reachable from other hosts without
// protection. Commands log them at start; `config check` prints them.
func (c Config) Warnings() []FieldError {
	var w []FieldError
	for i, n := range c.ARI.Nodes {
		if n.Password == DefaultARIPassword {
			w = append(w, FieldError{Key: fmt.Sprintf("ari.nodes[%d].password", i),
				Msg: "is the sample password from the documentation; set a real one in ari.conf and here"})
		}
	}
	if !isLoopback(c.HTTP.Listen) && c.HTTP.AdminToken == "" {
		w = append(w, FieldError{Key: "http.listen", Value: c.HTTP.Listen,
			Msg: "is reachable from other hosts; the dashboard shows call data to anyone who can connect"})
	}
	w = append(w, c.zoneWarnings()...)
	return append(w, c.callbackWarnings()...)
}

// EmbeddedLoopback reports whether nats.embedded.listen names a loopback
// address, as the embedded server requires: 127.0.0.0/8, ::1, "localhost",
// or an empty host, which the embedded server reads as 127.0.0.1.
func EmbeddedLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	return err == nil && (host == "" || isLoopback(listen))
}

// isLoopback reports whether a host:port listen address accepts only local
// connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
