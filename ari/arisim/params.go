package arisim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// errBadBody is returned for request bodies Asterisk would not parse.
var errBadBody = errors.New("error parsing request body")

// params merges the query string and the request body, as Asterisk does: any
// parameter may come in the query, a form body or a JSON object body. Asterisk
// lists form fields before the query's and lets a later occurrence of a name
// replace an earlier one, so a repeated parameter counts only once, the query's
// over the form's; a field of a JSON body replaces both.
type params struct {
	r    *http.Request
	q    url.Values
	body map[string]any
}

func parseParams(r *http.Request) (*params, error) {
	p := &params{r: r, q: r.URL.Query()}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	defer drainBody(r.Body)
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBody, err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, errBadBody
		}
		for k, vs := range p.q {
			form[k] = append(form[k], vs...)
		}
		p.q = form
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, errBadBody
	}
	p.body = m
	return p, nil
}

// last returns the query or form value that counts for name: the last one.
func (p *params) last(name string) (string, bool) {
	vs := p.q[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

func (p *params) path(name string) string { return p.r.PathValue(name) }

// id returns the id a create request names: in the path
// (POST /channels/{channelId}) or else, on the route without it, in the query
// or body. "" means the caller makes one up.
func (p *params) id(name string) string {
	if v := p.path(name); v != "" {
		return v
	}
	return p.str(name)
}

// oneOf returns an enumerated parameter, def when it is absent, and whether
// the value is one of allowed.
func (p *params) oneOf(name, def string, allowed ...string) (string, bool) {
	v := p.str(name)
	if v == "" {
		v = def
	}
	return v, slices.Contains(allowed, v)
}

// str returns a parameter as a string; JSON numbers and booleans are rendered.
func (p *params) str(name string) string {
	v, ok := p.body[name]
	if !ok || v == nil {
		s, _ := p.last(name)
		return s
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case []any:
		return strings.Join(p.strs(name), ",")
	default:
		return fmt.Sprint(t)
	}
}

// strs returns a parameter that allows several values: comma separated or a
// JSON array.
func (p *params) strs(name string) []string {
	var raw []string
	if v, ok := p.body[name]; ok && v != nil {
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok {
					raw = append(raw, s)
				}
			}
		case string:
			raw = []string{t}
		}
	} else if s, ok := p.last(name); ok {
		raw = []string{s}
	}
	var out []string
	for _, r := range raw {
		for _, part := range strings.Split(r, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// integer returns an int parameter or def when absent; a malformed value is an error.
func (p *params) integer(name string, def int) (int, error) {
	s := p.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("%s: not an integer", name)
		}
		n = int(f)
	}
	return n, nil
}

// variables returns the "variables" body container; Asterisk accepts both
// {"variables": {...}} and a bare object of variables for setChannelVars.
func (p *params) variables() map[string]string {
	v, ok := p.body["variables"]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if inner, ok := m["variables"].(map[string]any); ok && len(m) == 1 {
		m = inner
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch t := val.(type) {
		case string:
			out[k] = t
		case json.Number:
			out[k] = t.String()
		default:
			out[k] = fmt.Sprint(t)
		}
	}
	return out
}

// drainBody discards a request body so keep-alive connections can be reused.
func drainBody(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}
