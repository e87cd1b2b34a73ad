package ari

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
	"github.com/CyCoreSystems/ari/v6/client/native"
	"golang.org/x/net/websocket"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/flows"
)

// NodeHealth is one Asterisk node's connection state, as /healthz shows it.
type NodeHealth struct {
	// Name is the node's configured name.
	Name string `json:"name"`
	// Connected is true while the events WebSocket is up.
	Connected bool `json:"connected"`
	// Since is when Connected last changed.
	Since time.Time `json:"since"`
	// LastError is the last connection error ("" if none yet).
	LastError string `json:"last_error,omitempty"`
	// Reconnects counts connections after the first.
	Reconnects int `json:"reconnects"`
	// ActiveCalls is the number of live sessions on the node.
	ActiveCalls int `json:"active_calls"`
	// Following is the number of calls handed to the operators that the
	// node follows until a person answers or the caller hangs up.
	Following int `json:"following"`
	// Events counts the node's ARI events by fate.
	Events RouterStats `json:"events"`
}

// node is one Asterisk server: the events WebSocket (read by us, see
// router.go) and the library's native client for REST.
type node struct {
	cfg    configs.ARINode
	ari    configs.ARI
	client *native.Client
	// rest carries the client's requests (and our own, see listChannels):
	// deadlines, the connection cap, closed when the IVR stops.
	rest *restTransport
	// http is the client over rest, for the requests the library cannot
	// make as we need them (listChannels).
	http   *http.Client
	router *router
	log    *slog.Logger
	ivr    *IVR

	mu          sync.Mutex
	connected   bool      // guarded by mu
	since       time.Time // guarded by mu
	lastErr     string    // guarded by mu
	connections int       // guarded by mu

	// sweep asks sweepLoop for an orphan recovery pass (buffered, 1).
	sweep chan struct{}
	// unresolved holds the channels whose session ended with the caller
	// possibly still in the application, for the rescue at shutdown
	// (rescue.go); guarded by umu.
	umu        sync.Mutex
	unresolved map[string]struct{}
	// recCheck remembers whether the incident announcement's recording
	// is on this node (announce.go).
	recCheck recordingCheck
	// operators follows the operators' device states (operators.go).
	operators *operatorWatch
}

func newNode(v *IVR, cfg configs.ARINode) (*node, error) {
	log := v.log.With("node", cfg.Name)
	n := &node{
		cfg:    cfg,
		ari:    v.ari,
		router: newRouter(log),
		log:    log,
		ivr:    v,
		since:  time.Now(),
		sweep:  make(chan struct{}, 1),
	}
	n.operators = newOperatorWatch(v.ivr)
	// The client is used for REST only; Connect is never called, so the
	// library starts no WebSocket and no bus of its own.
	n.client = native.New(&native.Options{
		Application:     v.ari.Application,
		URL:             cfg.URL,
		WebsocketURL:    cfg.WSURL,
		WebsocketOrigin: v.ari.Origin,
		Username:        cfg.Username,
		Password:        cfg.Password,
		Logger:          newLibraryLogger(log),
	})
	n.rest = newRESTTransport(v.ari)
	n.http = &http.Client{Transport: n.rest}
	if err := useHTTPClient(n.client, http.Client{Transport: n.rest}); err != nil {
		return nil, err
	}
	return n, nil
}

// health returns the node's state.
func (n *node) health() NodeHealth {
	n.mu.Lock()
	h := NodeHealth{Name: n.cfg.Name, Connected: n.connected, Since: n.since, LastError: n.lastErr}
	if n.connections > 1 {
		h.Reconnects = n.connections - 1
	}
	n.mu.Unlock()
	h.ActiveCalls = n.router.count()
	h.Following = n.router.followCount()
	h.Events = n.router.stats()
	return h
}

