package callback

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Durable is the scheduler's durable consumer on the calls stream. Every
// IVR instance binds to the same one, so each event is handled once in
// the cluster.
const Durable = "callback"

// SchedulerStats counts what the scheduler did.
type SchedulerStats struct {
	// Scheduled call-backs opened.
	Scheduled uint64 `json:"scheduled"`
	// Folded dropped calls of a number whose call-back was already open.
	Folded uint64 `json:"folded"`
	// Refused dropped calls marked callback that get none (withheld,
	// blocked, not E.164).
	Refused uint64 `json:"refused"`
	// Closed call-backs ended by the events (reached, prank, handled,
	// attempts exhausted after a put-through call-back dropped).
	Closed uint64 `json:"closed"`
}

// Scheduler turns call events into call-back records (see the package
// comment). Handle is an events.Handler.
type Scheduler struct {
	b         book
	cfg       configs.Callback
	blocklist Blocklist
	numbers   func(ctx context.Context, callID string) (string, error)

	scheduled, folded, refused, closed atomic.Uint64
}

// SchedulerOptions are what a Scheduler needs.
type SchedulerOptions struct {
	Config    configs.Callback
	Store     Store
	Publisher Publisher
	// Blocklist tells whether a number is blocked now; nil: none is.
	Blocklist Blocklist
	// Numbers finds the number of a call (the blocklist's call index):
	// verdicts and ticks name a call, never a number, so that a forged one
	// cannot name any number it likes. nil: such events change nothing.
	Numbers func(ctx context.Context, callID string) (string, error)
	// Node names this instance in the events it publishes.
	Node string
	Log  *slog.Logger
}

// NewScheduler builds a scheduler.
func NewScheduler(o SchedulerOptions) *Scheduler {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{b: book{store: o.Store, pub: o.Publisher, node: o.Node, log: log}, cfg: o.Config, blocklist: o.Blocklist, numbers: o.Numbers}
}

// Stats returns the counters.
func (s *Scheduler) Stats() SchedulerStats {
	return SchedulerStats{Scheduled: s.scheduled.Load(), Folded: s.folded.Load(), Refused: s.refused.Load(), Closed: s.closed.Load()}
}

// Handle applies one event. An error has the event delivered again, which
// is safe: every change first reads what the record already says.
func (s *Scheduler) Handle(ctx context.Context, e events.Envelope, _ events.Meta) error {
	switch e.Type {
	case events.TypeStarted:
		return s.started(ctx, e)
	case events.TypeEnded:
		var d events.Ended
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return s.ended(ctx, e, d)
	case events.TypeOperatorAnswered:
		var d events.OperatorAnswered
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		reason := events.DoneCalledAgain
		if d.CallbackOf != "" {
			reason = events.DoneOperatorAnswered
		}
		return s.close(ctx, e, events.CallbackDone{ReachedPerson: true, Reason: reason, OtherCallID: e.CallID}, nil)
	case events.TypeVerdict:
		var d events.Verdict
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		if d.Verdict != events.VerdictPrank {
			return nil
		}
		return s.closeOf(ctx, e, events.CallbackDone{Reason: events.DonePrank, By: d.By}, nil)
	case events.TypeHandled:
		var d events.Handled
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		return s.closeOf(ctx, e, events.CallbackDone{Reason: events.DoneHandled, By: d.By},
			func(r Record) bool { return r.Has(e.CallID) })
	}
	return nil
}

// key returns the record key of an event's caller, or "".
func key(c events.Caller) string {
	if c.Presentation == events.PresentationRestricted {
		return ""
	}
	k, _ := Key(c.Number)
	return k
}

// started marks a call of the number in progress: no attempt is placed
// while the caller is on the line with us anyway.
func (s *Scheduler) started(ctx context.Context, e events.Envelope) error {
	k := key(e.Caller)
	if k == "" {
		return nil
	}
	return s.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
		if cur == nil || !cur.Open() || cur.Live == e.CallID || cur.Has(e.CallID) {
			return nil, nil
		}
		cur.Live, cur.LiveSince = e.CallID, e.Time
		return cur, nil
	})
}

