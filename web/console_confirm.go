package web

// A verdict is asked before it is saved. On a busy board a click meant for
// one row can land on another, and a prank verdict may block a caller's
// number at once; a genuine verdict may lift a serial prankster's block.
// So the first post of a verdict form saves nothing: it answers with what
// the verdict would do to that number now — computed here from the
// blocklist's own policy applied to the number's stored record, the same
// pure function the blocklist worker will apply — and a second post, with
// confirm=1, saves it. Without JavaScript the first answer is a page with
// the consequence and a confirm button; the board's script asks with
// Accept: application/json and shows the same words in the row.
//
// A confirmed prank verdict can be undone for undoWindow by the person who
// gave it: the board's script shows the undo in the row, and a browser
// without JavaScript gets a result page that says what was saved, what it
// does and until when (in the configured clock) it can be undone, with the
// undo's form; the server checks the window either way. The blocklist keeps no history to roll back to, so the undo is
// what it says it is: a genuine verdict on the same call, which clears the
// number's strikes and lifts an automatic block (a supervisor's manual
// block stays). Both the confirmed verdict and its undo are audited.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
)

// undoWindow is how long the board offers the undo of a prank verdict;
// undoGrace is added on the server so that a click in the last moment,
// still on its way, is not refused.
const (
	undoWindow = 10 * time.Second
	undoGrace  = 2 * time.Second
)

// pendingUndo is one prank verdict that may still be undone.
type pendingUndo struct {
	callID, by string
	at         time.Time
}

// undos holds the prank verdicts that may still be undone, by token. The
// mutex guards m; entries older than the window are dropped on each use.
type undos struct {
	mu sync.Mutex
	m  map[string]pendingUndo
}

// add remembers a verdict and returns its token.
func (u *undos) add(p pendingUndo) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]pendingUndo{}
	}
	u.sweep(p.at)
	u.m[tok] = p
	return tok
}

// take removes and returns the verdict of tok when it is still in time.
func (u *undos) take(tok string, now time.Time) (pendingUndo, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sweep(now)
	p, ok := u.m[tok]
	delete(u.m, tok)
	return p, ok
}

// sweep drops what is too old to undo. Called with mu held.
func (u *undos) sweep(now time.Time) {
	for k, p := range u.m {
		if now.Sub(p.at) > undoWindow+undoGrace {
			delete(u.m, k)
		}
	}
}

// verdictEffect is what a verdict would do to its call's number now.
type verdictEffect struct {
	// Number is the number as the asker may see it ("" when withheld or
	// unknown).
	Number string
	// Text names the number and the consequence, in the page's language.
	Text string
	// Lifts is true when the verdict lifts a block in force.
	Lifts bool
}

// verdictEffect computes what verdict on callID would do now, by applying
// the blocklist's policy to the number's stored record without saving it.
func (c *Console) verdictEffect(ctx context.Context, s Session, lang, callID, verdict string) verdictEffect {
	action := text(lang, "confirm.action."+verdict)
	var e164 string
	if c.o.CallNumber != nil {
		e164, _ = c.o.CallNumber(callID)
	}
	if e164 == "" {
		return verdictEffect{Text: fmt.Sprintf(text(lang, "confirm.nonumber"), action, callID)}
	}
	shown := displayNumber(e164)
	if !s.Supervisor() {
		shown = maskNumber(e164)
	}
	ef := verdictEffect{Number: shown}
	if c.o.Records == nil {
		ef.Text = fmt.Sprintf(text(lang, "confirm.unknown"), action, shown)
		return ef
	}
	rec, err := c.o.Records.Get(ctx, e164)
	if errors.Is(err, blocklist.ErrNotFound) {
		rec, err = blocklist.Record{Number: e164}, nil
	}
	if err != nil {
		c.log.Warn("verdict consequence: record not read", "err", err)
		ef.Text = fmt.Sprintf(text(lang, "confirm.unknown"), action, shown)
		return ef
	}
	p := c.o.Records.Policy()
	now := c.o.Now()
	after, d := p.ApplyVerdict(rec, blocklist.Event{ID: "preview:" + callID, CallID: callID, At: now}, verdict, s.Name)
	l := localeOf(lang)
	switch d.Change {
	case blocklist.ChangeBlock:
		ef.Text = fmt.Sprintf(text(lang, "confirm.block"), action, shown, l.Span(after.Until.Sub(now)))
	case blocklist.ChangeExtend:
		ef.Text = fmt.Sprintf(text(lang, "confirm.extend"), action, shown, l.DayTime(after.Until.In(c.o.Location)))
	case blocklist.ChangeStrike:
		ef.Text = fmt.Sprintf(text(lang, "confirm.strike"), action, shown, p.Points.VerdictPrank, d.Points, p.Threshold)
	case blocklist.ChangeLift:
		ef.Lifts = true
		ef.Text = fmt.Sprintf(text(lang, "confirm.lift"), action, shown, l.DayTime(rec.Until.In(c.o.Location)))
	case blocklist.ChangeClear:
		if rec.Blocked(now) {
			// A supervisor's block is not the verdict's to lift.
			ef.Text = fmt.Sprintf(text(lang, "confirm.manual"), action, shown)
			break
		}
		ef.Text = fmt.Sprintf(text(lang, "confirm.clear"), action, shown, p.Score(rec, now))
	default:
		switch {
		case verdict == events.VerdictGenuine && rec.Blocked(now) && rec.Manual:
			ef.Text = fmt.Sprintf(text(lang, "confirm.manual_kept"), action, shown)
		case p.Allowlisted(e164):
			ef.Text = fmt.Sprintf(text(lang, "confirm.allowlisted"), action, shown)
		default:
			ef.Text = fmt.Sprintf(text(lang, "confirm.none"), action, shown)
		}
	}
	return ef
}