// wsConfig builds the WebSocket configuration: the app name in the query,
// basic auth, and our Origin (the library's default http://localhost/ is
// not in Asterisk's allowed_origins).
func (n *node) wsConfig() (*websocket.Config, error) {
	q := url.Values{}
	q.Set("app", n.ari.Application)
	sep := "?"
	if strings.Contains(n.cfg.WSURL, "?") {
		sep = "&"
	}
	cfg, err := websocket.NewConfig(n.cfg.WSURL+sep+q.Encode(), n.ari.Origin)
	if err != nil {
		return nil, fmt.Errorf("ari: node %s: websocket config: %w", n.cfg.Name, err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(n.cfg.Username + ":" + n.cfg.Password))
	cfg.Header.Set("Authorization", "Basic "+auth)
	return cfg, nil
}

// run keeps the node connected until ctx ends: dial, read events until the
// connection fails, then retry with capped exponential backoff. An outage
// is logged once when it starts and once when it ends, with its length.
func (n *node) run(ctx context.Context) {
	cfg, err := n.wsConfig()
	if err != nil {
		n.setDown(err)
		n.log.Error("ARI node not usable", "error", err)
		return
	}
	var (
		backoff   = n.ari.ReconnectMin
		downSince time.Time // zero while up or before the first attempt
		sweeper   sync.WaitGroup
	)
	sweeper.Add(2)
	go func() {
		defer sweeper.Done()
		n.sweepLoop(ctx)
	}()
	go func() {
		defer sweeper.Done()
		n.operatorLoop(ctx)
	}()
	defer sweeper.Wait()
	for ctx.Err() == nil {
		ws, err := n.dial(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.setDown(err)
			if downSince.IsZero() {
				downSince = time.Now()
				n.log.Warn("ARI node unreachable; retrying with backoff", "error", err,
					"retry_min", n.ari.ReconnectMin, "retry_max", n.ari.ReconnectMax)
			} else {
				n.log.Debug("ARI reconnect failed", "error", err, "next_retry", backoff)
			}
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, n.ari.ReconnectMax)
			continue
		}
		backoff = n.ari.ReconnectMin
		first := n.setUp()
		if !downSince.IsZero() {
			n.log.Info("ARI node connected again", "outage", time.Since(downSince).Round(time.Millisecond))
		} else if first {
			n.log.Info("ARI node connected")
		}
		downSince = time.Time{}

		// Calls left in the app by a previous connection or process are
		// found and put through once the new connection is up; the
		// operators' states are read again (changes while disconnected
		// were lost).
		n.triggerSweep()
		n.operators.resync()

		err = n.read(ctx, ws)
		if ctx.Err() != nil {
			return
		}
		downSince = time.Now()
		n.setDown(err)
		n.log.Warn("ARI events connection lost; calls in progress are put through to operators", "error", err,
			"active_calls", n.router.count())
		// Events of the calls in progress are lost from here on, so their
		// flows cannot be trusted: cancel them; each session then puts its
		// caller through to operators over REST (which may still work).
		for _, s := range n.router.all() {
			s.cancel(ErrConnectionLost)
		}
		n.markFollowGap()
		// The first redial also waits ReconnectMin: an Asterisk that is
		// restarting is better not hammered, and the calls in progress
		// do not need the events connection to be put through.
		if !sleepCtx(ctx, backoff) {
			return
		}
	}
}

// dial opens the events WebSocket, bounded by the request timeout.
func (n *node) dial(ctx context.Context, cfg *websocket.Config) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, n.ari.RequestTimeout)
	defer cancel()
	ws, err := cfg.DialContext(dctx)
	if err != nil {
		return nil, fmt.Errorf("ari: node %s: dial %s: %w", n.cfg.Name, n.cfg.WSURL, err)
	}
	return ws, nil
}

// Liveness: Asterisk sends nothing on an idle events WebSocket, so a peer
// that vanished without closing TCP would leave the reader blocked forever
// and the calls in progress waiting for events that never come. The node
// therefore asks Asterisk for its info every probeInterval(); after
// probeFailures failures in a row it drops the connection, which puts the
// calls in progress through to operators and starts reconnecting.
const probeFailures = 3

func (n *node) probeInterval() time.Duration {
	return max(2*n.ari.RequestTimeout, time.Second)
}

// probe runs the liveness check until ctx ends or it closed ws.
func (n *node) probe(ctx context.Context, ws *websocket.Conn) {
	t := time.NewTicker(n.probeInterval())
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := restCall(ctx, n.ari.RequestTimeout, "asterisk info", func() error {
			_, err := n.client.Asterisk().Info(nil)
			return err
		})
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		if failures >= probeFailures {
			n.log.Warn("ARI node not answering; dropping the events connection", "error", err, "failures", failures)
			_ = ws.Close()
			return
		}
	}
}

