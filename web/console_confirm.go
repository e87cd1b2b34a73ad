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
	"log/slog"
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
	// Change is what the blocklist's policy would do (blocklist.Change:
	// none, strike, block, extend, lift, clear), "no_number" for a call
	// without a number the blocklist could strike, and "unknown" when the
	// number or its record could not be read.
	Change string
	// Until is when the number's block would end after the verdict (a
	// block or an extension; nil otherwise), BlocksFor how long from now.
	Until     *time.Time
	BlocksFor time.Duration
	// Strikes are the strikes that would still count after the verdict,
	// for a strike that does not block yet.
	Strikes int
}

// Values of verdictEffect.Change besides blocklist.Change's names.
const (
	changeNoNumber = "no_number"
	changeUnknown  = "unknown"
)

// effectSource is what working out a verdict's effect reads: the call's
// number, the blocklist's records and policy, and the clock. The console
// and the admin API share it, so a question and a dry run say the same.
type effectSource struct {
	// number returns the call's E.164 number, "" when it has none the
	// blocklist could strike, or an error when it cannot be read now.
	number  func(ctx context.Context, callID string) (string, error)
	records Records
	now     func() time.Time
	loc     *time.Location
	log     *slog.Logger
}

// effects is the console's effect source: its numbers come from the
// reports (CallNumber), as the board's rows do.
func (c *Console) effects() effectSource {
	return effectSource{
		number: func(_ context.Context, callID string) (string, error) {
			if c.o.CallNumber == nil {
				return "", nil
			}
			n, _ := c.o.CallNumber(callID)
			return n, nil
		},
		records: c.o.Records, now: c.o.Now, loc: c.o.Location, log: c.log,
	}
}

// verdictEffect computes what verdict on callID would do now, by applying
// the blocklist's policy to the number's stored record without saving it.
func (c *Console) verdictEffect(ctx context.Context, s Session, lang, callID, verdict string) verdictEffect {
	return c.effects().verdictEffect(ctx, !s.Supervisor(), lang, callID, verdict, s.Name)
}

// verdictEffect computes what verdict on callID, given by by, would do
// now, in lang; the number is masked in the words when masked is set.
func (src effectSource) verdictEffect(ctx context.Context, masked bool, lang, callID, verdict, by string) verdictEffect {
	action := text(lang, "confirm.action."+verdict)
	var e164 string
	if src.number != nil {
		var err error
		if e164, err = src.number(ctx, callID); err != nil {
			src.log.Warn("verdict consequence: call's number not read", "err", err)
			return verdictEffect{Change: changeUnknown, Text: fmt.Sprintf(text(lang, "confirm.unknown"), action, callID)}
		}
	}
	if e164 == "" {
		return verdictEffect{Change: changeNoNumber, Text: fmt.Sprintf(text(lang, "confirm.nonumber"), action, callID)}
	}
	shown := displayNumber(e164)
	if masked {
		shown = maskNumber(e164)
	}
	ef := verdictEffect{Number: shown, Change: changeUnknown}
	if src.records == nil {
		ef.Text = fmt.Sprintf(text(lang, "confirm.unknown"), action, shown)
		return ef
	}
	rec, err := src.records.Get(ctx, e164)
	if errors.Is(err, blocklist.ErrNotFound) {
		rec, err = blocklist.Record{Number: e164}, nil
	}
	if err != nil {
		src.log.Warn("verdict consequence: record not read", "err", err)
		ef.Text = fmt.Sprintf(text(lang, "confirm.unknown"), action, shown)
		return ef
	}
	p := src.records.Policy()
	now := src.now()
	after, d := p.ApplyVerdict(rec, blocklist.Event{ID: "preview:" + callID, CallID: callID, At: now}, verdict, by)
	ef.Change = d.Change.String()
	l := localeOf(lang)
	switch d.Change {
	case blocklist.ChangeBlock:
		ef.Until, ef.BlocksFor = &after.Until, after.Until.Sub(now)
		ef.Text = fmt.Sprintf(text(lang, "confirm.block"), action, shown, l.Span(after.Until.Sub(now)))
	case blocklist.ChangeExtend:
		ef.Until, ef.BlocksFor = &after.Until, after.Until.Sub(now)
		ef.Text = fmt.Sprintf(text(lang, "confirm.extend"), action, shown, l.DayTime(after.Until.In(src.loc)))
	case blocklist.ChangeStrike:
		ef.Strikes = d.Points
		ef.Text = fmt.Sprintf(text(lang, "confirm.strike"), action, shown, p.Points.VerdictPrank, d.Points, p.Threshold)
	case blocklist.ChangeLift:
		ef.Lifts = true
		ef.Text = fmt.Sprintf(text(lang, "confirm.lift"), action, shown, l.DayTime(rec.Until.In(src.loc)))
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
