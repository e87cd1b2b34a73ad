package web

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// TestCatalogues: every language has every key, and every key a template or
// handler asks for exists.
func TestCatalogues(t *testing.T) {
	keys := func(m map[string]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	id, en := keys(catalogueID), keys(catalogueEN)
	for _, k := range id {
		if _, ok := catalogueEN[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	for _, k := range en {
		if _, ok := catalogueID[k]; !ok {
			t.Errorf("id lacks %q", k)
		}
	}
	page, err := assetsFS.ReadFile("assets/dashboard.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\.T "([a-z0-9_.]+)"`).FindAllStringSubmatch(string(page), -1) {
		if _, ok := catalogueID[m[1]]; !ok {
			t.Errorf("template asks for %q, missing from the catalogues", m[1])
		}
	}
	for _, o := range events.AllOutcomes {
		if _, ok := catalogueID["outcome."+string(o)]; !ok {
			t.Errorf("outcome %s has no name", o)
		}
	}
	for _, q := range []string{reports.QueueWaiting, reports.QueueAnswered, reports.QueueAbandoned, reports.QueueEnded, reports.QueueUnknown} {
		if _, ok := catalogueID["queue."+q]; !ok {
			t.Errorf("queue state %s has no name", q)
		}
	}
	for _, k := range dashboardRanges {
		if _, ok := catalogueID["range."+k]; !ok {
			t.Errorf("range %s has no label", k)
		}
	}
}

func TestLocaleFormats(t *testing.T) {
	id, en := locales[LangID], locales[LangEN]
	at := time.Date(2026, 11, 27, 14, 5, 9, 0, time.UTC)
	tests := []struct{ got, want string }{
		{id.Int(1234), "1.234"}, {en.Int(1234), "1,234"}, {id.Int(-1234567), "-1.234.567"}, {id.Int(12), "12"},
		{id.Dec(12.5, 1), "12,5"}, {en.Dec(12.5, 1), "12.5"}, {id.Dec(1234.25, 2), "1.234,25"},
		{id.Pct(0.382), "38,2%"}, {en.Pct(0.382), "38.2%"},
		{id.Clock(at), "14.05.09"}, {en.Clock(at), "14:05:09"}, {id.HM(at), "14.05"},
		{id.Date(at), "Jumat, 27 Nov 2026"}, {en.Date(at), "Friday, 27 Nov 2026"},
		{id.DayMonth(time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)), "3 Agu"},
		{id.Outcome(""), "berlangsung"}, {en.Type("fire"), "fire"}, {id.Type("flood"), "flood"},
		{id.Type("silent_help"), "bantuan senyap"}, {id.Type("blocked_override"), "diblokir, diteruskan"}, {en.Type("voice"), "spoke"},
		{id.Problem(problem{Key: "health.lagging", Args: []any{int64(1500)}}), "Pekerja laporan tertinggal 1.500 peristiwa: angka terlambat."},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, query, accept, def, want string
	}{
		{"default", "", "", LangID, LangID},
		{"configured English", "", "", LangEN, LangEN},
		{"query wins", "?lang=en", "id", LangID, LangEN},
		{"query id", "?lang=ID", "en-US", LangEN, LangID},
		{"bad query ignored", "?lang=fr", "", LangID, LangID},
		{"accept region", "", "en-US,en;q=0.9", LangID, LangEN},
		{"accept order by q", "", "fr;q=1, en;q=0.5, id;q=0.8", LangEN, LangID},
		{"accept unsupported", "", "fr-FR", LangEN, LangEN},
		{"accept q=0", "", "en;q=0", LangID, LangID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/"+tc.query, nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if got := negotiate(r, tc.def).Tag; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestDashboardLanguages: the page's language, <html lang> and words follow
// the request, and a bad range keeps the page with a message.
func TestDashboardLanguages(t *testing.T) {
	agg := demoAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{})
	tests := []struct {
		name, query  string
		status       int
		want, absent []string
	}{
		{"default id", "", 200, []string{`<html lang="id"`, "Panggilan hari ini", "Persentase iseng", "Nomor diblokir sekarang"}, []string{"Calls today", "Prank share"}},
		{"english", "?lang=en", 200, []string{`<html lang="en"`, "Calls today", "Prank share"}, []string{"Panggilan hari ini"}},
		{"bad range keeps the page", "?range=year", 400, []string{`data-testid="range-error"`, "“year” bukan pilihan rentang.", "Panggilan hari ini"}, []string{`{"error":`}},
		{"end before start", "?from=2026-11-27&to=2026-11-20&lang=en", 400, []string{"the end date must be after the start date", "Calls today", `value="2026-11-20"`}, nil},
		{"not a date", "?from=x&lang=en", 400, []string{"“x” is not a date."}, nil},
		{"too long", "?from=2010-01-01&to=2026-01-01&bucket=hour&lang=en", 400, []string{"the range is too long"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+"/"+tc.query, false)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
}

// TestEmptyFigures: with no calls, shares and medians show a dash, not 0.0.
func TestEmptyFigures(t *testing.T) {
	ts := newTestServer(t, reports.NewAggregator(reports.Options{}), BoardConfig{})
	_, body, _ := get(t, ts.URL+"/", false)
	for _, id := range []string{"total-prank-ratio", "classify-median"} {
		if !strings.Contains(body, `data-testid="`+id+`">`+Dash+`<`) {
			t.Errorf("%s does not show %q", id, Dash)
		}
	}
}
