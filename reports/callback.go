package reports

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// Automatic call-backs: what the reports make of callback.scheduled,
// callback.attempt and callback.done, and of the events of a call-back's
// own call (those with callback_of).
//
// A call-back belongs to the dropped call it calls back: its events carry
// that call's id, and its state is kept on that call's record, so it lives
// and leaves memory with it (the ring of Options.RecentCalls). An event for
// a dropped call no longer in memory, or for a call the reports never saw,
// changes nothing and is counted in Counters.Orphans: a forger sending
// call-back events for made-up ids cannot grow memory.
//
// A call-back that was put through is a call of its own, but not a new
// caller: its call.transferred, call.operator_answered,
// call.queue_abandoned and call.ended (each with callback_of) update the
// dropped call's call-back and are counted in no call figure (calls,
// outcomes, time to the queue, answered-within shares, operator_answered).
// That way a caller called back is one caller on the board, not two.
//
// # Needs attention and unreached
//
// A dropped call (callback) stays in needs-attention until its number
// reaches a person or someone closes it:
//
//   - reached: callback.done with reached_person, an operator's answer on
//     the call-back's own call, or any call.operator_answered of the same
//     number later on the same local day;
//   - closed: callback.done cancelled (a supervisor), handled (an
//     operator's tick) or prank, a call.handled tick on the call, or an
//     operator's prank verdict on it. A close also covers the number's
//     earlier drops, which the call-back folded into one.
//
// callback.done attempts_exhausted or blocked keeps the item: every
// attempt failed, or none may be made, and a person must still act.
//
// Unreached is the number of callers behind today's open call-back items:
// distinct numbers among the calls of the local day that still need their
// call-back by the rule above (each withheld caller counts as one, since
// nobody can tell two of them apart). Its goal is 0.
//
// # Today's call-back counts (/api/stats callbacks)
//
// Each is added to the hour of the dropped call, as every figure of a call
// is, and counted once however often its event is delivered:
//
//   - scheduled: dropped calls with a callback.scheduled;
//   - attempts: call-back attempts that ended (callback.attempt), each
//     attempt number of a call once;
//   - put_through: attempts whose callee gave a sign of a person and was
//     put through to the operators' queue;
//   - no_answer: attempts that reached no person on the line: nobody
//     answered, the line was busy, or the callee answered and gave no sign
//     (results no_answer, busy, no_response);
//   - cancelled: call-backs a supervisor cancelled (callback.done
//     cancelled).

// Call-back statuses for CallbackInfo.Status.
const (
	// CallbackWaiting: planned, no attempt made yet or another to come.
	CallbackWaiting = "waiting"
	// CallbackConnected: the last attempt put the callee through to the
	// operators' queue.
	CallbackConnected = "put_through"
	// CallbackDone: no further attempt will be made (CallbackInfo.Done
	// says why).
	CallbackDone = "done"
)

// maxNote bounds the supervisor's note and names kept from call-back
// events, in characters, as the console bounds what it accepts.
const maxNote = 200

