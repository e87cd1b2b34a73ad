package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// Applying events: each event is decoded before anything changes, and each
// figure of a call is added to its hour once, whatever order its events
// arrive in (callState remembers what a call has contributed).

// Apply adds one event. seq is its stream sequence (0 if unknown). It
// reports whether the event changed anything: false for an event id already
// applied. Errors wrap events.ErrMalformed; a malformed event is not applied.
func (a *Aggregator) Apply(e events.Envelope, seq uint64) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq > a.counters.LastSeq {
		a.counters.LastSeq = seq
	}
	if _, dup := a.seen[e.ID]; dup {
		a.counters.Duplicates++
		return false, nil
	}
	if limit := a.now().Add(a.skew); e.Time.After(limit) {
		return false, fmt.Errorf("%w: %s %s is dated %s ahead of this host's clock (at most %s)",
			events.ErrMalformed, e.Type, e.ID, e.Time.Sub(limit.Add(-a.skew)).Round(time.Second), a.skew)
	}
	if err := a.apply(e); err != nil {
		return false, err
	}
	a.remember(e.ID)
	a.counters.Events++
	return true, nil
}

func (a *Aggregator) remember(id string) {
	if len(a.seenRing) < cap(a.seenRing) {
		a.seenRing = append(a.seenRing, id)
	} else {
		delete(a.seen, a.seenRing[a.seenHead])
		a.seenRing[a.seenHead] = id
		a.seenHead = (a.seenHead + 1) % len(a.seenRing)
	}
	a.seen[id] = struct{}{}
}

