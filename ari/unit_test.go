package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

func testNode(t *testing.T) *node {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	return &node{log: log, router: newRouter(log)}
}

func chanEvent(id string) ariv6.ChannelData { return ariv6.ChannelData{ID: id} }

func TestRouterRoutesByChannel(t *testing.T) {
	n := testNode(t)
	r := n.router
	s := newSession(context.Background(), n, chanEvent("c1"))
	if r.add(s) != nil {
		t.Fatal("the first session of a channel displaced another")
	}
	tests := []struct {
		name string
		ev   ariv6.Event
		want bool // delivered to the inbox
	}{
		{"dtmf", &ariv6.ChannelDtmfReceived{Channel: chanEvent("c1"), Digit: "1"}, true},
		{"playback by target uri", &ariv6.PlaybackFinished{Playback: ariv6.PlaybackData{ID: "p", TargetURI: "channel:c1"}}, true},
		{"recording by target uri", &ariv6.RecordingFinished{Recording: ariv6.LiveRecordingData{Name: "r", TargetURI: "channel:c1"}}, true},
		{"varset ignored", &ariv6.ChannelVarset{Channel: chanEvent("c1")}, false},
		{"bridge playback ignored", &ariv6.PlaybackFinished{Playback: ariv6.PlaybackData{ID: "p", TargetURI: "bridge:b"}}, false},
		{"other channel", &ariv6.ChannelDtmfReceived{Channel: chanEvent("c2"), Digit: "1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.inbox)
			r.route(tc.ev)
			if got := len(s.inbox) > before; got != tc.want {
				t.Fatalf("delivered = %v, want %v", got, tc.want)
			}
		})
	}
	st := r.stats()
	if st.Routed != 3 || st.Unrouted != 1 || st.Ignored != 2 {
		t.Fatalf("stats = %+v, want routed 3, unrouted 1, ignored 2", st)
	}
}

func TestRouterCountsFullInboxAndStillEnds(t *testing.T) {
	n := testNode(t)
	r := n.router
	s := newSession(context.Background(), n, chanEvent("c1"))
	r.add(s)
	for range inboxSize + 5 {
		r.route(&ariv6.ChannelDtmfReceived{Channel: chanEvent("c1"), Digit: "5"})
	}
	if got := r.stats().InboxFull; got != 5 {
		t.Fatalf("inbox full count = %d, want 5", got)
	}
	if !errors.Is(context.Cause(s.ctx), ErrEventsDropped) {
		t.Fatalf("ctx cause = %v, want ErrEventsDropped", context.Cause(s.ctx))
	}
	// The end of the call is signalled out of band even with a full inbox.
	r.route(&ariv6.StasisEnd{Channel: chanEvent("c1")})
	if !s.ended.Load() {
		t.Fatal("session not marked ended")
	}
	s2 := newSession(context.Background(), n, chanEvent("c2"))
	r.add(s2)
	r.route(&ariv6.ChannelDestroyed{Channel: chanEvent("c2")})
	if !errors.Is(context.Cause(s2.ctx), ErrChannelGone) || !errors.Is(context.Cause(s2.ctx), flows.ErrHangup) {
		t.Fatalf("ctx cause = %v, want ErrChannelGone wrapping flows.ErrHangup", context.Cause(s2.ctx))
	}
	r.remove(s)
	r.route(&ariv6.ChannelDestroyed{Channel: chanEvent("c1")})
	if got := r.stats().Late; got != 1 {
		t.Fatalf("late = %d, want 1", got)
	}
}

// fakeRequestError satisfies native.RequestError like the library's own.
type fakeRequestError int

func (e fakeRequestError) Error() string { return "Non-2XX response" }
func (e fakeRequestError) Code() int     { return int(e) }

