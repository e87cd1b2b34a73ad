package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/incident"
)

// The domain packages' errors are written for logs and the audit, in
// English, and some quote what was typed. A person at the console reads
// the catalogue's sentence for the same fault in the page's language
// instead; the audit keeps the domain's words, which name the fault
// exactly for whoever reads the log later.

// errBadLength stands for a length (a block's or an announcement's) that
// blocklist.ParseLength refused: that function returns an unnamed error,
// so the handlers wrap this one around it to let formError find it.
var errBadLength = errors.New("not a length")

// errNoReason stands for a block sent without a reason.
var errNoReason = errors.New("a reason is required")

// formError is err as a person at the console reads it, in lang; typed is
// the value the error is about, quoted back where the sentence names it.
// An error none of the cases knows is the store or the bus failing while
// r was being saved: the person reads what failed and what to do, with a
// reference to the log line that keeps the error's own words
// (console_failure.go).
func (c *Console) formError(r *http.Request, lang string, err error, typed string) string {
	key := ""
	switch {
	case errors.Is(err, errBadLength):
		key = "err.for"
	case errors.Is(err, errBadNumber):
		key = "err.number"
	case errors.Is(err, errNoReason):
		return text(lang, "err.reason.missing")
	case errors.Is(err, blocklist.ErrAllowlisted):
		key = "err.allowlisted"
	case errors.Is(err, blocklist.ErrAnonymous):
		return text(lang, "err.anonymous")
	case errors.Is(err, blocklist.ErrNotFound):
		key = "err.notblocked"
	case errors.Is(err, blocklist.ErrConflict):
		return text(lang, "err.busy")
	case errors.Is(err, blocklist.ErrBadVerdict):
		return text(lang, "err.action")
	case errors.Is(err, incident.ErrBadMedia):
		return text(lang, "err.media")
	case errors.Is(err, incident.ErrBadFor):
		return fmt.Sprintf(text(lang, "err.incident.for"), localeOf(lang).Span(incident.MaxFor))
	case errors.Is(err, incident.ErrNone):
		return text(lang, "err.noincident")
	default:
		return c.failure(r, lang, failSave, err)
	}
	return fmt.Sprintf(text(lang, key), typed)
}

// formStatus is the HTTP status of a form refused with err: 409 for a
// change that met another one or an incident that is not running, 503 for
// the store or the bus failing (the person did nothing wrong and may try
// again; formError says so), 400 for what was typed.
func formStatus(err error) int {
	switch {
	case errors.Is(err, blocklist.ErrConflict), errors.Is(err, incident.ErrNone):
		return http.StatusConflict
	case errors.Is(err, errBadLength), errors.Is(err, errBadNumber), errors.Is(err, errNoReason),
		errors.Is(err, blocklist.ErrAllowlisted), errors.Is(err, blocklist.ErrAnonymous),
		errors.Is(err, blocklist.ErrNotFound), errors.Is(err, blocklist.ErrBadVerdict),
		errors.Is(err, incident.ErrBadMedia), errors.Is(err, incident.ErrBadFor),
		errors.Is(err, incident.ErrBadTitle), errors.Is(err, blocklist.ErrBadReason):
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}
