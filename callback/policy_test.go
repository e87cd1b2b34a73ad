package callback

import (
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

func TestEligible(t *testing.T) {
	sign := events.Ended{Outcome: events.OutcomeEmergency, Callback: true}
	override := events.Ended{Outcome: events.OutcomeBlockedOverride, Callback: true}
	tests := []struct {
		name    string
		caller  events.Caller
		ended   events.Ended
		blocked bool
		want    Refusal
	}{
		{"a caller who chose a type and dropped", caller(testNumber), sign, false, ""},
		{"no sign of a person", caller(testNumber), events.Ended{Outcome: events.OutcomeNoInput}, false, RefusedNoSign},
		{"withheld number", events.Caller{Number: testNumber, Presentation: events.PresentationRestricted}, sign, false, RefusedWithheld},
		{"a number not in E.164", caller("0812 345"), sign, false, RefusedNumber},
		{"blocked now", caller(testNumber), sign, true, RefusedBlocked},
		{"blocked but the call overrode the block", caller(testNumber), override, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Eligible(tt.caller, tt.ended, tt.blocked); got != tt.want {
				t.Errorf("Eligible = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    Record
		want bool
	}{
		{"waiting, due", Record{State: StateWaiting, DueAt: now}, true},
		{"waiting, not yet", Record{State: StateWaiting, DueAt: now.Add(time.Second)}, false},
		{"number on another call", Record{State: StateWaiting, DueAt: now, Live: "c2", LiveSince: now.Add(-time.Minute)}, false},
		{"a call in progress for too long holds no more", Record{State: StateWaiting, DueAt: now, Live: "c2", LiveSince: now.Add(-liveMax - time.Second)}, true},
		{"placing, lease live", Record{State: StatePlacing, LeaseUntil: now.Add(time.Second)}, false},
		{"placing, lease ran out", Record{State: StatePlacing, LeaseUntil: now.Add(-time.Second)}, true},
		{"put through", Record{State: StatePutThrough}, false},
		{"done", Record{State: StateDone}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Due(tt.r, now); got != tt.want {
				t.Errorf("Due = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResultOfCause(t *testing.T) {
	for cause, want := range map[int]string{
		17: events.CallbackBusy, 19: events.CallbackNoAnswer, 18: events.CallbackNoAnswer, 21: events.CallbackNoAnswer,
		16: events.CallbackNoAnswer, 34: events.CallbackFailed, 1: events.CallbackFailed, 0: events.CallbackFailed,
	} {
		if got := ResultOfCause(cause); got != want {
			t.Errorf("cause %d: %s, want %s", cause, got, want)
		}
	}
}

func TestNext(t *testing.T) {
	cfg := configs.DefaultCallback()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if at, done := Next(cfg, 1, now); done || !at.Equal(now.Add(2*time.Minute)) {
		t.Errorf("after attempt 1: %v %v, want +2m", at, done)
	}
	if at, done := Next(cfg, 2, now); done || !at.Equal(now.Add(5*time.Minute)) {
		t.Errorf("after attempt 2: %v %v, want +5m", at, done)
	}
	if _, done := Next(cfg, 3, now); !done {
		t.Error("after the third attempt the call-back must be done")
	}
	cfg.Attempts = 5
	if at, _ := Next(cfg, 4, now); !at.Equal(now.Add(5 * time.Minute)) {
		t.Errorf("the last retry wait repeats: got %v", at)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{"+6281234567890": "n6281234567890", "081234": "", "+62abc": "", "anonymous": "", "+1": ""} {
		got, ok := Key(in)
		if got != want || ok != (want != "") {
			t.Errorf("Key(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestDialFormats(t *testing.T) {
	c := configs.DefaultCallback()
	if got := c.Dial("+6281234567890", "62"); got != "PJSIP/081234567890@telco" {
		t.Errorf("national: %s", got)
	}
	if got := c.Dial("+6591234567", "62"); got != "PJSIP/+6591234567@telco" {
		t.Errorf("a foreign number is dialled in E.164: %s", got)
	}
	c.NumberFormat = configs.NumberE164
	if got := c.Dial("+6281234567890", "62"); got != "PJSIP/+6281234567890@telco" {
		t.Errorf("e164: %s", got)
	}
}

func TestResultOfDialStatus(t *testing.T) {
	for status, want := range map[string]string{"BUSY": events.CallbackBusy, "NOANSWER": events.CallbackNoAnswer,
		"CHANUNAVAIL": events.CallbackFailed, "CONGESTION": events.CallbackFailed, "ANSWER": "", "": "", "PROGRESS": ""} {
		got, ok := ResultOfDialStatus(status)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", status, got, ok, want)
		}
	}
}
