package ari

import (
	"context"
	"errors"
	"fmt"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// Why a 404 or 409 is not taken as "the caller hung up".
//
// Asterisk answers a request on a channel with 404 when it no longer knows
// the channel and with 409 when the channel is not in the Stasis
// application, but also 409 for a recording name already in use and 404
// for things other than the channel. And a refusal says nothing about who
// ended the call: that is in the ChannelHangupRequest (soft for the CLI,
// AMI, another application or a shutdown; not soft, with the line's Q.850
// cause, for the caller). Asterisk publishes that event on its own bus, so
// a refusal may reach us before it does; deciding "the caller abandoned"
// from the refusal alone published a maintenance hang-up as the caller's,
// with a blocklist strike, and call.ended (decided later, after the event)
// then said the opposite.
//
// So a refusal on the channel is confirmed before anyone acts on it: by
// the hang-up events when they already came, else by asking Asterisk for
// the channel. A channel still in our application was refused something
// else (ErrRefused, the caller is still there); one that left it without
// hanging up was taken out by the system; one Asterisk no longer knows is
// gone, and its hang-up events are awaited, bounded by the request
// timeout, so that they and not the order of arrival say who ended it.
// Whatever is decided first is latched (session.hangupBy) and both
// call.classified and call.ended publish it.

// ErrRefused: Asterisk answered 404 or 409 on a channel that is still in
// the application, so the request failed for another reason (a recording
// name in use, a resource it does not know); the caller is still there.
var ErrRefused = errors.New("ari: request refused, the channel is still in the application")

// confirmGone decides what a refusal (err, an ErrChannelGone) of a request
// on the channel means; see "Why a 404 or 409 is not taken as the caller
// hung up". It returns err, marked ErrSystemHangup when the system ended
// the call, once the channel is known to be gone, and an error wrapping
// ErrRefused when the channel is still in the application.
func (c *call) confirmGone(ctx context.Context, op string, err error) error {
	s := c.s
	if !s.hungUp() {
		var data *ariv6.ChannelData
		gerr := c.request(ctx, "get channel", false, func() error {
			d, err := c.client.Channel().Data(c.key)
			data = d
			return err
		})
		switch {
		case s.hungUp():
			// The events came while we asked: they decide.
		case gerr == nil && inApp(data, s.node.ari.Application):
			return fmt.Errorf("ari: %s: %w (%v)", op, ErrRefused, err)
		case gerr == nil:
			// The channel lives on outside the application: something
			// other than the caller (an AMI redirect, another
			// application) took it away.
			s.markTakenAway()
		default:
			// Gone (404) or not known (Asterisk slow): wait for the
			// hang-up events that say who ended the call.
			c.awaitHangup(ctx)
			if !s.hungUp() && !errors.Is(gerr, ErrChannelGone) {
				// Nothing says the caller left: the request failed, the
				// caller may still be there, and the flow fails over.
				return fmt.Errorf("ari: %s: %w (%v; the channel could not be read: %v)", op, ErrRefused, err, gerr)
			}
		}
	}
	s.restGone.Store(true)
	return c.systemMark(err)
}

// awaitHangup handles the call's events until Asterisk says the channel is
// hanging up or left the application, at most the request timeout.
func (c *call) awaitHangup(ctx context.Context) {
	deadline := time.Now().Add(c.timeout)
	for !c.s.hungUp() && time.Now().Before(deadline) {
		if err := c.step(ctx, deadline, "await hangup"); err != nil {
			return
		}
	}
}

// markTakenAway records that the channel left the application without a
// hang-up request: the system's doing, not the caller's.
func (s *session) markTakenAway() {
	if !s.hangupRequested.Load() {
		s.systemHangup.Store(true)
	}
}

// hangupBy says who ended a call that left without our Continue or Hangup:
// events.HangupBySystem when Asterisk's events (or the channel's state)
// said the system did, else events.HangupByCaller. The first answer is
// latched, so call.classified and call.ended, which ask at different
// moments, always say the same.
func (s *session) hangupBy() string {
	if p := s.by.Load(); p != nil {
		return *p
	}
	by := events.HangupByCaller
	if s.systemHangup.Load() {
		by = events.HangupBySystem
	}
	s.by.CompareAndSwap(nil, &by)
	return *s.by.Load()
}

// byLatched reports whether hangupBy has answered already.
func (s *session) byLatched() bool { return s.by.Load() != nil }

// markSystem adds flows.ErrSystemHangup to err when hangupBy says the
// system ended the call.
func (s *session) markSystem(err error) error {
	if s.hangupBy() == events.HangupBySystem {
		return errors.Join(err, flows.ErrSystemHangup)
	}
	return err
}
