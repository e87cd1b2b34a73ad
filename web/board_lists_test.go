package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/events"
)

// blockedTile reads the blocked tile's figure and the blocked list's
// numbers from a rendered board.
func blockedTile(t *testing.T, page string) (tile string, numbers []string) {
	t.Helper()
	m := regexp.MustCompile(`data-testid="blocked-numbers-now">([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no blocked tile on the board")
	}
	list := page[strings.Index(page, `data-testid="blocked-numbers"`):]
	list = list[:strings.Index(list, "</table>")]
	for _, n := range regexp.MustCompile(`<td class="num">([^<]*)</td>`).FindAllStringSubmatch(list, -1) {
		numbers = append(numbers, n[1])
	}
	return m[1], numbers
}

// TestBoardCountsManualBlocks: a block the reports worker never heard of
// as an event (set by hand while the stream could not take the event, or
// before the board's stream existed) is in the blocklist's records, which
// `siaga112 blocklist ls` counts; the board counts it too, and drops a
// block its events still hold once the records say it was lifted.
func TestBoardCountsManualBlocks(t *testing.T) {
	agg, now := boardAggregator(t) // two blocks announced as events
	recs := fakeRecords{recs: []blocklist.Record{
		{Number: "+6281234500003", Until: now.Add(30 * time.Minute), Updated: now.Add(-2 * time.Hour)},
		{Number: "+6281234500005", Until: now.Add(6 * time.Hour), Updated: now.Add(-time.Hour)},
		{Number: "+6281277770001", Until: now.Add(24 * time.Hour), Manual: true, SetBy: "admin:siti", Reason: "manual", Updated: now.Add(-3 * 24 * time.Hour)},
		{Number: "+6281277770002", Until: now.Add(-time.Minute), Manual: true},
	}}
	for _, tc := range []struct {
		name   string
		blocks BlockRecords
		want   string
		count  int
	}{
		{"events only", nil, "2", 2},
		{"records", recs, "3", 3},
		{"records without a lifted block", fakeRecords{recs: recs.recs[1:]}, "2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }, Blocks: tc.blocks})
			_, page, _ := get(t, ts.URL+"/?lang=id", false)
			tile, numbers := blockedTile(t, page)
			if tile != tc.want || len(numbers) != tc.count {
				t.Fatalf("blocked tile %q and %d listed (%v), want %s and %d", tile, len(numbers), numbers, tc.want, tc.count)
			}
			if strings.Contains(page, "+62812777") {
				t.Fatal("the board shows a whole number without the token")
			}
		})
	}
}

// TestBoardMasksDoNotCollide: two numbers ending in the same four digits
// look different on the board, and one number looks the same in both
// lists and in the next render.
func TestBoardMasksDoNotCollide(t *testing.T) {
	agg, now := boardAggregator(t)
	// Both call twice and are blocked: they are in both lists.
	var evs []events.Envelope
	for i, n := range []string{"+6281211110000", "+6285722220000"} {
		for k := range 2 {
			evs = append(evs, callEvents(t, callSpec{id: fmt.Sprintf("mc%d%d", i, k), number: n, at: now.Add(-time.Duration(20+k+2*i) * time.Minute),
				outcome: events.OutcomeNoInput, typ: "", ttc: 0})...)
		}
		until := now.Add(time.Hour)
		evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", now.Add(-10*time.Minute), events.BlocklistChanged{Number: n, Until: &until, Strikes: 3, Reason: "strikes"}))
	}
	applyAll(t, agg, evs)
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	_, page, _ := get(t, ts.URL+"/?lang=id", false)
	_, again, _ := get(t, ts.URL+"/?lang=id", false)
	_, blocked := blockedTile(t, page)
	_, blockedAgain := blockedTile(t, again)
	seen := map[string]bool{}
	for _, n := range blocked {
		if seen[n] {
			t.Errorf("two blocked numbers both show as %q: %v", n, blocked)
		}
		seen[n] = true
		if !strings.HasPrefix(n, "****") {
			t.Errorf("blocked number shown as %q, want it masked", n)
		}
	}
	if strings.Join(blocked, ",") != strings.Join(blockedAgain, ",") {
		t.Errorf("masks changed between two renders: %v, then %v", blocked, blockedAgain)
	}
	top := page[strings.Index(page, `data-testid="top-callers"`):]
	zeros := 0
	for n := range seen {
		if strings.HasPrefix(n, "****0000") {
			zeros++
			if !strings.Contains(top, ">"+n+"<") {
				t.Errorf("blocked %q is not shown alike among the repeat callers", n)
			}
		}
	}
	if zeros != 2 {
		t.Errorf("want the two numbers ending 0000 among the blocked, got %v", blocked)
	}
}

// TestBoardListsSayHowManyMore: a list longer than the wall shows ends
// with how many were left out, in the page's language.
func TestBoardListsSayHowManyMore(t *testing.T) {
	agg, now := boardAggregator(t)
	var evs []events.Envelope
	for i := range maxBoardList + 3 {
		until := now.Add(time.Hour)
		evs = append(evs, ev(t, events.TypeBlocklistChanged, "", "", now.Add(-time.Duration(i+1)*time.Minute),
			events.BlocklistChanged{Number: fmt.Sprintf("+628129900%04d", i), Until: &until, Strikes: 3, Reason: "strikes"}))
	}
	applyAll(t, agg, evs)
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	for _, tc := range []struct{ lang, want string }{{"id", "+5 lainnya"}, {"en", "+5 more"}} {
		_, page, _ := get(t, ts.URL+"/?lang="+tc.lang, false)
		tile, numbers := blockedTile(t, page)
		if tile != fmt.Sprint(maxBoardList+5) || len(numbers) != maxBoardList {
			t.Errorf("%s: tile %s, %d rows; want %d and %d", tc.lang, tile, len(numbers), maxBoardList+5, maxBoardList)
		}
		if !strings.Contains(html.UnescapeString(page), `data-testid="list-more">`+tc.want+`<`) {
			t.Errorf("%s: the blocked list does not end with %q", tc.lang, tc.want)
		}
	}
}
