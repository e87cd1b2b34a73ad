package callback

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// State is where a call-back stands.
type State string

// States of a record.
const (
	// StateWaiting: the next attempt is due at DueAt (it waits longer
	// while no operator is free, the number is on another call, or
	// call-backs are switched off).
	StateWaiting State = "waiting"
	// StatePlacing: an IVR instance (Placer) places an attempt; its claim
	// runs out at LeaseUntil.
	StatePlacing State = "placing"
	// StatePutThrough: the callee gave a sign and was put through; the
	// record waits for an operator's answer on that call.
	StatePutThrough State = "put_through"
	// StateDone: no attempt follows (Done says why).
	StateDone State = "done"
)

// maxFolded bounds the later dropped calls of one number folded into its
// open call-back.
const maxFolded = 16

// Attempt is one attempt as the record keeps it.
type Attempt struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
	// Result is one of events.CallbackResults; "" while it runs.
	Result string `json:"result,omitempty"`
	Cause  int    `json:"cause,omitempty"`
	// Channel is the call-back's channel id.
	Channel string `json:"channel,omitempty"`
	// Placer is the IVR instance that placed it.
	Placer string `json:"placer,omitempty"`
}

// Record is one number's call-back, the value of its key in the bucket.
type Record struct {
	// CallID is the dropped call that opened it: the call_id of its
	// callback.* events.
	CallID string `json:"call_id"`
	// Caller is that call's caller; Caller.Number (E.164) is the key.
	Caller        events.Caller  `json:"caller"`
	Outcome       events.Outcome `json:"outcome"`
	EmergencyType string         `json:"emergency_type,omitempty"`
	// Calls are later dropped calls of the number folded into this one.
	Calls   []string  `json:"calls,omitempty"`
	Created time.Time `json:"created"`
	DueAt   time.Time `json:"due_at"`
	State   State     `json:"state"`
	// Attempts are the attempts placed so far, the last one possibly
	// running (StatePlacing) or put through (StatePutThrough).
	Attempts   []Attempt `json:"attempts,omitempty"`
	Placer     string    `json:"placer,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Live is a call of the number in progress (from call.started to its
	// call.ended): no attempt is placed meanwhile.
	Live      string    `json:"live,omitempty"`
	LiveSince time.Time `json:"live_since,omitzero"`
	// Done is set with StateDone.
	Done   *events.CallbackDone `json:"done,omitempty"`
	DoneAt time.Time            `json:"done_at,omitzero"`
}

// Open reports whether the call-back still wants a person reached.
func (r Record) Open() bool { return r.State != StateDone }

// Has reports whether callID is the dropped call or one folded in.
func (r Record) Has(callID string) bool {
	if r.CallID == callID {
		return true
	}
	for _, c := range r.Calls {
		if c == callID {
			return true
		}
	}
	return false
}

// last returns the last attempt, or nil.
func (r *Record) last() *Attempt {
	if len(r.Attempts) == 0 {
		return nil
	}
	return &r.Attempts[len(r.Attempts)-1]
}

// placed counts the attempts placed.
func (r Record) placed() int { return len(r.Attempts) }

// SwitchKey is the key of the centre's on/off switch in the bucket.
const SwitchKey = "switch"

// Key is the bucket key of a number's call-back: "n" and the digits of its
// E.164 form. ok is false for a number that is not E.164 (withheld,
// unknown): such a caller is never called back.
func Key(e164 string) (key string, ok bool) {
	digits, found := strings.CutPrefix(e164, "+")
	if !found || len(digits) < 4 || len(digits) > 15 {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return "n" + digits, true
}

func decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("callback: record: %w", err)
	}
	if r.CallID == "" || r.State == "" {
		return Record{}, fmt.Errorf("callback: record has no call id or state")
	}
	return r, nil
}

func encode(r Record) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// A Record holds only strings, numbers and times: Marshal cannot
		// fail on it.
		panic(fmt.Sprintf("callback: encode record: %v", err))
	}
	return b
}
