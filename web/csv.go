package web

import (
	"encoding/csv"
	"io"
	"net/http"

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
