package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// When the store (the NATS key-value buckets) or the bus fails under an
// action, the Go error says what broke in English, for an engineer. A
// person at the console reads instead, in the page's language, what
// failed, what it means for what they did, what to do now, and a short
// code to give the administrator; the same code is in the log beside the
// error's own words (and the audit keeps those words for an action).

// failKind is what kind of failure an error is, as far as a person at
// the console can act on it.
type failKind string

const (
	// failTimeout: the store did not answer in time (it may be slow or
	// overloaded; the same action may well work in a moment).
	failTimeout failKind = "timeout"
	// failUnreachable: nobody answered at all: the connection is down or
	// closed, or no server serves the bucket or the stream.
	failUnreachable failKind = "unreachable"
	// failOther is anything else: the store answered, and refused.
	failOther failKind = "other"
)

// codes are the letters of the reference shown for each kind.
var failCodes = map[failKind]string{failTimeout: "T", failUnreachable: "N", failOther: "E"}

// classifyFailure sorts err into a failKind. A conflict (two changes of
// one record at once) never reaches it: formError says that one
// (blocklist.ErrConflict, "err.busy").
func classifyFailure(err error) failKind {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return failTimeout
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrStaleConnection),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrJetStreamNotEnabled):
		return failUnreachable
	}
	return failOther
}

// failOp is what the person was doing when the store failed: saving
// something (nothing was saved) or reading a page (nothing can be shown).
type failOp string

const (
	failSave failOp = "save"
	failRead failOp = "read"
)

// failure is the sentence for a store or bus failure under r, in lang,
// with a reference (the kind's letter and the time to the second, in the
// centre's time zone) that the log line written here carries too.
func (c *Console) failure(r *http.Request, lang string, op failOp, err error) string {
	kind := classifyFailure(err)
	ref := failCodes[kind] + "-" + c.o.Now().In(c.o.Location).Format("150405")
	c.log.Warn("console: the store failed", "ref", ref, "kind", string(kind), "op", string(op), "path", r.URL.Path, "err", err)
	lead := "fail." + string(kind)
	if kind == failOther {
		lead += "." + string(op)
	}
	return text(lang, lead) + " " + text(lang, "fail."+string(op)) + " " + fmt.Sprintf(text(lang, "fail.advice"), ref)
}
