package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// validNow is the receiver's clock in the validation tests.
var validNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// goodEvent is a valid event of type t with data d, dated validNow.
func goodEvent(t testing.TB, typ Type, d any) Envelope {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return Envelope{
		ID: "01JDX5Y3W3C4S9Q5N8Q4Z2K7M1", Type: typ, Version: Version, Time: validNow,
		CallID: "1732700000.42", Node: "asterisk-1",
		Caller: Caller{Number: "+6281234567890", Name: "Budi", Presentation: PresentationAllowed},
		Data:   raw,
	}
}

func TestValidateAcceptsWhatTheIVRSends(t *testing.T) {
	until := validNow.Add(time.Hour)
	tests := []struct {
		typ Type
		d   any
	}{
		{TypeStarted, Started{Dialed: "112", Channel: "PJSIP/telco-00000001", Blocked: true, BlockUntil: &until}},
		{TypeAnswered, Answered{}},
		{TypeMenu, Menu{Attempt: 1, Digits: "55", Result: MenuValid}},
		{TypeMenu, Menu{Attempt: 3, Result: MenuTimeout}},
		{TypeClassified, Classified{Outcome: OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 4.2, Recording: "siaga112/1732700000.42"}},
		{TypeClassified, Classified{Outcome: OutcomeFailover, Reason: "menu: playback: ari: 404\nchannel gone", SecondsToClassify: -1}},
		{TypeClassified, Classified{Outcome: OutcomeAbandoned, HangupBy: HangupBySystem}},
		{TypeClassified, Classified{Outcome: "incident_ack"}}, // a newer IVR's outcome, in the known shape
		{TypeTransferred, Transferred{EmergencyType: "medical", Context: "siaga112-operators", Extension: "medical"}},
		{TypeEnded, Ended{Outcome: OutcomeNoInput, DurationS: 31.5, HangupBy: HangupByCaller}},
		{TypeEnded, Ended{Outcome: OutcomeEmergency, DurationS: 95, HangupBy: HangupByCaller, Where: WhereOperator}},
		{TypeEnded, Ended{Outcome: OutcomeVoice, DurationS: 30, HangupBy: HangupByCaller, Where: WhereQueue, Callback: true}},
		{TypeOperatorAnswered, OperatorAnswered{EmergencyType: "fire", Extension: "fire", Operator: "PJSIP/op201", SecondsInQueue: 4.1, SecondsToPerson: 6.3}},
		{TypeOperatorAnswered, OperatorAnswered{EmergencyType: "fire", Extension: "fire", Operator: "Local/op1@e2e-operator", SecondsInQueue: -1, SecondsToPerson: -1}},
		{TypeQueueAbandoned, QueueAbandoned{EmergencyType: "silent_help", Extension: "operator", SecondsInQueue: 8, SecondsSinceAnswer: 31, Callback: true}},
		{TypeVerdict, Verdict{Verdict: VerdictPrank, By: "operator 7"}},
		{TypeTaken, Taken{By: "Siti Rahayu"}},
		{TypeOperatorState, OperatorState{Device: "PJSIP/op201", State: OperatorBusy, AsteriskState: "INUSE", Queues: []string{"siaga112-fire", "siaga112-operator"}}},
		{TypeBlocklistChanged, BlocklistChanged{Number: "+6281234567890", Until: &until, Strikes: 3, Reason: "3 strikes"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			if err := Validate(goodEvent(t, tc.typ, tc.d), validNow); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
	// An admin's block belongs to no call and comes from no node.
	e := goodEvent(t, TypeBlocklistChanged, BlocklistChanged{Number: "+6281234567890"})
	e.CallID, e.Node = "", ""
	if err := Validate(e, validNow); err != nil {
		t.Fatalf("blocklist.changed without call: %v", err)
	}
}

func TestValidateRejectsNamingTheField(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	classified := func(c Classified) func(*Envelope) {
		return func(e *Envelope) { *e = goodEvent(t, TypeClassified, c) }
	}
	tests := []struct {
		name  string
		edit  func(*Envelope)
		field string
	}{
		{"empty id", func(e *Envelope) { e.ID = "" }, "id"},
		{"reason args without a code", func(e *Envelope) {
			*e = goodEvent(t, TypeBlocklistChanged, BlocklistChanged{Number: "+6281234567890", ReasonArgs: map[string]string{"points": "3"}})
		}, "data.reason_args"},
		{"reason code with a space", func(e *Envelope) {
			*e = goodEvent(t, TypeBlocklistChanged, BlocklistChanged{Number: "+6281234567890", ReasonCode: "auto block"})
		}, "data.reason_code"},
		{"long reason argument", func(e *Envelope) {
			*e = goodEvent(t, TypeBlocklistChanged, BlocklistChanged{Number: "+6281234567890", ReasonCode: "auto_block", ReasonArgs: map[string]string{"points": long(65)}})
		}, "data.reason_args.points"},
		{"long id", func(e *Envelope) { e.ID = long(MaxIDLen + 1) }, "id"},
		{"id with newline", func(e *Envelope) { e.ID = "a\nb" }, "id"},
		{"unknown type", func(e *Envelope) { e.Type = "call.exploded" }, "type"},
		{"version", func(e *Envelope) { e.Version = 2 }, "version"},
		{"zero time", func(e *Envelope) { e.Time = time.Time{} }, "time"},
		{"ancient time", func(e *Envelope) { e.Time = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC) }, "time"},
		{"future time", func(e *Envelope) { e.Time = validNow.Add(DefaultMaxSkew + time.Second) }, "time"},
		{"far future", func(e *Envelope) { e.Time = validNow.AddDate(1, 0, 0) }, "time"},
		{"2100-char call id", func(e *Envelope) { e.CallID = long(2100) }, "call_id"},
		{"empty call id", func(e *Envelope) { e.CallID = "" }, "call_id"},
		{"call id with space", func(e *Envelope) { e.CallID = "a b" }, "call_id"},
		{"call id with quote", func(e *Envelope) { e.CallID = `a"b` }, "call_id"},
		{"call id non-ascii", func(e *Envelope) { e.CallID = "é" }, "call_id"},
		{"long node", func(e *Envelope) { e.Node = long(MaxNodeLen + 1) }, "node"},
		{"node formula", func(e *Envelope) { e.Node = "=1+1 x" }, "node"},
		{"long number", func(e *Envelope) { e.Caller.Number = long(MaxNumberLen + 1) }, "caller.number"},
		{"number with NUL", func(e *Envelope) { e.Caller.Number = "+62\x00812" }, "caller.number"},
		{"long name", func(e *Envelope) { e.Caller.Name = long(MaxNameLen + 1) }, "caller.name"},
		{"name with escape", func(e *Envelope) { e.Caller.Name = "\x1b[31mred" }, "caller.name"},
		{"name with line separator", func(e *Envelope) { e.Caller.Name = "a\u2028b" }, "caller.name"},
		{"presentation", func(e *Envelope) { e.Caller.Presentation = "hidden" }, "caller.presentation"},
		{"huge data", func(e *Envelope) { e.Data = json.RawMessage(`"` + long(MaxDataLen) + `"`) }, "data"},
		{"data not an object", func(e *Envelope) { e.Data = json.RawMessage(`[1]`) }, "data"},
		{"forged outcome", classified(Classified{Outcome: "=HYPERLINK(1)"}), "data.outcome"},
		{"long outcome", classified(Classified{Outcome: Outcome(long(33))}), "data.outcome"},
		{"type with markup", classified(Classified{Outcome: OutcomeEmergency, EmergencyType: "<script>"}), "data.emergency_type"},
		{"type formula", classified(Classified{Outcome: OutcomeEmergency, EmergencyType: "-1+cmd"}), "data.emergency_type"},
		{"long type", classified(Classified{Outcome: OutcomeEmergency, EmergencyType: long(MaxTypeLen + 1)}), "data.emergency_type"},
		{"attempts", classified(Classified{Outcome: OutcomeInvalid, Attempts: 1 << 30}), "data.attempts"},
		{"seconds", classified(Classified{Outcome: OutcomeInvalid, SecondsToClassify: 1e300}), "data.seconds_to_classify"},
		{"hangup_by", classified(Classified{Outcome: OutcomeAbandoned, HangupBy: "mallory"}), "data.hangup_by"},
		{"long reason", classified(Classified{Outcome: OutcomeFailover, Reason: long(MaxDiagLen + 1)}), "data.reason"},
		{"menu digits", func(e *Envelope) { *e = goodEvent(t, TypeMenu, Menu{Attempt: 1, Digits: "1; DROP", Result: MenuValid}) }, "data.digits"},
		{"menu result", func(e *Envelope) { *e = goodEvent(t, TypeMenu, Menu{Attempt: 1, Result: "Maybe?"}) }, "data.result"},
		{"verdict", func(e *Envelope) { *e = goodEvent(t, TypeVerdict, Verdict{Verdict: "guilty"}) }, "data.verdict"},
		{"taken by nobody", func(e *Envelope) { *e = goodEvent(t, TypeTaken, Taken{}) }, "data.by"},
		{"taken by a long name", func(e *Envelope) { *e = goodEvent(t, TypeTaken, Taken{By: long(MaxTextLen + 1)}) }, "data.by"},
		{"taken by a control character", func(e *Envelope) { *e = goodEvent(t, TypeTaken, Taken{By: "siti\x1b[2J"}) }, "data.by"},
		{"ended outcome", func(e *Envelope) { *e = goodEvent(t, TypeEnded, Ended{Outcome: "+1+HYPERLINK"}) }, "data.outcome"},
		{"ended where", func(e *Envelope) { *e = goodEvent(t, TypeEnded, Ended{Outcome: OutcomeEmergency, Where: "limbo"}) }, "data.where"},
		{"answered operator", func(e *Envelope) {
			*e = goodEvent(t, TypeOperatorAnswered, OperatorAnswered{EmergencyType: "fire", Operator: "PJSIP/op\n201\x00"})
		}, "data.operator"},
		{"answered seconds", func(e *Envelope) {
			*e = goodEvent(t, TypeOperatorAnswered, OperatorAnswered{EmergencyType: "fire", SecondsToPerson: 1e12})
		}, "data.seconds_to_person"},
		{"abandoned type", func(e *Envelope) {
			*e = goodEvent(t, TypeQueueAbandoned, QueueAbandoned{EmergencyType: "=HYPERLINK()", Callback: true})
		}, "data.emergency_type"},
		{"abandoned seconds", func(e *Envelope) {
			*e = goodEvent(t, TypeQueueAbandoned, QueueAbandoned{EmergencyType: "fire", SecondsInQueue: -1e9})
		}, "data.seconds_in_queue"},
		{"operator state", func(e *Envelope) {
			*e = goodEvent(t, TypeOperatorState, OperatorState{Device: "PJSIP/op201", State: "napping", AsteriskState: "INUSE"})
		}, "data.state"},
		{"operator asterisk state", func(e *Envelope) {
			*e = goodEvent(t, TypeOperatorState, OperatorState{Device: "PJSIP/op201", State: OperatorFree, AsteriskState: "<b>"})
		}, "data.asterisk_state"},
		{"operator queue", func(e *Envelope) {
			*e = goodEvent(t, TypeOperatorState, OperatorState{Device: "PJSIP/op201", State: OperatorFree, Queues: []string{"a b"}})
		}, "data.queues"},
		{"transferred type", func(e *Envelope) { *e = goodEvent(t, TypeTransferred, Transferred{EmergencyType: "a b"}) }, "data.emergency_type"},
		{"block reason", func(e *Envelope) {
			*e = goodEvent(t, TypeBlocklistChanged, BlocklistChanged{Number: "+62811", Reason: long(MaxTextLen + 1)})
		}, "data.reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := goodEvent(t, TypeStarted, Started{Dialed: "112"})
			tc.edit(&e)
			err := Validate(e, validNow)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Validate = %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error is %d bytes; a hostile value must not be echoed whole", len(err.Error()))
			}
		})
	}
}

// The skew is the receiver's choice: an event a minute ahead passes with
// the default and fails with a 30 s skew.
func TestValidateSkew(t *testing.T) {
	e := goodEvent(t, TypeAnswered, Answered{})
	e.Time = validNow.Add(time.Minute)
	if err := ValidateSkew(e, validNow, 0); err != nil {
		t.Fatalf("default skew: %v", err)
	}
	if err := ValidateSkew(e, validNow, 30*time.Second); !errors.Is(err, ErrMalformed) {
		t.Fatalf("30 s skew: %v, want ErrMalformed", err)
	}
	// Old events are fine: a reports worker replays 90 days of stream.
	e.Time = validNow.AddDate(0, -3, 0)
	if err := Validate(e, validNow); err != nil {
		t.Fatalf("old event: %v", err)
	}
}
