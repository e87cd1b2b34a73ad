package configs

import (
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret wherever siaga112 shows a value: `config
// check`, error messages, logs and /healthz.
const Redacted = "***"

// RedactURL returns u with the password of its userinfo replaced by
// Redacted ("nats://user:***@host:4222"); a userinfo without a colon is a
// token and is replaced whole ("nats://***@host"). u may be a
// comma-separated list of URLs, as nats.url is; each is redacted. An entry
// without a scheme is read as nats.go reads one ("user:pass@host:4222"),
// so its userinfo is redacted too. Text without an '@' is returned
// unchanged.
//
// It works on the text rather than through net/url so that a URL net/url
// refuses (a password with a stray '%' or '#', say) is still redacted.
//
// Secrets in the query are hidden too: Asterisk's ARI takes its login as
// "?api_key=user:password", and a URL written that way would otherwise be
// printed whole (see secretParam).
func RedactURL(u string) string {
	u = redactParams(u)
	if !strings.Contains(u, "@") {
		return u
	}
	parts := strings.Split(u, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

// secretParam finds query parameters that carry a login: ARI's api_key
// (user:password), and the usual password and token names. The value runs
// to the next '&', '#', white space or quote.
var secretParam = regexp.MustCompile(`(?i)([?&](?:api_key|apikey|password|passwd|pass|token|access_token|secret)=)[^&#\s"']*`)

// redactParams hides the values of secretParam's parameters.
func redactParams(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return secretParam.ReplaceAllString(s, "${1}"+Redacted)
}

// redactOne redacts the userinfo of one URL: the text between "://" and
// the last '@' of the authority, which ends at the first '/', '?' or '#'.
// When the authority has no '@' but the URL does and net/url cannot parse
// it (a password holding a '/' or '#'), everything up to the last '@' is
// taken for userinfo: a mangled display beats a shown password.
func redactOne(u string) string {
	start := strings.Index(u, "://")
	if start < 0 {
		// A bare host:port with userinfo, as nats.url accepts.
		at := strings.LastIndex(u, "@")
		if at < 0 {
			return u
		}
		lead := len(u) - len(strings.TrimLeft(u, " "))
		return u[:lead] + maskUserinfo(u[lead:at]) + u[at:]
	}
	start += len("://")
	rest := u[start:]
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		if _, err := url.Parse(u); err == nil {
			return u
		}
		if at = strings.LastIndex(rest, "@"); at < 0 {
			return u
		}
	}
	return u[:start] + maskUserinfo(rest[:at]) + rest[at:]
}

// maskUserinfo keeps the user name of "user:password" and hides the
// password; a userinfo without a colon is a token and is hidden whole.
func maskUserinfo(userinfo string) string {
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return user + ":" + Redacted
	}
	return Redacted
}

// urlInText finds URLs with userinfo inside free text, such as an error
// message from a client library: a scheme, "://", then userinfo up to an
// '@'. The userinfo may hold anything but white space, '/' and '@' except
// for the last '@'.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#"']*@`)

// RedactText returns s with the userinfo of every URL in it redacted as
// RedactURL does. Use it on error messages and other text that may quote a
// URL (a WebSocket dial error names the URL it dialled, password included)
// before it is logged or served.
func RedactText(s string) string {
	s = redactParams(s)
	if !strings.Contains(s, "@") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		// m is "scheme://userinfo@"; keep the user name, hide the rest.
		i := strings.Index(m, "://") + len("://")
		return m[:i] + maskUserinfo(m[i:len(m)-1]) + "@"
	})
}
