package web

// The console's actions: verdicts, call-back ticks, blocks and lifts.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
)

func (c *Console) verdict(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id, v := r.PathValue("id"), r.PostForm.Get("verdict")
	if !c.checkCallID(w, r, s, lang, "verdict_"+safeWord(v), id) {
		return
	}
	if v != events.VerdictPrank && v != events.VerdictGenuine {
		c.audit(r, s, "verdict_other", id, "refused: not a verdict")
		c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.action"))
		return
	}
	var ef, shown verdictEffect
	var err error
	switch {
	case !confirming(r) && (v == events.VerdictPrank || v == events.VerdictGenuine):
		// Nothing is saved on the first post: it answers with what the
		// verdict would do (console_confirm.go), for a call that exists.
		if err = c.o.Admin.FindCall(r.Context(), id); err == nil {
			c.askVerdict(w, r, s, lang, id, v)
			return
		}
	default:
		// Worked out again at the moment of saving, for the audit and the
		// row's result: the record may have changed since the question
		// was shown, and once saved the blocklist worker changes it.
		ef, shown = c.verdictEffect(r.Context(), s, LangEN, id, v), c.verdictEffect(r.Context(), s, lang, id, v)
		_, err = c.o.Admin.Verdict(r.Context(), id, v, s.Name)
	}
	if err != nil {
		c.audit(r, s, "verdict_"+safeWord(v), id, "refused: "+err.Error())
		status, msg := formStatus(err), c.formError(r, lang, err, "")
		if errors.Is(err, blocklist.ErrUnknownCall) {
			status, msg = http.StatusNotFound, fmt.Sprintf(text(lang, "err.unknowncall"), id)
		}
		c.fail(w, r, lang, status, msg)
		return
	}
	c.audit(r, s, "verdict_"+v, id, "ok: confirmed; "+ef.Text)
	msg := fmt.Sprintf(text(lang, "ok.verdict"), text(lang, "btn."+v), id)
	if v == events.VerdictPrank {
		// A prank verdict may block a number at once, so its undo is
		// offered to whoever gave it, for undoWindow: in the board's row
		// to the script, and on a result page of its own without one
		// (console_confirm.go), both with what was saved and what it does.
		at := c.o.Now()
		tok := c.undo.add(pendingUndo{callID: id, by: s.Name, at: at})
		if wantsJSON(r) {
			writeJSON(w, http.StatusOK, map[string]any{
				"result": msg + " " + shown.Text, "undo": tok,
				"undo_label": text(lang, "btn.undo"), "undo_seconds": int(undoWindow / time.Second),
			})
			return
		}
		c.showUndo(w, r, s, lang, id, msg, shown.Text, tok, at)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"result": msg + " " + shown.Text})
		return
	}
	c.done(w, r, "verdict_"+v, id, msg)
}

func (c *Console) handled(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id, action := r.PathValue("id"), r.PostForm.Get("action")
	if !c.checkCallID(w, r, s, lang, "handled", id) {
		return
	}
	if action != events.HandledCalledBack && action != events.HandledDone {
		c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.action"))
		return
	}
	e, err := events.New(events.TypeHandled, id, "", events.Caller{}, events.Handled{Action: action, By: s.Name})
	if !c.publishOnCall(w, r, s, lang, action, id, e, err) {
		return
	}
	c.audit(r, s, action, id, "ok")
	c.done(w, r, "handled", id, fmt.Sprintf(text(lang, "ok.handled"), id))
}

// errNoPublisher: this console was built without a way to publish events.
var errNoPublisher = errors.New("web: no event publisher")

// publishOnCall publishes e, what a person says of call id (a tick, a
// take), once the call is known; built is the error of building e. It
// answers the refusal itself and audits it as action, and reports whether
// e was published.
func (c *Console) publishOnCall(w http.ResponseWriter, r *http.Request, s Session, lang, action, id string, e events.Envelope, built error) bool {
	if err := c.o.Admin.FindCall(r.Context(), id); err != nil {
		status, msg := http.StatusServiceUnavailable, c.failure(r, lang, failSave, err)
		if errors.Is(err, blocklist.ErrUnknownCall) {
			status, msg = http.StatusNotFound, fmt.Sprintf(text(lang, "err.unknowncall"), id)
		}
		c.audit(r, s, action, id, "refused: "+err.Error())
		c.fail(w, r, lang, status, msg)
		return false
	}
	err := built
	if err == nil && c.o.Publisher == nil {
		// Nowhere to say it: a tick or a take nobody else can see would
		// let two people call the same caller back, or none.
		err = errNoPublisher
	}
	if err == nil {
		err = c.o.Publisher.Publish(r.Context(), e)
	}
	if err != nil {
		c.audit(r, s, action, id, "failed: "+err.Error())
		c.fail(w, r, lang, http.StatusServiceUnavailable, c.failure(r, lang, failSave, err))
		return false
	}
	return true
}

