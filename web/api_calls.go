package web

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// csvColumns are the columns of /api/calls.csv, the catalogue's
// "csv.<column>" keys (the English catalogue keeps these names).
var csvColumns = []string{"call_id", "node", "number", "started", "answered", "classified", "ended", "outcome",
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

// writeCallsCSV writes the header and one row per call in l's language
// (its separator, headers, decimals and yes/no), every cell guarded
// (csv.go).
func writeCallsCSV(w io.Writer, l *locale, calls []reports.CallRecord, loc *time.Location) error {
	cw := newLocalCSVWriter(w, l)
	_ = cw.row(csvHeaders(l, csvColumns)...)
	row := make([]string, len(csvColumns))
	for _, c := range calls {
		row = append(row[:0], c.CallID, c.Node, c.Number, csvTime(c.Started, loc), csvTime(c.Answered, loc), csvTime(c.Classified, loc), csvTime(c.Ended, loc),
			c.Outcome, c.EmergencyType, strconv.Itoa(c.Attempts), csvNum(l, c.SecondsToClassify, -1),
			csvNum(l, c.DurationS, -1), csvBool(l, c.Transferred), csvBool(l, c.Blocked),
			csvBool(l, c.Override), c.Verdict, csvBool(l, c.Prank),
			c.Queue, c.Operator, "", c.Where)
		if c.SecondsToPerson != nil {
			row[19] = csvNum(l, *c.SecondsToPerson, -1)
		}
		_ = cw.row(row...)
	}
	return cw.flush()
}

// callFilter reads the /api/calls parameters.
func (s *Board) callFilter(r *http.Request, defLimit int) (reports.CallFilter, error) {
	q := r.URL.Query()
	f := reports.CallFilter{Outcome: q.Get("outcome"), Type: q.Get("type"), Number: q.Get("number"), Limit: defLimit, Unmasked: s.admin(r)}
	var err error
	if f.From, _, err = s.parseTime(q, "from", false); err != nil {
		return f, err
	}
	if f.To, _, err = s.parseTime(q, "to", true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, badParam("to", "must be after from")
	}
	if f.Outcome != "" && f.Outcome != reports.OutcomeInProgress && !slices.Contains(events.AllOutcomes, events.Outcome(f.Outcome)) {
		return f, badParam("outcome", "%q is not an outcome", f.Outcome)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxCallsLimit {
			return f, badParam("limit", "%q is not a number from 1 to %d", v, MaxCallsLimit)
		}
		f.Limit = n
	}
	// Without the token a caller may search by the 4 digits the masked list
	// shows, but not confirm whether a full number called.
	if len(numberDigits(f.Number)) > 4 && !f.Unmasked {
		return f, &paramError{param: "number", msg: "more than 4 digits needs the admin token", status: http.StatusForbidden}
	}
	return f, nil
}

func (s *Board) calls(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, DefaultCallsLimit)
	if err != nil {
		s.fail(w, err)
		return
	}
	calls := s.agg.Calls(f)
	if calls == nil {
		calls = []reports.CallRecord{}
	}
	writePrettyJSON(w, map[string]any{"calls": calls, "count": len(calls)})
}

func (s *Board) callsCSV(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter(r, 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	startCSV(w, "siaga112-calls.csv")
	// In the language of the page whose link was followed (the board's
	// link names it), else as the browser or the configuration asks.
	l := negotiate(r, s.cfg.Language)
	w.Header().Set("Content-Language", l.Tag)
	if err := writeCallsCSV(w, l, s.agg.Calls(f), s.agg.Location()); err != nil {
		s.cfg.Log.Warn("calls csv write", "err", err)
	}
}
