// Package flows is the emergency IVR as plain Go: it decides what a caller
// hears and where the call goes, over the small Call interface. It knows
// nothing of ARI or NATS; ari/ gives it a Call and publishes what it emits.
package flows

import (
	"context"
	"errors"
	"time"

	"github.com/siaga112/siaga112/events"
)

// ErrHangup is returned (wrapped) by every Call method once the caller has
// hung up. The flow treats it as the end of the call, not as a failure.
var ErrHangup = errors.New("caller hung up")

// ErrSystemHangup marks a hangup that Asterisk itself requested (the CLI,
// AMI, another application, a shutdown) rather than the caller. A Call
// returns it together with ErrHangup (errors.Join or wrapping both), so
// every errors.Is(err, ErrHangup) check still sees the end of the call,
// while the flow can tell that the caller did not abandon it.
var ErrSystemHangup = errors.New("hung up by the system")

// Call is one caller's channel, as the flow needs it. Every method blocks
// until its operation is done, the caller hangs up (ErrHangup) or ctx ends.
type Call interface {
	// Answer answers the channel.
	Answer(ctx context.Context) error
	// Prompt plays sounds in order and collects keys; any key stops the
	// playback (barge-in). See PromptSpec for when it returns.
	Prompt(ctx context.Context, spec PromptSpec) (PromptResult, error)
	// Record records the caller and returns the stored recording's name, or
	// "" when nothing was kept.
	Record(ctx context.Context, spec RecordSpec) (string, error)
	// Variable reads a channel variable or evaluates a dialplan function
	// (a name ending in ")", e.g. QUEUE_MEMBER(siaga112-fire,free)).
	Variable(ctx context.Context, name string) (string, error)
	// SetVariables sets channel variables.
	SetVariables(ctx context.Context, vars map[string]string) error
	// Continue hands the channel back to the dialplan at
	// dialplanContext,extension,priority.
	Continue(ctx context.Context, dialplanContext, extension string, priority int) error
	// Hangup hangs the channel up.
	Hangup(ctx context.Context) error
}

// PromptSpec says what to play and what input ends a Prompt.
type PromptSpec struct {
	// Sounds are media URIs (e.g. "sound:siaga112/menu"), played in order.
	Sounds []string
	// MaxDigits ends the prompt once this many keys were pressed; 0 plays
	// the sounds without collecting keys.
	MaxDigits int
	// FirstDigitTimeout is how long to wait for the first key after the
	// sounds have finished playing. Zero does not wait: the prompt returns
	// (PromptTimeout, no digits) as soon as the sounds end, while a key
	// pressed during the sounds still stops them and is returned; the
	// greeting uses this so a caller can key the menu choice early.
	FirstDigitTimeout time.Duration
	// InterDigitTimeout is how long to wait for each further key.
	InterDigitTimeout time.Duration
	// Code is a multi-key code (the silent-help code, 55) recognised on top
	// of MaxDigits: while the keys so far are a proper prefix of Code the
	// prompt waits InterDigitTimeout for the next key instead of returning,
	// and it returns as soon as the keys start with Code. So a lone 5 waits
	// for a second 5, and a 1 returns at once.
	Code string
	// DetectTalk ends the prompt with PromptTalk when the caller talks for
	// at least TalkMin without pressing a key.
	DetectTalk bool
	// TalkMin is the shortest talk that counts.
	TalkMin time.Duration
}

// PromptStatus says why a Prompt returned.
type PromptStatus int

// Prompt statuses.
const (
	// PromptDone: the sounds played and, if keys were wanted, MaxDigits keys came.
	PromptDone PromptStatus = iota
	// PromptTimeout: fewer keys than wanted came before a timeout (Digits holds those that came).
	PromptTimeout
	// PromptTalk: the caller talked (DetectTalk) before pressing enough keys.
	PromptTalk
)

// String names the status for logs.
func (s PromptStatus) String() string {
	switch s {
	case PromptDone:
		return "done"
	case PromptTimeout:
		return "timeout"
	case PromptTalk:
		return "talk"
	}
	return "unknown"
}

// PromptResult is what a Prompt collected.
type PromptResult struct {
	Digits string
	Status PromptStatus
}

// RecordSpec describes a recording of the caller.
type RecordSpec struct {
	// Name is the stored recording's name; it must be unique per call.
	Name string
	// MaxDuration bounds the recording.
	MaxDuration time.Duration
	// MaxSilence ends the recording after this much silence.
	MaxSilence time.Duration
}

// Emitter receives the flow's events as they happen. The session that owns
// the call adds ids, caller and node and publishes them; Emit must not block
// the call on the network.
type Emitter interface {
	Emit(ctx context.Context, t events.Type, data any)
}

// Clock tells the time; tests give a fake one.
type Clock interface {
	Now() time.Time
}
