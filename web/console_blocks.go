package web

import (
	"net/http"
	"strconv"

	"github.com/siaga112/siaga112/blocklist"
)

// blocksView is the blocks page's data.
type blocksView struct {
	Lang       string
	Supervisor bool
	CSRF       string
	Rows       []blockRow
	// Form is the block form as typed, shown again with its Error when
	// it was refused.
	Form  blockForm
	Error string
	// ListError says why the list cannot be shown: the store failed
	// while a refused form came back, which keeps what was typed.
	ListError string
	// MaxReason is the reason field's bound.
	MaxReason int
}

type blockRow struct {
	Number, Shown, Until, Level, Strikes, Reason, By string
}

// blockForm is what was typed in the block form.
type blockForm struct{ Number, For, Reason string }

// blocksPage lists the numbers blocked now with until, level, reason and
// who, a button to lift each and a form to block a number (supervisors).
func (c *Console) blocksPage(w http.ResponseWriter, r *http.Request) {
	s, ok := c.Who(r)
	if !ok {
		http.Redirect(w, r, "/login?next=/console/blocks", http.StatusSeeOther)
		return
	}
	c.audit(r, s, "blocks", "", "ok")
	c.showBlocks(w, r, s, negotiate(r, c.o.Language).Tag, http.StatusOK, blockForm{For: "24h"}, "")
}

// showBlocks renders the blocks page; a refused block form comes back with
// what was typed and the error next to it.
func (c *Console) showBlocks(w http.ResponseWriter, r *http.Request, s Session, lang string, status int, form blockForm, errMsg string) {
	if c.o.Records == nil {
		c.render(w, http.StatusServiceUnavailable, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: text(lang, "blocks.unavailable"), Session: &s, Next: "/"})
		return
	}
	recs, err := c.o.Records.List(r.Context())
	if err != nil && errMsg != "" {
		// The form's own error (most likely the same store failing)
		// comes back with the form as typed; only the list is missing.
		v := &blocksView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF, Form: form, Error: errMsg, MaxReason: blocklist.MaxReason,
			ListError: c.failure(r, lang, failRead, err)}
		c.render(w, status, "blocks", consolePage{Lang: lang, Title: text(lang, "blocks.title"), Session: &s, Blocks: v})
		return
	}
	if err != nil {
		c.render(w, http.StatusServiceUnavailable, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: c.failure(r, lang, failRead, err), Session: &s, Next: "/"})
		return
	}
	now := c.o.Now()
	p := c.o.Records.Policy()
	blocklist.SortForAdmins(recs, p, now)
	v := &blocksView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF, Form: form, Error: errMsg, MaxReason: blocklist.MaxReason}
	for _, rec := range recs {
		if !rec.Blocked(now) {
			continue
		}
		// An operator sees numbers masked everywhere in the page, its
		// data attributes included.
		number, shown := rec.Number, displayNumber(rec.Number)
		if !s.Supervisor() {
			number = maskNumber(rec.Number)
			shown = number
		}
		v.Rows = append(v.Rows, blockRow{
			Number: number, Shown: shown, Until: consoleTime(rec.Until, c.o.Location),
			Level: strconv.Itoa(rec.Level), Strikes: strconv.Itoa(p.Score(rec, now)), Reason: localeOf(lang).Reason(rec.ReasonCode, rec.ReasonArgs, rec.Reason), By: rec.SetBy,
		})
	}
	c.render(w, status, "blocks", consolePage{Lang: lang, Title: text(lang, "blocks.title"), Session: &s, Blocks: v, Notice: c.noticeText(lang, s, r.URL.Query())})
}
