package web

// Needs attention is a work queue, not a figure of the range: every call
// the reports still hold that needs an operator's look is listed, oldest
// first, whatever range the board shows, until someone ticks it. The
// panel sits inside the wall's one screen when someone is signed in, with
// the count in its heading and how long each caller has waited, so the
// most overdue item is the first thing read, never the one cut off.
//
// A person can take an item ("Sedang ditangani siti"), so two people do
// not call the same caller back. A take is an event (call.taken) like the
// tick that closes the item (call.handled): the reports fold it into the
// call's record, so a restart of the web process or of the reports worker
// keeps it, and every web server reading the same stream shows it.

import (
	"fmt"
	"net/http"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// maxAttention bounds the rows the panel renders (every stream message
// carries them). Beyond it the oldest stay and the panel says how many
// newer ones are not shown.
const maxAttention = 200

// attentionRow is one item of the queue as the board shows it; who took
// it is the record's TakenBy ("" for nobody).
type attentionRow struct {
	reports.CallRecord
	// Waited is how long ago the call started, as words ("1 jam 5 menit").
	Waited string
}

// attentionQueue is the panel's data.
type attentionQueue struct {
	Rows []attentionRow
	// Count is every open item; More those past maxAttention.
	Count, More int
}

// attention lists every open item the aggregator holds, oldest first.
func (s *Board) attention(l *locale, now time.Time, unmasked bool) attentionQueue {
	all := s.agg.Attention(time.Time{}, now.Add(time.Minute), 0, unmasked)
	q := attentionQueue{Count: len(all)}
	if len(all) > maxAttention {
		q.More, all = len(all)-maxAttention, all[:maxAttention]
	}
	for _, r := range all {
		q.Rows = append(q.Rows, attentionRow{CallRecord: r, Waited: l.Span(now.Sub(r.Started))})
	}
	return q
}

// take publishes that the signed-in person took a call of the queue
// (call.taken), as handled publishes its tick.
func (c *Console) take(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id := r.PathValue("id")
	if !c.checkCallID(w, r, s, lang, "take", id) {
		return
	}
	e, err := events.New(events.TypeTaken, id, "", events.Caller{}, events.Taken{By: cutText(s.Name)})
	if !c.publishOnCall(w, r, s, lang, "take", id, e, err) {
		return
	}
	c.audit(r, s, "take", id, "ok")
	c.done(w, r, "taken", id, fmt.Sprintf(text(lang, "ok.taken"), id))
}
