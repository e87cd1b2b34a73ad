package web

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
)

// History is everything the event stream holds about one number: its calls
// with outcomes, times to the queue, recordings, verdicts and call-back
// ticks, and the blocklist's changes — the trace a centre hands to the
// police.
type History struct {
	Number string `json:"number"`
	// Calls are newest first.
	Calls []CallEntry `json:"calls"`
	// Blocks are the blocklist changes of the number, newest first.
	Blocks []BlockEntry `json:"blocks"`
	// Now describes the number's blocklist record at the time of the
	// request (nil when the blocklist does not know it).
	Now *BlockState `json:"now,omitempty"`
	// Source says where the events were read from: "index" (the number's
	// own events, fetched by sequence) or "stream" (the whole stream, while
	// the index is being built after an upgrade).
	Source string `json:"source"`
	// Cut is true when the stream holds older events of the number than
	// the history shows: the index keeps a number's newest
	// blocklist.MaxHistoryEvents events.
	Cut bool `json:"cut"`
}

// CallEntry is one call of the number.
type CallEntry struct {
	CallID        string         `json:"call_id"`
	Start         time.Time      `json:"start"`
	Node          string         `json:"node,omitempty"`
	Dialed        string         `json:"dialed,omitempty"`
	Blocked       bool           `json:"blocked"`
	Outcome       events.Outcome `json:"outcome,omitempty"`
	EmergencyType string         `json:"emergency_type,omitempty"`
	// SecondsToQueue is set when the call reached the operators' queue.
	SecondsToQueue *float64       `json:"seconds_to_queue,omitempty"`
	Recording      string         `json:"recording,omitempty"`
	CallRecording  string         `json:"call_recording,omitempty"`
	Callback       bool           `json:"callback"`
	DurationS      float64        `json:"duration_s,omitempty"`
	Verdicts       []VerdictEntry `json:"verdicts,omitempty"`
	Handled        []HandledEntry `json:"handled,omitempty"`
	// Taken lists who took the call from the needs-attention queue.
	Taken []TakenEntry `json:"taken,omitempty"`
}

// VerdictEntry is an operator's verdict on a call.
type VerdictEntry struct {
	Verdict string    `json:"verdict"`
	By      string    `json:"by"`
	Time    time.Time `json:"time"`
}

// HandledEntry is a call-back tick.
type HandledEntry struct {
	Action string    `json:"action"`
	By     string    `json:"by"`
	Time   time.Time `json:"time"`
}

// TakenEntry is a take of the call from the needs-attention queue.
type TakenEntry struct {
	By   string    `json:"by"`
	Time time.Time `json:"time"`
}

// BlockEntry is one blocklist change of the number.
type BlockEntry struct {
	Time    time.Time  `json:"time"`
	Until   *time.Time `json:"until,omitempty"`
	Strikes int        `json:"strikes"`
	Reason  string     `json:"reason,omitempty"`
	// ReasonCode and ReasonArgs are the event's (events.BlocklistChanged):
	// empty for a typed reason or an event written before codes.
	ReasonCode string            `json:"reason_code,omitempty"`
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
}

// BlockState is the number's blocklist record now.
type BlockState struct {
	Blocked bool       `json:"blocked"`
	Until   *time.Time `json:"until,omitempty"`
	Level   int        `json:"level"`
	Strikes int        `json:"strikes"`
	Reason  string     `json:"reason,omitempty"`
	// ReasonCode and ReasonArgs are the record's (blocklist.Record): the
	// reason as a code a page says in its own language; empty for a typed
	// reason or an older record, which only have Reason.
	ReasonCode string            `json:"reason_code,omitempty"`
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
	SetBy      string            `json:"set_by,omitempty"`
}

// historyBuilder folds the stream, in order, into one number's History.
// It is pure: the HTTP side feeds it events.
type historyBuilder struct {
	h     History
	calls map[string]int // call id -> index in h.Calls
}

func newHistoryBuilder(number string) *historyBuilder {
	return &historyBuilder{h: History{Number: number, Calls: []CallEntry{}, Blocks: []BlockEntry{}}, calls: map[string]int{}}
}

// maxHistoryCalls bounds one answer: a number that called more often than
// this within the stream's retention shows its most recent calls.
const maxHistoryCalls = 5000

