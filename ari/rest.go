package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"time"
	"unsafe"

	ariv6 "github.com/CyCoreSystems/ari/v6"
	"github.com/CyCoreSystems/ari/v6/client/native"

	"github.com/siaga112/siaga112/configs"
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
	// ErrStopped: Run or Stop was called on an IVR that already stopped, or
	// a REST request was made after Run ended the node's requests.
	ErrStopped = errors.New("ari: ivr stopped")
)

// restCall runs one ARI REST request and waits for it at most timeout, or
// until ctx ends.
//
// The native client's requests take no context, so fn runs in its own
// goroutine while we wait on the timer and ctx. That goroutine does not
// outlive the request by more than a moment: every request of the node's
// client carries a deadline of the same request timeout and ends with the
// IVR (see restTransport), so a request we stopped waiting for is closed,
// its connection with it, rather than left to hang on a hung Asterisk. The
// result channel is buffered so the goroutine never blocks on it.
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

// Why the native client's http.Client is replaced.
//
// native.Client sends every REST request with http.NewRequest (no context)
// through an unexported zero-value http.Client field: no timeout, and
// net/http's process-wide DefaultTransport with no connection cap. Options
// has no way to pass a client or a transport. So a request we stopped
// waiting for on a hung Asterisk stayed open until Asterisk answered or TCP
// broke — one goroutine and one connection per timeout — and a burst of
// calls could open more connections than Asterisk's http.conf sessionlimit
// (default 100) accepts, refusing the events WebSocket's reconnect among
// them. Replacing http.DefaultTransport would change every HTTP client of
// the process, and copying the library is not an option; so each node's
// client gets its own http.Client, set into that field once, before first
// use (useHTTPClient). The field is checked by name and type, so a library
// version without it fails New, and every test, loudly.
//
// The transport gives each request a deadline of ari.request_timeout
// (waiting for a free connection included), caps the connections per node
// at ari.max_connections, and ends every request still open when the IVR
// stops, so Run can close the node's connections and return with none
// left behind.
type restTransport struct {
	base    *http.Transport
	timeout time.Duration
	// life ends when the IVR stops; it aborts the requests still open.
	life context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	closed bool // guarded by mu
	// open counts requests whose response body is not yet closed; Add is
	// called under mu while !closed, so close's Wait never races an Add.
	open sync.WaitGroup
}

// restIdleTimeout closes a keep-alive connection idle this long. Asterisk
// closes idle HTTP sessions after http.conf session_inactivity (default
// 30 s); closing ours first means a request never goes out on a
// connection Asterisk is closing at that moment.
const restIdleTimeout = 20 * time.Second

// restMaxBody bounds a response read by our own requests (the channel
// list): thousands of channels are a few MiB.
const restMaxBody = 64 << 20

func newRESTTransport(a configs.ARI) *restTransport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	maxConns := a.MaxConnections
	if maxConns <= 0 { // options built by hand rather than from configs.Default
		maxConns = configs.DefaultMaxConnections
	}
	base.MaxConnsPerHost = maxConns
	// Idle connections up to the cap are kept: with net/http's default of
	// two, a busy node would open and close a connection per request.
	base.MaxIdleConnsPerHost = maxConns
	base.MaxIdleConns = 0
	base.IdleConnTimeout = restIdleTimeout
	life, stop := context.WithCancel(context.Background())
	return &restTransport{base: base, timeout: a.RequestTimeout, life: life, stop: stop}
}

// RoundTrip implements http.RoundTripper.
func (rt *restTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, fmt.Errorf("ari: %s %s: %w", req.Method, req.URL.Path, ErrStopped)
	}
	rt.open.Add(1)
	rt.mu.Unlock()
	ctx, cancel := context.WithTimeout(req.Context(), rt.timeout)
	unlink := context.AfterFunc(rt.life, cancel)
	var once sync.Once
	end := func() {
		once.Do(func() {
			unlink()
			cancel()
			rt.open.Done()
		})
	}
	resp, err := rt.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		end()
		return nil, err
	}
	resp.Body = &endBody{ReadCloser: resp.Body, end: end}
	return resp, nil
}

// close aborts the requests still open, waits for them and closes the idle
// connections. Later requests fail with ErrStopped.
func (rt *restTransport) close() {
	rt.mu.Lock()
	rt.closed = true
	rt.mu.Unlock()
	rt.stop()
	rt.open.Wait()
	rt.base.CloseIdleConnections()
}

// endBody ends its request's deadline when the body is closed.
type endBody struct {
	io.ReadCloser
	end func()
}

func (b *endBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

// useHTTPClient sets hc as the native client's http.Client (see "Why the
// native client's http.Client is replaced"). It must be called before the
// client makes its first request.
func useHTTPClient(c *native.Client, hc http.Client) error {
	f := reflect.ValueOf(c).Elem().FieldByName("httpClient")
	if !f.IsValid() || f.Type() != reflect.TypeFor[http.Client]() {
		return errors.New("ari: native.Client has no httpClient field of type http.Client in this version of the ARI library; its REST requests could not be bounded")
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(hc))
	return nil
}

// listChannels returns every channel of the node with its state, in one
// GET /channels. The library's Channel().List decodes the same reply but
// keeps only the ids, which made the orphan sweep ask for each channel's
// state again: one request per channel on the box, every sweep. The
// request goes through the node's own transport, so it has the same
// deadline, connection cap and end as the library's.
func (n *node) listChannels(ctx context.Context) ([]ariv6.ChannelData, error) {
	const op = "list channels"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ari: %s: %w", op, context.Cause(ctx))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.cfg.URL+"/channels", nil)
	if err != nil {
		return nil, fmt.Errorf("ari: %s: %w", op, err)
	}
	req.SetBasicAuth(n.cfg.Username, n.cfg.Password)
	resp, err := n.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ari: %s: %w", op, context.Cause(ctx))
		}
		return nil, classify(op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ari: %s: status %d", op, resp.StatusCode)
	}
	var chans []ariv6.ChannelData
	if err := json.NewDecoder(io.LimitReader(resp.Body, restMaxBody)).Decode(&chans); err != nil {
		return nil, classify(op, fmt.Errorf("decode: %w", err))
	}
	return chans, nil
}

// requestError finds the library's RequestError in err. Besides Unwrap it
// follows Cause: the library wraps a failed GET of an object (Data) in an
// error that has only Cause, so errors.As alone would not see its 404.
func requestError(err error) (native.RequestError, bool) {
	for range 16 { // a bound against a Cause chain that loops
		if err == nil {
			return nil, false
		}
		var re native.RequestError
		if errors.As(err, &re) {
			return re, true
		}
		c, ok := err.(interface{ Cause() error })
		if !ok {
			// errors.As walked the Unwrap chain; look for a Cause on it.
			next := errors.Unwrap(err)
			if next == nil {
				return nil, false
			}
			err = next
			continue
		}
		err = c.Cause()
	}
	return nil, false
}

// classify turns the library's error into one of ours. native.CodeFromError
// uses a plain type assertion, so the RequestError is unwrapped first.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	// The transport's deadline is the request timeout itself, so it may
	// end the request a moment before our own timer fires.
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ari: %s: %w (%v)", op, ErrRequestTimeout, err)
	}
	if re, ok := requestError(err); ok {
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
