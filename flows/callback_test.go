package flows

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/siaga112/siaga112/events"
)

func TestRunCallback(t *testing.T) {
	talk := PromptResult{Status: PromptTalk}
	promptSpec := "prompt callback max=1 first=5s inter=3s code=55 talk=1s"
	putThrough := []string{promptSpec, "setvars", "continue siaga112-operators,callback,1"}
	tests := []struct {
		name    string
		prompts []PromptResult
		fail    map[string]error
		typ     string
		want    CallbackResult
		ops     []string
		queue   string // SIAGA112_QUEUE set; "-" when no variables are set
	}{
		{name: "presses 1", prompts: []PromptResult{key("1")}, typ: "fire",
			want: CallbackResult{Sign: "key", Digits: "1", Transferred: true, Extension: CallbackExtension, Queue: "siaga112-fire"},
			ops:  putThrough, queue: "siaga112-fire"},
		{name: "any key counts", prompts: []PromptResult{key("7")}, typ: "fire",
			want: CallbackResult{Sign: "key", Digits: "7", Transferred: true, Extension: CallbackExtension, Queue: "siaga112-fire"},
			ops:  putThrough, queue: "siaga112-fire"},
		{name: "talks", prompts: []PromptResult{talk}, typ: "medical",
			want: CallbackResult{Sign: "talk", Transferred: true, Extension: CallbackExtension, Queue: "siaga112-medical"},
			ops:  putThrough, queue: "siaga112-medical"},
		{name: "presses 5 5", prompts: []PromptResult{key("55")},
			want: CallbackResult{Sign: "silent_help", Digits: "55", Transferred: true, Extension: CallbackExtension},
			ops:  putThrough, queue: ""},
		{name: "silent, then presses 1 at the second play", prompts: []PromptResult{silent, key("1")}, typ: "fire",
			want: CallbackResult{Sign: "key", Digits: "1", Transferred: true, Extension: CallbackExtension, Queue: "siaga112-fire"},
			ops:  slices.Concat([]string{promptSpec}, putThrough), queue: "siaga112-fire"},
		{name: "silent through both plays", prompts: []PromptResult{silent, silent}, typ: "fire",
			want: CallbackResult{}, ops: []string{promptSpec, promptSpec, "hangup"}, queue: "-"},
		{name: "hangs up during the prompt", prompts: []PromptResult{key("1")}, fail: map[string]error{"prompt#1": ErrHangup},
			want: CallbackResult{Hangup: true}, ops: []string{promptSpec}, queue: "-"},
		{name: "the prompt fails: put through all the same", prompts: []PromptResult{key("1")}, typ: "fire",
			fail: map[string]error{"prompt#1": errors.New("playback refused")},
			want: CallbackResult{Sign: "failover", Transferred: true, Extension: CallbackExtension, Queue: "siaga112-fire"},
			ops:  putThrough, queue: "siaga112-fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testIVR()
			clock := newFakeClock()
			f, err := New(cfg, clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			call := &scriptedCall{t: t, clock: clock, prefix: cfg.SoundPrefix, prompts: tc.prompts, fail: tc.fail}
			rec := &recorder{t: t}
			in := CallbackInput{CallID: "cb-1", CallbackOf: "c1", Number: "081234567890", EmergencyType: tc.typ,
				Outcome: events.OutcomeEmergency, Tag: "BALIK", AnsweredAt: clock.Now()}
			got := f.RunCallback(context.Background(), call, in, rec)
			if tc.want.Sign == "failover" {
				if got.Err == nil {
					t.Error("a failed prompt is not reported")
				}
				got.Err = nil
			}
			if got != tc.want {
				t.Errorf("result %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(call.ops, tc.ops) {
				t.Errorf("ops\n got %q\nwant %q", call.ops, tc.ops)
			}
			if tc.queue == "-" {
				if len(call.vars) != 0 {
					t.Errorf("variables set without a hand-off: %v", call.vars)
				}
				if len(rec.got) != 0 {
					t.Errorf("events without a hand-off: %v", rec.got)
				}
				return
			}
			want := map[string]string{VarCallID: "cb-1", VarCallbackOf: "c1", VarCallbackNumber: "081234567890",
				VarQueue: tc.queue, VarTag: "BALIK", VarOutcome: "emergency", VarType: tc.typ}
			if tc.typ == "" {
				want[VarType] = "emergency"
			}
			if len(call.vars) != 1 || !maps.Equal(call.vars[0], want) {
				t.Errorf("variables %v, want %v", call.vars, want)
			}
			if len(rec.got) != 1 || rec.got[0].Type != events.TypeTransferred {
				t.Fatalf("events %v, want one call.transferred", rec.got)
			}
			if tr := rec.got[0].Data.(events.Transferred); tr.CallbackOf != "c1" || tr.Extension != CallbackExtension {
				t.Errorf("transferred %+v", tr)
			}
		})
	}
}
