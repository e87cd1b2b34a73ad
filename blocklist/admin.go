package blocklist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// ErrBadVerdict is returned for a verdict other than prank or genuine.
var ErrBadVerdict = errors.New("verdict must be prank or genuine")

// ErrBadCallID is returned for an empty or oversized call id.
var ErrBadCallID = errors.New("invalid call id")

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
}

// NewAdmin returns an Admin over store that announces through pub (nil: no
// announcements).
func NewAdmin(store *Store, pub Publisher, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admin{store: store, pub: pub, log: log.With("component", "blocklist-admin")}
}

// Store returns the admin's store.
func (a *Admin) Store() *Store { return a.store }

// Block blocks raw (any form Normalize accepts) for length.
func (a *Admin) Block(ctx context.Context, raw string, length time.Duration, reason, by string) (Record, error) {
	r, d, err := a.store.Add(ctx, raw, length, reason, by)
	if err != nil {
		return Record{}, err
	}
	a.log.Info("number blocked by admin", "number", Mask(r.Number), "until", r.Until, "by", by)
	announce(ctx, a.pub, a.log, r, d, "", "")
	return r, nil
}

// Unblock lifts the block of raw and clears its strikes.
func (a *Admin) Unblock(ctx context.Context, raw, by string) (Record, error) {
	r, d, err := a.store.Remove(ctx, raw, by)
	if err != nil {
		return Record{}, err
	}
	a.log.Info("number unblocked by admin", "number", Mask(r.Number), "by", by)
	announce(ctx, a.pub, a.log, r, d, "", "")
	return r, nil
}

// Verdict publishes call.verdict for callID. The caller's number is left
// out: the worker finds it from the call id.
func (a *Admin) Verdict(ctx context.Context, callID, verdict, by string) (events.Envelope, error) {
	if callID == "" || len(callID) > maxCallIDLen {
		return events.Envelope{}, fmt.Errorf("%w %q", ErrBadCallID, callID)
	}
	if verdict != events.VerdictPrank && verdict != events.VerdictGenuine {
		return events.Envelope{}, fmt.Errorf("%w, not %q", ErrBadVerdict, verdict)
	}
	if a.pub == nil {
		return events.Envelope{}, errors.New("blocklist: no publisher for verdicts")
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

// ParseLength parses a block length: a Go duration ("90m", "24h") or whole
// days ("7d"). It must be positive.
func ParseLength(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		if err == nil && n > 0 && n <= 3650 {
			d = time.Duration(n) * 24 * time.Hour
		} else if err == nil {
			err = errors.New("out of range")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 90m, 24h or 7d", s)
	}
	return d, nil
}