func (b *historyBuilder) add(e events.Envelope) {
	if e.Type == events.TypeBlocklistChanged {
		var d events.BlocklistChanged
		if e.DecodeData(&d) == nil && d.Number == b.h.Number {
			b.h.Blocks = append(b.h.Blocks, BlockEntry{Time: e.Time, Until: d.Until, Strikes: d.Strikes, Reason: d.Reason, ReasonCode: d.ReasonCode, ReasonArgs: d.ReasonArgs})
		}
		return
	}
	i, known := b.calls[e.CallID]
	if !known {
		// A call id outside Asterisk's alphabet is no call of ours; the
		// page would put it into its forms' actions.
		if e.Caller.Number != b.h.Number || !callid.Valid(e.CallID) {
			return
		}
		if len(b.h.Calls) >= maxHistoryCalls {
			// Keep the newest: drop the oldest call.
			old := b.h.Calls[0].CallID
			b.h.Calls = b.h.Calls[1:]
			delete(b.calls, old)
			for id, j := range b.calls {
				b.calls[id] = j - 1
			}
		}
		b.h.Calls = append(b.h.Calls, CallEntry{CallID: e.CallID, Start: e.Time, Node: e.Node})
		i = len(b.h.Calls) - 1
		b.calls[e.CallID] = i
	}
	c := &b.h.Calls[i]
	switch e.Type {
	case events.TypeStarted:
		var d events.Started
		if e.DecodeData(&d) == nil {
			c.Start, c.Dialed, c.Blocked = e.Time, d.Dialed, d.Blocked
		}
	case events.TypeClassified:
		var d events.Classified
		if e.DecodeData(&d) == nil {
			c.Outcome, c.EmergencyType = d.Outcome, d.EmergencyType
			c.Recording, c.CallRecording = d.Recording, d.CallRecording
			c.Callback = c.Callback || d.Callback
		}
	case events.TypeTransferred:
		var d events.Transferred
		if e.DecodeData(&d) == nil {
			s := d.SecondsToQueue
			c.SecondsToQueue = &s
		}
	case events.TypeEnded:
		var d events.Ended
		if e.DecodeData(&d) == nil {
			c.DurationS = d.DurationS
			c.Callback = c.Callback || d.Callback
			if c.Outcome == "" {
				c.Outcome = d.Outcome
			}
		}
	case events.TypeVerdict:
		var d events.Verdict
		if e.DecodeData(&d) == nil {
			c.Verdicts = append(c.Verdicts, VerdictEntry{Verdict: d.Verdict, By: d.By, Time: e.Time})
		}
	case events.TypeHandled:
		var d events.Handled
		if e.DecodeData(&d) == nil {
			c.Handled = append(c.Handled, HandledEntry{Action: d.Action, By: d.By, Time: e.Time})
		}
	case events.TypeTaken:
		var d events.Taken
		if e.DecodeData(&d) == nil {
			c.Taken = append(c.Taken, TakenEntry{By: d.By, Time: e.Time})
		}
	}
}

// NumberReader is an EventReader that also reads one number's events
// from an index (blocklist.HistoryReader): a history then costs the
// number's events, not the whole stream.
type NumberReader interface {
	EventReader
	ReadNumber(ctx context.Context, e164 string, fn func(events.Envelope)) (blocklist.HistoryRead, error)
}

// read feeds the builder the number's events from r: through its index
// when r has one, else by reading the whole stream.
func (b *historyBuilder) read(ctx context.Context, r EventReader) error {
	if nr, ok := r.(NumberReader); ok {
		read, err := nr.ReadNumber(ctx, b.h.Number, b.add)
		b.h.Source, b.h.Cut = read.Source, read.Cut
		return err
	}
	b.h.Source = blocklist.SourceStream
	return r.ReadAll(ctx, []string{events.SubjectAllCalls, events.SubjectAllBlocklist}, b.add)
}

// result returns the history, newest first.
func (b *historyBuilder) result() History {
	h := b.h
	slices.SortStableFunc(h.Calls, func(x, y CallEntry) int { return cmp.Compare(y.Start.UnixNano(), x.Start.UnixNano()) })
	slices.Reverse(h.Blocks)
	return h
}
