package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
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
func (s Session) Supervisor() bool { return s.Role == RoleSupervisor }

// maxSessions bounds the session table; a flood of sign-ins cannot grow
// memory without end (the oldest session is dropped).
const maxSessions = 1000

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

// create starts a session for acc and returns its id.
func (t *sessions) create(acc Account) (string, Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	if len(t.byID) >= maxSessions {
		var oldestID string
		var oldest time.Time
		for id, s := range t.byID {
			if oldestID == "" || s.Created.Before(oldest) {
				oldestID, oldest = id, s.Created
			}
		}
		delete(t.byID, oldestID)
	}
	id := token()
	s := &Session{Name: acc.Name, Role: acc.Role, CSRF: token(), Created: now, Expires: now.Add(t.ttl)}
	t.byID[id] = s
	return id, *s
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

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// throttle limits failed sign-ins per account name and per client
// address: after maxFails failures within window, further attempts are
// refused until the window has passed since the last failure. Success
// clears the account's count.
type throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	window   time.Duration
	maxFails int
	fails    map[string][]time.Time
}

// maxThrottleKeys bounds the throttle table (a scan of many addresses).
const maxThrottleKeys = 10000

func newThrottle(maxFails int, window time.Duration, now func() time.Time) *throttle {
	return &throttle{now: now, window: window, maxFails: maxFails, fails: map[string][]time.Time{}}
}

// allowed reports whether another attempt may be made for every key, and
// if not, how long to wait.
func (t *throttle) allowed(keys ...string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		f := t.recentLocked(k, now)
		if len(f) >= t.maxFails {
			wait = max(wait, f[len(f)-1].Add(t.window).Sub(now))
		}
	}
	return wait <= 0, wait
}

// fail records a failed attempt for every key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.fails) >= maxThrottleKeys {
		for k := range t.fails {
			if len(t.recentLocked(k, now)) == 0 {
				delete(t.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := append(t.recentLocked(k, now), now)
		if len(f) > t.maxFails {
			f = f[len(f)-t.maxFails:]
		}
		t.fails[k] = f
	}
}

// clear forgets the failures of a key.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

func (t *throttle) recentLocked(k string, now time.Time) []time.Time {
	f := t.fails[k]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= t.window {
		i++
	}
	if i == len(f) {
		delete(t.fails, k)
		return nil
	}
	return f[i:]
}
