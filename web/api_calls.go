package web

import (
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/siaga112/siaga112/reports"
)

// csvHeader is the first row of /api/calls.csv.
var csvHeader = []string{"call_id", "node", "number", "started", "answered", "classified", "ended", "outcome",
	"emergency_type", "attempts", "seconds_to_classify", "duration_s", "transferred", "blocked", "override", "verdict", "prank",
	"queue", "operator", "seconds_to_person", "where"}

// csvTime writes a time in the board's zone with its offset
// (2026-12-02T13:05:00.123+08:00), so a spreadsheet shows local time and
// the instant stays exact.
func csvTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339Nano)
}

// writeCallsCSV writes the header and one row per call, every cell
// guarded (csv.go).
func writeCallsCSV(w io.Writer, calls []reports.CallRecord, loc *time.Location) error {
	cw := newCSVWriter(w)
	_ = cw.row(slices.Clone(csvHeader)...)
	row := make([]string, len(csvHeader))
	for _, c := range calls {
		row = append(row[:0], c.CallID, c.Node, c.Number, csvTime(c.Started, loc), csvTime(c.Answered, loc), csvTime(c.Classified, loc), csvTime(c.Ended, loc),
			c.Outcome, c.EmergencyType, strconv.Itoa(c.Attempts), strconv.FormatFloat(c.SecondsToClassify, 'f', -1, 64),
			strconv.FormatFloat(c.DurationS, 'f', -1, 64), strconv.FormatBool(c.Transferred), strconv.FormatBool(c.Blocked),
			strconv.FormatBool(c.Override), c.Verdict, strconv.FormatBool(c.Prank),
			c.Queue, c.Operator, "", c.Where)
		if c.SecondsToPerson != nil {
			row[19] = strconv.FormatFloat(*c.SecondsToPerson, 'f', -1, 64)
		}
		_ = cw.row(row...)
	}
	return cw.flush()
}
