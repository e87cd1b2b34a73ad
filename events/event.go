// Package events defines siaga112's call events, the NATS subjects they are
// published on, the JetStream publisher (with an on-disk spool for NATS
// outages), consumer helpers for workers and the embedded NATS server.
//
// The types in this file are the contract for downstream services: they are
// plain data, safe to import from any Go program that subscribes to the
// siaga112 stream.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the envelope version written into every event.
const Version = 1

// Stream and subject names.
const (
	// StreamName is the JetStream stream that holds every call event.
	StreamName = "SIAGA112_CALLS"
	// SubjectPrefix is the prefix of every call event subject.
	SubjectPrefix = "siaga112.calls."
	// SubjectAllCalls matches every call event.
	SubjectAllCalls = "siaga112.calls.>"
	// SubjectBlocklist is where blocklist changes are published.
	SubjectBlocklist = "siaga112.blocklist.changed"
	// SubjectAllBlocklist matches every blocklist event.
	SubjectAllBlocklist = "siaga112.blocklist.>"
	// SubjectAudit carries console.audit: who did what from the console.
	SubjectAudit = "siaga112.console.audit"
	// SubjectAllConsole matches every console event.
	SubjectAllConsole = "siaga112.console.>"
	// SubjectIncidentPrefix starts the subjects of incident announcements
	// (siaga112.incidents.started, siaga112.incidents.ended).
	SubjectIncidentPrefix = "siaga112.incidents."
	// SubjectAllIncidents matches every incident event.
	SubjectAllIncidents = "siaga112.incidents.>"
	// SubjectOperatorState carries operator.state: an operator's device
	// changed state on an Asterisk node.
	SubjectOperatorState = "siaga112.operators.state"
	// SubjectAllOperators matches every operator event.
	SubjectAllOperators = "siaga112.operators.>"
)

// Type names an event kind.
type Type string

// Event types, as listed in DESIGN.md.
const (
	TypeStarted     Type = "call.started"
	TypeAnswered    Type = "call.answered"
	TypeMenu        Type = "call.menu"
	TypeClassified  Type = "call.classified"
	TypeTransferred Type = "call.transferred"
	TypeEnded       Type = "call.ended"
	// TypeOperatorAnswered: an operator of the queue answered a call the
	// IVR had handed over (Asterisk's Dial event with dialstatus ANSWER).
	TypeOperatorAnswered Type = "call.operator_answered"
	// TypeQueueAbandoned: a caller handed to the operators' queue hung up
	// before any operator answered.
	TypeQueueAbandoned   Type = "call.queue_abandoned"
	TypeVerdict          Type = "call.verdict"
	TypeBlocklistChanged Type = "blocklist.changed"
	// TypeHandled: an operator ticked a call that needed attention
	// (called back, or handled).
	TypeHandled Type = "call.handled"
	// TypeTaken: a signed-in person took a call that needed attention
	// ("I'll take it"), so that colleagues do not call the same caller
	// back; a later take replaces it, and call.handled closes the item.
	TypeTaken Type = "call.taken"
	// TypeAudit: a signed-in person acted in the console.
	TypeAudit Type = "console.audit"
	// TypeIncidentStarted: a supervisor started an incident announcement.
	TypeIncidentStarted Type = "incident.started"
	// TypeIncidentEnded: an announcement was stopped or expired.
	TypeIncidentEnded Type = "incident.ended"
	// TypeOperatorState: an operator's device changed state (free,
	// ringing, busy, away), as the IVR's Asterisk node reports it.
	TypeOperatorState Type = "operator.state"
)

// AllTypes lists every known event type.
var AllTypes = []Type{TypeStarted, TypeAnswered, TypeMenu, TypeClassified, TypeTransferred, TypeOperatorAnswered, TypeQueueAbandoned, TypeEnded, TypeVerdict, TypeBlocklistChanged, TypeHandled, TypeTaken, TypeAudit, TypeIncidentStarted, TypeIncidentEnded, TypeOperatorState, TypeCallbackScheduled, TypeCallbackAttempt, TypeCallbackDone}

// Subject returns the NATS subject an event of this type is published on.
func (t Type) Subject() string {
	switch t {
	case TypeBlocklistChanged:
		return SubjectBlocklist
	case TypeAudit:
		return SubjectAudit
	case TypeIncidentStarted, TypeIncidentEnded:
		return SubjectIncidentPrefix + strings.TrimPrefix(string(t), "incident.")
	case TypeOperatorState:
		return SubjectOperatorState
	}
	return SubjectPrefix + strings.TrimPrefix(string(t), "call.")
}

