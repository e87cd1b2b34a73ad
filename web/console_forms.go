package web

import (
	"net/http"
	"net/url"
	"strings"
)

// formSession checks a form post: a live session, the session's CSRF
// token in the form, and the supervisor role when asked. On failure it has
// answered the request.
func (c *Console) formSession(w http.ResponseWriter, r *http.Request, supervisor bool) (Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		lang := negotiate(r, c.o.Language).Tag
		c.fail(w, r, lang, http.StatusBadRequest, text(lang, "err.action"))
		return Session{}, false
	}
	lang := c.formLang(r)
	s, ok := c.Who(r)
	if !ok {
		c.fail(w, r, lang, http.StatusUnauthorized, text(lang, "err.signin"))
		return Session{}, false
	}
	if !sameToken(r.PostForm.Get("csrf"), s.CSRF) {
		c.audit(r, s, "form", r.URL.Path, "refused: missing or wrong CSRF token")
		c.fail(w, r, lang, http.StatusForbidden, text(lang, "err.csrf"))
		return Session{}, false
	}
	if supervisor && !s.Supervisor() {
		c.audit(r, s, "form", r.URL.Path, "refused: not a supervisor")
		c.fail(w, r, lang, http.StatusForbidden, text(lang, "err.role"))
		return Session{}, false
	}
	return s, true
}

// formLang is the language of a form's answer: the language of the page
// the form was on (its back address says it), else as for any page.
func (c *Console) formLang(r *http.Request) string {
	if u, err := url.Parse(r.PostForm.Get("back")); err == nil {
		if l := u.Query().Get("lang"); SupportedLanguage(l) {
			return l
		}
	}
	return negotiate(r, c.o.Language).Tag
}

// wantsJSON reports whether the client asked for a JSON answer.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers a refused or failed action: JSON for scripts, otherwise a
// short page with the message and a link back.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, lang string, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	p := consolePage{Lang: lang, Title: "Siaga 112", Error: msg, Next: localPath(r.PostFormValue("back"))}
	if s, ok := c.Who(r); ok {
		p.Session = &s
	}
	c.render(w, status, "message", p)
}

// refuse audits an action the store or the bus failed and answers it;
// status 0 means 400. The audit keeps the error's words; the person reads
// what failed and what to do (console_failure.go).
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, s Session, lang, action, target string, status int, err error) {
	if status == 0 {
		status = http.StatusBadRequest
	}
	c.audit(r, s, action, target, "refused: "+err.Error())
	c.fail(w, r, lang, status, c.failure(r, lang, failSave, err))
}

// done answers a successful action: JSON with msg for scripts, else back
// to where the form was with the notice's code and subject (notice.go).
func (c *Console) done(w http.ResponseWriter, r *http.Request, code, on, msg string) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"result": msg})
		return
	}
	back := localPath(r.PostForm.Get("back"))
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	q := url.Values{"notice": {code}}
	if on != "" {
		q.Set("on", on)
	}
	http.Redirect(w, r, back+sep+q.Encode(), http.StatusSeeOther)
}

// localPath accepts only a path on this site as a redirect target.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return p
}
