package events

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of the envelope's fields, checked by Validate. Anyone who can
// publish on the stream can send any bytes, and a consumer turns these
// fields into KV keys, log attributes, metric labels and CSV cells; each
// bound is generous for what the IVR really sends and small enough that no
// field can blow up a key, a NATS control line (4,096 bytes) or a label set.
const (
	// MaxIDLen bounds the event id (a ULID is 26 characters).
	MaxIDLen = 64
	// MaxCallIDLen bounds call_id. Asterisk's unique ids are at most 149
	// characters (AST_MAX_UNIQUEID is 150 with the terminator); channel ids
	// set over ARI are held to the same limit.
	MaxCallIDLen = 150
	// MaxNodeLen bounds the Asterisk node name.
	MaxNodeLen = 64
	// MaxNumberLen bounds caller.number as received: a SIP URI or a number
	// with separators, before it is normalised.
	MaxNumberLen = 128
	// MaxNameLen bounds caller.name (a CALLERID(name); SIP display names
	// are rarely over 50 characters).
	MaxNameLen = 128
	// MaxTextLen bounds short free-text data fields: recording and channel
	// names, a block's reason, who gave a verdict.
	MaxTextLen = 256
	// MaxDiagLen bounds diagnostic text (a failover's reason, which may
	// hold a joined Go error over several lines).
	MaxDiagLen = 4096
	// MaxTypeLen bounds an emergency type (a dialplan extension name).
	MaxTypeLen = 64
	// MaxDigitsLen bounds the keys of one menu attempt.
	MaxDigitsLen = 32
	// MaxDataLen bounds the type-specific data.
	MaxDataLen = 16 << 10
	// MaxAttempts bounds menu attempt counters.
	MaxAttempts = 100
	// MaxQueues bounds the queues one operator's device is listed in.
	MaxQueues = 32
	// MaxSeconds bounds durations carried in data (a day).
	MaxSeconds = 24 * 60 * 60
)

// DefaultMaxSkew is how far in the future of the receiver's clock an event
// may be dated. IVR hosts keep time with NTP, so a few seconds is the
// normal error; an event dated further ahead comes from a host with a wrong
// clock or a forger, and would sort after every real event.
const DefaultMaxSkew = 5 * time.Minute

// minTime is the earliest event time accepted: siaga112 did not exist
// before it, and a zero-ish time is a sign of a broken publisher.
var minTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Validate checks every field of a decoded event against the bounds above,
// with the event's time at most DefaultMaxSkew after now. It is pure; the
// error wraps ErrMalformed and names the bad field without quoting long or
// hostile values.
func Validate(e Envelope, now time.Time) error {
	return ValidateSkew(e, now, DefaultMaxSkew)
}

// ValidateSkew is Validate with a chosen future skew (≤ 0 means
// DefaultMaxSkew).
func ValidateSkew(e Envelope, now time.Time, skew time.Duration) error {
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s %s", ErrMalformed, field, fmt.Sprintf(format, args...))
	}
	if err := token("id", e.ID, 1, MaxIDLen); err != nil {
		return err
	}
	if !e.Type.Known() {
		return bad("type", "is unknown (%s)", quoteShort(string(e.Type)))
	}
	if e.Version != Version {
		return bad("version", "%d is not supported (want %d)", e.Version, Version)
	}
	switch {
	case e.Time.IsZero():
		return bad("time", "is missing")
	case e.Time.Before(minTime):
		return bad("time", "%s is before %s", e.Time.UTC().Format(time.RFC3339), minTime.Format(time.RFC3339))
	case e.Time.After(now.Add(skew)):
		return bad("time", "is %s ahead of the receiver's clock (at most %s)", e.Time.Sub(now).Round(time.Second), skew)
	}
	minCall := 1
	if e.Type == TypeBlocklistChanged || e.Type == TypeAudit || e.Type == TypeIncidentStarted || e.Type == TypeIncidentEnded || e.Type == TypeOperatorState {
		// Admin changes, console actions, incidents and operators' device
		// states belong to no call.
		minCall = 0
	}
	if err := token("call_id", e.CallID, minCall, MaxCallIDLen); err != nil {
		return err
	}
	if err := token("node", e.Node, 0, MaxNodeLen); err != nil {
		return err
	}
	if err := text("caller.number", e.Caller.Number, MaxNumberLen); err != nil {
		return err
	}
	if err := text("caller.name", e.Caller.Name, MaxNameLen); err != nil {
		return err
	}
	switch e.Caller.Presentation {
	case "", PresentationAllowed, PresentationRestricted:
	default:
		return bad("caller.presentation", "is unknown (%s)", quoteShort(e.Caller.Presentation))
	}
	if len(e.Data) > MaxDataLen {
		return bad("data", "is %d bytes (at most %d)", len(e.Data), MaxDataLen)
	}
	return validateData(e)
}