// Known reports whether t is one of the types of this package.
func (t Type) Known() bool {
	for _, k := range AllTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Outcome is how a call ended up.
type Outcome string

// Outcomes of a call (DESIGN.md).
const (
	OutcomeEmergency       Outcome = "emergency"
	OutcomeVoice           Outcome = "voice"
	OutcomeSilentHelp      Outcome = "silent_help"
	OutcomeNoInput         Outcome = "no_input"
	OutcomeAbandoned       Outcome = "abandoned"
	OutcomeInvalid         Outcome = "invalid"
	OutcomeBlocked         Outcome = "blocked"
	OutcomeBlockedOverride Outcome = "blocked_override"
	// OutcomeFailover is a call put through to operators because the IVR
	// itself failed (ARI error, failed playback, lost connection). The
	// caller is never left in silence.
	OutcomeFailover Outcome = "failover"
	// OutcomeIncidentAck is a caller who heard an incident announcement
	// and pressed its key to say they called about it: the call ends
	// politely, with no strike.
	OutcomeIncidentAck Outcome = "incident_ack"
)

// AllOutcomes lists every outcome.
var AllOutcomes = []Outcome{OutcomeEmergency, OutcomeVoice, OutcomeSilentHelp, OutcomeNoInput, OutcomeAbandoned, OutcomeInvalid, OutcomeBlocked, OutcomeBlockedOverride, OutcomeFailover, OutcomeIncidentAck}

// Presentation values for Caller.Presentation.
const (
	PresentationAllowed    = "allowed"
	PresentationRestricted = "restricted"
)

// Caller identifies who called.
type Caller struct {
	Number       string `json:"number"`
	Name         string `json:"name"`
	Presentation string `json:"presentation"`
}

// Envelope is one event as carried in one NATS message.
type Envelope struct {
	ID      string          `json:"id"`
	Type    Type            `json:"type"`
	Version int             `json:"version"`
	Time    time.Time       `json:"time"`
	CallID  string          `json:"call_id"`
	Node    string          `json:"node"`
	Caller  Caller          `json:"caller"`
	Data    json.RawMessage `json:"data"`
}

// Started is the data of call.started.
type Started struct {
	Dialed     string     `json:"dialed"`
	Channel    string     `json:"channel"`
	Blocked    bool       `json:"blocked"`
	BlockUntil *time.Time `json:"block_until,omitempty"`
}

// Answered is the data of call.answered (empty).
type Answered struct{}

// Menu results.
const (
	MenuValid   = "valid"
	MenuInvalid = "invalid"
	MenuTimeout = "timeout"
	MenuVoice   = "voice"
	// MenuSilentHelp: the caller keyed the silent-help code (55).
	MenuSilentHelp = "silent_help"
)

// Menu is the data of call.menu: one menu attempt ended.
type Menu struct {
	Attempt int    `json:"attempt"`
	Digits  string `json:"digits"`
	Result  string `json:"result"`
}

// Classified is the data of call.classified.
type Classified struct {
	Outcome           Outcome `json:"outcome"`
	EmergencyType     string  `json:"emergency_type,omitempty"`
	Attempts          int     `json:"attempts"`
	SecondsToClassify float64 `json:"seconds_to_classify"`
	TalkDetected      bool    `json:"talk_detected"`
	// Recording is the caller's location recording, when one was asked for.
	Recording string `json:"recording,omitempty"`
	// CallRecording is the whole-call recording the dialplan makes
	// (MixMonitor), as an ARI stored recording name.
	CallRecording string `json:"call_recording,omitempty"`
	// Callback is true when a caller who asked for help (emergency, voice,
	// silent_help, blocked_override) dropped before reaching the operators'
	// queue: an operator must call the number back.
	Callback bool `json:"callback,omitempty"`
	// Reason explains a failover outcome (which step failed), or what a
	// blocked caller did to get through: key, talk or silent_help.
	Reason string `json:"reason,omitempty"`
	// IncidentID is the incident announcement the caller heard (and, for
	// outcome incident_ack, acknowledged).
	IncidentID string `json:"incident_id,omitempty"`
	// HangupBy is set for an abandoned call only: HangupByCaller when the
	// caller hung up, HangupBySystem when Asterisk ended the call (CLI,
	// AMI, another application, a restart), which is no sign of a prank.
	HangupBy string `json:"hangup_by,omitempty"`
}

// Transferred is the data of call.transferred.
type Transferred struct {
	EmergencyType   string `json:"emergency_type"`
	Context         string `json:"context"`
	Extension       string `json:"extension"`
	BlockedOverride bool   `json:"blocked_override"`
	// SecondsToQueue is the time from answer to this hand-off into the
	// operators' context: the caller's wait before the queue.
	SecondsToQueue float64 `json:"seconds_to_queue"`
	// CallbackOf is set on a call-back's own call: the dropped call it
	// calls back (see callback.go).
	CallbackOf string `json:"callback_of,omitempty"`
}

// Hangup sides for Ended.HangupBy.
const (
	HangupByCaller = "caller"
	HangupBySystem = "system"
)

// Where a call ended, for Ended.Where.
const (
	// WhereIVR: the call ended in the IVR (hung up, or ended by it).
	WhereIVR = "ivr"
	// WhereQueue: the call ended in the operators' queue, before any
	// operator answered.
	WhereQueue = "queue"
	// WhereOperator: the call ended after an operator answered it.
	WhereOperator = "operator"
	// WhereUnknown: the call was handed to the operators and ended while
	// no IVR followed it (an IVR restart or a lost ARI connection), so
	// whether a person answered is not known.
	WhereUnknown = "unknown"
)

// Ended is the data of call.ended: the end of the call. For a call handed
// to the operators it is published when Asterisk destroys the caller's
// channel, after the queue and the operator's conversation.
type Ended struct {
	Outcome   Outcome `json:"outcome"`
	DurationS float64 `json:"duration_s"`
	HangupBy  string  `json:"hangup_by"`
	// Callback is true when the caller asked for help and did not reach a
	// person: dropped during the hand-off (after call.classified was
	// published), or ended in the queue before an operator answered.
	Callback bool `json:"callback,omitempty"`
	// Where is WhereIVR, WhereQueue, WhereOperator or WhereUnknown; empty
	// from an IVR older than this field, which means WhereIVR.
	Where string `json:"where,omitempty"`
	// EmergencyType is the type the caller chose ("" when none): a
	// call-back of a dropped call joins that type's queue.
	EmergencyType string `json:"emergency_type,omitempty"`
	// CallbackOf is set on a call-back's own call: the dropped call it
	// calls back.
	CallbackOf string `json:"callback_of,omitempty"`
}

// OperatorAnswered is the data of call.operator_answered: a person took
// the call.
type OperatorAnswered struct {
	// EmergencyType is the type the call was handed over as (as in
	// call.transferred).
	EmergencyType string `json:"emergency_type"`
	// Extension is the operators' extension the call was continued to.
	Extension string `json:"extension"`
	// Operator is the queue member's interface that answered, as Asterisk's
	// Dial event names it in dialstring (e.g. PJSIP/op201).
	Operator string `json:"operator"`
	// SecondsInQueue is the time from the hand-off to the answer; -1 when
	// the hand-off time is not known (the IVR restarted in between).
	SecondsInQueue float64 `json:"seconds_in_queue"`
	// SecondsToPerson is the time from the IVR's answer to the operator's:
	// the figure answer standards judge (NENA: 90 % within 15 s, 95 %
	// within 20 s; EENA: 10 s); -1 when not known.
	SecondsToPerson float64 `json:"seconds_to_person"`
	// CallbackOf is set on a call-back's own call: the dropped call it
	// calls back. SecondsToPerson then counts from the callee's answer.
	CallbackOf string `json:"callback_of,omitempty"`
}

// QueueAbandoned is the data of call.queue_abandoned: the caller hung up
// in the operators' queue before anyone answered; call them back.
type QueueAbandoned struct {
	EmergencyType string `json:"emergency_type"`
	Extension     string `json:"extension"`
	// SecondsInQueue is the time from the hand-off to the hang-up; -1 when
	// not known.
	SecondsInQueue float64 `json:"seconds_in_queue"`
	// SecondsSinceAnswer is the time from the IVR's answer to the hang-up;
	// -1 when not known.
	SecondsSinceAnswer float64 `json:"seconds_since_answer"`
	// Callback is always true: a caller who gave a sign of a person and
	// reached none.
	Callback bool `json:"callback"`
	// CallbackOf is set on a call-back's own call: the dropped call it
	// calls back.
	CallbackOf string `json:"callback_of,omitempty"`
}

// Incident is the data of incident.started and incident.ended.
type Incident struct {
	// ID names the incident; calls that acknowledged it carry it.
	ID string `json:"id"`
	// Title is what the supervisor called it ("Kebakaran Pasar Rawa Indah").
	Title string `json:"title"`
	// Media is the announcement callers hear (sound:... or recording:...).
	Media string `json:"media"`
	// By is the signed-in supervisor who started or stopped it ("expired"
	// when it ran out).
	By      string    `json:"by"`
	Expires time.Time `json:"expires"`
}

// Operator states for OperatorState.State: what a supervisor needs to
// know of a queue member's device.
const (
	// OperatorFree: the device is idle (Asterisk NOT_INUSE): the queue
	// can ring it.
	OperatorFree = "free"
	// OperatorRinging: the device rings (RINGING, RINGINUSE).
	OperatorRinging = "ringing"
	// OperatorBusy: the operator is on a call (INUSE, BUSY, ONHOLD).
	OperatorBusy = "busy"
	// OperatorAway: the device is not reachable (UNAVAILABLE, INVALID):
	// not logged in, unplugged.
	OperatorAway = "away"
	// OperatorUnknown: Asterisk does not know the device's state.
	OperatorUnknown = "unknown"
)

// OperatorState is the data of operator.state: one queue member's device
// on one Asterisk node (the envelope's node) changed state, or its state
// was read when the IVR connected. The envelope's call_id is empty.
type OperatorState struct {
	// Device is the member's interface, as in queues.conf (PJSIP/op201).
	Device string `json:"device"`
	// State is OperatorFree, OperatorRinging, OperatorBusy, OperatorAway
	// or OperatorUnknown.
	State string `json:"state"`
	// AsteriskState is the device state as Asterisk named it (NOT_INUSE,
	// INUSE, RINGING, UNAVAILABLE, ...).
	AsteriskState string `json:"asterisk_state"`
	// Queues are the Asterisk queues the device is a member of, as
	// configured (ivr.menu[].members).
	Queues []string `json:"queues,omitempty"`
}

// Ticks an operator gives a call that needed attention.
const (
	HandledCalledBack = "called_back"
	HandledDone       = "handled"
)

// Handled is the data of call.handled.
type Handled struct {
	// Action is HandledCalledBack or HandledDone.
	Action string `json:"action"`
	// By is the signed-in name of the operator.
	By string `json:"by"`
}

// Taken is the data of call.taken: who took a call that needed attention.
type Taken struct {
	// By is the signed-in name of the person who took it.
	By string `json:"by"`
}

// Audit is the data of console.audit: one action in the console, allowed
// or refused.
type Audit struct {
	By      string `json:"by"`
	Role    string `json:"role,omitempty"`
	Action  string `json:"action"`
	Target  string `json:"target,omitempty"`
	Address string `json:"address"`
	// Result is "ok", or why the action was refused or failed.
	Result string `json:"result"`
}

// Verdicts an operator can give.
const (
	VerdictPrank   = "prank"
	VerdictGenuine = "genuine"
)

// Verdict is the data of call.verdict.
type Verdict struct {
	Verdict string `json:"verdict"`
	By      string `json:"by"`
}

// BlocklistChanged is the data of blocklist.changed.
type BlocklistChanged struct {
	Number  string     `json:"number"`
	Until   *time.Time `json:"until,omitempty"`
	Strikes int        `json:"strikes"`
	Reason  string     `json:"reason"`
	// ReasonCode and ReasonArgs are the record's reason as a code with
	// parameters (blocklist.Record), so that a page reading the stream can
	// say the reason in its reader's language; empty for a typed reason
	// and for events written before codes, which only have Reason.
	ReasonCode string            `json:"reason_code,omitempty"`
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
}

// MaxReasonArgs bounds the parameters of a blocklist.changed reason code:
// a block's five and one count per kind of strike fit with room.
const MaxReasonArgs = 16

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed event")

// New builds an envelope with a fresh id and the current time (UTC, ms).
// data is encoded with encoding/json; it must be one of this package's data types.
func New(t Type, callID, node string, caller Caller, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("events: encode %s data: %w", t, err)
	}
	return Envelope{
		ID:      NewID(),
		Type:    t,
		Version: Version,
		Time:    time.Now().UTC().Truncate(time.Millisecond),
		CallID:  callID,
		Node:    node,
		Caller:  caller,
		Data:    raw,
	}, nil
}

// Subject is the subject this envelope is published on.
func (e Envelope) Subject() string { return e.Type.Subject() }

// Marshal encodes the envelope as JSON.
func (e Envelope) Marshal() ([]byte, error) { return json.Marshal(e) }

// Decode parses one NATS message body into an envelope and checks the fields
// every consumer relies on. Errors wrap ErrMalformed and name the bad field.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case e.ID == "":
		return Envelope{}, fmt.Errorf("%w: id is empty", ErrMalformed)
	case !e.Type.Known():
		return Envelope{}, fmt.Errorf("%w: type %q is unknown", ErrMalformed, e.Type)
	case e.Version != Version:
		return Envelope{}, fmt.Errorf("%w: version %d is not supported (want %d)", ErrMalformed, e.Version, Version)
	case e.Time.IsZero():
		return Envelope{}, fmt.Errorf("%w: time is missing", ErrMalformed)
	}
	return e, nil
}

// DecodeData decodes the type-specific data into v.
func (e Envelope) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("%w: %s %s has no data", ErrMalformed, e.Type, e.ID)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%w: %s %s data: %v", ErrMalformed, e.Type, e.ID, err)
	}
	return nil
}
