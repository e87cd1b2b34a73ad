// Package incident is the incident announcement: when a fire or a flood
// brings a surge of calls about one event, a supervisor starts a recorded
// message ("we know about the fire at Pasar Rawa Indah; crews are on the
// way") that every caller hears after the greeting, with a key to say "I
// am calling about this". The announcement lives in a KV bucket of its own,
// so every IVR instance on every Asterisk node sees a start or a stop
// through its watch within a second; the IVR reads its in-memory copy, never
// the network, on the call path. Like blocklist/, the package owns its
// bucket and so talks to JetStream itself.
package incident

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/siaga112/siaga112/events"
)

// Bucket is the KV bucket holding the active announcement.
const Bucket = "SIAGA112_INCIDENT"

// activeKey is the one key of the bucket.
const activeKey = "active"

// DefaultFor is how long an announcement plays when the supervisor gives
// no expiry.
const DefaultFor = 2 * time.Hour

// MaxTitle bounds an announcement's title in characters.
const MaxTitle = 120

// MaxFor bounds an announcement's life: a forgotten one must not greet
// callers for days.
const MaxFor = 24 * time.Hour

// Incident is one announcement.
type Incident struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Media is what callers hear: "sound:<folder>/<name>" (a prepared
	// prompt) or "recording:<name>" (a stored recording made by phone).
	Media   string    `json:"media"`
	By      string    `json:"by"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
}

// Active reports whether the announcement plays at now.
func (i Incident) Active(now time.Time) bool {
	return i.ID != "" && !now.Before(i.Started) && now.Before(i.Expires)
}

// Errors of Start.
var (
	ErrBadMedia = errors.New("incident: media must be sound:<folder>/<name> or recording:<name> (letters, digits, '-', '_', '.')")
	ErrBadTitle = fmt.Errorf("incident: the title must be 3 to %d characters on one line", MaxTitle)
	ErrBadFor   = fmt.Errorf("incident: the expiry must be between 1 minute and %s", MaxFor)
	ErrNone     = errors.New("incident: no announcement is active")
)

var mediaRE = regexp.MustCompile(`^(?:sound:[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)+|recording:(?:[A-Za-z0-9_-]+/)?[A-Za-z0-9_-][A-Za-z0-9_.-]*)$`)

// CheckMedia validates an announcement's media URI.
func CheckMedia(media string) error {
	if !mediaRE.MatchString(media) || strings.Contains(media, "..") || len(media) > 200 {
		return fmt.Errorf("%w (got %q)", ErrBadMedia, media)
	}
	return nil
}

// CheckTitle validates an announcement's title as typed: 3 to MaxTitle
// characters on one line, within the events' bound for short text (the
// incident events carry it).
func CheckTitle(title string) error {
	if n := len([]rune(title)); n < 3 || n > MaxTitle || len(title) > events.MaxTextLen || strings.ContainsFunc(title, unicode.IsControl) {
		return ErrBadTitle
	}
	return nil
}

// New checks a supervisor's request and returns the incident it starts.
func New(title, media string, length time.Duration, by string, now time.Time) (Incident, error) {
	title = strings.TrimSpace(title)
	if err := CheckTitle(title); err != nil {
		return Incident{}, err
	}
	if err := CheckMedia(media); err != nil {
		return Incident{}, err
	}
	if length == 0 {
		length = DefaultFor
	}
	if length < time.Minute || length > MaxFor {
		return Incident{}, ErrBadFor
	}
	id := "inc-" + now.UTC().Format("20060102-150405")
	return Incident{ID: id, Title: title, Media: media, By: by, Started: now, Expires: now.Add(length)}, nil
}
