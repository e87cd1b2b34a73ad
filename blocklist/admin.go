package blocklist

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// ErrBadVerdict is returned for a verdict other than prank or genuine.
var ErrBadVerdict = errors.New("verdict must be prank or genuine")

// ErrBadCallID is returned for a call id that is empty, oversized or
// outside Asterisk's id alphabet (callid.Valid).
var ErrBadCallID = errors.New("invalid call id")

// ErrUnknownCall is returned for a verdict on a call the event stream does
// not know: a verdict for it would be ignored by the worker, so it is
// refused instead of published.
var ErrUnknownCall = errors.New("unknown call")

// maxCallIDLen bounds call ids from admins; Asterisk's are far shorter.
const maxCallIDLen = 128

// DefaultBlockLength is the length of an admin block when none is given.
const DefaultBlockLength = 24 * time.Hour

// Admin is what the CLI and the HTTP API do on an admin's behalf: manual
// blocks and verdicts. Changes are written to the store and announced.
type Admin struct {
	store *Store
	pub   Publisher
	log   *slog.Logger
	// js is where verdicts look their call up; nil when pub is not a
	// JSPublisher, and then calls are not checked.
	js  jetstream.JetStream
	now func() time.Time
}

// NewAdmin returns an Admin over store that announces through pub (nil: no
// announcements). A JSPublisher also gives the Admin the event stream, in
// which Verdict looks its call up; every caller in this repository passes
// one, so the constructor stays as it was.
func NewAdmin(store *Store, pub Publisher, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Admin{store: store, pub: pub, log: log.With("component", "blocklist-admin"), now: time.Now}
	if jp, ok := pub.(JSPublisher); ok {
		a.js = jp.JS
	}
	return a
}

// Store returns the admin's store.
func (a *Admin) Store() *Store { return a.store }

// Block blocks raw for length. raw is what a person typed: it must be a
// number of its country's numbering plan (phone.ParseTyped), so that a
// typo such as "12345" is refused instead of blocking +6212345, which no
// phone has.
func (a *Admin) Block(ctx context.Context, raw string, length time.Duration, reason, by string) (Record, error) {
	num := raw
	if n, err := phone.Normalize(raw, a.store.policy.DefaultCountry); err != nil || !n.IsAnonymous() {
		// A withheld marker goes on to the store, which refuses it with
		// its own error (ErrAnonymous); anything else must be diallable.
		t, err := phone.ParseTyped(raw, a.store.policy.DefaultCountry)
		if err != nil {
			return Record{}, err
		}
		num = t.E164
	}
	r, d, err := a.store.Add(ctx, num, length, reason, by)
	if err != nil {
		return Record{}, err
	}
	a.log.Info("number blocked by admin", "number", phone.Mask(r.Number), "until", r.Until, "by", by)
	announce(ctx, a.pub, a.log, r, d, "", "")
	return r, nil
}

// Unblock lifts the block of raw and clears its strikes.
func (a *Admin) Unblock(ctx context.Context, raw, by string) (Record, error) {
	r, d, err := a.store.Remove(ctx, raw, by)
	if err != nil {
		return Record{}, err
	}
	a.log.Info("number unblocked by admin", "number", phone.Mask(r.Number), "by", by)
	announce(ctx, a.pub, a.log, r, d, "", "")
	return r, nil
}

// Verdict publishes call.verdict for callID. The caller's number is left
// out: the worker finds it from the call id.
func (a *Admin) Verdict(ctx context.Context, callID, verdict, by string) (events.Envelope, error) {
	if len(callID) > maxCallIDLen || !callid.Valid(callID) {
		return events.Envelope{}, fmt.Errorf("%w %q", ErrBadCallID, callID)
	}
	if verdict != events.VerdictPrank && verdict != events.VerdictGenuine {
		return events.Envelope{}, fmt.Errorf("%w, not %q", ErrBadVerdict, verdict)
	}
	if a.pub == nil {
		return events.Envelope{}, errors.New("blocklist: no publisher for verdicts")
	}
	if err := a.FindCall(ctx, callID); err != nil {
		return events.Envelope{}, err
	}
	e, err := events.New(events.TypeVerdict, callID, "", events.Caller{}, events.Verdict{Verdict: verdict, By: by})
	if err != nil {
		return events.Envelope{}, err
	}
	if err := a.pub.Publish(ctx, e); err != nil {
		return events.Envelope{}, err
	}
	a.log.Info("verdict published", "call_id", callID, "verdict", verdict, "by", by)
	return e, nil
}

// CallNumber returns the E.164 number of callID from the worker's call
// index. An error wrapping ErrUnknownCall means the index does not hold
// it: a withheld caller, a call older than the window, or one the worker
// has not read yet.
func (a *Admin) CallNumber(ctx context.Context, callID string) (string, error) {
	if a.js == nil {
		return "", fmt.Errorf("%w %q: no event stream to look it up in", ErrUnknownCall, callID)
	}
	return CallNumber(ctx, a.js, callID)
}

