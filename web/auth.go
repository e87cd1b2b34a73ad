package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Who is asking is decided here, once, for every endpoint of the listener:
// a person signed in to the console (the session cookie, with the role
// operator or supervisor) or a machine holding the admin token
// ("Authorization: Bearer <http.admin_token>"). Tokens are compared in
// constant time, so the time an answer takes says nothing about how much of
// a guess was right. What each endpoint then allows stays with the
// endpoint: anyone may read the board, a supervisor or the token sees whole
// numbers and exports, the blocklist API writes only with the token.

// CookieName is the session cookie.
const CookieName = "siaga112_session"

// auth tells who sent a request.
type auth struct {
	// token is http.admin_token; empty, no request carries it.
	token []byte
	// sessions are the console's sign-ins; nil where no console runs, so
	// nobody is signed in.
	sessions *sessions
}

func newAuth(adminToken string) *auth { return &auth{token: []byte(adminToken)} }

// requester is who sent a request, as far as the listener can tell.
type requester struct {
	// session is the console session of the request's cookie, when signed.
	session Session
	signed  bool
	// token is true when the request carries the admin token.
	token bool
	// badToken is true when the request has an Authorization header that
	// is not the admin token (a guess, a stale token, another scheme).
	badToken bool
}

// supervisor reports whether the requester may see whole numbers and
// export: the admin token or a signed-in supervisor.
func (q requester) supervisor() bool { return q.token || (q.signed && q.session.Supervisor()) }

// known reports whether the requester is signed in or holds the token.
func (q requester) known() bool { return q.token || q.signed }

// who tells who sent r.
func (a *auth) who(r *http.Request) requester {
	var q requester
	q.session, q.signed = a.session(r)
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		q.token = ok && len(a.token) > 0 && sameToken(strings.TrimSpace(tok), string(a.token))
		q.badToken = !q.token
	}
	return q
}

// session returns the live console session of r's cookie.
func (a *auth) session(r *http.Request) (Session, bool) {
	if a.sessions == nil {
		return Session{}, false
	}
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return Session{}, false
	}
	return a.sessions.get(ck.Value)
}

// sameToken compares a token given by a client with the one expected, in
// constant time; an empty token never matches.
func sameToken(given, want string) bool {
	return given != "" && want != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}