// read decodes and routes events until the connection fails or ctx ends.
func (n *node) read(ctx context.Context, ws *websocket.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	defer func() { _ = ws.Close() }()
	pctx, stopProbe := context.WithCancel(ctx)
	var probing sync.WaitGroup
	probing.Add(1)
	go func() {
		defer probing.Done()
		n.probe(pctx, ws)
	}()
	defer probing.Wait()
	defer stopProbe()
	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			return fmt.Errorf("ari: node %s: read events: %w", n.cfg.Name, err)
		}
		e, err := ariv6.DecodeEvent(data)
		if err != nil {
			n.router.undecodableMessage(err)
			continue
		}
		if ss, ok := e.(*ariv6.StasisStart); ok {
			n.ivr.startSession(n, ss)
			continue
		}
		if ds, ok := e.(*ariv6.DeviceStateChanged); ok {
			n.operators.changed(ds.DeviceState)
			continue
		}
		n.router.route(e)
	}
}

func (n *node) setUp() (first bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.connected, n.since = true, time.Now()
	n.connections++
	return n.connections == 1
}

func (n *node) setDown(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.connected {
		n.since = time.Now()
	}
	n.connected = false
	if err != nil {
		n.lastErr = err.Error()
	}
}

// orphanGrace is how long a channel found in the app without a session is
// given for its StasisStart to arrive before it is treated as orphaned (the
// listing can race a call that is just entering the app).
const orphanGrace = 500 * time.Millisecond

// triggerSweep asks the sweep loop for a pass; it never blocks.
func (n *node) triggerSweep() {
	select {
	case n.sweep <- struct{}{}:
	default: // a pass is already pending
	}
}

// sweepLoop runs orphan recovery passes when asked (on every connection,
// and when a session ended without getting its caller out of the app) and
// repeats a pass that could not finish, with capped backoff, until it does:
// a caller must not be left in the app because Asterisk was briefly slow.
func (n *node) sweepLoop(ctx context.Context) {
	backoff := n.ari.ReconnectMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.sweep:
		}
		if n.recoverOrphans(ctx) {
			backoff = n.ari.ReconnectMin
			continue
		}
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, n.ari.ReconnectMax)
		n.triggerSweep()
	}
}

// recoverOrphans finds channels that are in our Stasis application but
// have no session on this node (left behind by a dropped connection, a
// session whose hand-off failed, or a previous process) and puts them
// through to operators. It reports whether the pass completed: false if
// the listing or a hand-off failed and the pass should be repeated.
func (n *node) recoverOrphans(ctx context.Context) bool {
	timeout := n.ari.RequestTimeout
	chans, err := n.listChannels(ctx)
	if err != nil {
		n.log.Warn("orphaned calls not checked", "error", err)
		return false
	}
	n.refollow(ctx, chans)
	n.forgetLeft(chans)
	var candidates []*ariv6.Key
	for i := range chans {
		ch := &chans[i]
		if n.router.get(ch.ID) != nil || !inApp(ch, n.ari.Application) {
			continue
		}
		candidates = append(candidates, ariv6.NewKey(ariv6.ChannelKey, ch.ID))
	}
	if len(candidates) == 0 {
		return true
	}
	if !sleepCtx(ctx, orphanGrace) {
		return false
	}
	complete := true
	for _, k := range candidates {
		if n.router.get(k.ID) != nil {
			continue
		}
		vars := map[string]string{flows.VarCallID: k.ID, flows.VarType: "failover", flows.VarOutcome: "failover", flows.VarFailover: "orphaned after the events connection was lost"}
		for name, val := range vars {
			_ = restCall(ctx, timeout, "set variable", func() error {
				return n.client.Channel().SetVariable(k, name, val)
			})
		}
		err := restCall(ctx, timeout, "continue orphan", func() error {
			return n.client.Channel().Continue(k, n.ivr.ivr.OperatorContext, n.ivr.ivr.FailoverExtension, 1)
		})
		if err != nil {
			if !errors.Is(err, ErrChannelGone) {
				complete = false
				n.log.Error("orphaned call could not be put through to operators; will retry", "channel_id", k.ID, "error", err)
			}
			continue
		}
		n.ivr.orphans.Add(1)
		n.log.Warn("orphaned call put through to operators", "channel_id", k.ID)
	}
	return complete
}

// inApp reports whether a channel is executing Stasis(app[,args]).
func inApp(ch *ariv6.ChannelData, app string) bool {
	if ch == nil || ch.Dialplan == nil || !strings.EqualFold(ch.Dialplan.AppName, "Stasis") {
		return false
	}
	data := ch.Dialplan.AppData
	return data == app || strings.HasPrefix(data, app+",")
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