// validateData decodes the type-specific data and checks its fields.
func validateData(e Envelope) error {
	if e.Type == TypeAnswered {
		// No data; whatever is there is ignored by every consumer.
		return nil
	}
	switch e.Type {
	case TypeStarted:
		var d Started
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			text("data.dialed", d.Dialed, MaxNumberLen),
			text("data.channel", d.Channel, MaxTextLen),
		)
	case TypeMenu:
		var d Menu
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			intRange("data.attempt", d.Attempt, 0, MaxAttempts),
			dtmf("data.digits", d.Digits),
			word("data.result", d.Result),
		)
	case TypeClassified:
		var d Classified
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			outcome("data.outcome", d.Outcome),
			emergencyType("data.emergency_type", d.EmergencyType),
			intRange("data.attempts", d.Attempts, 0, MaxAttempts),
			seconds("data.seconds_to_classify", d.SecondsToClassify),
			text("data.recording", d.Recording, MaxTextLen),
			diag("data.reason", d.Reason),
			oneOf("data.hangup_by", d.HangupBy, false, HangupByCaller, HangupBySystem),
		)
	case TypeTransferred:
		var d Transferred
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			emergencyType("data.emergency_type", d.EmergencyType),
			text("data.context", d.Context, MaxTextLen),
			text("data.extension", d.Extension, MaxTextLen),
			callID("data.callback_of", d.CallbackOf),
		)
	case TypeEnded:
		var d Ended
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			outcome("data.outcome", d.Outcome),
			seconds("data.duration_s", d.DurationS),
			oneOf("data.hangup_by", d.HangupBy, false, HangupByCaller, HangupBySystem),
			oneOf("data.where", d.Where, false, WhereIVR, WhereQueue, WhereOperator, WhereUnknown),
			emergencyType("data.emergency_type", d.EmergencyType),
			callID("data.callback_of", d.CallbackOf),
		)
	case TypeOperatorAnswered:
		var d OperatorAnswered
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			emergencyType("data.emergency_type", d.EmergencyType),
			text("data.extension", d.Extension, MaxTextLen),
			text("data.operator", d.Operator, MaxTextLen),
			seconds("data.seconds_in_queue", d.SecondsInQueue),
			seconds("data.seconds_to_person", d.SecondsToPerson),
			callID("data.callback_of", d.CallbackOf),
		)
	case TypeQueueAbandoned:
		var d QueueAbandoned
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			emergencyType("data.emergency_type", d.EmergencyType),
			text("data.extension", d.Extension, MaxTextLen),
			seconds("data.seconds_in_queue", d.SecondsInQueue),
			seconds("data.seconds_since_answer", d.SecondsSinceAnswer),
			callID("data.callback_of", d.CallbackOf),
		)
	case TypeOperatorState:
		var d OperatorState
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		if len(d.Queues) > MaxQueues {
			return fmt.Errorf("%w: data.queues holds %d queues (at most %d)", ErrMalformed, len(d.Queues), MaxQueues)
		}
		for _, q := range d.Queues {
			if err := emergencyType("data.queues", q); err != nil {
				return err
			}
		}
		return firstErr(
			text("data.device", d.Device, MaxTextLen),
			oneOf("data.state", d.State, true, OperatorFree, OperatorRinging, OperatorBusy, OperatorAway, OperatorUnknown),
			word("data.asterisk_state", strings.ToLower(d.AsteriskState)),
		)
	case TypeVerdict:
		var d Verdict
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			oneOf("data.verdict", d.Verdict, true, VerdictPrank, VerdictGenuine),
			text("data.by", d.By, MaxTextLen),
		)
	case TypeHandled:
		var d Handled
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			oneOf("data.action", d.Action, true, HandledCalledBack, HandledDone),
			text("data.by", d.By, MaxTextLen),
		)
	case TypeTaken:
		var d Taken
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		if d.By == "" {
			// A take says who took the item; one by nobody would hide
			// an earlier person's take on the board.
			return fmt.Errorf("%w: data.by is empty", ErrMalformed)
		}
		return text("data.by", d.By, MaxTextLen)
	case TypeIncidentStarted, TypeIncidentEnded:
		var d Incident
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			token("data.id", d.ID, 1, MaxCallIDLen),
			text("data.title", d.Title, MaxTextLen),
			text("data.media", d.Media, MaxTextLen),
			text("data.by", d.By, MaxTextLen),
		)
	case TypeAudit:
		var d Audit
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			text("data.by", d.By, MaxTextLen),
			word("data.action", d.Action),
			text("data.target", d.Target, MaxTextLen),
			text("data.address", d.Address, MaxTextLen),
			text("data.result", d.Result, MaxTextLen),
		)
	case TypeCallbackScheduled:
		var d CallbackScheduled
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			outcome("data.outcome", d.Outcome),
			emergencyType("data.emergency_type", d.EmergencyType),
			oneOf("data.where", d.Where, false, WhereIVR, WhereQueue, WhereOperator, WhereUnknown),
			instant("data.due_at", d.DueAt, true),
			intRange("data.max_attempts", d.MaxAttempts, 1, MaxAttempts),
		)
	case TypeCallbackAttempt:
		var d CallbackAttempt
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		var next error
		if d.NextAt != nil {
			next = instant("data.next_at", *d.NextAt, true)
		}
		return firstErr(
			intRange("data.attempt", d.Attempt, 1, MaxAttempts),
			oneOf("data.result", d.Result, true, CallbackResults...),
			intRange("data.cause", d.Cause, 0, 255),
			callID("data.channel_id", d.ChannelID),
			text("data.endpoint", d.Endpoint, MaxTextLen),
			seconds("data.ring_s", d.RingS),
			next,
			diag("data.reason", d.Reason),
		)
	case TypeCallbackDone:
		var d CallbackDone
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			oneOf("data.reason", d.Reason, true, CallbackDoneReasons...),
			intRange("data.attempts", d.Attempts, 0, MaxAttempts),
			text("data.by", d.By, MaxTextLen),
			text("data.note", d.Note, MaxTextLen),
			callID("data.other_call_id", d.OtherCallID),
		)
	case TypeBlocklistChanged:
		var d BlocklistChanged
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return firstErr(
			text("data.number", d.Number, MaxNumberLen),
			intRange("data.strikes", d.Strikes, 0, 1<<20),
			text("data.reason", d.Reason, MaxTextLen),
			reasonCode(d.ReasonCode, d.ReasonArgs),
		)
	}
	return nil
}

