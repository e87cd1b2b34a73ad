package stack

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/siaga112/siaga112/configs"
)

// guard is what every request to the listener passes first: the Host
// check and, behind a TLS proxy, Secure cookies.
//
// DNS rebinding: a web page opened at a desk can point a name it controls
// at this listener's address and then read it from its own origin — the
// board, the API, numbers and all — because the browser sees the same name
// throughout. The request still names the attacker's host in Host, so a
// Host that is neither an allowed name (http.allowed_hosts) nor an IP
// literal is refused with 421 Misdirected Request. An IP literal cannot be
// rebound, so wall boards and probes that use the address keep working.
//
// Secure cookies: behind a TLS proxy the connection to us is plain HTTP,
// so the console, which marks its cookie Secure only on TLS, would send the
// session over HTTP too if a browser were lured to http://. With
// http.secure_cookies every cookie set on this listener is marked Secure.
func guard(cfg configs.HTTP, h http.Handler) http.Handler {
	allowed := make([]string, 0, len(cfg.AllowedHosts))
	for _, a := range cfg.AllowedHosts {
		allowed = append(allowed, normHost(a))
	}
	secure := cfg.SecureCookies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte("host not served here: add it to http.allowed_hosts\n"))
			return
		}
		if secure {
			w = &secureCookies{ResponseWriter: w}
		}
		h.ServeHTTP(w, r)
	})
}

// normHost is a host name as compared: lower case, without a final dot.
func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// hostAllowed reports whether a request's Host (with or without a port)
// is an IP literal or one of allowed. An empty Host (HTTP/1.0) names no
// host and cannot be a rebound name, so it passes.
func hostAllowed(hostport string, allowed []string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return slices.Contains(allowed, normHost(host))
}

// secureCookies adds the Secure attribute to every Set-Cookie header when
// the answer's header is written.
type secureCookies struct {
	http.ResponseWriter
	marked bool
}

func (w *secureCookies) mark() {
	if w.marked {
		return
	}
	w.marked = true
	cs := w.Header()["Set-Cookie"]
	for i, c := range cs {
		if !hasSecure(c) {
			cs[i] = c + "; Secure"
		}
	}
}

func (w *secureCookies) WriteHeader(code int) {
	w.mark()
	w.ResponseWriter.WriteHeader(code)
}

func (w *secureCookies) Write(b []byte) (int, error) {
	w.mark()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// deadlines of the board's stream).
func (w *secureCookies) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hasSecure reports whether a Set-Cookie value has the Secure attribute.
func hasSecure(setCookie string) bool {
	for a := range strings.SplitSeq(setCookie, ";") {
		if strings.EqualFold(strings.TrimSpace(a), "Secure") {
			return true
		}
	}
	return false
}
