package web

import (
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
)

// TestZoneAbbreviations: the board and the console name Indonesia's three
// zones as Indonesians do, whatever the zone database calls them.
func TestZoneAbbreviations(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 5, 9, 0, time.UTC)
	for _, tc := range []struct{ zone, hm, abbr string }{
		{"Asia/Jakarta", "12:05", "WIB"}, {"Asia/Makassar", "13:05", "WITA"}, {"Asia/Jayapura", "14:05", "WIT"}, {"UTC", "05:05", "UTC"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := zoneName(at.In(loc)); got != tc.abbr {
			t.Errorf("%s: board zone %q, want %s", tc.zone, got, tc.abbr)
		}
		if got, want := consoleTime(at, loc), "2026-12-02 "+tc.hm+" "+tc.abbr; got != want {
			t.Errorf("%s: console time %q, want %q", tc.zone, got, want)
		}
		if got, want := consoleSeconds(at, loc), "2026-12-02 "+tc.hm+":09 "+tc.abbr; got != want {
			t.Errorf("%s: console time %q, want %q", tc.zone, got, want)
		}
	}
}

// TestDatesCarryTheYear: a short date of another year than now's says
// its year ("2 Sep 07.49" was read as this year's, and was 2029).
func TestDatesCarryTheYear(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Makassar")
	now := time.Date(2026, 12, 31, 23, 0, 0, 0, loc)
	for _, tc := range []struct {
		lang string
		t    time.Time
		want string
	}{
		{"id", time.Date(2026, 9, 2, 7, 49, 0, 0, loc), "2 Sep 07.49"},
		{"id", time.Date(2029, 9, 2, 7, 49, 0, 0, loc), "2 Sep 2029 07.49"},
		{"id", time.Date(2027, 1, 1, 0, 30, 0, 0, loc), "1 Jan 2027 00.30"},
		{"en", time.Date(2025, 8, 3, 14, 5, 0, 0, loc), "3 Aug 2025 14:05"},
	} {
		if got := localeOf(tc.lang).DayTimeAt(tc.t, now); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.t, got, tc.want)
		}
	}
	if got := localeOf("id").TimeAt(now.Add(-time.Hour), now); got != "22.00" {
		t.Errorf("a time of today: %q, want 22.00", got)
	}
	if got := localeOf("id").TimeAt(now.Add(2*time.Hour), now); got != "1 Jan 2027 01.00" {
		t.Errorf("a time of tomorrow, next year: %q", got)
	}
	// On the board: a block that ends next year says so.
	agg, bnow := boardAggregator(t)
	recs := fakeRecords{recs: []blocklist.Record{
		{Number: "+6281277770001", Until: time.Date(2029, 9, 2, 7, 49, 0, 0, loc), Manual: true, Updated: bnow.Add(-time.Hour)},
		{Number: "+6281277770002", Until: bnow.Add(2 * time.Hour), Updated: bnow.Add(-2 * time.Hour)},
	}}
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return bnow }, Blocks: recs})
	_, page, _ := get(t, ts.URL+"/?lang=id", false)
	list := page[strings.Index(page, `data-testid="blocked-numbers"`):]
	list = list[:strings.Index(list, "</table>")]
	if !strings.Contains(list, "<td>2 Sep 2029 07.49</td>") || !strings.Contains(list, "<td>12.30</td>") {
		t.Errorf("blocked list %s: want the 2029 block with its year and today's with its time alone", list)
	}
	if !strings.Contains(page, `data-testid="zone"`) || !strings.Contains(page, ">WITA<") {
		t.Error("the board does not name its zone WITA")
	}
}
