package web

// A number's history (page, JSON, CSV) and its recordings.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/blocklist"
)

// history builds a number's history from the stream and the blocklist.
func (c *Console) history(ctx context.Context, raw string) (History, error) {
	n, err := normalizeNumber(raw, c.o.DefaultCountry)
	if err != nil {
		return History{}, err
	}
	if n.IsAnonymous() {
		// A withheld number has no history to trace by.
		return History{}, fmt.Errorf("%w %q: withheld numbers have no history", errBadNumber, raw)
	}
	number := n.E164
	b := newHistoryBuilder(number)
	if c.o.Events != nil {
		if err := b.read(ctx, c.o.Events); err != nil {
			return History{}, fmt.Errorf("read the event stream: %w", err)
		}
	}
	h := b.result()
	if c.o.Records != nil {
		rec, err := c.o.Records.Get(ctx, number)
		if err == nil && rec.Number != "" {
			now := c.o.Now()
			st := &BlockState{Blocked: rec.Blocked(now), Level: rec.Level, Strikes: c.o.Records.Policy().Score(rec, now), Reason: rec.Reason, ReasonCode: rec.ReasonCode, ReasonArgs: rec.ReasonArgs, SetBy: rec.SetBy}
			if st.Blocked {
				u := rec.Until
				st.Until = &u
			}
			h.Now = st
		}
	}
	return h, nil
}

func (c *Console) numberAPI(w http.ResponseWriter, r *http.Request) {
	q := c.auth.who(r)
	s, signed := q.session, q.signed
	if !q.known() {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in or send the admin token (Authorization: Bearer ...)"})
		return
	}
	supervisor := q.supervisor()
	h, err := c.history(r.Context(), r.PathValue("number"))
	if err != nil {
		status := http.StatusBadRequest
		if !errors.Is(err, errBadNumber) {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	if signed {
		c.audit(r, s, "history", h.Number, "ok")
	}
	if r.URL.Query().Get("format") == "csv" {
		if !supervisor {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "only a supervisor may export"})
			return
		}
		c.writeHistoryCSV(w, negotiate(r, c.o.Language), h)
		return
	}
	if !supervisor {
		h.Number = maskNumber(h.Number)
	}
	writeJSON(w, http.StatusOK, h)
}

// historyColumns are the columns of a number's history CSV, the
// catalogue's "csv.<column>" keys.
var historyColumns = []string{"time", "number", "call_id", "outcome", "emergency_type", "seconds_to_queue", "callback", "recording", "call_recording", "verdicts"}

// writeHistoryCSV writes one row per call in l's language (separator,
// headers, decimals, yes/no), local time with offset: the police read it
// in a spreadsheet set to their region.
func (c *Console) writeHistoryCSV(w http.ResponseWriter, l *locale, h History) {
	startCSV(w, "siaga112-"+strings.TrimPrefix(h.Number, "+")+".csv")
	w.Header().Set("Content-Language", l.Tag)
	cw := newLocalCSVWriter(w, l)
	_ = cw.row(csvHeaders(l, historyColumns)...)
	for _, call := range h.Calls {
		q := ""
		if call.SecondsToQueue != nil {
			q = csvNum(l, *call.SecondsToQueue, 1)
		}
		var vs []string
		for _, v := range call.Verdicts {
			vs = append(vs, l.verdictBy(v.Verdict, v.By))
		}
		_ = cw.row(call.Start.In(c.o.Location).Format(time.RFC3339), h.Number, call.CallID, string(call.Outcome),
			call.EmergencyType, q, csvBool(l, call.Callback), call.Recording, call.CallRecording, strings.Join(vs, "; "))
	}
	_ = cw.flush()
}

// historyView is a History laid out for the page.
type historyView struct {
	Lang       string
	Supervisor bool
	CSRF       string
	Back       string
	Number     string
	Calls      []callView
	Blocks     []blockView
	State      string
	Blocked    bool
	E164       string
	MaxReason  int
}

