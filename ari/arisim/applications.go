package arisim

// This file holds the Stasis applications, each held by at most one events
// WebSocket, and the sending of events to them.

import (
	"encoding/json"
	"time"
)

type application struct {
	name string
	conn *wsConn // nil while no WebSocket holds the app
}

// registerApp gives app to conn; a previous holder gets ApplicationReplaced, as in Asterisk.
func (s *Server) registerApp(name string, c *wsConn) {
	s.mu.Lock()
	a := s.apps[name]
	if a == nil {
		a = &application{name: name}
		s.apps[name] = a
	}
	old := a.conn
	a.conn = c
	s.mu.Unlock()
	if old != nil && old != c {
		b, err := json.Marshal(eventBase{Type: "ApplicationReplaced", Timestamp: fmtTime(time.Now()), Application: name, AsteriskID: s.opts.AsteriskID})
		if err == nil {
			old.send(b)
		}
	}
}

func (s *Server) unregisterConn(c *wsConn) {
	s.mu.Lock()
	delete(s.conns, c)
	for _, a := range s.apps {
		if a.conn == c {
			a.conn = nil
		}
	}
	s.mu.Unlock()
}

func (s *Server) appRegistered(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[name]
	return a != nil && a.conn != nil
}

// emit sends an event to the connection holding app. The event is encoded once.
func (s *Server) emit(app string, ev any) {
	if app == "" {
		return
	}
	s.mu.RLock()
	var c *wsConn
	if a := s.apps[app]; a != nil {
		c = a.conn
	}
	s.mu.RUnlock()
	if c == nil && s.tap == nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode event", "error", err)
		return
	}
	if s.lost(b) {
		return
	}
	if s.tap != nil {
		s.tap("event", "", "", 0, b)
	}
	if c != nil {
		c.send(b)
		s.eventCount.Add(1)
	}
}

func (s *Server) base(typ, app string) eventBase {
	return eventBase{Type: typ, Timestamp: fmtTime(time.Now()), Application: app, AsteriskID: s.opts.AsteriskID}
}