// CallbackInfo is what the reports know of a dropped call's automatic
// call-back.
type CallbackInfo struct {
	// Status is CallbackWaiting, CallbackConnected or CallbackDone.
	Status string `json:"status"`
	// DueAt is when the first attempt may be placed.
	DueAt       time.Time `json:"due_at,omitzero"`
	MaxAttempts int       `json:"max_attempts,omitempty"`
	// Attempts counts the attempts that ended; LastResult is the result
	// of the latest (callback.attempt result) and NextAt when the next
	// one is due (zero when none follows).
	Attempts   int       `json:"attempts"`
	LastResult string    `json:"last_result,omitempty"`
	NextAt     time.Time `json:"next_at,omitzero"`
	// CallID is the call-back's own call once put through; Queue its
	// state past the hand-off (waiting, answered, abandoned, queue_ended)
	// and Answered when an operator answered it.
	CallID   string    `json:"call_id,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	Answered time.Time `json:"answered,omitzero"`
	// Done is callback.done's reason, DoneAt its time; ReachedPerson,
	// By and Note as callback.done says.
	Done          string    `json:"done,omitempty"`
	DoneAt        time.Time `json:"done_at,omitzero"`
	ReachedPerson bool      `json:"reached_person,omitempty"`
	By            string    `json:"by,omitempty"`
	Note          string    `json:"note,omitempty"`
	// Of is set on a later drop of the same number, which the call-back
	// of call Of covers (one number has one open call-back): the state is
	// that call's, and so is the call-back to cancel.
	Of string `json:"of,omitempty"`
}

// closes reports whether the call-back's end takes the call out of
// needs-attention (see the package comment above).
func (cb *CallbackInfo) closes() bool {
	if cb.ReachedPerson || !cb.Answered.IsZero() {
		return true
	}
	switch cb.Done {
	case events.DoneOperatorAnswered, events.DoneCalledAgain, events.DoneCancelled, events.DoneHandled, events.DonePrank:
		return true
	}
	return false
}

// cbFigures are an hour's call-back counts (see the package comment above).
type cbFigures struct {
	scheduled, attempts, putThrough, noAnswer, cancelled int64
}

func (f *cbFigures) merge(o cbFigures) {
	f.scheduled += o.scheduled
	f.attempts += o.attempts
	f.putThrough += o.putThrough
	f.noAnswer += o.noAnswer
	f.cancelled += o.cancelled
}

// CallbackCounts are /api/stats' callbacks: today's call-back counts.
type CallbackCounts struct {
	// Scheduled counts dropped calls that got a call-back planned.
	Scheduled int64 `json:"scheduled"`
	// Attempts counts call-back attempts that ended, whatever their result.
	Attempts int64 `json:"attempts"`
	// PutThrough counts attempts whose callee was put through to the
	// operators' queue.
	PutThrough int64 `json:"put_through"`
	// NoAnswer counts attempts that reached no person on the line: no
	// answer, busy, or answered without a sign of a person.
	NoAnswer int64 `json:"no_answer"`
	// Cancelled counts call-backs a supervisor cancelled.
	Cancelled int64 `json:"cancelled"`
}

// cbState is a call's call-back plus what it has already contributed to
// its hour, so redelivered events count once.
type cbState struct {
	info      CallbackInfo
	scheduled bool
	// tried holds the attempt numbers already counted (1 to 64; a larger
	// number shares the last bit, which a real call-back never reaches).
	tried     uint64
	cancelled bool
	// queued is when the call-back's own call was handed to the queue,
	// and queueType its emergency type, while it waits there.
	queued    time.Time
	queueType string
}

// callbackData holds whichever call-back event data an envelope decoded.
type callbackData struct {
	scheduled events.CallbackScheduled
	attempt   events.CallbackAttempt
	done      events.CallbackDone
}

// decodeCallback decodes the data of a callback.* event.
func decodeCallback(e events.Envelope, d *callbackData) error {
	switch e.Type {
	case events.TypeCallbackScheduled:
		return e.DecodeData(&d.scheduled)
	case events.TypeCallbackAttempt:
		return e.DecodeData(&d.attempt)
	case events.TypeCallbackDone:
		return e.DecodeData(&d.done)
	}
	return nil
}

// isCallbackEvent reports whether t is one of the callback.* types.
func isCallbackEvent(t events.Type) bool {
	return t == events.TypeCallbackScheduled || t == events.TypeCallbackAttempt || t == events.TypeCallbackDone
}

// applyCallback applies a callback.* event to the dropped call it names.
// Called with mu held.
func (a *Aggregator) applyCallback(e events.Envelope, d callbackData) {
	cs := a.calls[e.CallID]
	if cs == nil {
		a.counters.Orphans++
		return
	}
	if e.Time.After(cs.last) {
		cs.last = e.Time
	}
	b := a.buckets[cs.key]
	if cs.cb == nil {
		cs.cb = &cbState{info: CallbackInfo{Status: CallbackWaiting}}
	}
	cb := cs.cb
	in := &cb.info
	switch e.Type {
	case events.TypeCallbackScheduled:
		if !d.scheduled.DueAt.IsZero() {
			in.DueAt = d.scheduled.DueAt
		}
		in.MaxAttempts = max(in.MaxAttempts, min(d.scheduled.MaxAttempts, 64))
		if !cb.scheduled {
			cb.scheduled = true
			a.counters.CallbacksScheduled++
			if b != nil {
				b.cb.scheduled++
			}
		}
		// A planned call-back says the call was one to call back, even
		// when its own callback flag was lost.
		if !cs.rec.Callback {
			cs.rec.Callback = true
			if b != nil {
				b.callbacks++
			}
		}
	case events.TypeCallbackAttempt:
		at := d.attempt
		result := at.Result
		if !slices.Contains(events.CallbackResults, result) {
			result = OtherKey
		}
		bit := uint64(1) << (min(max(at.Attempt, 1), 64) - 1)
		if cb.tried&bit == 0 {
			cb.tried |= bit
			a.counters.CallbackAttempts[result]++
			if b != nil {
				b.cb.attempts++
				switch result {
				case events.CallbackPutThrough:
					b.cb.putThrough++
				case events.CallbackNoAnswer, events.CallbackBusy, events.CallbackNoResponse:
					b.cb.noAnswer++
				}
			}
		}
		// The latest attempt decides what the board says; a late copy of
		// an earlier one does not take it back.
		if at.Attempt >= in.Attempts {
			in.Attempts = at.Attempt
			in.LastResult = result
			in.NextAt = time.Time{}
			if at.NextAt != nil {
				in.NextAt = *at.NextAt
			}
			// The channel becomes the call-back's own call id, which the
			// API hands on: only an id of Asterisk's alphabet is kept.
			if result == events.CallbackPutThrough && in.CallID == "" && callid.Valid(at.ChannelID) {
				in.CallID = at.ChannelID
			}
		}
	case events.TypeCallbackDone:
		reason := d.done.Reason
		if !slices.Contains(events.CallbackDoneReasons, reason) {
			reason = OtherKey
		}
		if in.Done == "" || !e.Time.Before(in.DoneAt) {
			if in.Done == "" {
				a.counters.CallbacksDone[reason]++
			}
			in.Done, in.DoneAt = reason, e.Time
			in.ReachedPerson = in.ReachedPerson || d.done.ReachedPerson
			in.By, in.Note = cutNote(d.done.By), cutNote(d.done.Note)
			in.Attempts = max(in.Attempts, d.done.Attempts)
		}
		if reason == events.DoneCancelled && !cb.cancelled {
			cb.cancelled = true
			if b != nil {
				b.cb.cancelled++
			}
		}
	}
	in.Status = cb.status()
}

// status is the call-back's CallbackInfo.Status.
func (cb *cbState) status() string {
	switch {
	case cb.info.Done != "":
		return CallbackDone
	case cb.info.LastResult == events.CallbackPutThrough:
		return CallbackConnected
	}
	return CallbackWaiting
}

// callbackOf returns callback_of of the events a call-back's own call
// publishes ("" for any other event).
func callbackOf(e events.Envelope, tr events.Transferred, en events.Ended, oa events.OperatorAnswered, qa events.QueueAbandoned) string {
	switch e.Type {
	case events.TypeTransferred:
		return tr.CallbackOf
	case events.TypeEnded:
		return en.CallbackOf
	case events.TypeOperatorAnswered:
		return oa.CallbackOf
	case events.TypeQueueAbandoned:
		return qa.CallbackOf
	}
	return ""
}

// applyCallbackCall applies an event of a call-back's own call to the
// dropped call it calls back (of): never as a call of its own, but while
// it waits in the queue, in the queue gauge. Called with mu held.
func (a *Aggregator) applyCallbackCall(e events.Envelope, of string, tr events.Transferred, en events.Ended) {
	cs := a.calls[of]
	if cs == nil {
		a.counters.Orphans++
		return
	}
	if e.Time.After(cs.last) {
		cs.last = e.Time
	}
	if cs.cb == nil {
		// The call-back's own call came before its callback.attempt (the
		// events of two publishers may cross): it was put through.
		cs.cb = &cbState{info: CallbackInfo{Status: CallbackWaiting}}
	}
	in := &cs.cb.info
	if in.CallID == "" {
		in.CallID = e.CallID
	}
	switch e.Type {
	case events.TypeTransferred:
		if in.Queue == "" {
			in.Queue = QueueWaiting
			cs.cb.queued, cs.cb.queueType = e.Time, tr.EmergencyType
		}
	case events.TypeOperatorAnswered:
		in.Queue = QueueAnswered
		if in.Answered.IsZero() || e.Time.Before(in.Answered) {
			in.Answered = e.Time
		}
	case events.TypeQueueAbandoned:
		if in.Queue != QueueAnswered {
			in.Queue = QueueAbandoned
		}
	case events.TypeEnded:
		switch {
		case en.Where == events.WhereOperator && in.Answered.IsZero():
			in.Queue, in.Answered = QueueAnswered, e.Time
		case en.Where == events.WhereQueue && in.Queue != QueueAnswered && in.Queue != QueueAbandoned:
			in.Queue = QueueEnded
		}
	}
	if in.LastResult == "" {
		in.LastResult = events.CallbackPutThrough
	}
	in.Status = cs.cb.status()
	if in.Queue == QueueWaiting && e.Type != events.TypeEnded && !cs.cb.queued.IsZero() {
		a.cbWaiting[of] = cs
	} else {
		delete(a.cbWaiting, of)
	}
}

// cutNote bounds free text from an event to maxNote characters.
func cutNote(s string) string {
	if utf8.RuneCountInString(s) <= maxNote {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxNote-1])) + "…"
}

// numberFacts are, per number, the times a person answered it and the
// latest time its call-back was closed, from every call in memory.
type numberFacts struct {
	answered []time.Time
	closed   time.Time
}

// facts gathers numberFacts. Called with mu held.
func (a *Aggregator) facts() map[string]*numberFacts {
	out := map[string]*numberFacts{}
	get := func(n string) *numberFacts {
		f := out[n]
		if f == nil {
			f = &numberFacts{}
			out[n] = f
		}
		return f
	}
	for _, cs := range a.calls {
		if cs.number == "" {
			continue
		}
		if cs.opSet {
			get(cs.number).answered = append(get(cs.number).answered, cs.rec.OperatorAnswered)
		}
		if cs.cb == nil {
			continue
		}
		in := &cs.cb.info
		if !in.Answered.IsZero() {
			get(cs.number).answered = append(get(cs.number).answered, in.Answered)
		}
		if in.Done != "" && in.closes() {
			if f := get(cs.number); in.DoneAt.After(f.closed) {
				f.closed = in.DoneAt
			}
		}
	}
	return out
}

// open reports whether a dropped call (callback) still waits for its
// number to reach a person (see the package comment above). Called with
// mu held.
func (a *Aggregator) open(cs *callState, facts map[string]*numberFacts) bool {
	r := &cs.rec
	if !r.Callback || r.Handled != "" || r.Verdict == events.VerdictPrank {
		return false
	}
	if cs.cb != nil && cs.cb.info.closes() {
		return false
	}
	f := facts[cs.number]
	if cs.number == "" || f == nil {
		return true
	}
	if !f.closed.IsZero() && !r.Started.After(f.closed) {
		return false
	}
	end := a.NextBucket(a.dayStart(r.Started), Day)
	for _, t := range f.answered {
		if t.After(r.Started) && t.Before(end) {
			return false
		}
	}
	return true
}

// needsLook reports whether a call asks for an operator's look: a dropped
// call still open (above), or a silent-help call, a blocked caller who got
// through or a failover not yet ticked. Called with mu held.
func (a *Aggregator) needsLook(cs *callState, facts map[string]*numberFacts) bool {
	r := &cs.rec
	if r.Callback {
		return a.open(cs, facts)
	}
	if r.Handled != "" {
		return false
	}
	switch events.Outcome(r.Outcome) {
	case events.OutcomeSilentHelp, events.OutcomeBlockedOverride, events.OutcomeFailover:
		return true
	}
	return false
}

// Attention returns the calls that started in [from, to) and need an
// operator's look, oldest first (the caller who has waited longest comes
// first), at most limit (0: all). Dropped calls carry their call-back's
// state. Numbers are masked unless unmasked is set.
func (a *Aggregator) Attention(from, to time.Time, limit int, unmasked bool) []CallRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	facts := a.facts()
	var out []CallRecord
	// The open call-back of each number, for its later drops (folded).
	covering := map[string]*callState{}
	for _, cs := range a.calls {
		if cs.cb == nil || cs.number == "" || cs.cb.info.Done != "" || !a.open(cs, facts) {
			continue
		}
		if o := covering[cs.number]; o == nil || cs.rec.Started.After(o.rec.Started) {
			covering[cs.number] = cs
		}
	}
	for _, cs := range a.calls {
		r := cs.rec
		if r.Started.Before(from) || !r.Started.Before(to) || !a.needsLook(cs, facts) {
			continue
		}
		rec := a.withCallback(cs, unmasked)
		if o := covering[cs.number]; rec.Callback && rec.CallbackState == nil && o != nil && o.rec.Started.Before(r.Started) {
			c := o.cb.info
			c.Of = o.rec.CallID
			rec.CallbackState = &c
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(x, y CallRecord) int {
		if c := x.Started.Compare(y.Started); c != 0 {
			return c
		}
		return strings.Compare(x.CallID, y.CallID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// withCallback copies a call's record with its call-back state, masked
// unless unmasked. Called with mu held.
func (a *Aggregator) withCallback(cs *callState, unmasked bool) CallRecord {
	r := cs.rec
	if cs.cb != nil {
		c := cs.cb.info
		r.CallbackState = &c
	}
	if !unmasked {
		r.Number = phone.Mask(r.Number)
	}
	return r
}

// Unreached returns how many callers who gave a sign of a person on the
// local day of now have not reached one yet (see the package comment
// above).
func (a *Aggregator) Unreached(now time.Time) int {
	day := a.dayStart(now)
	end := a.NextBucket(day, Day)
	a.mu.Lock()
	defer a.mu.Unlock()
	facts := a.facts()
	numbers := map[string]bool{}
	withheld := 0
	for _, cs := range a.calls {
		r := &cs.rec
		if r.Started.Before(day) || !r.Started.Before(end) || !a.open(cs, facts) {
			continue
		}
		if cs.number == "" {
			withheld++
			continue
		}
		numbers[cs.number] = true
	}
	return len(numbers) + withheld
}

// Callbacks returns today's call-back counts: those of the calls that
// started on the local day of now.
func (a *Aggregator) Callbacks(now time.Time) CallbackCounts {
	day := a.dayStart(now)
	start, end := day.Unix(), a.NextBucket(day, Day).Unix()
	var f cbFigures
	a.mu.Lock()
	for k, b := range a.buckets {
		if k >= start && k < end {
			f.merge(b.cb)
		}
	}
	a.mu.Unlock()
	return CallbackCounts{Scheduled: f.scheduled, Attempts: f.attempts, PutThrough: f.putThrough, NoAnswer: f.noAnswer, Cancelled: f.cancelled}
}