func TestRestCall(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(ErrShutdown)
	tests := []struct {
		name    string
		ctx     context.Context
		fn      func() error
		want    error
		hangup  bool
		wantNil bool
	}{
		{"ok", context.Background(), func() error { return nil }, nil, false, true},
		{"404 is a hangup", context.Background(), func() error { return fakeRequestError(404) }, ErrChannelGone, true, false},
		{"409 is a hangup", context.Background(), func() error { return fakeRequestError(409) }, ErrChannelGone, true, false},
		{"500 is an error", context.Background(), func() error { return fakeRequestError(500) }, fakeRequestError(500), false, false},
		{"hung request times out", context.Background(), func() error { <-block; return nil }, ErrRequestTimeout, false, false},
		{"cancelled ctx names its cause", cancelled, func() error { return nil }, ErrShutdown, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := restCall(tc.ctx, 50*time.Millisecond, "op", tc.fn)
			if tc.wantNil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := errors.Is(err, flows.ErrHangup); got != tc.hangup {
				t.Fatalf("errors.Is(err, ErrHangup) = %v, want %v", got, tc.hangup)
			}
		})
	}
}

func TestLibraryLoggerBridge(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lib := newLibraryLogger(log).With("client", "x").WithGroup("req")
	lib.Debug("hidden")
	lib.Error("failed", "status", 404, "took", time.Second)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", buf.String(), err)
	}
	req, _ := got["req"].(map[string]any)
	if got["msg"] != "failed" || got["level"] != "ERROR" || got["client"] != "x" || got["component"] != "ari-lib" ||
		req["status"] != float64(404) || req["took"] != float64(time.Second) {
		t.Fatalf("bridged record = %v", got)
	}
}

func TestCallerOf(t *testing.T) {
	// A stand-in for phone.Normalize: national numbers with trunk
	// prefix 0 become +62..., anything with a letter does not normalise.
	normalize := func(raw string) (string, bool) {
		switch {
		case strings.HasPrefix(raw, "+"):
			return raw, true
		case strings.HasPrefix(raw, "0") && !strings.ContainsAny(raw, "abcdefghijklmnopqrstuvwxyz"):
			return "+62" + raw[1:], true
		}
		return "", false
	}
	tests := []struct {
		name, number string
		normalize    func(string) (string, bool)
		wantNumber   string
		wantPres     string
		wantOK       bool
	}{
		{"e164 as given", "+6281234567890", normalize, "+6281234567890", events.PresentationAllowed, true},
		{"national normalised", "081234567890", normalize, "+6281234567890", events.PresentationAllowed, true},
		{"not normalisable: as given, allowed", "0812abc", normalize, "0812abc", events.PresentationAllowed, false},
		{"empty is withheld", "", normalize, "", events.PresentationRestricted, true},
		{"anonymous is withheld", "anonymous", normalize, "anonymous", events.PresentationRestricted, true},
		{"unavailable is withheld", "Unavailable", normalize, "Unavailable", events.PresentationRestricted, true},
		{"no normaliser: as given", "081234567890", nil, "081234567890", events.PresentationAllowed, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := callerOf(ariv6.ChannelData{Caller: &ariv6.CallerID{Number: tc.number, Name: "N"}}, tc.normalize)
			if c.Presentation != tc.wantPres || c.Number != tc.wantNumber || c.Name != "N" || ok != tc.wantOK {
				t.Fatalf("caller = %+v, normalised %v; want number %q, %s, %v", c, ok, tc.wantNumber, tc.wantPres, tc.wantOK)
			}
		})
	}
}

func TestStaticBlocklist(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	b := NewStaticBlocklist(map[string]time.Time{"+62811": now.Add(time.Hour), "+62822": now.Add(-time.Minute)})
	tests := []struct {
		number string
		want   bool
	}{{"+62811", true}, {"+62822", false}, {"+62833", false}}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			if _, got := b.Check(tc.number, now); got != tc.want {
				t.Fatalf("blocked = %v, want %v", got, tc.want)
			}
		})
	}
	b.Set("+62811", time.Time{})
	if _, blocked := b.Check("+62811", now); blocked {
		t.Fatal("block not lifted")
	}
}

