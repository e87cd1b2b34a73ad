package arisim

// This file holds fault injection: the ways a test makes the sim misbehave as a
// loaded Asterisk or a broken network would (slow or failing REST requests,
// dropped WebSockets, lost events, a restart), and the step of the REST
// plumbing that applies the REST faults.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
)

type failRule struct {
	method  string
	pattern string
	status  int
	left    int
	// delay, when set, makes the rule hold the request this long (then
	// serve it as usual) instead of failing it.
	delay time.Duration
}

// DropWebSockets closes every events WebSocket abruptly, without a close frame, as a
// network failure would. Channels stay in their Stasis applications; events raised
// while an application has no connection are lost, as with Asterisk.
func (s *Server) DropWebSockets() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SetRESTDelay makes every later REST request wait d (wall time) before it is handled.
func (s *Server) SetRESTDelay(d time.Duration) {
	s.faultMu.Lock()
	s.restDelay = d
	s.faultMu.Unlock()
}

// FailNextREST makes the next REST request matching method ("" for any) and
// pathPattern (path.Match syntax on the path below /ari, e.g. "/channels/*/answer")
// fail with status and an Asterisk-style error body, without taking effect.
func (s *Server) FailNextREST(method, pathPattern string, status int) {
	s.FailREST(method, pathPattern, status, 1)
}

// FailREST is FailNextREST for the next times matching requests.
func (s *Server) FailREST(method, pathPattern string, status, times int) {
	s.faultMu.Lock()
	s.failRules = append(s.failRules, failRule{method: method, pattern: pathPattern, status: status, left: times})
	s.faultMu.Unlock()
}

// DelayREST holds the next times REST requests matching method ("" for
// any) and pathPattern (as for FailNextREST) for d before serving them as
// usual. As with SetRESTDelay, a client that gives up during the delay does
// not stop the request: it takes effect when the delay ends or the client
// closes the connection, whichever comes first — a request that timed out
// for the client may still have been carried out, as on a loaded Asterisk.
func (s *Server) DelayREST(method, pathPattern string, d time.Duration, times int) {
	s.faultMu.Lock()
	s.failRules = append(s.failRules, failRule{method: method, pattern: pathPattern, left: times, delay: d})
	s.faultMu.Unlock()
}

// LoseEvents makes the next times events of type eventType (e.g. "StasisEnd")
// vanish on the way to the application, as events of a connection that
// broke and was re-established in between do. Everything else about them
// (the channel's state) happens as usual.
func (s *Server) LoseEvents(eventType string, times int) {
	s.faultMu.Lock()
	if s.loseEvents == nil {
		s.loseEvents = make(map[string]int)
	}
	s.loseEvents[eventType] += times
	s.faultMu.Unlock()
}

// lost reports whether an encoded event is to be lost (see LoseEvents).
func (s *Server) lost(b []byte) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if len(s.loseEvents) == 0 {
		return false
	}
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &head) != nil || s.loseEvents[head.Type] == 0 {
		return false
	}
	s.loseEvents[head.Type]--
	if s.loseEvents[head.Type] == 0 {
		delete(s.loseEvents, head.Type)
	}
	return true
}

// Restart simulates an Asterisk restart: every channel, playback, live recording and
// bridge vanishes without events (the process died), every WebSocket is dropped,
// applications (and their subscriptions) are forgotten until clients reconnect,
// callers waiting in queues vanish with their channels, and
// asterisk/info reports a new startup time. Stored recordings survive, as files on
// disk do, and so do the queues and device states (SetQueue, SetDeviceState, PUT
// /deviceStates; Asterisk keeps the latter in its database).
//
// The restart is atomic as clients see it: REST requests, WebSocket registrations and
// Calls that arrive meanwhile wait until it is complete. The applications are forgotten
// and the startup time changes before anything else, so no event is emitted by the old
// process once the restart began, and a client reconnecting as soon as its WebSocket
// drops registers with the new process.
func (s *Server) Restart() {
	s.life.Lock()
	defer s.life.Unlock()
	now := time.Now()
	s.mu.Lock()
	// startup_time is reported in milliseconds; make sure it differs.
	if !now.After(s.started.Add(time.Millisecond)) {
		now = s.started.Add(time.Millisecond)
	}
	s.started = now
	s.reloaded = now
	s.apps = make(map[string]*application)
	s.mu.Unlock()
	s.DropWebSockets()
	if s.restartPause != nil {
		s.restartPause()
	}
	s.vanishState(HungUpByRestart)
}

func (s *Server) injectFault(r *http.Request) (reply, bool) {
	s.faultMu.Lock()
	delay := s.restDelay
	sub := strings.TrimPrefix(r.URL.Path, "/ari")
	var fail *failRule
	for i := range s.failRules {
		fr := &s.failRules[i]
		if fr.method != "" && !strings.EqualFold(fr.method, r.Method) {
			continue
		}
		if ok, _ := path.Match(fr.pattern, sub); !ok {
			continue
		}
		fr.left--
		rule := *fr
		if rule.delay > 0 {
			delay = max(delay, rule.delay)
		} else {
			fail = &rule
		}
		if fr.left <= 0 {
			s.failRules = append(s.failRules[:i], s.failRules[i+1:]...)
		}
		break
	}
	s.faultMu.Unlock()
	if delay > 0 {
		// Asterisk's HTTP server reads the whole request before ARI handles
		// it. Reading the body first also lets net/http notice a client
		// that gives up and closes the connection during the delay (it
		// watches the connection only once the body is read), so a client
		// that abandons requests instead shows as connections left open.
		if r.Body != nil && r.Method != http.MethodGet {
			data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if fail != nil {
		return errReply(fail.status, http.StatusText(fail.status)), true
	}
	return reply{}, false
}
