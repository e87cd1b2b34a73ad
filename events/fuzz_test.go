package events

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeValidate feeds arbitrary message bodies through what every
// consumer does with them (Decode, Sanitize, then Validate). Neither may panic; an
// event that passes keeps every bound, and passes again after a round trip
// through Marshal (what a worker that re-publishes it would send). `go
// test` runs the seeds; `go test -fuzz FuzzDecodeValidate ./events/`
// explores further.
func FuzzDecodeValidate(f *testing.F) {
	for _, typ := range AllTypes {
		var d any
		switch typ {
		case TypeStarted:
			d = Started{Dialed: "112", Channel: "PJSIP/telco-00000001"}
		case TypeMenu:
			d = Menu{Attempt: 1, Digits: "1", Result: MenuValid}
		case TypeClassified:
			d = Classified{Outcome: OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3}
		case TypeTransferred:
			d = Transferred{EmergencyType: "fire", Context: "siaga112-operators", Extension: "fire"}
		case TypeEnded:
			d = Ended{Outcome: OutcomeEmergency, DurationS: 20, HangupBy: HangupByCaller, Where: WhereOperator}
		case TypeOperatorAnswered:
			d = OperatorAnswered{EmergencyType: "fire", Extension: "fire", Operator: "PJSIP/op201", SecondsInQueue: 2, SecondsToPerson: 9}
		case TypeQueueAbandoned:
			d = QueueAbandoned{EmergencyType: "fire", Extension: "fire", SecondsInQueue: 8, SecondsSinceAnswer: 15, Callback: true}
		case TypeVerdict:
			d = Verdict{Verdict: VerdictPrank, By: "op"}
		case TypeTaken:
			d = Taken{By: "siti"}
		case TypeOperatorState:
			d = OperatorState{Device: "PJSIP/op201", State: OperatorFree, AsteriskState: "NOT_INUSE", Queues: []string{"siaga112-fire"}}
		case TypeBlocklistChanged:
			d = BlocklistChanged{Number: "+6281234567890", Strikes: 3}
		default:
			d = Answered{}
		}
		b, err := goodEvent(f, typ, d).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	hostile := []string{
		// A call.started whose call_id is 2,100 characters: its index key
		// once closed the worker's NATS connection (control line too long).
		`{"id":"01JDX5Y3W3C4S9Q5N8Q4Z2K7M1","type":"call.started","version":1,"time":"2026-11-27T10:00:00Z","call_id":"` +
			strings.Repeat("A", 2100) + `","node":"n","caller":{"number":"+6281234567890"},"data":{}}`,
		`{"id":"x","type":"call.classified","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c","caller":{"number":"-1+cmd|' /C calc'!A0"},"data":{"outcome":"+1+HYPERLINK(\"http://x\")"}}`,
		`{"id":"x","type":"call.verdict","version":1,"time":"9999-12-31T23:59:59Z","call_id":"c","data":{"verdict":"prank"}}`,
		`{"id":"x","type":"call.menu","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c","data":{"attempt":-9223372036854775808}}`,
		`{"id":"x","type":"call.ended","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c","data":{"duration_s":1e308}}`,
		`{"id":"x","type":"call.started","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c\u0000d","data":null}`,
		`{"id":"x","type":"call.answered","version":1,"time":"2026-11-27T10:00:00Z","call_id":"c","caller":{"name":"\u001b[2J"}}`,
		`{"id":1,"type":[],"version":"1"}`,
		`{"id":"x","type":"call.started"`,
		`null`, `[]`, `""`, ``, "\xff\xfe",
	}
	for _, h := range hostile {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		// What a consumer does: the caller's own fields are cleaned, and
		// then always within bounds.
		e = Sanitize(e)
		if err := firstErr(text("caller.number", e.Caller.Number, MaxNumberLen), text("caller.name", e.Caller.Name, MaxNameLen)); err != nil {
			t.Fatalf("sanitised caller refused: %v", err)
		}
		if err := Validate(e, validNow); err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes echoes the input", len(err.Error()))
			}
			return
		}
		switch {
		case len(e.ID) == 0 || len(e.ID) > MaxIDLen:
			t.Fatalf("id of %d bytes passed", len(e.ID))
		case len(e.CallID) > MaxCallIDLen:
			t.Fatalf("call_id of %d bytes passed", len(e.CallID))
		case len(e.Node) > MaxNodeLen:
			t.Fatalf("node of %d bytes passed", len(e.Node))
		case len(e.Caller.Number) > MaxNumberLen || len(e.Caller.Name) > MaxNameLen:
			t.Fatalf("caller of %d+%d bytes passed", len(e.Caller.Number), len(e.Caller.Name))
		case e.Time.After(validNow.Add(DefaultMaxSkew)):
			t.Fatalf("time %s passed", e.Time)
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("marshal a valid event: %v", err)
		}
		e2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if err := Validate(e2, validNow); err != nil {
			t.Fatalf("valid event invalid after a round trip: %v", err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(again, &raw); err != nil {
			t.Fatalf("marshalled event is not an object: %v", err)
		}
	})
}
