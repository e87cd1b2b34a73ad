package events

import "time"

// Call-back events.
//
// A caller who gave a sign of a person (a menu key, talk, 5 5, a blocked
// caller's override) and ended before an operator answered is published
// with callback: true on call.ended. The IVR calls such a number back
// (callback/). Its events are published on the dropped call's subject
// space (siaga112.calls.callback.*), with the envelope's call_id the call
// that was dropped and its caller that call's caller: a subscriber of
// siaga112.calls.> sees a number's whole story in one stream.
//
// A call-back that was answered and put through is a call of its own (its
// channel id is CallbackAttempt.ChannelID): it is followed past the
// hand-off like any call, and its call.transferred, call.operator_answered,
// call.queue_abandoned and call.ended carry callback_of, the dropped call.
// It publishes no call.started or call.classified, so it is never counted
// as a new call nor struck by the blocklist.

// Call-back event types.
const (
	// TypeCallbackScheduled: a call-back was planned for a dropped call.
	TypeCallbackScheduled Type = "callback.scheduled"
	// TypeCallbackAttempt: one call-back attempt ended.
	TypeCallbackAttempt Type = "callback.attempt"
	// TypeCallbackDone: no further attempt will be made.
	TypeCallbackDone Type = "callback.done"
)

// Results of one call-back attempt (CallbackAttempt.Result).
const (
	// CallbackPutThrough: the callee answered, gave a sign of a person and
	// was continued into the operators' queue.
	CallbackPutThrough = "put_through"
	// CallbackNoResponse: the callee answered but gave no sign (key, talk,
	// 5 5) through the prompt played twice.
	CallbackNoResponse = "no_response"
	// CallbackNoAnswer: the phone rang and nobody answered (Q.850 cause 18,
	// 19 or 21... as Asterisk reports it), or it rang out.
	CallbackNoAnswer = "no_answer"
	// CallbackBusy: the line was busy (cause 17).
	CallbackBusy = "busy"
	// CallbackFailed: the call could not be placed (Asterisk refused the
	// originate, the trunk failed, any other cause).
	CallbackFailed = "failed"
	// CallbackCancelled: the attempt was stopped before it ended (the
	// call-back was cancelled, or the IVR placing it stopped).
	CallbackCancelled = "cancelled"
)

// CallbackResults lists every attempt result.
var CallbackResults = []string{CallbackPutThrough, CallbackNoResponse, CallbackNoAnswer, CallbackBusy, CallbackFailed, CallbackCancelled}

// Why a call-back ended (CallbackDone.Reason).
const (
	// DoneOperatorAnswered: an operator answered the call-back that was put
	// through. ReachedPerson is true.
	DoneOperatorAnswered = "operator_answered"
	// DoneCalledAgain: the number reached an operator on a call of its own
	// (OtherCallID). ReachedPerson is true.
	DoneCalledAgain = "called_again"
	// DoneAttemptsExhausted: every attempt was made and none reached a
	// person.
	DoneAttemptsExhausted = "attempts_exhausted"
	// DoneCancelled: a supervisor cancelled it (By, Note).
	DoneCancelled = "cancelled"
	// DoneHandled: an operator ticked the dropped call as called back or
	// handled (By).
	DoneHandled = "handled"
	// DonePrank: the number was given a prank verdict since.
	DonePrank = "prank"
	// DoneBlocked: the number is blocked now and the dropped call did not
	// override a block.
	DoneBlocked = "blocked"
)

// CallbackDoneReasons lists every reason a call-back ends.
var CallbackDoneReasons = []string{DoneOperatorAnswered, DoneCalledAgain, DoneAttemptsExhausted, DoneCancelled, DoneHandled, DonePrank, DoneBlocked}

// CallbackScheduled is the data of callback.scheduled.
type CallbackScheduled struct {
	// Outcome is the dropped call's outcome (emergency, voice, ...).
	Outcome Outcome `json:"outcome"`
	// EmergencyType is the type the caller chose, "" when none.
	EmergencyType string `json:"emergency_type,omitempty"`
	// Where is where the dropped call ended: WhereIVR or WhereQueue.
	Where string `json:"where,omitempty"`
	// DueAt is when the first attempt may be placed (callback.delay after
	// the end); it waits longer while no operator is free.
	DueAt time.Time `json:"due_at"`
	// MaxAttempts is callback.attempts.
	MaxAttempts int `json:"max_attempts"`
}

// CallbackAttempt is the data of callback.attempt.
type CallbackAttempt struct {
	// Attempt counts from 1.
	Attempt int `json:"attempt"`
	// Result is one of CallbackResults.
	Result string `json:"result"`
	// Cause is Asterisk's hang-up cause (Q.850) of an attempt that was not
	// answered; 0 when none was given.
	Cause int `json:"cause,omitempty"`
	// ChannelID is the call-back's channel; once put through it is the
	// call id of the call-back's own call events.
	ChannelID string `json:"channel_id,omitempty"`
	// Endpoint is what was dialled (callback.endpoint with the number).
	Endpoint string `json:"endpoint,omitempty"`
	// RingS is the time from the originate to the answer or the end.
	RingS float64 `json:"ring_s"`
	// NextAt is when the next attempt is due; absent when none follows
	// (put through, or the last attempt).
	NextAt *time.Time `json:"next_at,omitempty"`
	// Reason says more about a failed or cancelled attempt.
	Reason string `json:"reason,omitempty"`
}

// CallbackDone is the data of callback.done.
type CallbackDone struct {
	// ReachedPerson is true when the number reached an operator: on the
	// call-back, or on a call of its own.
	ReachedPerson bool `json:"reached_person"`
	// Reason is one of CallbackDoneReasons.
	Reason string `json:"reason"`
	// Attempts is how many attempts were placed.
	Attempts int `json:"attempts"`
	// By is who cancelled or ticked it (DoneCancelled, DoneHandled).
	By string `json:"by,omitempty"`
	// Note is the supervisor's reason for a cancel.
	Note string `json:"note,omitempty"`
	// OtherCallID is the call on which the number reached a person
	// (DoneOperatorAnswered: the call-back's own call; DoneCalledAgain:
	// the caller's new call).
	OtherCallID string `json:"other_call_id,omitempty"`
}

// CallbackSwitch is the centre's call-back switch as a supervisor sets it
// (console), kept in the call-backs' KV bucket.
type CallbackSwitch struct {
	Enabled bool      `json:"enabled"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}
