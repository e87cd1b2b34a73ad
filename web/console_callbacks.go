package web

// Automatic call-backs: a supervisor cancels one call-back, or switches
// them off and on for the whole centre. Both change what the IVR does to
// callers (a cancelled call-back leaves a caller who asked for help
// uncalled), so both are a supervisor's, like blocks, and both are
// audited. An operator still closes a dropped call with the "called back"
// and "handled" ticks, which the call-back store reads as well.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callback"
	"github.com/siaga112/siaga112/callid"
)

// Callbacks is the supervisors' side of the automatic call-backs
// (callback.Control). Its "none open" error is the call-back package's own
// callback.ErrNoCallback, matched here: that package is plain domain code
// with no HTTP in it, so importing it costs the web side nothing.
type Callbacks interface {
	// Cancel stops the open call-back of the dropped call callID, whose
	// caller is number (E.164), in the name of by, for the reason note.
	// Its error wraps callback.ErrNoCallback when no call-back is open for
	// that call (never scheduled, already done, or another number's).
	Cancel(ctx context.Context, callID, number, by, note string) error
	// SetEnabled switches automatic call-backs on or off for the whole
	// centre, in the name of by.
	SetEnabled(ctx context.Context, on bool, by string) error
	// Enabled tells whether automatic call-backs are on.
	Enabled(ctx context.Context) (bool, error)
}

// maxNote bounds a cancel's reason in characters, as a block's reason is
// bounded: it goes into callback.done and the audit.
const maxNote = blocklist.MaxReason

// callbacksView is the call-back page's data.
type callbacksView struct {
	Lang       string
	Supervisor bool
	CSRF       string
	// Known is false when the switch could not be read; On is its state.
	Known, On bool
}

func (c *Console) callbacksPage(w http.ResponseWriter, r *http.Request) {
	s, ok := c.Who(r)
	if !ok {
		http.Redirect(w, r, "/login?next=/console/callbacks", http.StatusSeeOther)
		return
	}
	lang := negotiate(r, c.o.Language).Tag
	if c.o.Callbacks == nil {
		c.render(w, http.StatusServiceUnavailable, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: text(lang, "cb.unavailable"), Session: &s, Next: "/"})
		return
	}
	v := &callbacksView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF}
	on, err := c.o.Callbacks.Enabled(r.Context())
	if err != nil {
		c.log.Warn("call-back switch not read", "err", err)
	} else {
		v.Known, v.On = true, on
	}
	c.render(w, http.StatusOK, "callbacks", consolePage{Lang: lang, Title: text(lang, "cb.title"), Session: &s, Callbacks: v, Notice: c.noticeText(lang, s, r.URL.Query())})
}

// callbackCancel cancels one dropped call's call-back. The number comes
// with the form (the board shows a supervisor the whole number) and is
// normalised here; the store checks that it is the call's caller.
func (c *Console) callbackCancel(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id := r.PathValue("id")
	if !c.checkCallID(w, r, s, lang, "callback_cancel", id) {
		return
	}
	if c.o.Callbacks == nil {
		c.audit(r, s, "callback_cancel", id, "refused: call-backs are not available here")
		c.fail(w, r, lang, http.StatusServiceUnavailable, text(lang, "cb.unavailable"))
		return
	}
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if note == "" || blocklist.CheckReason(note) != nil {
		// Said where it was typed, in the page's language: a cancel
		// without a reason leaves nobody able to tell later why a caller
		// who asked for help was not called back.
		c.audit(r, s, "callback_cancel", id, "refused: the reason is missing or too long")
		c.showCancel(w, r, s, lang, id, note, fmt.Sprintf(text(lang, "err.note"), maxNote, utf8.RuneCountInString(note)))
		return
	}
	n, err := normalizeNumber(r.PostForm.Get("number"), c.o.DefaultCountry)
	if err != nil || n.IsAnonymous() {
		c.audit(r, s, "callback_cancel", id, "refused: not a caller's number")
		c.showCancel(w, r, s, lang, id, note, text(lang, "err.cbnumber"))
		return
	}
	if err := c.o.Callbacks.Cancel(r.Context(), id, n.E164, s.Name, note); err != nil {
		c.audit(r, s, "callback_cancel", id, "refused: "+err.Error())
		if errors.Is(err, callback.ErrNoCallback) {
			c.fail(w, r, lang, http.StatusConflict, fmt.Sprintf(text(lang, "err.nocallback"), id))
			return
		}
		c.fail(w, r, lang, http.StatusServiceUnavailable, c.failure(r, lang, failSave, err))
		return
	}
	c.audit(r, s, "callback_cancel", id, "ok")
	c.done(w, r, "callback_cancelled", id, fmt.Sprintf(text(lang, "ok.cb.cancelled"), id))
}

// callbackSwitch switches automatic call-backs on (on=on) or off (on=off).
func (c *Console) callbackSwitch(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	v := r.PostForm.Get("on")
	if v != "on" && v != "off" {
		c.audit(r, s, "callback_switch", "", "refused: on must be on or off")
		c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.action"))
		return
	}
	action := "callback_switch_" + v
	if c.o.Callbacks == nil {
		c.audit(r, s, action, "", "refused: call-backs are not available here")
		c.fail(w, r, lang, http.StatusServiceUnavailable, text(lang, "cb.unavailable"))
		return
	}
	if err := c.o.Callbacks.SetEnabled(r.Context(), v == "on", s.Name); err != nil {
		c.refuse(w, r, s, lang, action, "", http.StatusServiceUnavailable, err)
		return
	}
	c.audit(r, s, action, "", "ok")
	c.done(w, r, "callback_"+v, "", text(lang, "ok.cb."+v))
}

// cancelView is a refused cancel's form, as it was typed.
type cancelView struct {
	Lang, CSRF, Action, Back, CallID string
	Number, Note, Error              string
	MaxNote                          int
}

// showCancel answers a refused cancel with its form filled in as typed and
// the fault above it. The board's row holds the form in one line; a bare
// error page would send the supervisor back to retype the reason there.
func (c *Console) showCancel(w http.ResponseWriter, r *http.Request, s Session, lang, id, note, errMsg string) {
	if wantsJSON(r) {
		c.fail(w, r, lang, http.StatusBadRequest, errMsg)
		return
	}
	v := &cancelView{Lang: lang, CSRF: s.CSRF, Action: "/console/calls/" + callid.PathSegment(id) + "/callback/cancel",
		Back: localPath(r.PostForm.Get("back")), CallID: id, Number: strings.TrimSpace(r.PostForm.Get("number")), Note: note, Error: errMsg, MaxNote: maxNote}
	c.render(w, http.StatusBadRequest, "cbcancel", consolePage{Lang: lang, Title: fmt.Sprintf(text(lang, "cb.cancel.heading"), id), Session: &s, Cancel: v})
}