// apply decodes the event's data first, so a malformed event changes nothing.
func (a *Aggregator) apply(e events.Envelope) error {
	if e.Type == events.TypeBlocklistChanged {
		var d events.BlocklistChanged
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		a.applyBlock(e, d)
		return nil
	}
	if e.Type == events.TypeOperatorState {
		var d events.OperatorState
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		a.applyOperatorState(e, d)
		return nil
	}
	if e.CallID == "" {
		return fmt.Errorf("%w: %s %s has no call_id", events.ErrMalformed, e.Type, e.ID)
	}
	if !callid.Valid(e.CallID) {
		// The board puts call ids into its forms' actions.
		return fmt.Errorf("%w: %s %s has a call_id outside Asterisk's id alphabet", events.ErrMalformed, e.Type, e.ID)
	}
	var (
		started     events.Started
		menu        events.Menu
		classified  events.Classified
		transferred events.Transferred
		ended       events.Ended
		verdict     events.Verdict
		handled     events.Handled
		taken       events.Taken
		opAnswered  events.OperatorAnswered
		qAbandoned  events.QueueAbandoned
		cbData      callbackData
		err         error
	)
	switch e.Type {
	case events.TypeStarted:
		err = e.DecodeData(&started)
	case events.TypeMenu:
		err = e.DecodeData(&menu)
	case events.TypeClassified:
		err = e.DecodeData(&classified)
	case events.TypeTransferred:
		err = e.DecodeData(&transferred)
	case events.TypeEnded:
		err = e.DecodeData(&ended)
	case events.TypeVerdict:
		err = e.DecodeData(&verdict)
	case events.TypeHandled:
		err = e.DecodeData(&handled)
	case events.TypeTaken:
		err = e.DecodeData(&taken)
	case events.TypeOperatorAnswered:
		err = e.DecodeData(&opAnswered)
	case events.TypeQueueAbandoned:
		err = e.DecodeData(&qAbandoned)
	case events.TypeCallbackScheduled, events.TypeCallbackAttempt, events.TypeCallbackDone:
		err = decodeCallback(e, &cbData)
	}
	if err != nil {
		return err
	}
	if isCallbackEvent(e.Type) {
		a.applyCallback(e, cbData)
		return nil
	}
	// A call-back's own call is not a new call: its events go to the
	// dropped call it calls back (callback.go).
	if of := callbackOf(e, transferred, ended, opAnswered, qAbandoned); of != "" {
		if !callid.Valid(of) {
			return fmt.Errorf("%w: %s %s has a callback_of outside Asterisk's id alphabet", events.ErrMalformed, e.Type, e.ID)
		}
		a.applyCallbackCall(e, of, transferred, ended)
		return nil
	}

	cs := a.calls[e.CallID]
	if cs == nil {
		if e.Type == events.TypeVerdict || e.Type == events.TypeHandled || e.Type == events.TypeTaken {
			// The call has left memory: we no longer know its hour or outcome.
			a.counters.Orphans++
			return nil
		}
		cs = a.newCall(e)
	}
	if e.Time.After(cs.last) {
		cs.last = e.Time
	}
	b := a.buckets[cs.key] // nil once the call's hour has passed retention
	wasPrank, wasRepeatPrank := cs.rec.Prank, repeatPrank(cs.rec)
	oldFate := cs.fate()
	r := &cs.rec

	switch e.Type {
	case events.TypeStarted:
		if r.Started.IsZero() || e.Time.Before(r.Started) {
			r.Started = e.Time
		}
		if started.Blocked && !cs.blockSet {
			cs.blockSet = true
			r.Blocked = true
			if b != nil {
				b.blocked++
				b.node(r.Node).Blocked++
			}
		}
	case events.TypeAnswered:
		r.Answered = e.Time
	case events.TypeMenu:
		r.Attempts = max(r.Attempts, menu.Attempt)
	case events.TypeClassified:
		r.Classified = e.Time
		// Read apart from events.Classified so an IVR that does not send
		// the field yet changes nothing.
		var cb struct {
			Callback bool `json:"callback"`
		}
		if e.DecodeData(&cb) == nil && cb.Callback && !r.Callback {
			r.Callback = true
			if b != nil {
				b.callbacks++
			}
		}
		if classified.IncidentID != "" && r.IncidentID == "" {
			r.IncidentID = classified.IncidentID
			a.incident(r.IncidentID).Heard++
			if classified.Outcome == events.OutcomeIncidentAck {
				a.incident(r.IncidentID).Acknowledged++
			}
		}
		r.Attempts = max(r.Attempts, classified.Attempts)
		a.setType(cs, b, classified.EmergencyType)
		a.setOutcome(cs, b, string(classified.Outcome))
		if classified.Outcome == events.OutcomeBlockedOverride {
			a.setOverride(cs, b)
		}
		if !cs.ttcSet {
			cs.ttcSet = true
			r.SecondsToClassify = classified.SecondsToClassify
			if b != nil {
				b.ttc.add(classified.SecondsToClassify)
			}
			a.counters.ClassifyCount++
			a.counters.ClassifySum += classified.SecondsToClassify
			for i, ub := range ClassifyBounds {
				if classified.SecondsToClassify <= ub {
					a.counters.ClassifyBuckets[i]++
				}
			}
		}
	case events.TypeTransferred:
		a.setType(cs, b, transferred.EmergencyType)
		if !cs.transfSet {
			cs.transfSet = true
			r.Transferred = true
			r.Queued = e.Time
			r.SecondsToQueue = transferred.SecondsToQueue
			if r.IncidentID != "" {
				a.incident(r.IncidentID).PutThrough++
			}
			if b != nil {
				b.putThrough++
				b.node(r.Node).PutThrough++
			}
		}
		if transferred.BlockedOverride {
			a.setOverride(cs, b)
		}
	case events.TypeEnded:
		r.Ended = e.Time
		r.DurationS = ended.DurationS
		r.Where = ended.Where
		if ended.Callback && !r.Callback {
			// Dropped during the hand-off itself, after call.classified.
			r.Callback = true
			if b != nil {
				b.callbacks++
			}
		}
		a.setOutcome(cs, b, string(ended.Outcome))
	case events.TypeVerdict:
		r.Verdict = verdict.Verdict
	case events.TypeHandled:
		r.Handled = handled.Action
	case events.TypeTaken:
		// The latest take by its time wins, whatever order the takes
		// arrive in: a colleague who takes an item over replaces the
		// first name.
		if taken.By != "" && !e.Time.Before(r.Taken) {
			r.TakenBy, r.Taken = taken.By, e.Time
		}
	case events.TypeOperatorAnswered:
		a.applyOperatorAnswered(e, cs, b, opAnswered)
	case events.TypeQueueAbandoned:
		a.applyQueueAbandoned(cs, b, qAbandoned)
	}
	a.moveFate(cs, b, oldFate)

	r.Prank = isPrank(r.Outcome, r.Verdict)
	if r.Prank != wasPrank {
		d := int64(1)
		if !r.Prank {
			d = -1
		}
		if b != nil {
			b.prank += d
			b.node(r.Node).Prank += d
		}
	}
	if rp := repeatPrank(*r); rp != wasRepeatPrank && b != nil {
		if ns := b.numbers[cs.number]; ns != nil {
			if rp {
				ns.prank++
			} else {
				ns.prank--
			}
		}
	}
	return nil
}

// repeatPrank is whether a call counts as prank-like for its number in
// TopCallers: prank-like, or refused by a block without a "genuine" verdict.
func repeatPrank(r CallRecord) bool {
	return r.Prank || r.Outcome == string(events.OutcomeBlocked) && r.Verdict != events.VerdictGenuine
}

// isPrank is the prank definition of the package comment.
func isPrank(outcome, verdict string) bool {
	switch verdict {
	case events.VerdictPrank:
		return true
	case events.VerdictGenuine:
		return false
	}
	switch events.Outcome(outcome) {
	case events.OutcomeNoInput, events.OutcomeAbandoned, events.OutcomeInvalid:
		return true
	}
	return false
}

