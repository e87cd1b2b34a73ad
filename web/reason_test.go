package web

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// TestReasonsInThePageLanguage: the policy's reasons reach the console
// as codes and are said in the page's language — an automatic block on
// the blocked numbers page and on the number's page, a genuine verdict's
// lift among the number's block changes, a verdict beside its call —
// while a reason an admin typed shows the text as stored. A record or a
// change from before codes, which has only the policy's English text of
// the time, is said in the page's language too; a typed reason that only
// looks like the policy's is not. The records and the events are made by
// the real policy, as the worker stores and announces them.
func TestReasonsInThePageLanguage(t *testing.T) {
	const auto, lifted, typed, old = "+6281200000011", "+6281200000012", "+6281200000013", "+6281200000014"
	now := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	p := fakeRecords{}.Policy()
	silent := func(number string, first int) blocklist.Record {
		r := blocklist.Record{Number: number}
		for i := range 3 {
			ev := blocklist.Event{ID: fmt.Sprintf("%s-e%d", number, first+i), CallID: fmt.Sprintf("c%d", first+i), At: now.Add(time.Duration(i-3) * time.Minute)}
			r, _ = p.ApplyOutcome(r, ev, events.OutcomeNoInput, 0, "")
		}
		return r
	}
	blocked := silent(auto, 0)
	liftedRec, d := p.ApplyVerdict(silent(lifted, 3), blocklist.Event{ID: "v1", CallID: "c5", At: now.Add(-time.Minute)}, events.VerdictGenuine, "siti")
	if d.Change != blocklist.ChangeLift {
		t.Fatalf("the genuine verdict did not lift: %+v", d)
	}
	typedRec, _, err := p.AddManual(blocked, now, time.Hour, "ancaman bom berulang", "siti")
	if err != nil {
		t.Fatal(err)
	}
	typedRec.Number = typed
	oldRec := blocklist.Record{Number: old, Level: 2, Until: now.Add(time.Hour), SetBy: blocklist.SetByAuto, Reason: "3 strikes within 24 h (no_input x3); block 2 for 6 h"}
	// Changes of the old number as the first release announced them,
	// with Go's durations and no code, and an admin's words that look
	// like the policy's.
	oldChanges := []blocklist.Record{
		{Number: old, Until: now.Add(-3 * time.Hour), Reason: "4 strikes within 24h0m0s (invalid x1, verdict_prank x1); block 1 for 1h0m0s"},
		{Number: old, Reason: "lifted: verdict genuine"},
		{Number: old, Until: now.Add(-2 * time.Hour), Reason: "blocked by admin"},
		{Number: old, Reason: "removed by admin"},
		{Number: old, Until: now.Add(-time.Hour), Reason: "lifted: verdict genuine, then called again"},
		oldRec,
	}

	changed := func(r blocklist.Record) events.Envelope {
		data := events.BlocklistChanged{Number: r.Number, Strikes: 3, Reason: r.Reason, ReasonCode: r.ReasonCode, ReasonArgs: r.ReasonArgs}
		if !r.Until.IsZero() {
			u := r.Until
			data.Until = &u
		}
		e := env(t, events.TypeBlocklistChanged, "", r.Number, data)
		if err := events.Validate(e, time.Now()); err != nil {
			t.Fatalf("the announced change is refused: %v", err)
		}
		return e
	}
	hist := historyOf{
		env(t, events.TypeStarted, "c5", lifted, events.Started{Dialed: "112"}),
		env(t, events.TypeVerdict, "c5", "", events.Verdict{Verdict: events.VerdictGenuine, By: "siti"}),
		changed(silent(lifted, 3)),
		changed(liftedRec),
	}
	for _, r := range oldChanges {
		hist = append(hist, changed(r))
	}
	c, h := testConsole(t, ConsoleOptions{Admin: &fakeAdmin{}, Events: hist, Records: fakeRecords{recs: []blocklist.Record{blocked, liftedRec, typedRec, oldRec}},
		Recordings: noRecordings{}, Location: time.UTC, Now: func() time.Time { return now }})
	sup := signedIn(t, c, h, testSup, testSupPass)

	for _, tc := range []struct {
		name, page string
		want       []string
		not        []string
	}{{
		name: "blocked numbers in Indonesian",
		page: "/console/blocks?lang=id",
		want: []string{"3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-1 selama 1 jam", "ancaman bom berulang",
			"3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-2 selama 6 jam"},
		not: []string{"strikes within"},
	}, {
		name: "blocked numbers in English",
		page: "/console/blocks?lang=en",
		want: []string{"3 strikes within 1 d (no input x3); block 1 for 1 h", "ancaman bom berulang"},
	}, {
		name: "an automatic block on its number's page",
		page: "/numbers/" + url.PathEscape(auto) + "?lang=id",
		want: []string{": 3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-1 selama 1 jam"},
	}, {
		name: "a lift and a verdict on the number's page",
		page: "/numbers/" + url.PathEscape(lifted) + "?lang=id",
		want: []string{"dicabut: penilaian asli", "3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-1 selama 1 jam", "asli oleh siti"},
		not:  []string{"lifted: verdict genuine", "genuine (siti)", "strikes within"},
	}, {
		name: "changes from before codes on the number's page",
		page: "/numbers/" + url.PathEscape(old) + "?lang=id",
		want: []string{"4 pelanggaran dalam 1 hari (tombol salah x1, ditandai iseng x1); diblokir ke-1 selama 1 jam", "dicabut: penilaian asli",
			"diblokir oleh supervisor", "dicabut oleh supervisor", "lifted: verdict genuine, then called again",
			"3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-2 selama 6 jam"},
		not: []string{"strikes within", "blocked by admin", "removed by admin", ">lifted: verdict genuine<"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w := sup.do("GET", tc.page, nil)
			body := html.UnescapeString(w.Body.String())
			if w.Code != 200 {
				t.Fatalf("%s: %d %.300s", tc.page, w.Code, body)
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("page shows %q", s)
				}
			}
		})
	}
}

