package web

import (
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// TestCallLength: a recorded call's length is said to the second in the
// page's language, and nothing (not 0) is said when it is not known.
func TestCallLength(t *testing.T) {
	tests := []struct {
		name, lang string
		secs       float64
		want       string
	}{
		{"minute and seconds", LangID, 72, "lama panggilan 1 menit 12 detik"},
		{"minute and seconds en", LangEN, 72, "call length 1 min 12 s"},
		{"seconds only", LangID, 4, "lama panggilan 4 detik"},
		{"rounded to the second", LangID, 4.6, "lama panggilan 5 detik"},
		{"under a second", LangEN, 0.3, "call length 1 s"},
		{"whole minutes", LangID, 120, "lama panggilan 2 menit"},
		{"hours", LangID, 3725, "lama panggilan 1 jam 2 menit 5 detik"},
		{"hour and seconds", LangEN, 3605, "call length 1 h 5 s"},
		{"no call.ended yet", LangID, 0, ""},
		{"ended while no IVR followed it", LangID, -1, ""},
		{"not a number", LangEN, math.NaN(), ""},
		{"infinite", LangEN, math.Inf(1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := callLength(localeOf(tc.lang), tc.secs); got != tc.want {
				t.Errorf("callLength(%s, %v) = %q, want %q", tc.lang, tc.secs, got, tc.want)
			}
		})
	}
}

// A number's history shows each recorded call's length next to its player
// (which loads nothing before it is played), and nothing for a call whose
// length is not known.
func TestNumberPageShowsRecordingLength(t *testing.T) {
	const me = "+6281234567890"
	hist := historyOf{
		env(t, events.TypeStarted, "done.1", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "done.1", me, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", CallRecording: "siaga112/done.1"}),
		env(t, events.TypeEnded, "done.1", me, events.Ended{Outcome: events.OutcomeEmergency, DurationS: 72.2, HangupBy: events.HangupByCaller, Where: events.WhereOperator}),
		env(t, events.TypeStarted, "going.2", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "going.2", me, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", CallRecording: "siaga112/going.2"}),
		env(t, events.TypeStarted, "unseen.3", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "unseen.3", me, events.Classified{Outcome: events.OutcomeVoice, CallRecording: "siaga112/unseen.3"}),
		env(t, events.TypeEnded, "unseen.3", me, events.Ended{Outcome: events.OutcomeVoice, DurationS: -1, Where: events.WhereUnknown}),
	}
	c, h := testConsole(t, ConsoleOptions{Admin: &fakeAdmin{}, Events: hist, Records: fakeRecords{}, Recordings: noRecordings{}, Location: time.UTC})
	sup := signedIn(t, c, h, testSup, testSupPass)
	for _, tc := range []struct{ lang, want string }{{LangID, "lama panggilan 1 menit 12 detik"}, {LangEN, "call length 1 min 12 s"}} {
		t.Run(tc.lang, func(t *testing.T) {
			w := sup.do("GET", "/numbers/"+url.PathEscape(me)+"?lang="+tc.lang, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("number page: %d", w.Code)
			}
			rows := map[string]string{}
			for _, m := range regexp.MustCompile(`(?s)<tr data-call="([^"]+)">(.*?)</tr>`).FindAllStringSubmatch(w.Body.String(), -1) {
				rows[m[1]] = m[2]
			}
			if len(rows) != 3 {
				t.Fatalf("%d call rows, want 3", len(rows))
			}
			for id, row := range rows {
				if !strings.Contains(row, `<audio controls preload="none" src="/api/recordings/siaga112/`+id) {
					t.Errorf("call %s: no player that waits to be played: %.400s", id, row)
				}
			}
			if !strings.Contains(rows["done.1"], `<span class="length">`+tc.want+`</span>`) {
				t.Errorf("ended call: want %q next to its player: %.600s", tc.want, rows["done.1"])
			}
			for _, id := range []string{"going.2", "unseen.3"} {
				if strings.Contains(rows[id], `class="length"`) {
					t.Errorf("call %s has no known length, yet one is shown: %.600s", id, rows[id])
				}
			}
		})
	}
}