type callView struct {
	ID, Time, Outcome, Type, Queue, Recording, Verdicts string
	// Audio is the URL the page plays the whole-call recording from.
	Audio string
	// Length is how long the recorded call lasted, in words ("" when not
	// known): the page shows it next to the player, which loads nothing
	// before it is played (preload="none") and so cannot say it itself.
	Length   string
	Callback bool
}

type blockView struct{ Time, Until, Strikes, Reason string }

func (c *Console) numberPage(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r, c.o.Language).Tag
	s, ok := c.Who(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	raw := r.PathValue("number")
	h, err := c.history(r.Context(), raw)
	if err != nil {
		status, msg := http.StatusBadRequest, fmt.Sprintf(text(lang, "number.bad"), raw)
		if !errors.Is(err, errBadNumber) {
			status, msg = http.StatusServiceUnavailable, c.failure(r, lang, failRead, err)
		}
		c.render(w, status, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: msg, Session: &s, Next: "/"})
		return
	}
	c.audit(r, s, "history", h.Number, "ok")
	shown := displayNumber(h.Number)
	if !s.Supervisor() {
		shown = maskNumber(h.Number)
	}
	dash := text(lang, "dash")
	// Back keeps the page's language through the form's answer.
	v := &historyView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF, Back: r.URL.Path + "?lang=" + lang, Number: shown, E164: h.Number, MaxReason: blocklist.MaxReason}
	for _, call := range h.Calls {
		cv := callView{ID: call.CallID, Time: consoleSeconds(call.Start, c.o.Location),
			Outcome: orDash(text(lang, "console.outcome."+string(call.Outcome)), call.Outcome == "", dash),
			Type:    orDash(localeOf(lang).Type(call.EmergencyType), call.EmergencyType == "", dash), Queue: dash,
			Recording: orDash(call.CallRecording, call.CallRecording == "", dash), Callback: call.Callback}
		if call.CallRecording != "" && c.o.Recordings != nil {
			cv.Audio = "/api/recordings/" + recordingPath(call.CallRecording) + "?node=" + url.QueryEscape(call.Node)
		}
		if call.CallRecording != "" {
			cv.Length = callLength(localeOf(lang), call.DurationS)
		}
		if call.SecondsToQueue != nil {
			cv.Queue = localeOf(lang).Dec(*call.SecondsToQueue, 1) + " " + text(lang, "unit.s")
		}
		var vs []string
		for _, vd := range call.Verdicts {
			vs = append(vs, localeOf(lang).verdictBy(vd.Verdict, vd.By))
		}
		cv.Verdicts = orDash(strings.Join(vs, ", "), len(vs) == 0, dash)
		v.Calls = append(v.Calls, cv)
	}
	for _, b := range h.Blocks {
		bv := blockView{Time: consoleTime(b.Time, c.o.Location), Until: dash, Strikes: strconv.Itoa(b.Strikes), Reason: orDash(localeOf(lang).Reason(b.ReasonCode, b.ReasonArgs, b.Reason), b.Reason == "" && b.ReasonCode == "", dash)}
		if b.Until != nil {
			bv.Until = consoleTime(*b.Until, c.o.Location)
		}
		v.Blocks = append(v.Blocks, bv)
	}
	if h.Now != nil {
		v.Blocked = h.Now.Blocked
		if h.Now.Blocked && h.Now.Until != nil {
			v.State = fmt.Sprintf(text(lang, "number.blocked"), consoleTime(*h.Now.Until, c.o.Location), h.Now.Level, h.Now.Strikes, localeOf(lang).Reason(h.Now.ReasonCode, h.Now.ReasonArgs, h.Now.Reason))
		} else {
			v.State = fmt.Sprintf(text(lang, "number.notblocked"), h.Now.Strikes)
		}
	}
	c.render(w, http.StatusOK, "number", consolePage{
		Lang: lang, Title: fmt.Sprintf(text(lang, "title.number"), shown), Session: &s, Number: h.Number, Shown: shown,
		History: v, Notice: c.noticeText(lang, s, r.URL.Query()),
	})
}

func orDash(v string, empty bool, dash string) string {
	if empty {
		return dash
	}
	return v
}
