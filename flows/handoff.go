package flows

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// putThrough asks for the location when the configuration wants it,
// classifies the call and continues it to the operators.
func (r *run) putThrough(ctx context.Context, d decision, decidedAt time.Time) {
	ext, typ := r.f.operatorExt, ""
	if d.outcome == events.OutcomeEmergency {
		ext, typ = d.entry.Extension, d.entry.Type
	}
	r.helpAsked = true
	step, err := func() (string, error) {
		// The operator entry skips the location question: that caller asked
		// for a person, and the person can ask.
		if d.outcome == events.OutcomeEmergency && typ != TypeOperator {
			ask, err := r.askLocation(ctx, d.entry)
			if err != nil {
				return "operator free check", err
			}
			if ask {
				if step, err := r.recordLocation(ctx); err != nil {
					return step, err
				}
			}
		}
		if len(r.f.connecting) > 0 {
			if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.connecting)}); err != nil {
				return "connecting prompt", err
			}
		}
		return "", nil
	}()
	if err != nil {
		if errors.Is(err, ErrHangup) {
			// The caller chose and then hung up: the choice stands, so the
			// operators see a fire call that dropped, not an abandoned one,
			// and it is marked for call-back.
			r.log.Info("caller hung up after choosing", "step", step, "outcome", d.outcome)
			r.res.Callback = true
			r.res.HangupBy = hangupBy(err)
			r.classify(ctx, d.outcome, typ, decidedAt, d.reason)
			r.res.Extension = ""
			return
		}
		r.failover(ctx, typ, ext, step, err)
		return
	}
	r.classify(ctx, d.outcome, typ, decidedAt, d.reason)
	r.transfer(ctx, ext, d.outcome == events.OutcomeBlockedOverride, nil)
}

// askLocation decides whether the location question is asked before the
// hand-off. With "busy" it reads QUEUE_MEMBER(<queue>,free) from Asterisk:
// when an operator is free the caller goes straight to them, and only a
// caller who would wait in the queue anyway is asked where they are. A
// failed read skips the question: not knowing must not slow the caller.
func (r *run) askLocation(ctx context.Context, e configs.MenuEntry) (bool, error) {
	switch r.f.cfg.Location.When {
	case configs.LocationAlways:
		return true, nil
	case configs.LocationBusy:
	default:
		return false, nil
	}
	if e.Queue == "" {
		return true, nil
	}
	v, err := r.call.Variable(ctx, "QUEUE_MEMBER("+e.Queue+",free)")
	if err != nil {
		if errors.Is(err, ErrHangup) {
			return false, err
		}
		r.log.Warn("could not read whether an operator is free; not asking the location", "queue", e.Queue, "err", err)
		return false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.log.Warn("QUEUE_MEMBER gave no number; not asking the location", "queue", e.Queue, "value", v)
		return false, nil
	}
	return n <= 0, nil
}

// recordLocation plays the location question and records the answer; the
// recording's name is kept even when the recording was interrupted.
func (r *run) recordLocation(ctx context.Context) (string, error) {
	cfg := r.f.cfg
	if _, err := r.call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(r.f.location)}); err != nil {
		return "location prompt", err
	}
	name, err := r.call.Record(ctx, RecordSpec{
		Name:        "siaga112-" + r.in.CallID + "-location",
		MaxDuration: cfg.Location.MaxDuration,
		MaxSilence:  cfg.Location.MaxSilence,
	})
	r.res.Recording = name
	if err != nil {
		return "location recording", err
	}
	return "", nil
}

// incidentID is the incident announcement the caller heard, "" if none.
func (r *run) incidentID() string {
	if r.heardIncident && r.in.Incident != nil {
		return r.in.Incident.ID
	}
	return ""
}

// callRecording is the whole-call recording's name, "" when the dialplan
// records nothing.
func (r *run) callRecording() string {
	if r.f.cfg.CallRecordingPrefix == "" {
		return ""
	}
	return r.f.cfg.CallRecordingPrefix + r.in.CallID
}

// failover is emergency first: whatever broke, the caller goes to an
// operator, to the chosen type's extension when the type is known.
func (r *run) failover(ctx context.Context, typ, ext, step string, err error) {
	reason := step + ": " + err.Error()
	if ctx.Err() != nil {
		// The call's context ends when the IVR drains for shutdown (or
		// loses Asterisk): putting the caller through is the planned
		// behaviour then, not a fault worth an error line per call.
		reason = step + ": shutdown: " + err.Error()
		r.log.Warn("call interrupted, putting the caller through to operators", "step", step, "err", err, "extension", ext)
	} else {
		r.log.Error("ivr step failed, putting the caller through to operators", "step", step, "err", err, "extension", ext)
	}
	r.res.Reason = reason
	r.classify(ctx, events.OutcomeFailover, typ, r.f.clock.Now(), reason)
	r.transfer(ctx, ext, false, map[string]string{VarFailover: reason})
}

