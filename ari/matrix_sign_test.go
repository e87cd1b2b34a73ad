package ari

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
)

// signKind says which moment of a matrix row's script is the caller's
// deciding sign.
type signKind int

const (
	// signLast: the last key pressed or the moment the talk reached
	// ivr.talk_min_duration (bursts separated by silence add up).
	signLast signKind = iota
	// signLocation: the end of the location recording, which Asterisk ends
	// ivr.location.max_silence after the caller's last talk.
	signLocation
)

// Bounds from the deciding sign to the hand-off, by the sign's kind, no
// looser than about twice the measured figures (README's matrix table).
const (
	// mKey: a key ends the prompt at once and the hand-off is a few
	// requests: measured 0.00-0.01 s. Twice that would fail on any
	// scheduling hiccup of a shared machine, so this is a floor, still far
	// below the rule's 3 s, that a delay before the continue cannot pass.
	mKey = 0.3
	// mTalk: Asterisk reports talk as it starts; the IVR counts a spurt
	// still open only after talk_min_duration plus the detector's one
	// second of silence (call.go's talkSilence), so a talker is put
	// through about one second after the talk counts.
	// Measured 1.00 s.
	mTalk = 1.5
)

// signMoment replays a row's script against what the simulated caller
// heard (each prompt's start) and returns when the deciding sign happened
// and whether it was talk. The script's clock starts at the answer: the
// sim starts scripts when the call arrives, a few milliseconds earlier, so
// the sign computed is at most that much late. Steps are read from their
// String form, the only view arisim gives of them.
func signMoment(v arisim.CallerView, script []arisim.Step, kind signKind, firstKey bool, talkMin, maxSilence time.Duration) (at time.Time, talked bool, err error) {
	t := v.AnsweredAt
	cursor := 0
	var lastTalkEnd time.Time
	var spoken time.Duration // talk since the last key or prompt
	found := false
	for _, st := range script {
		str := st.String()
		name, arg, _ := strings.Cut(strings.TrimSuffix(str, ")"), "(")
		switch name {
		case "Wait":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("%s: %w", str, err)
			}
			t = t.Add(d)
		case "Press":
			digits, err := strconv.Unquote(arg)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("%s: %w", str, err)
			}
			// arisim: each digit 100 ms after the previous gap, 100 ms gap after.
			spoken = 0
			for i := range digits {
				t = t.Add(100 * time.Millisecond)
				if i == 0 || !firstKey {
					at, talked, found = t, false, true
				}
				t = t.Add(100 * time.Millisecond)
			}
		case "Talk":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("%s: %w", str, err)
			}
			// Bursts separated only by silence add up within a prompt,
			// as the IVR adds the spurts Asterisk reports.
			if spoken < talkMin {
				at, talked, found = t.Add(talkMin-spoken), true, true
			}
			spoken += d
			t = t.Add(d)
			lastTalkEnd = t
		case "WaitForPrompt":
			want, err := strconv.Unquote(arg)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("%s: %w", str, err)
			}
			spoken = 0
			matched := false
			for i := cursor; i < len(v.PromptLog); i++ {
				if snd := v.PromptLog[i].Sound; snd == want || path.Base(snd) == want {
					cursor, matched = i+1, true
					if started := v.PromptLog[i].StartedAt; started.After(t) {
						t = started
					}
					break
				}
			}
			if !matched {
				return time.Time{}, false, fmt.Errorf("%s: the caller never heard %q", str, want)
			}
		default:
			return time.Time{}, false, fmt.Errorf("step %s has no deciding moment here", str)
		}
	}
	switch kind {
	case signLocation:
		if lastTalkEnd.IsZero() {
			return time.Time{}, false, fmt.Errorf("no talk in the location recording")
		}
		return lastTalkEnd.Add(maxSilence), false, nil
	case signLast:
		if !found {
			return time.Time{}, false, fmt.Errorf("the script has no key or talk")
		}
		return at, talked, nil
	}
	return time.Time{}, false, fmt.Errorf("unknown sign kind %d", kind)
}
