package flows

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// CallbackExtension is the extension of the operators' context a call-back
// is continued to. The dialplan there shows the callee's number with the
// call-back tag on the operator's phone and joins the queue named in
// VarQueue (the queue of the type the caller first chose), then the
// general operators' queue.
const CallbackExtension = "callback"

// Channel variables set on a call-back before it is continued.
const (
	// VarCallbackOf is the dropped call this call-back calls back.
	VarCallbackOf = "SIAGA112_CALLBACK_OF"
	// VarCallbackNumber is the callee's number as dialled, shown to the
	// operator (the channel's own caller id is the centre's).
	VarCallbackNumber = "SIAGA112_CALLBACK_NUMBER"
	// VarQueue is the Asterisk queue to join ("" for the operators').
	VarQueue = "SIAGA112_QUEUE"
	// VarTag is the display tag (callback.tag, e.g. BALIK).
	VarTag = "SIAGA112_TAG"
)

// CallbackPlays is how many times the call-back prompt is played before an
// answered call-back without a sign of a person ends.
const CallbackPlays = 2

// CallbackInput is what the session knows of an answered call-back.
type CallbackInput struct {
	// CallID is the call-back's channel id.
	CallID string
	// CallbackOf is the dropped call it calls back.
	CallbackOf string
	// Number is the callee's number as dialled (shown to the operator).
	Number string
	// EmergencyType is the type the caller chose on the dropped call ("" if
	// none); the call-back joins that type's queue.
	EmergencyType string
	// Outcome is the dropped call's outcome.
	Outcome events.Outcome
	// Tag is the display tag for the operator's phone.
	Tag string
	// AnsweredAt is when the callee answered.
	AnsweredAt time.Time
	// Log is the call's logger; nil uses the Flow's.
	Log *slog.Logger
}

// CallbackResult is how an answered call-back went.
type CallbackResult struct {
	// Sign is how the callee showed a person: "key", "talk" or
	// "silent_help"; "" when they did not.
	Sign string
	// Digits are the keys the callee pressed.
	Digits string
	// Transferred is true once the call-back was continued to the
	// operators.
	Transferred bool
	// Extension is where it was continued to.
	Extension string
	// Queue is the Asterisk queue it was sent to ("" for the operators').
	Queue string
	// Hangup is true when the callee hung up before it was put through.
	Hangup bool
	// Err is a failure that kept a callee who gave a sign from being put
	// through (every step was tried; the session decides what is left).
	Err error
}

// RunCallback runs an answered call-back: the call-back prompt, played up
// to CallbackPlays times, listens for any sign of a person (any key, the
// silent-help code, talk); a sign puts the callee through to the operators
// at once, and silence ends the call. Like Run, it never leaves a callee
// who gave a sign in silence: a failed step still tries the hand-off, and
// the hand-off runs even when ctx has ended.
func (f *Flow) RunCallback(ctx context.Context, call Call, in CallbackInput, em Emitter) CallbackResult {
	log := in.Log
	if log == nil {
		log = f.log.With("call_id", in.CallID, "callback_of", in.CallbackOf)
	}
	if em == nil {
		em = noEmitter{}
	}
	var res CallbackResult
	spec := PromptSpec{
		MaxDigits:         1,
		FirstDigitTimeout: f.cfg.FirstDigitTimeout,
		DetectTalk:        f.cfg.TalkDetect,
		TalkMin:           f.cfg.TalkMinDuration,
	}
	if len(f.cfg.SilentHelpDigits) > 1 {
		spec.Code, spec.InterDigitTimeout = f.cfg.SilentHelpDigits, f.cfg.InterDigitTimeout
	}
	var promptErr error
	for play := 1; play <= CallbackPlays && res.Sign == ""; play++ {
		spec.Sounds = slices.Clone(f.callback)
		pr, err := call.Prompt(ctx, spec)
		switch {
		case errors.Is(err, ErrHangup):
			res.Hangup = true
			log.Info("callee hung up during the call-back prompt", "play", play)
			return res
		case err != nil:
			// The prompt failed (Asterisk refused the playback, the IVR
			// is stopping): the callee answered our call-back of a
			// caller who asked for help, so they are put through.
			promptErr = err
			res.Sign = "failover"
			log.Warn("call-back prompt failed; putting the callee through", "error", err)
		case pr.Status == PromptTalk:
			res.Sign = "talk"
		case pr.Digits != "":
			res.Digits = pr.Digits
			res.Sign = "key"
			if f.cfg.SilentHelpDigits != "" && strings.HasPrefix(pr.Digits, f.cfg.SilentHelpDigits) {
				res.Sign = "silent_help"
			}
		}
	}
	if res.Sign == "" {
		log.Info("no sign of a person on the call-back; ending it")
		if err := call.Hangup(ctx); err != nil && !errors.Is(err, ErrHangup) {
			log.Warn("could not hang up the call-back", "error", err)
		}
		return res
	}
	f.putCallbackThrough(ctx, call, in, &res, em, log)
	if res.Err == nil && promptErr != nil {
		res.Err = promptErr
	}
	return res
}

// putCallbackThrough sets the call-back's variables and continues it to
// CallbackExtension, on a fresh context when the call's has ended, as Run's
// hand-off does.
func (f *Flow) putCallbackThrough(ctx context.Context, call Call, in CallbackInput, res *CallbackResult, em Emitter, log *slog.Logger) {
	hctx, cancel := handoffContext(ctx)
	defer cancel()
	typ, queue := in.EmergencyType, ""
	for _, e := range f.cfg.Menu {
		if typ != "" && e.Type == typ {
			queue = e.Queue
		}
	}
	if typ == "" {
		typ = string(in.Outcome)
	}
	vars := map[string]string{
		VarCallID: in.CallID, VarType: typ, VarOutcome: string(in.Outcome),
		VarCallbackOf: in.CallbackOf, VarCallbackNumber: in.Number, VarQueue: queue, VarTag: in.Tag,
	}
	if err := call.SetVariables(hctx, vars); err != nil {
		if errors.Is(err, ErrHangup) {
			res.Hangup = true
			return
		}
		// The dialplan falls back to the operators' queue and the caller
		// id Asterisk has; the hand-off matters more than the display.
		log.Warn("call-back variables not set", "error", err)
	}
	err := call.Continue(hctx, f.cfg.OperatorContext, CallbackExtension, 1)
	if err != nil {
		if errors.Is(err, ErrHangup) {
			res.Hangup = true
			return
		}
		res.Err = err
		log.Error("call-back could not be put through", "error", err)
		return
	}
	res.Transferred, res.Extension, res.Queue = true, CallbackExtension, queue
	em.Emit(hctx, events.TypeTransferred, events.Transferred{
		EmergencyType:   typ,
		Context:         f.cfg.OperatorContext,
		Extension:       CallbackExtension,
		BlockedOverride: in.Outcome == events.OutcomeBlockedOverride,
		SecondsToQueue:  max(0, f.clock.Now().Sub(in.AnsweredAt).Seconds()),
		CallbackOf:      in.CallbackOf,
	})
	log.Info("call-back put through", "sign", res.Sign, "queue", queue)
}