func TestWholeSeconds(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 0}, {time.Millisecond, time.Second}, {time.Second, time.Second}, {1500 * time.Millisecond, 2 * time.Second},
	} {
		if got := wholeSeconds(tc.in); got != tc.want {
			t.Errorf("wholeSeconds(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestKeyWinsOverTalkAlreadyLongEnough: the caller has been talking long
// enough to count as voice, but a key already reached the call's inbox when
// the prompt decides. The key is the caller's choice and must win; it must
// not be lost to a "voice" decision taken before the inbox was read.
func TestKeyWinsOverTalkAlreadyLongEnough(t *testing.T) {
	spec := flows.PromptSpec{MaxDigits: 1, FirstDigitTimeout: time.Minute, DetectTalk: true, TalkMin: 100 * time.Millisecond}
	tests := []struct {
		name   string
		queued []ariv6.Event
		want   flows.PromptResult
	}{
		{
			name:   "key queued while the talk spurt goes on",
			queued: []ariv6.Event{&ariv6.ChannelDtmfReceived{Digit: "1"}},
			want:   flows.PromptResult{Digits: "1", Status: flows.PromptDone},
		},
		{
			name: "key queued after the talk spurt ended",
			queued: []ariv6.Event{
				&ariv6.ChannelTalkingFinished{Duration: 900},
				&ariv6.ChannelDtmfReceived{Digit: "3"},
			},
			want: flows.PromptResult{Digits: "3", Status: flows.PromptDone},
		},
		{
			name:   "no key: talk",
			queued: []ariv6.Event{&ariv6.ChannelTalkingFinished{Duration: 900}},
			want:   flows.PromptResult{Status: flows.PromptTalk},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(context.Background(), testNode(t), chanEvent("c1"))
			defer s.cancel(nil)
			// Talk detection is already on and the spurt began in the
			// previous prompt, so no REST request is needed.
			c := &call{s: s, timeout: time.Second, log: s.log, talkDetectOn: true,
				talkingSince: time.Now().Add(-time.Second)}
			for _, e := range tc.queued {
				s.inbox <- e
			}
			got, err := c.Prompt(context.Background(), spec)
			if err != nil {
				t.Fatalf("Prompt: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Prompt = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSecondKeyReadWhileTalking: a caller with noise around them (talk
// long enough to count) presses the two-key silent-help code. After the
// first key the prompt must keep reading the inbox until the second key
// or the inter-digit timeout, not spin past it and report a timeout.
func TestSecondKeyReadWhileTalking(t *testing.T) {
	tests := []struct {
		name string
		keys []string // pressed one after another, 100 ms apart
		want flows.PromptResult
	}{
		{name: "both keys", keys: []string{"5", "5"}, want: flows.PromptResult{Digits: "55", Status: flows.PromptDone}},
		{name: "one key", keys: []string{"5"}, want: flows.PromptResult{Digits: "5", Status: flows.PromptTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(context.Background(), testNode(t), chanEvent("c1"))
			defer s.cancel(nil)
			// The first key came as type-ahead during the prompt's sounds.
			c := &call{s: s, timeout: time.Second, log: s.log, talkDetectOn: true,
				talkingSince: time.Now().Add(-time.Second), pending: tc.keys[0]}
			go func() {
				for _, k := range tc.keys[1:] {
					time.Sleep(100 * time.Millisecond)
					s.inbox <- &ariv6.ChannelDtmfReceived{Digit: k}
				}
			}()
			got, err := c.Prompt(context.Background(), flows.PromptSpec{
				MaxDigits: 2, FirstDigitTimeout: time.Minute, InterDigitTimeout: 3 * time.Second,
				DetectTalk: true, TalkMin: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatalf("Prompt: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Prompt = %+v, want %+v", got, tc.want)
			}
		})
	}
}