func (c *Console) block(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	number, reason := strings.TrimSpace(r.PostForm.Get("number")), strings.TrimSpace(r.PostForm.Get("reason"))
	form := blockForm{Number: number, For: r.PostForm.Get("for"), Reason: reason}
	if err := blocklist.CheckReason(reason); err != nil {
		// Checked here, where it was typed, so the form comes back with
		// it rather than a bare error page.
		c.audit(r, s, "block", number, "refused: "+err.Error())
		c.showBlocks(w, r, s, lang, http.StatusBadRequest, form, fmt.Sprintf(text(lang, "err.reason"), blocklist.MaxReason, utf8.RuneCountInString(reason)))
		return
	}
	length, err := blocklist.ParseLength(strings.TrimSpace(form.For))
	// typed is the field the error quotes back: the length while it is
	// the fault, the number after it.
	typed := form.For
	if err != nil {
		err = fmt.Errorf("%w: %w", errBadLength, err)
	} else {
		typed = number
	}
	if err == nil && reason == "" {
		err = errNoReason
	}
	if err == nil && !confirming(r) {
		// Asked first, with the number as it will be stored and the end
		// of the block, so a typo in either is seen before it bites.
		var n phoneNumber
		if n, err = normalizeNumber(number, c.o.DefaultCountry); err == nil && n.IsAnonymous() {
			err = blocklist.ErrAnonymous
		}
		if err == nil {
			until := c.o.Now().Add(length)
			words := fmt.Sprintf(text(lang, "confirm.admin_block"), displayNumber(n.E164), localeOf(lang).Span(length), localeOf(lang).DayTime(until.In(c.o.Location)))
			c.ask(w, r, s, lang, words, text(lang, "btn.block"), false,
				formField{"number", number}, formField{"for", form.For}, formField{"reason", reason})
			return
		}
	}
	var rec blocklist.Record
	if err == nil {
		rec, err = c.o.Admin.Block(r.Context(), number, length, reason, s.Name)
	}
	if err != nil {
		// The form comes back as typed with the fault named in the
		// page's language, wherever it was found: retyping a number and
		// a reason because of a misspelt unit loses time on a shift.
		c.audit(r, s, "block", number, "refused: "+err.Error())
		c.showBlocks(w, r, s, lang, formStatus(err), form, c.formError(r, lang, err, typed))
		return
	}
	c.audit(r, s, "block", rec.Number, "ok")
	c.done(w, r, "blocked", rec.Number, fmt.Sprintf(text(lang, "ok.blocked"), rec.Number, consoleTime(rec.Until, c.o.Location)))
}

func (c *Console) lift(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	number := r.PathValue("number")
	if !confirming(r) {
		c.askLift(w, r, s, lang, number)
		return
	}
	rec, err := c.o.Admin.Unblock(r.Context(), number, s.Name)
	if err != nil {
		c.audit(r, s, "lift", number, "refused: "+err.Error())
		c.fail(w, r, lang, formStatus(err), c.formError(r, lang, err, number))
		return
	}
	c.audit(r, s, "lift", rec.Number, "ok")
	c.done(w, r, "lifted", rec.Number, fmt.Sprintf(text(lang, "ok.lifted"), rec.Number))
}

// checkCallID refuses a call id outside Asterisk's id alphabet before
// anything is looked up or published with it; the id is not quoted back.
func (c *Console) checkCallID(w http.ResponseWriter, r *http.Request, s Session, lang, action, id string) bool {
	if callid.Valid(id) {
		return true
	}
	c.audit(r, s, action, "", "refused: not a call id")
	c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.callid"))
	return false
}

// recordingPath escapes each segment of a recording name ("siaga112/<call
// id>") for the recordings URL, whose route takes the rest of the path.
func recordingPath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = callid.PathSegment(s)
	}
	return strings.Join(segs, "/")
}

// safeWord keeps an audit action name to a word even for a hostile form.
func safeWord(v string) string {
	if v == events.VerdictPrank || v == events.VerdictGenuine {
		return v
	}
	return "other"
}

// askLift names the number and the block a lift would end.
func (c *Console) askLift(w http.ResponseWriter, r *http.Request, s Session, lang, number string) {
	n, err := normalizeNumber(number, c.o.DefaultCountry)
	if err != nil || n.IsAnonymous() {
		c.audit(r, s, "lift", number, "refused: not a number")
		c.fail(w, r, lang, http.StatusBadRequest, c.formError(r, lang, errBadNumber, number))
		return
	}
	words := fmt.Sprintf(text(lang, "confirm.lift_unknown"), displayNumber(n.E164))
	if c.o.Records != nil {
		if rec, err := c.o.Records.Get(r.Context(), n.E164); err == nil && rec.Blocked(c.o.Now()) {
			words = fmt.Sprintf(text(lang, "confirm.admin_lift"), displayNumber(n.E164), localeOf(lang).DayTime(rec.Until.In(c.o.Location)))
		}
	}
	c.ask(w, r, s, lang, words, text(lang, "btn.lift"), true)
}
