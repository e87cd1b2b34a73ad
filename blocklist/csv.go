package blocklist

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/siaga112/siaga112/internal/csvsafe"
)

// The blocklist CSV is what a centre moves in on its first day and backs up
// afterwards: one block per row, "number,until,reason", with a header row.
// Export writes until as an RFC 3339 time in UTC; import also takes a
// length from now ("7d", "24h", "90m"), a date ("2026-12-31", the end of
// that day) or a date and time ("2026-12-31 18:00"), both in the importing
// machine's time zone. Numbers may be in any form Normalize accepts.
// Strikes are not exported: they are the policy's short memory of recent
// calls, not a list anyone keeps by hand.

// CSVHeader is the header row of the blocklist CSV.
var CSVHeader = []string{"number", "until", "reason"}

// ImportRow is one good row of an import file.
type ImportRow struct {
	// Line is the row's line number in the file (1 is the first line).
	Line int
	// Number is the row's number in E.164.
	Number string
	// Until is when the block ends.
	Until time.Time
	// Reason is the row's reason ("" when the row has none).
	Reason string
}

// RowError is one bad row of an import file.
type RowError struct {
	Line int
	Err  error
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// ImportError lists every bad row of an import file; nothing is imported
// while there is one.
type ImportError struct {
	Rows []RowError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad row(s), nothing imported:", len(e.Rows))
	for _, r := range e.Rows {
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// ErrBadImport is wrapped by every *ImportError.
var ErrBadImport = errors.New("bad import file")

// Unwrap makes errors.Is(err, ErrBadImport) true.
func (e *ImportError) Unwrap() error { return ErrBadImport }

// maxImportRows bounds an import file; a centre's hand-kept list is
// hundreds of numbers, not millions.
const maxImportRows = 100_000

// ParseImport reads a blocklist CSV and checks every row against p at now:
// the number normalises, is not withheld or allowlisted and appears once;
// the end is a time in the future or a positive length. It returns the good
// rows only when every row is good, else an *ImportError naming each bad
// row by its line number. A first row whose first field is "number" is a
// header; empty lines and lines starting with # are skipped. Times without
// a zone are read in loc (reports.time_zone: the centre's one clock).
func ParseImport(r io.Reader, p Policy, now time.Time, loc *time.Location) ([]ImportRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	var (
		rows []ImportRow
		bad  []RowError
		seen = map[string]int{}
	)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Line: pe.StartLine, Err: pe.Err})
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					continue
				}
			}
			return nil, fmt.Errorf("read import file: %w", err)
		}
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "number") {
			continue
		}
		if len(rows)+len(bad) >= maxImportRows {
			return nil, fmt.Errorf("import file has more than %d rows", maxImportRows)
		}
		row, err := parseRow(rec, p, now, loc)
		if err == nil {
			if prev, dup := seen[row.Number]; dup {
				err = fmt.Errorf("%s is already on line %d", row.Number, prev)
			}
		}
		if err != nil {
			bad = append(bad, RowError{Line: line, Err: err})
			continue
		}
		row.Line = line
		seen[row.Number] = line
		rows = append(rows, row)
	}
	if len(bad) > 0 {
		return nil, &ImportError{Rows: bad}
	}
	return rows, nil
}

func parseRow(rec []string, p Policy, now time.Time, loc *time.Location) (ImportRow, error) {
	if len(rec) < 2 || len(rec) > 3 {
		return ImportRow{}, fmt.Errorf("want 2 or 3 fields (number, until, reason), got %d", len(rec))
	}
	raw := strings.TrimSpace(rec[0])
	n, err := p.Normalize(raw)
	switch {
	case err != nil:
		return ImportRow{}, err
	case n.IsAnonymous():
		return ImportRow{}, fmt.Errorf("%q: %w", raw, ErrAnonymous)
	case p.Allowlisted(n.E164):
		return ImportRow{}, fmt.Errorf("%w: %s (blocklist.allowlist)", ErrAllowlisted, n.E164)
	}
	until, err := ParseUntil(rec[1], now, loc)
	if err != nil {
		return ImportRow{}, err
	}
	row := ImportRow{Number: n.E164, Until: until}
	if len(rec) == 3 {
		// An exported reason carries the formula guard's quote.
		row.Reason = csvsafe.Uncell(strings.TrimSpace(rec[2]))
		if err := CheckReason(row.Reason); err != nil {
			return ImportRow{}, err
		}
	}
	return row, nil
}

// ParseUntil reads the end of a block: an RFC 3339 time, a date (the block
// lasts to the end of that day in loc), a "2006-01-02 15:04" in loc, or a
// length from now as ParseLength reads it. The end must be after now. A
// nil loc is UTC.
func ParseUntil(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("until: empty; want a time (2026-12-31T18:00:00Z, 2026-12-31 18:00, 2026-12-31) or a length (7d, 24h)")
	}
	var until time.Time
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		until = t
	} else if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		until = t
	} else if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		until = t.AddDate(0, 0, 1)
	} else if d, err := ParseLength(s); err == nil {
		until = now.Add(d).Truncate(time.Second)
	} else {
		return time.Time{}, fmt.Errorf("until %q: want a time (2026-12-31T18:00:00Z, 2026-12-31 18:00, 2026-12-31) or a length (7d, 24h)", s)
	}
	if !until.After(now) {
		return time.Time{}, fmt.Errorf("until %q is in the past", s)
	}
	return until.UTC(), nil
}

// Import blocks every row until its time, announcing each change. It stops
// at the first failure (NATS gone), returning how many rows were imported.
func (a *Admin) Import(ctx context.Context, rows []ImportRow, by string) (int, error) {
	for i, row := range rows {
		reason := row.Reason
		if reason == "" {
			reason = "imported"
		}
		if _, err := a.BlockUntil(ctx, row.Number, row.Until, reason, by); err != nil {
			return i, fmt.Errorf("line %d (%s): %w; %d of %d rows imported before it", row.Line, row.Number, err, i, len(rows))
		}
	}
	return len(rows), nil
}

// WriteCSV writes the records blocked at now as a blocklist CSV, longest
// block first, that ParseImport reads back to the same blocks.
func WriteCSV(w io.Writer, records []Record, p Policy, now time.Time) error {
	records = append([]Record(nil), records...)
	SortForAdmins(records, p, now)
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, r := range records {
		if !r.Blocked(now) {
			continue
		}
		// The reason is free text a supervisor typed; the export is
		// opened in spreadsheets (csvsafe). The number is E.164 and the
		// time RFC 3339, which Cell leaves as they are.
		if err := cw.Write([]string{csvsafe.Cell(r.Number), r.Until.UTC().Format(time.RFC3339), csvsafe.Cell(r.Reason)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
