package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// TestCSVInThePagesLanguage: both exports — the calls CSV and a number's
// history for the police — are written for a spreadsheet of the page's
// language: Indonesian headers, ";" between cells and decimal commas for
// id (Excel set to Indonesia splits on ";"), the API's column names and ","
// for en; times local with the zone's offset; every cell still guarded.
func TestCSVInThePagesLanguage(t *testing.T) {
	agg, now := boardAggregator(t) // in WITA
	applyAll(t, agg, callEvents(t, callSpec{id: "dec", number: "+6281200002222", at: now.Add(-time.Hour), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3.25}))
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	const me = "+6281234567890"
	hist := historyOf{
		env(t, events.TypeStarted, "c1.1", me, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "c1.1", me, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "=cmd|' /C calc'!A0"}),
	}
	c, h := testConsole(t, ConsoleOptions{Events: hist, Records: fakeRecords{}, Location: agg.Location()})
	sup := signedIn(t, c, h, testSup, testSupPass)
	read := func(t *testing.T, body string, comma rune) [][]string {
		t.Helper()
		rd := csv.NewReader(strings.NewReader(body))
		rd.Comma = comma
		rows, err := rd.ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("CSV with %q: %d rows, %v\n%.300s", comma, len(rows), err, body)
		}
		return rows
	}
	for _, tc := range []struct {
		lang             string
		comma            rune
		callsHead, hHead string
		decimal          string
	}{
		{"id", ';', "id_panggilan;simpul;nomor;mulai", "waktu;nomor;id_panggilan;hasil;jenis_darurat", ","},
		{"en", ',', "call_id,node,number,started", "time,number,call_id,outcome,emergency_type", "."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			status, body, hd := get(t, ts.URL+"/api/calls.csv?lang="+tc.lang, false)
			if status != http.StatusOK || hd.Get("Content-Language") != tc.lang {
				t.Fatalf("calls CSV: %d, Content-Language %q", status, hd.Get("Content-Language"))
			}
			if !strings.HasPrefix(body, tc.callsHead) {
				t.Errorf("calls CSV starts %.80q, want %q", body, tc.callsHead)
			}
			rows := read(t, body, tc.comma)
			col := map[string]int{}
			for i, name := range rows[0] {
				col[name] = i
			}
			started, dur := col[map[string]string{"id": "mulai", "en": "started"}[tc.lang]], col[map[string]string{"id": "detik_sampai_jenis", "en": "seconds_to_classify"}[tc.lang]]
			decimals := 0
			for _, r := range rows[1:] {
				if r[started] != "" && !strings.HasSuffix(r[started], "+08:00") {
					t.Errorf("started %q is not local time with the offset of WITA", r[started])
				}
				if strings.ContainsAny(r[dur], ".,") {
					decimals++
					if !strings.Contains(r[dur], tc.decimal) {
						t.Errorf("seconds to classify %q: want %q as the decimal separator", r[dur], tc.decimal)
					}
				}
			}
			if decimals == 0 {
				t.Error("no seconds to classify with decimals: the separator was not checked")
			}

			w := sup.do("GET", "/api/numbers/"+me+"?format=csv&lang="+tc.lang, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("history CSV: %d", w.Code)
			}
			hbody := w.Body.String()
			if !strings.HasPrefix(hbody, tc.hHead) {
				t.Errorf("history CSV starts %.80q, want %q", hbody, tc.hHead)
			}
			hrows := read(t, hbody, tc.comma)
			for i, cell := range hrows[1] {
				if !cellSafe(cell) {
					t.Errorf("history column %s = %q runs as a formula", hrows[0][i], cell)
				}
			}
			if !strings.HasSuffix(hrows[1][0], "+08:00") {
				t.Errorf("history time %q is not local with its offset", hrows[1][0])
			}
		})
	}
}