func (a *Aggregator) setOutcome(cs *callState, b *bucket, o string) {
	if o == "" || cs.rec.Outcome != "" {
		return
	}
	cs.rec.Outcome = o
	if b != nil {
		b.outcomes[boundedKey(b.outcomes, o)]++
	}
	k := OutcomeType{Outcome: o, Type: cs.rec.EmergencyType}
	if _, ok := a.counters.Calls[k]; !ok && len(a.counters.Calls) >= maxCounterKeys-1 {
		k = OutcomeType{Outcome: OtherKey, Type: OtherKey}
	}
	a.counters.Calls[k]++
}

// Bounds on the distinct keys an hour's figures and the lifetime counters
// hold. Outcomes, types and node names come from the event stream, and
// anyone allowed to publish on it chooses them: past the bound, new values
// are counted under OtherKey, so forged values cannot grow memory or the
// dashboard without limit. A real centre has about ten outcomes, ten types
// and a few nodes.
const (
	maxBucketKeys  = 64
	maxCounterKeys = 1024
)

// OtherKey counts the values past the bounds above.
const OtherKey = "other"

// boundedKey is k, or OtherKey when m is full and does not hold k. The
// last of the maxBucketKeys is left for OtherKey.
func boundedKey[V any](m map[string]V, k string) string {
	if _, ok := m[k]; ok || k == OtherKey {
		return k
	}
	n := len(m)
	if _, ok := m[OtherKey]; ok {
		n--
	}
	if n >= maxBucketKeys-1 {
		return OtherKey
	}
	return k
}

func (a *Aggregator) setType(cs *callState, b *bucket, t string) {
	if t == "" || cs.typeSet {
		return
	}
	cs.typeSet = true
	cs.rec.EmergencyType = t
	if b != nil {
		b.types[boundedKey(b.types, t)]++
	}
}

func (a *Aggregator) setOverride(cs *callState, b *bucket) {
	if cs.overSet {
		return
	}
	cs.overSet = true
	cs.rec.Override = true
	if b != nil {
		b.overrides++
	}
}

// newCall makes the record of a call seen for the first time, counts it and
// puts it in the ring, evicting the oldest record when the ring is full.
func (a *Aggregator) newCall(e events.Envelope) *callState {
	number := a.normalize(e.Caller.Number)
	cs := &callState{
		rec: CallRecord{CallID: e.CallID, Node: e.Node, Number: number, Started: e.Time},
		key: a.hourStart(e.Time).Unix(),
	}
	if e.Caller.Presentation != events.PresentationRestricted {
		cs.number = number
	}
	a.calls[e.CallID] = cs
	if len(a.ring) < cap(a.ring) {
		a.ring = append(a.ring, e.CallID)
	} else {
		delete(a.calls, a.ring[a.ringHead])
		delete(a.waiting, a.ring[a.ringHead])
		delete(a.cbWaiting, a.ring[a.ringHead])
		a.ring[a.ringHead] = e.CallID
		a.ringHead = (a.ringHead + 1) % len(a.ring)
	}

	b := a.bucketFor(cs.key)
	if b == nil {
		return cs
	}
	b.calls++
	b.node(e.Node).Calls++
	if cs.number != "" {
		b.countNumber(cs.number)
	}
	return cs
}

// bucketFor returns the hour bucket with this key, making it if it is
// within retention of the clock; making one also drops the buckets that
// fell out of retention. It returns nil for an hour already past retention.
func (a *Aggregator) bucketFor(key int64) *bucket {
	if b := a.buckets[key]; b != nil {
		return b
	}
	horizon := a.hourStart(a.now().Add(-a.retention)).Unix()
	if key < horizon {
		return nil
	}
	for k := range a.buckets {
		if k < horizon {
			delete(a.buckets, k)
		}
	}
	b := newBucket(time.Unix(key, 0).In(a.loc))
	a.buckets[key] = b
	return b
}

func (a *Aggregator) applyBlock(e events.Envelope, d events.BlocklistChanged) {
	// The blocklist publishes E.164 already; normalising again makes a block
	// and its lift meet even if some publisher sent another form.
	d.Number = a.normalize(d.Number)
	if d.Number == "" {
		return
	}
	if d.Until == nil || !d.Until.After(e.Time) {
		delete(a.blocked, d.Number)
		return
	}
	since := e.Time
	if old, ok := a.blocked[d.Number]; ok {
		since = old.Since
	}
	a.dropExpiredBlocks(e.Time)
	a.blocked[d.Number] = BlockedNumber{Number: d.Number, Until: *d.Until, Strikes: d.Strikes, Reason: d.Reason, Since: since}
}

// normalize returns raw in E.164 form, "" for a withheld or anonymous
// caller, and raw without surrounding space when it is not a phone number
// (kept rather than dropped, so the call can still be found).
func (a *Aggregator) normalize(raw string) string {
	n, err := phone.Normalize(raw, a.country)
	switch {
	case err != nil:
		return strings.TrimSpace(raw)
	case n.IsAnonymous():
		return ""
	}
	return n.E164
}