// FindCall reports whether the event stream knows callID: nil when it does,
// an error wrapping ErrUnknownCall when it does not.
//
// The worker's call index (call id -> number, kept for one policy window)
// answers in one key lookup for nearly every call an operator marks. A miss
// there is not yet proof: the index skips withheld numbers, and the worker
// may not have read a call that has just started. So a miss is followed by
// a scan of the call.started events of the same window, the only place the
// call id is stored (it is in the event body, not the subject, so no
// last-by-subject lookup can find it). The scan reads a few hundred bytes
// per call of the last window and stops at the first match; a typo pays for
// the whole window, which is an admin's wait of well under a second at a
// centre's volume. Beyond the window the worker no longer knows the
// caller's number, so a verdict there would be ignored: it is refused too.
func (a *Admin) FindCall(ctx context.Context, callID string) error {
	if a.js == nil {
		return nil
	}
	if idx, err := a.js.KeyValue(ctx, CallIndexBucket); err == nil {
		if _, err := idx.Get(ctx, callKey(callID)); err == nil {
			return nil
		}
	}
	window := a.store.policy.Window
	since := a.now().Add(-window)
	cons, err := a.js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.TypeStarted.Subject()},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return fmt.Errorf("blocklist: look up call %q: %w", callID, err)
	}
	unknown := fmt.Errorf("%w %q: no call.started with this id in the last %s of the event stream", ErrUnknownCall, callID, HumanDuration(window))
	for {
		batch, err := cons.FetchNoWait(512)
		if err != nil {
			return fmt.Errorf("blocklist: look up call %q: %w", callID, err)
		}
		n := 0
		last := uint64(1)
		for m := range batch.Messages() {
			n++
			if md, err := m.Metadata(); err == nil {
				last = md.NumPending
			}
			e, err := events.Decode(m.Data())
			if err == nil && e.CallID == callID {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("blocklist: look up call %q: %w", callID, err)
		}
		// FetchNoWait returns what is there now: an empty batch, or a
		// message with nothing pending after it, is the end of the window.
		if n == 0 || last == 0 {
			return unknown
		}
	}
}

// BlockUntil blocks the E.164 number e164 until the given time on an
// admin's order, as Block does for a length; import uses it so that an
// exported list comes back with the same end times.
func (a *Admin) BlockUntil(ctx context.Context, e164 string, until time.Time, reason, by string) (Record, error) {
	now := a.now()
	if !until.After(now) {
		return Record{}, fmt.Errorf("block of %s ends %s, in the past", e164, until.Format(time.RFC3339))
	}
	r, d, err := a.store.Update(ctx, e164, func(r Record) (Record, Decision, error) {
		return a.store.policy.AddManual(r, now, until.Sub(now), reason, by)
	})
	if err != nil {
		return Record{}, err
	}
	a.log.Info("number blocked by admin", "number", phone.Mask(r.Number), "until", r.Until, "by", by)
	announce(ctx, a.pub, a.log, r, d, "", "")
	return r, nil
}

// SortForAdmins orders records as an admin reads a list: numbers blocked
// now first (the longest block first), then by strikes in the window now,
// most first, then by number.
func SortForAdmins(records []Record, p Policy, now time.Time) {
	slices.SortStableFunc(records, func(x, y Record) int {
		bx, by := x.Blocked(now), y.Blocked(now)
		switch {
		case bx && !by:
			return -1
		case by && !bx:
			return 1
		case bx && by:
			if c := y.Until.Compare(x.Until); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(p.Score(y, now), p.Score(x, now)); c != 0 {
			return c
		}
		return strings.Compare(x.Number, y.Number)
	})
}

// HumanDuration writes d as an administrator says it: "7 days", "2 days
// 5 h", "24 h", "1 h 30 min", "12 min", "40 s". It is the one way durations
// appear in the CLI and in block reasons.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	switch {
	case d >= 2*day:
		d = d.Round(time.Hour)
		days, hours := int(d/day), int(d%day/time.Hour)
		if hours == 0 || days >= 7 {
			return plural(int((d+day/2)/day), "day")
		}
		return fmt.Sprintf("%s %d h", plural(days, "day"), hours)
	case d.Round(time.Minute) >= time.Hour:
		d = d.Round(time.Minute)
		if m := int(d % time.Hour / time.Minute); m != 0 {
			return fmt.Sprintf("%d h %d min", int(d/time.Hour), m)
		}
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case d >= time.Minute:
		d = d.Round(time.Second)
		if sec := int(d % time.Minute / time.Second); sec != 0 && d < 10*time.Minute {
			// Short waits are read to the second; long ones to the minute.
			return fmt.Sprintf("%d min %d s", int(d/time.Minute), sec)
		}
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	default:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ParseLength parses a block length: a Go duration ("90m", "24h"), whole
// days ("7d"), or a number and a unit as a supervisor writes it, in
// Indonesian or English ("2 jam", "30 menit", "1 hari", "2 minggu",
// "2 hours", "1 day"). It must be positive and at most ten years.
func ParseLength(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("invalid duration %q: want e.g. 90m, 24h, 7d, 2 jam, 30 menit or 1 hari", s)
	var d time.Duration
	if n, unit, ok := numberAndUnit(s); ok {
		u, known := lengthUnits[strings.ToLower(unit)]
		if !known || n <= 0 || n > 3650*24*60 {
			return 0, bad
		}
		d = time.Duration(n) * u
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 || d > 3650*24*time.Hour {
		return 0, bad
	}
	return d, nil
}

// lengthUnits are the units ParseLength reads after a whole number.
var lengthUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "hari": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"jam": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"menit": time.Minute, "mnt": time.Minute, "minute": time.Minute, "minutes": time.Minute, "min": time.Minute,
	"minggu": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// numberAndUnit splits "2 jam" or "7d" into 2 and "jam"; ok is false when
// s does not start with digits followed by letters only.
func numberAndUnit(s string) (int, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) {
		return 0, "", false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil {
		return 0, "", false
	}
	unit := strings.TrimSpace(s[i:])
	for _, r := range unit {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return 0, "", false
		}
	}
	if _, known := lengthUnits[strings.ToLower(unit)]; !known {
		// "90m", "24h": Go's own units.
		return 0, "", false
	}
	return n, unit, true
}
