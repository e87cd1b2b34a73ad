package web

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/siaga112/siaga112/internal/csvsafe"
)

// Every CSV the listener sends — the calls export, a number's history for
// the police — is opened in spreadsheets by people, and any column can
// carry text someone else chose (a call id, a caller id, a reason typed in
// a form, anything published on the event stream). So every cell of every
// row passes through the one formula guard, internal/csvsafe, here and
// nowhere else: a writer of a new export cannot forget it.

// startCSV sets the headers of a CSV download named filename.
func startCSV(w http.ResponseWriter, filename string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
}

// csvWriter writes CSV rows with every cell guarded.
type csvWriter struct {
	cw *csv.Writer
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{cw: csv.NewWriter(w)} }

// newLocalCSVWriter writes a CSV for the people of l's language: its
// spreadsheets read a file of that language's list separator — the one
// Excel takes from the system's region: ";" wherever the decimal
// separator is a comma (Indonesia), "," elsewhere — and csvNum writes its
// decimals. An export's header row comes from the catalogue (csvHeaders).
func newLocalCSVWriter(w io.Writer, l *locale) *csvWriter {
	c := newCSVWriter(w)
	if l.decimal == "," {
		c.cw.Comma = ';'
	}
	return c
}

// csvHeaders names an export's columns in l's language; keys are the
// catalogue's "csv.<column>" keys, the English names being the columns'
// names in the API.
func csvHeaders(l *locale, columns []string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = l.T("csv." + c)
	}
	return out
}

// csvNum writes v as a spreadsheet of l's language reads it: every digit
// it has, no thousands separator, l's decimal separator.
func csvNum(l *locale, v float64, prec int) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', prec, 64), ".", l.decimal, 1)
}

// csvBool writes a yes or no in l's language.
func csvBool(l *locale, v bool) string {
	if v {
		return l.T("csv.yes")
	}
	return l.T("csv.no")
}

// row writes one row; cells is changed in place to the guarded values.
func (c *csvWriter) row(cells ...string) error {
	for i, v := range cells {
		cells[i] = csvSafe(v)
	}
	return c.cw.Write(cells)
}

// flush writes what is buffered and returns the first error of any row.
func (c *csvWriter) flush() error {
	c.cw.Flush()
	return c.cw.Error()
}

// csvSafe is the formula guard every cell passes through.
var csvSafe = csvsafe.Cell