// TestReasonFallsBackToText: a code this build cannot say in full — one
// it does not know, or one missing a parameter or naming an unknown kind
// of strike — shows the stored text rather than half a translation.
func TestReasonFallsBackToText(t *testing.T) {
	l := localeOf(LangID)
	full := map[string]string{blocklist.ArgStrikes: "3", blocklist.ArgWindow: "24h0m0s", blocklist.ArgLevel: "1", blocklist.ArgLength: "1h0m0s", blocklist.ArgCountPrefix + blocklist.ReasonNoInput: "3"}
	without := func(k string) map[string]string {
		m := map[string]string{}
		for kk, v := range full {
			if kk != k {
				m[kk] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name, code string
		args       map[string]string
		want       string
	}{
		{"no code", "", nil, "stored"},
		{"unknown code", "future_reason", nil, "stored"},
		{"full", blocklist.CodeAutoBlock, full, "3 pelanggaran dalam 1 hari (tanpa masukan x3); diblokir ke-1 selama 1 jam"},
		{"no length", blocklist.CodeAutoBlock, without(blocklist.ArgLength), "stored"},
		{"unknown kind", blocklist.CodeAutoBlock, map[string]string{blocklist.ArgStrikes: "3", blocklist.ArgWindow: "24h0m0s", blocklist.ArgLevel: "1", blocklist.ArgLength: "1h0m0s", blocklist.ArgCountPrefix + "shouted": "3"}, "stored"},
		{"lift", blocklist.CodeLiftGenuine, nil, "dicabut: penilaian asli"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.Reason(tc.code, tc.args, "stored"); got != tc.want {
				t.Errorf("Reason = %q, want %q", got, tc.want)
			}
		})
	}
}
