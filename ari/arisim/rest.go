package arisim

// This file holds the REST plumbing every handler goes through: authentication,
// fault injection, parameter parsing, the life lock, and encoding the reply the
// way Asterisk does. The route table is in routes.go.

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// reply is what a REST handler answers; the plumbing encodes it the way Asterisk does.
type reply struct {
	status   int
	body     any    // JSON body, nil for none
	raw      []byte // raw body (stored recording files)
	ctype    string
	location string
}

func errReply(status int, msg string) reply {
	return reply{status: status, body: errorJSON{Message: msg}}
}

func okReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// createdReply is 201 with the new resource's URL, as Asterisk answers a
// started playback or recording.
func createdReply(body any, location string) reply {
	return reply{status: http.StatusCreated, body: body, location: location}
}

// missingParam is Asterisk's 400 for a required parameter that is absent.
func missingParam(name string) reply { return errReply(400, name+": Missing required parameter") }

type handlerFunc func(r *http.Request, p *params) reply

// rest wraps a handler with authentication, fault injection, parameter parsing and
// encoding.
func (s *Server) rest(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.restCount.Add(1)
		rep := s.handleREST(r, fn)
		s.writeReply(w, r, rep)
	})
}

func (s *Server) handleREST(r *http.Request, fn handlerFunc) reply {
	if !s.authorized(r) {
		return reply{status: http.StatusUnauthorized, body: errorJSON{Message: "Authentication required"}}
	}
	if rep, failed := s.injectFault(r); failed {
		return rep
	}
	p, err := parseParams(r)
	if err != nil {
		return errReply(http.StatusBadRequest, err.Error())
	}
	// Taken after the injected delay, so that a slow request does not hold
	// up a Restart: it is handled by whichever process is up when it lands.
	s.life.RLock()
	defer s.life.RUnlock()
	return fn(r, p)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" && s.opts.Password == "" {
		return true
	}
	check := func(u, p string) bool {
		return subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password)) == 1
	}
	if key := r.URL.Query().Get("api_key"); key != "" {
		u, p, _ := strings.Cut(key, ":")
		return check(u, p)
	}
	if u, p, ok := r.BasicAuth(); ok {
		return check(u, p)
	}
	return false
}

func (s *Server) writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	h := w.Header()
	h.Set("Server", "Asterisk/"+asteriskVersion)
	h.Set("Cache-Control", "no-cache, no-store")
	var body []byte
	switch {
	case rep.raw != nil:
		body = rep.raw
		h.Set("Content-Type", rep.ctype)
	case rep.body != nil:
		var err error
		body, err = json.Marshal(rep.body)
		if err != nil {
			s.log.Error("encode reply", "error", err)
			rep.status = http.StatusInternalServerError
			body = []byte(`{"message":"Internal Server Error"}`)
		}
		h.Set("Content-Type", "application/json")
	default:
		// An empty (204) reply: Asterisk sends no Content-Type with it.
	}
	if rep.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
	}
	if rep.location != "" {
		h.Set("Location", rep.location)
	}
	if s.tap != nil {
		kind := "rest"
		if rep.raw != nil {
			kind = "rest-raw"
		}
		s.tap(kind, r.Method, strings.TrimPrefix(r.URL.EscapedPath(), "/ari"), rep.status, body) // as on the wire: PJSIP%2Fop201 is one segment
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(rep.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}