// classify records the outcome and emits call.classified once.
func (r *run) classify(ctx context.Context, o events.Outcome, typ string, at time.Time, reason string) {
	r.res.Outcome, r.res.EmergencyType = o, typ
	if r.classified {
		return
	}
	r.classified = true
	var secs float64
	if !r.answeredAt.IsZero() {
		secs = at.Sub(r.answeredAt).Seconds()
	}
	r.emit(ctx, events.TypeClassified, events.Classified{
		Outcome:           o,
		EmergencyType:     typ,
		Attempts:          r.res.Attempts,
		SecondsToClassify: secs,
		TalkDetected:      r.talk,
		Recording:         r.res.Recording,
		CallRecording:     r.callRecording(),
		Callback:          r.res.Callback,
		Reason:            reason,
		IncidentID:        r.incidentID(),
		HangupBy:          abandonedBy(o, r.res.HangupBy),
	})
}

// abandonedBy is call.classified's hangup_by: set for an abandoned call
// only, where it tells the caller's hangup from the system's.
func abandonedBy(o events.Outcome, by string) string {
	if o != events.OutcomeAbandoned {
		return ""
	}
	return by
}

// transfer sets the channel variables and continues the call to ext in the
// operators' context. Variables are best effort: a caller is put through
// even when they could not be set.
func (r *run) transfer(ctx context.Context, ext string, override bool, extra map[string]string) {
	cfg := r.f.cfg
	r.res.Extension = ext
	hctx, cancel := handoffContext(ctx)
	defer cancel()

	typ := r.res.EmergencyType
	if typ == "" {
		typ = string(r.res.Outcome)
	}
	vars := map[string]string{
		VarCallID:    r.in.CallID,
		VarType:      typ,
		VarRecording: r.res.Recording,
		VarOutcome:   string(r.res.Outcome),
	}
	if rec := r.callRecording(); rec != "" {
		vars[VarCallRecording] = rec
	}
	for k, v := range extra {
		vars[k] = v
	}
	if err := r.call.SetVariables(hctx, vars); err != nil {
		if errors.Is(err, ErrHangup) {
			r.droppedInHandoff(err)
			return
		}
		r.log.Warn("could not set channel variables; continuing without them", "err", err)
	}
	err := r.call.Continue(hctx, cfg.OperatorContext, ext, 1)
	if err != nil && !errors.Is(err, ErrHangup) && hctx.Err() != nil {
		// The context ended during Continue (shutdown began): try once more
		// on a fresh one rather than leave the caller in Stasis.
		cancel()
		hctx, cancel = handoffContext(hctx)
		defer cancel()
		err = r.call.Continue(hctx, cfg.OperatorContext, ext, 1)
	}
	if err != nil {
		if errors.Is(err, ErrHangup) {
			r.droppedInHandoff(err)
			return
		}
		msg := "continue to " + cfg.OperatorContext + "," + ext + ",1: " + err.Error()
		if r.res.Reason != "" {
			msg = r.res.Reason + "; " + msg
		}
		r.res.Reason = msg
		r.log.Error("could not put the caller through to operators", "err", err, "extension", ext)
		return
	}
	r.res.Transferred = true
	if !r.answeredAt.IsZero() {
		r.res.SecondsToQueue = r.f.clock.Now().Sub(r.answeredAt).Seconds()
	}
	r.emit(hctx, events.TypeTransferred, events.Transferred{
		EmergencyType:   r.res.EmergencyType,
		Context:         cfg.OperatorContext,
		Extension:       ext,
		BlockedOverride: override,
		SecondsToQueue:  r.res.SecondsToQueue,
	})
}

// droppedInHandoff records a caller who hung up while being handed to the
// operators: one who had asked for help must be called back (call.ended
// carries it, call.classified having gone out already).
func (r *run) droppedInHandoff(err error) {
	r.res.HangupBy = hangupBy(err)
	if r.helpAsked {
		r.res.Callback = true
	}
}

// endCall plays the closing prompt of a call decided as going nowhere (d)
// and hangs up; a sign of a person in need during that prompt puts the
// caller through instead (closingSign). The call is classified only once
// the prompt is over, so its events never say no_input and then transfer.
func (r *run) endCall(ctx context.Context, d decision, decidedAt time.Time, closing []string) {
	if len(closing) > 0 {
		res, err := r.call.Prompt(ctx, r.keySpec(closing, 0))
		switch {
		case err != nil && errors.Is(err, ErrHangup):
			r.res.HangupBy = hangupBy(err)
			r.classify(ctx, d.outcome, "", decidedAt, "")
			return
		case err != nil:
			// The call ends either way; a goodbye that did not play is no
			// reason to keep the caller on the line.
			r.log.Warn("goodbye prompt failed; hanging up", "err", err)
		default:
			if sign, ok := r.closingSign(d, res); ok {
				r.log.Info("sign of a person during the closing prompt; putting the caller through",
					"was", d.outcome, "outcome", sign.outcome)
				r.putThrough(ctx, sign, r.f.clock.Now())
				return
			}
		}
	}
	r.classify(ctx, d.outcome, "", decidedAt, "")
	hctx, cancel := handoffContext(ctx)
	defer cancel()
	if err := r.call.Hangup(hctx); err != nil {
		if errors.Is(err, ErrHangup) {
			r.res.HangupBy = hangupBy(err)
			return
		}
		r.res.Reason = "hangup: " + err.Error()
		r.log.Error("could not hang up", "err", err)
		return
	}
	r.res.HangupBy = events.HangupBySystem
}

// handoffContext returns ctx while it is live, else a fresh context bounded
// by FailoverTimeout that keeps ctx's values.
func handoffContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), FailoverTimeout)
}
