package web

import (
	"context"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/events"
)

// audit publishes who did what from where. An audit that cannot be
// published is logged: the action itself has already been decided.
func (c *Console) audit(r *http.Request, s Session, action, target, result string) {
	c.log.Info("console action", "by", s.Name, "action", action, "target", target, "address", clientAddr(r), "result", result)
	c.publishAudit(context.WithoutCancel(r.Context()), events.Audit{
		By: s.Name, Role: s.Role, Action: action, Target: target, Address: clientAddr(r), Result: result,
	})
}

// publishAudit publishes one console.audit event, checked against the
// event bounds first: a field too long for them is cut, so the event every
// consumer would refuse is never stored.
func (c *Console) publishAudit(ctx context.Context, d events.Audit) {
	if c.o.Publisher == nil {
		return
	}
	d.By, d.Target, d.Address, d.Result = cutText(d.By), cutText(d.Target), cutText(d.Address), cutText(d.Result)
	e, err := events.New(events.TypeAudit, "", "", events.Caller{}, d)
	if err == nil {
		err = events.Validate(e, time.Now())
	}
	if err == nil {
		err = c.o.Publisher.Publish(ctx, e)
	}
	if err != nil {
		c.log.Warn("audit event not published", "action", d.Action, "err", err)
	}
}

// cutText fits free text to the events' bound for short text.
func cutText(s string) string {
	if len(s) <= events.MaxTextLen {
		return s
	}
	cut := events.MaxTextLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// clientAddr is the address a request came from (no proxy headers are
// trusted: the listener is on loopback or behind the centre's own proxy,
// which must not be able to spoof the throttle's key).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
