package web

import (
	"fmt"
	"net/url"

	"github.com/siaga112/siaga112/callid"
)

// A form's answer sends the browser back to its page with ?notice=CODE and
// ?on=SUBJECT. The page shows only the catalogue's message for a known
// code, with a subject checked for its kind (a call id, a number), never
// text from the URL: a link from anywhere must not put words of its own in
// a green "official" box on a console page.

// notice is one message a page can show after a form.
type notice struct {
	key string
	// subject checks ?on= and returns it as shown; nil: no subject.
	subject func(c *Console, s Session, on string) (string, bool)
	// verdict is the verdict word of a verdict notice.
	verdict string
}

var notices = map[string]notice{
	"verdict_prank":      {key: "ok.verdict", subject: callSubject, verdict: "prank"},
	"verdict_genuine":    {key: "ok.verdict", subject: callSubject, verdict: "genuine"},
	"verdict_undone":     {key: "ok.undone", subject: callSubject},
	"handled":            {key: "ok.handled", subject: callSubject},
	"taken":              {key: "ok.taken", subject: callSubject},
	"blocked":            {key: "notice.blocked", subject: numberSubject},
	"lifted":             {key: "ok.lifted", subject: numberSubject},
	"incident_started":   {key: "notice.incident.started"},
	"incident_stopped":   {key: "notice.incident.stopped"},
	"callback_cancelled": {key: "ok.cb.cancelled", subject: callSubject},
	"callback_on":        {key: "ok.cb.on"},
	"callback_off":       {key: "ok.cb.off"},
}

func callSubject(_ *Console, _ Session, on string) (string, bool) {
	return on, callid.Valid(on)
}

func numberSubject(c *Console, s Session, on string) (string, bool) {
	n, err := normalizeNumber(on, c.o.DefaultCountry)
	if err != nil || n.IsAnonymous() {
		return "", false
	}
	if !s.Supervisor() {
		return maskNumber(n.E164), true
	}
	return displayNumber(n.E164), true
}

// noticeText is the message a page shows for its query ("" for none, an
// unknown code or a subject that does not check).
func (c *Console) noticeText(lang string, s Session, q url.Values) string {
	n, ok := notices[q.Get("notice")]
	if !ok {
		return ""
	}
	if n.subject == nil {
		return text(lang, n.key)
	}
	on, ok := n.subject(c, s, q.Get("on"))
	if !ok {
		return ""
	}
	if n.verdict != "" {
		return fmt.Sprintf(text(lang, n.key), text(lang, "btn."+n.verdict), on)
	}
	return fmt.Sprintf(text(lang, n.key), on)
}
