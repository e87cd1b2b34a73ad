package web

// Needs attention is a work queue, not a figure of the range: every call
// the reports still hold that needs an operator's look is listed, oldest
// first, whatever range the board shows, until someone ticks it. The
// panel sits inside the wall's one screen when someone is signed in, with
// the count in its heading and how long each caller has waited, so the
// most overdue item is the first thing read, never the one cut off.
//
// A person can take an item ("Sedang ditangani siti"), so two people do
// not call the same caller back. Who took what is kept in this process's
// memory only: it is a note between colleagues on one shift, not a fact
// about the call, and a restart forgets it (the tick itself, call.handled,
// is an event and stays).

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/siaga112/siaga112/reports"
)

// maxAttention bounds the rows the panel renders (every stream message
// carries them). Beyond it the oldest stay and the panel says how many
// newer ones are not shown.
const maxAttention = 200

// attentionRow is one item of the queue as the board shows it.
type attentionRow struct {
	reports.CallRecord
	// Waited is how long ago the call started, as words ("1 jam 5 menit").
	Waited string
	// TakenBy is who took the item ("" for nobody).
	TakenBy string
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
		q.Rows = append(q.Rows, attentionRow{CallRecord: r, Waited: l.Span(now.Sub(r.Started)), TakenBy: s.takes.by(r.CallID)})
	}
	return q
}

// takes records who took which call of the queue. The mutex guards m.
type takes struct {
	mu sync.Mutex
	m  map[string]string
}

// take records that name took callID.
func (t *takes) take(callID, name string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]string{}
	}
	t.m[callID] = name
}

// by is who took callID ("" for nobody).
func (t *takes) by(callID string) string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[callID]
}

// take records that the signed-in person took a call of the queue.
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
	if c.takes == nil {
		c.fail(w, r, lang, http.StatusServiceUnavailable, text(lang, "err.take"))
		return
	}
	c.takes.take(id, s.Name)
	c.audit(r, s, "take", id, "ok")
	c.done(w, r, "taken", id, fmt.Sprintf(text(lang, "ok.taken"), id))
}