// ended handles the end of a call: a dropped caller's call-back opens (or
// the drop folds into the one open), a put-through call-back that dropped
// in the queue goes on to its next attempt, any other end releases the
// hold of a call in progress.
func (s *Scheduler) ended(ctx context.Context, e events.Envelope, d events.Ended) error {
	k := key(e.Caller)
	if d.CallbackOf != "" {
		if k == "" {
			return nil
		}
		return s.callbackEnded(ctx, e, d, k)
	}
	if !d.Callback {
		if k == "" {
			return nil
		}
		return s.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
			if cur == nil || cur.Live != e.CallID {
				return nil, nil
			}
			cur.Live, cur.LiveSince = "", time.Time{}
			return cur, nil
		})
	}
	blocked := false
	if s.blocklist != nil {
		_, blocked = s.blocklist.Check(e.Caller.Number, time.Now())
	}
	if why := Eligible(e.Caller, d, blocked); why != "" {
		s.refused.Add(1)
		s.b.log.Info("dropped caller not called back", "call_id", e.CallID, "reason", string(why))
		return nil
	}
	return s.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
		if cur != nil && cur.Open() {
			if cur.Has(e.CallID) {
				if cur.Live == e.CallID {
					cur.Live, cur.LiveSince = "", time.Time{}
					return cur, nil
				}
				return nil, nil // delivered again
			}
			// One call-back per number: a caller who dropped twice is
			// called back once, for both calls.
			if len(cur.Calls) < maxFolded {
				cur.Calls = append(cur.Calls, e.CallID)
			}
			if cur.Live == e.CallID {
				cur.Live, cur.LiveSince = "", time.Time{}
			}
			s.folded.Add(1)
			return cur, nil
		}
		if cur != nil && cur.CallID == e.CallID {
			return nil, nil // delivered again after it was done
		}
		due := e.Time.Add(s.cfg.Delay)
		r := &Record{
			CallID: e.CallID, Caller: e.Caller, Outcome: d.Outcome, EmergencyType: d.EmergencyType,
			Created: e.Time, DueAt: due, State: StateWaiting,
		}
		s.scheduled.Add(1)
		return r, []emit{{events.TypeCallbackScheduled, events.CallbackScheduled{
			Outcome: d.Outcome, EmergencyType: d.EmergencyType, Where: d.Where,
			DueAt: due.UTC(), MaxAttempts: s.cfg.Attempts,
		}}}
	})
}

// callbackEnded handles the end of a call-back's own call: answered by an
// operator closes the call-back (if the answer's own event did not
// already); dropped in the queue sends it on to its next attempt.
func (s *Scheduler) callbackEnded(ctx context.Context, e events.Envelope, d events.Ended, k string) error {
	return s.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
		if cur == nil || cur.State != StatePutThrough || cur.CallID != d.CallbackOf {
			return nil, nil
		}
		last := cur.last()
		if last == nil || last.Channel != e.CallID {
			return nil, nil
		}
		now := time.Now()
		if d.Where == events.WhereOperator {
			s.closed.Add(1)
			return cur, []emit{finish(cur, now, events.CallbackDone{ReachedPerson: true, Reason: events.DoneOperatorAnswered, OtherCallID: e.CallID})}
		}
		at, done := Next(s.cfg, cur.placed(), now)
		if done {
			s.closed.Add(1)
			return cur, []emit{finish(cur, now, events.CallbackDone{Reason: events.DoneAttemptsExhausted})}
		}
		cur.State, cur.DueAt = StateWaiting, at
		return cur, nil
	})
}

// closeOf is close for an event that names a call and no number (a
// verdict, a tick): the number is the call's own, from the call index.
func (s *Scheduler) closeOf(ctx context.Context, e events.Envelope, d events.CallbackDone, match func(Record) bool) error {
	if s.numbers == nil || e.CallID == "" {
		return nil
	}
	n, err := s.numbers(ctx, e.CallID)
	if err != nil {
		// A call the index does not hold (withheld, or older than its
		// window) has no call-back either.
		s.b.log.Debug("call-back: the number of a ticked or judged call is not known", "call_id", e.CallID, "error", err)
		return nil
	}
	e.Caller = events.Caller{Number: n, Presentation: events.PresentationAllowed}
	return s.close(ctx, e, d, match)
}

// close ends the number's open call-back with d, when match (nil: any)
// accepts it.
func (s *Scheduler) close(ctx context.Context, e events.Envelope, d events.CallbackDone, match func(Record) bool) error {
	k := key(e.Caller)
	if k == "" {
		return nil
	}
	return s.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
		if cur == nil || !cur.Open() || (match != nil && !match(*cur)) {
			return nil, nil
		}
		if d.Reason == events.DoneCalledAgain && slices.ContainsFunc(cur.Attempts, func(a Attempt) bool { return a.Channel == e.CallID }) {
			d.Reason = events.DoneOperatorAnswered
		}
		s.closed.Add(1)
		return cur, []emit{finish(cur, time.Now(), d)}
	})
}