// reasonCode checks a blocklist.changed reason code and its parameters:
// short tokens and short values, a bounded number of them, and none
// without a code to say what they mean.
func reasonCode(code string, args map[string]string) error {
	if code != "" {
		if err := token("data.reason_code", code, 1, 64); err != nil {
			return err
		}
	} else if len(args) > 0 {
		return fmt.Errorf("%w: data.reason_args without a data.reason_code", ErrMalformed)
	}
	if len(args) > MaxReasonArgs {
		return fmt.Errorf("%w: data.reason_args has %d entries (at most %d)", ErrMalformed, len(args), MaxReasonArgs)
	}
	for k, v := range args {
		if err := firstErr(token("data.reason_args key", k, 1, 64), token("data.reason_args."+k, v, 1, 64)); err != nil {
			return err
		}
	}
	return nil
}

// callID checks an optional call id carried in data.
func callID(field, v string) error {
	if v == "" {
		return nil
	}
	return token(field, v, 1, MaxCallIDLen)
}

// instant checks a time carried in data: set (when required) and after
// siaga112 existed.
func instant(field string, t time.Time, required bool) error {
	if t.IsZero() {
		if required {
			return fmt.Errorf("%w: %s is missing", ErrMalformed, field)
		}
		return nil
	}
	if t.Before(minTime) {
		return fmt.Errorf("%w: %s is before %s", ErrMalformed, field, minTime.Format("2006"))
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// token checks an identifier: printable ASCII without spaces, quotes or
// backslashes, min to max bytes long.
func token(field, v string, minLen, maxLen int) error {
	if len(v) < minLen {
		return fmt.Errorf("%w: %s is empty", ErrMalformed, field)
	}
	if len(v) > maxLen {
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrMalformed, field, len(v), maxLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%w: %s holds a forbidden byte 0x%02x at %d", ErrMalformed, field, c, i)
		}
	}
	return nil
}

// text checks free text: valid UTF-8 without control characters, at most
// max bytes.
func text(field, v string, maxLen int) error {
	if len(v) > maxLen {
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrMalformed, field, len(v), maxLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrMalformed, field)
	}
	for i, r := range v {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: %s holds a control character at %d", ErrMalformed, field, i)
		}
	}
	return nil
}