// confirmView is the data of the no-script confirmation page: the
// consequence, and the same form again with confirm=1.
type confirmView struct {
	Lang, CSRF, Back, Action string
	// Text names the subject and the consequence; Yes labels the button.
	Text, Yes string
	Fields    []formField
	// Danger marks a consequence that takes a protection away (a lifted
	// block), shown in the error colour.
	Danger bool
}

// formField is one hidden field the confirming post carries again.
type formField struct{ Name, Value string }

// confirming reports whether a form's post is the confirming one.
func confirming(r *http.Request) bool { return r.PostForm.Get("confirm") == "1" }

// ask answers a form's first post with the page that names the
// consequence and posts the form again with confirm=1.
func (c *Console) ask(w http.ResponseWriter, r *http.Request, s Session, lang, words, yes string, danger bool, fields ...formField) {
	p := consolePage{Lang: lang, Title: text(lang, "confirm.title"), Session: &s, Next: localPath(r.PostForm.Get("back"))}
	p.Confirm = &confirmView{Lang: lang, CSRF: s.CSRF, Back: p.Next, Action: r.URL.Path, Text: words, Yes: yes, Fields: fields, Danger: danger}
	c.render(w, http.StatusOK, "confirm", p)
}

// askVerdict answers a verdict form's first post: the consequence, and
// the way to confirm it.
func (c *Console) askVerdict(w http.ResponseWriter, r *http.Request, s Session, lang, id, v string) {
	ef := c.verdictEffect(r.Context(), s, lang, id, v)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{
			"confirm": ef.Text, "lifts": ef.Lifts,
			"yes": text(lang, "confirm.yes."+v), "no": text(lang, "confirm.no"),
		})
		return
	}
	c.ask(w, r, s, lang, ef.Text, text(lang, "confirm.yes."+v), ef.Lifts, formField{"verdict", v})
}

// undoView is the data of the no-script answer to a confirmed prank
// verdict: what was saved and what it does, and the undo's form.
type undoView struct {
	Lang, CSRF, Back, Action, Token string
	// Saved says what was saved, Effect what it does to the number, and
	// Until until when it can be undone.
	Saved, Effect, Until string
}

// showUndo answers a confirmed prank verdict posted without the script:
// a page with the result and the undo's form, which posts the same token
// the script would. The window itself is checked by undoVerdict.
func (c *Console) showUndo(w http.ResponseWriter, r *http.Request, s Session, lang, id, saved, effect, tok string, at time.Time) {
	p := consolePage{Lang: lang, Title: text(lang, "undo.title"), Session: &s, Next: localPath(r.PostForm.Get("back"))}
	p.Undo = &undoView{
		Lang: lang, CSRF: s.CSRF, Back: p.Next, Action: "/console/calls/" + callid.PathSegment(id) + "/verdict/undo", Token: tok,
		Saved: saved, Effect: effect, Until: fmt.Sprintf(text(lang, "undo.until"), consoleSeconds(at.Add(undoWindow), c.o.Location)),
	}
	c.render(w, http.StatusOK, "undo", p)
}

// undoVerdict undoes a prank verdict given moments ago, by the same
// person, with a genuine verdict on the same call.
func (c *Console) undoVerdict(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, false)
	if !ok {
		return
	}
	lang := c.formLang(r)
	id := r.PathValue("id")
	if !c.checkCallID(w, r, s, lang, "undo_verdict_prank", id) {
		return
	}
	p, ok := c.undo.take(r.PostForm.Get("undo"), c.o.Now())
	if !ok || p.callID != id || p.by != s.Name {
		c.audit(r, s, "undo_verdict_prank", id, "refused: too late or not this person's verdict")
		c.fail(w, r, lang, http.StatusConflict, text(lang, "err.undo"))
		return
	}
	if _, err := c.o.Admin.Verdict(r.Context(), id, events.VerdictGenuine, s.Name); err != nil {
		c.refuse(w, r, s, lang, "undo_verdict_prank", id, http.StatusServiceUnavailable, err)
		return
	}
	c.audit(r, s, "undo_verdict_prank", id, "ok: genuine verdict published")
	c.done(w, r, "verdict_undone", id, fmt.Sprintf(text(lang, "ok.undone"), id))
}
