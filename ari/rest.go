package ari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/CyCoreSystems/ari/v6/client/native"

	"github.com/siaga112/siaga112/flows"
)

// Errors returned by the call adapter and the node. They wrap one another so
// that errors.Is answers the question a caller actually asks: "did the caller
// hang up?" is errors.Is(err, flows.ErrHangup).
var (
	// ErrRequestTimeout: an ARI REST request did not answer within
	// configs.ARI.RequestTimeout.
	ErrRequestTimeout = errors.New("ari: request timed out")
	// ErrChannelGone: Asterisk answered 404 for the channel, or the channel
	// already left the Stasis application; the caller is gone.
	ErrChannelGone = fmt.Errorf("ari: channel is gone: %w", flows.ErrHangup)
	// ErrPlaybackFailed: Asterisk reported a playback in state "failed"
	// (for example a missing sound file).
	ErrPlaybackFailed = errors.New("ari: playback failed")
	// ErrConnectionLost: the events WebSocket dropped while the call was in
	// progress, so its events can no longer be trusted.
	ErrConnectionLost = errors.New("ari: events connection lost")
	// ErrEventsDropped: an event of the call was dropped (its inbox was
	// full), so the call's state can no longer be trusted.
	ErrEventsDropped = errors.New("ari: call events dropped")
	// ErrPlaybackStuck: a playback did not finish within the longest time
	// a prompt can take; its PlaybackFinished was lost.
	ErrPlaybackStuck = errors.New("ari: playback did not finish")
	// ErrShutdown: the IVR is shutting down and the drain time is over.
	ErrShutdown = errors.New("ari: shutting down")
	// ErrStopped: Run or Stop was called on an IVR that already stopped.
	ErrStopped = errors.New("ari: ivr stopped")
)

// restCall runs one ARI REST request and waits for it at most timeout, or
// until ctx ends.
//
// The native client's requests take no context and its http.Client is an
// unexported zero value (no timeout, not configurable from outside), so the
// request itself cannot be cancelled: it runs in its own goroutine, which
// may linger after we return until Asterisk answers or the TCP connection
// breaks. The result channel is buffered so that goroutine never blocks and
// always ends once the request does. What matters for the caller is that
// the session stops waiting and fails over.
func restCall(ctx context.Context, timeout time.Duration, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ari: %s: %w", op, context.Cause(ctx))
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return classify(op, err)
	case <-t.C:
		return fmt.Errorf("ari: %s: %w after %s", op, ErrRequestTimeout, timeout)
	case <-ctx.Done():
		return fmt.Errorf("ari: %s: %w", op, context.Cause(ctx))
	}
}

// classify turns the library's error into one of ours. native.CodeFromError
// uses a plain type assertion, so the RequestError is unwrapped first.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var re native.RequestError
	if errors.As(err, &re) {
		switch re.Code() {
		case http.StatusNotFound, http.StatusConflict:
			// 404 "Channel not found" and 409 "Channel not in Stasis
			// application": the channel hung up or left the app. If that
			// guess is ever wrong the session's safety net still puts a
			// channel that is in Stasis through to operators.
			return fmt.Errorf("ari: %s: %w (%v)", op, ErrChannelGone, err)
		}
		return fmt.Errorf("ari: %s: status %d: %w", op, re.Code(), err)
	}
	return fmt.Errorf("ari: %s: %w", op, err)
}