// diag checks diagnostic text: like text, but tabs and line breaks are
// allowed and the bound is MaxDiagLen. A consumer only logs or shows it.
func diag(field, v string) error {
	if len(v) > MaxDiagLen {
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrMalformed, field, len(v), MaxDiagLen)
	}
	return text(field, strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(v), MaxDiagLen)
}

func intRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s %d is outside %d..%d", ErrMalformed, field, v, lo, hi)
	}
	return nil
}

// seconds checks a duration in seconds; -1 and other negatives are kept
// for "unknown" (the blocklist reads a negative as no answer time).
func seconds(field string, v float64) error {
	if v != v || v > MaxSeconds || v < -MaxSeconds {
		return fmt.Errorf("%w: %s is outside ±%d", ErrMalformed, field, MaxSeconds)
	}
	return nil
}

// oneOf checks v against a known set; an empty v passes unless required.
func oneOf(field, v string, required bool, set ...string) error {
	if v == "" && !required {
		return nil
	}
	if !slices.Contains(set, v) {
		return fmt.Errorf("%w: %s is not one of %s (%s)", ErrMalformed, field, strings.Join(set, ", "), quoteShort(v))
	}
	return nil
}

// outcome checks an outcome. A known outcome passes; an unknown one passes
// only in the shape of the known ones (lower case letters and '_', at most
// 32 bytes), so an IVR newer than this consumer can add outcomes while a
// forged value cannot carry markup, formulas or unbounded text.
func outcome(field string, o Outcome) error {
	if o == "" || slices.Contains(AllOutcomes, o) {
		return nil
	}
	return word(field, string(o))
}

// word checks a value of a set that grows with the IVR (outcomes, menu
// results): lower case letters and '_', at most 32 bytes.
func word(field, v string) error {
	if len(v) > 32 {
		return fmt.Errorf("%w: %s is %d bytes (at most 32)", ErrMalformed, field, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 'a' || c > 'z') && c != '_' {
			return fmt.Errorf("%w: %s is not a known value (%s)", ErrMalformed, field, quoteShort(v))
		}
	}
	return nil
}

// emergencyType checks the shape of an emergency type: a dialplan name
// (configs checks ivr.menu[].type the same way), at most MaxTypeLen bytes.
// The set is configuration, so a consumer cannot know it; reports map
// types they do not know to "other" where a bounded set matters.
func emergencyType(field, t string) error {
	if len(t) > MaxTypeLen {
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrMalformed, field, len(t), MaxTypeLen)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %s holds a forbidden byte 0x%02x at %d", ErrMalformed, field, c, i)
		}
	}
	if t != "" && (t[0] == '-' || t[0] == '.') {
		return fmt.Errorf("%w: %s starts with %q", ErrMalformed, field, t[0])
	}
	return nil
}

// dtmf checks DTMF keys: 0-9, *, #, A-D.
func dtmf(field, v string) error {
	if len(v) > MaxDigitsLen {
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrMalformed, field, len(v), MaxDigitsLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D') {
			return fmt.Errorf("%w: %s holds a forbidden byte 0x%02x at %d", ErrMalformed, field, c, i)
		}
	}
	return nil
}

// quoteShort quotes at most 32 bytes of a hostile value for an error
// message, so an error (and the log line it ends up in) stays short.
func quoteShort(v string) string {
	const n = 32
	if len(v) <= n {
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%q… (%d bytes)", strings.ToValidUTF8(v[:n], ""), len(v))
}
