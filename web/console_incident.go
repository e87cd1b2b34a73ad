package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/incident"
)

// Incidents starts and stops the incident announcement (incident.Store).
type Incidents interface {
	Current(ctx context.Context) (incident.Incident, error)
	Start(ctx context.Context, title, media string, length time.Duration, by string) (incident.Incident, error)
	Stop(ctx context.Context, by string) (incident.Incident, error)
}

// incidentView is the incident page's data.
type incidentView struct {
	Lang       string
	Supervisor bool
	CSRF       string
	Active     bool
	Title      string
	Media      string
	// MediaName is the playing announcement as its choice is named, and
	// MediaListen where to hear it ("" when it cannot be heard here).
	MediaName   string
	MediaListen string
	By          string
	Started     string
	Expires     string
	Prompts     []promptChoice
	// Form is the start form as typed, shown again with its Error when it
	// was refused.
	Form     incidentForm
	Error    string
	MaxTitle int
}

// incidentForm is what was typed in the start form.
type incidentForm struct{ Title, Media, For string }

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request) {
	s, ok := c.Who(r)
	if !ok {
		http.Redirect(w, r, "/login?next=/console/incident", http.StatusSeeOther)
		return
	}
	lang := negotiate(r, c.o.Language).Tag
	c.showIncident(w, r, s, lang, http.StatusOK, incidentForm{For: text(lang, "incident.for.default")}, "")
}

// showIncident renders the incident page; a refused start form comes back
// with what was typed and the error next to it.
func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, s Session, lang string, status int, form incidentForm, errMsg string) {
	v := &incidentView{Lang: lang, Supervisor: s.Supervisor(), CSRF: s.CSRF, Form: form, Error: errMsg, MaxTitle: incident.MaxTitle}
	// Prepared announcements, then those recorded by phone (newest first),
	// each with a player (console_listen.go).
	v.Prompts = c.incidentChoices(r.Context(), lang)
	if c.o.Incidents == nil {
		c.render(w, http.StatusServiceUnavailable, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: text(lang, "incident.unavailable"), Session: &s, Next: "/"})
		return
	}
	i, err := c.o.Incidents.Current(r.Context())
	if err != nil && !errors.Is(err, incident.ErrNone) {
		c.render(w, http.StatusServiceUnavailable, "message", consolePage{Lang: lang, Title: "Siaga 112", Error: c.failure(r, lang, failRead, err), Session: &s, Next: "/"})
		return
	}
	if i.Active(c.o.Now()) {
		v.Active, v.Title, v.Media, v.By = true, i.Title, i.Media, i.By
		// The announcement playing is named and played as its choice is,
		// when it still is one.
		v.MediaName = i.Media
		if k := slices.IndexFunc(v.Prompts, func(p promptChoice) bool { return p.Media == i.Media }); k >= 0 {
			v.MediaName, v.MediaListen = v.Prompts[k].Name, v.Prompts[k].Listen
		}
		v.Started = consoleTime(i.Started, c.o.Location)
		v.Expires = consoleTime(i.Expires, c.o.Location)
	}
	c.render(w, status, "incident", consolePage{Lang: lang, Title: text(lang, "incident.title"), Session: &s, Incident: v, Notice: c.noticeText(lang, s, r.URL.Query())})
}

func (c *Console) incidentStart(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	if c.o.Incidents == nil {
		c.fail(w, r, lang, http.StatusServiceUnavailable, text(lang, "incident.unavailable"))
		return
	}
	title, media := strings.TrimSpace(r.PostForm.Get("title")), strings.TrimSpace(r.PostForm.Get("media"))
	var length time.Duration
	var err error
	if f := strings.TrimSpace(r.PostForm.Get("for")); f != "" {
		if length, err = blocklist.ParseLength(f); err != nil {
			err = fmt.Errorf("%w: %w", errBadLength, err)
		}
	}
	if err == nil {
		err = incident.CheckTitle(title)
	}
	if err == nil && !confirming(r) {
		err = incident.CheckMedia(media)
	}
	if err == nil && !confirming(r) {
		shown := length
		if shown <= 0 {
			shown = incident.DefaultFor
		}
		words := fmt.Sprintf(text(lang, "confirm.incident_start"), title, localeOf(lang).Span(shown), localeOf(lang).DayTime(c.o.Now().Add(shown).In(c.o.Location)))
		c.ask(w, r, s, lang, words, text(lang, "incident.start"), false,
			formField{"title", title}, formField{"media", media}, formField{"for", r.PostForm.Get("for")})
		return
	}
	var i incident.Incident
	if err == nil {
		i, err = c.o.Incidents.Start(r.Context(), title, media, length, s.Name)
	}
	if err != nil {
		// As the block form: the start form comes back as typed, the
		// fault named in the page's language.
		c.audit(r, s, "incident_start", "", "refused: "+err.Error())
		form := incidentForm{Title: title, Media: media, For: r.PostForm.Get("for")}
		msg := c.formError(r, lang, err, form.For)
		if errors.Is(err, incident.ErrBadTitle) {
			msg = fmt.Sprintf(text(lang, "err.title"), incident.MaxTitle, utf8.RuneCountInString(title))
		}
		c.showIncident(w, r, s, lang, formStatus(err), form, msg)
		return
	}
	c.audit(r, s, "incident_start", i.ID, "ok")
	c.done(w, r, "incident_started", "", fmt.Sprintf(text(lang, "ok.incident.started"), i.Title, localeOf(lang).HM(i.Expires.In(c.o.Location))))
}

func (c *Console) incidentStop(w http.ResponseWriter, r *http.Request) {
	s, ok := c.formSession(w, r, true)
	if !ok {
		return
	}
	lang := c.formLang(r)
	if c.o.Incidents == nil {
		c.fail(w, r, lang, http.StatusServiceUnavailable, text(lang, "incident.unavailable"))
		return
	}
	if !confirming(r) {
		cur, err := c.o.Incidents.Current(r.Context())
		if err == nil {
			c.ask(w, r, s, lang, fmt.Sprintf(text(lang, "confirm.incident_stop"), cur.Title), text(lang, "incident.stop"), true)
			return
		}
		// Nothing to stop, or the store cannot say: answered as the stop
		// itself would be.
	}
	i, err := c.o.Incidents.Stop(r.Context(), s.Name)
	if err != nil {
		c.audit(r, s, "incident_stop", "", "refused: "+err.Error())
		c.fail(w, r, lang, formStatus(err), c.formError(r, lang, err, ""))
		return
	}
	c.audit(r, s, "incident_stop", i.ID, "ok")
	c.done(w, r, "incident_stopped", "", fmt.Sprintf(text(lang, "ok.incident.stopped"), i.Title))
}
