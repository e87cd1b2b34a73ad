package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/siaga112/siaga112/console"
)

// Session is one signed-in person.
type Session struct {
	Name string
	Role string
	// CSRF is the token every form of this session must carry.
	CSRF    string
	Created time.Time
	Expires time.Time
}

// Supervisor reports whether the session may block, lift blocks and see
// whole numbers.
func (s Session) Supervisor() bool { return s.Role == console.RoleSupervisor }

// Bounds of the session table: a flood of sign-ins cannot grow memory
// without end, and one account signing in again and again ends only its
// own oldest sessions, never another person's.
const (
	maxSessions           = 1000
	maxSessionsPerAccount = 16
)

// errSessionsFull refuses a sign-in while the table is full of other
// accounts' live sessions.
var errSessionsFull = errors.New("console: too many signed-in sessions")

// sessions is the in-memory session table. Sessions do not survive a
// restart: people sign in again, which is the safe failure.
type sessions struct {
	mu   sync.Mutex
	ttl  time.Duration
	now  func() time.Time
	byID map[string]*Session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[string]*Session{}}
}

// token returns 32 random bytes, URL-safe.
func token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported systems; a session id
		// must never be predictable, so stop rather than go on.
		panic("console: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for acc and returns its id. An account at its
// cap loses its own oldest session; a full table refuses the sign-in
// rather than end someone else's.
func (t *sessions) create(acc console.Account) (string, Session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	var mine int
	var oldestID string
	var oldest time.Time
	for id, s := range t.byID {
		if s.Name != acc.Name {
			continue
		}
		mine++
		if oldestID == "" || s.Created.Before(oldest) {
			oldestID, oldest = id, s.Created
		}
	}
	switch {
	case mine >= maxSessionsPerAccount, len(t.byID) >= maxSessions && mine > 0:
		delete(t.byID, oldestID)
	case len(t.byID) >= maxSessions:
		return "", Session{}, errSessionsFull
	}
	id := token()
	s := &Session{Name: acc.Name, Role: acc.Role, CSRF: token(), Created: now, Expires: now.Add(t.ttl)}
	t.byID[id] = s
	return id, *s, nil
}

// get returns the live session with id.
func (t *sessions) get(id string) (Session, bool) {
	if id == "" {
		return Session{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if !ok {
		return Session{}, false
	}
	if !t.now().Before(s.Expires) {
		delete(t.byID, id)
		return Session{}, false
	}
	return *s, true
}

// end removes a session.
func (t *sessions) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, id)
}

// endAccount removes every session of an account (its password changed or
// it was removed).
func (t *sessions) endAccount(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, s := range t.byID {
		if s.Name == name {
			delete(t.byID, id)
		}
	}
}

func (t *sessions) sweepLocked(now time.Time) {
	for id, s := range t.byID {
		if !now.Before(s.Expires) {
			delete(t.byID, id)
		}
	}
}
