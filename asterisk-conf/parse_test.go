package asteriskconf

// Small readers for the files the consistency test checks: Asterisk's ini
// dialect (also good enough for systemd units), the dialplan on top of it,
// WAV headers, and Asterisk extension patterns. They understand what these
// files use, not every corner of Asterisk's config syntax, and fail loudly
// on what they do not understand.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// errSyntax is wrapped by every parse error, which also names file and line.
var errSyntax = errors.New("syntax error")

// confEntry is one "key = value" or "key => value" line.
type confEntry struct {
	Key, Value string
	Line       int
}

// confSection is one [name](options) block. Asterisk allows the same name
// more than once (pjsip.conf does it for endpoint, aor and auth), so a file
// is a list of sections, not a map.
type confSection struct {
	Name     string
	Template bool     // [name](!)
	Append   bool     // [name](+)
	Inherits []string // [name](tmpl1,tmpl2)
	Entries  []confEntry
	Line     int
}

// get returns the last value of key in the section itself.
func (s *confSection) get(key string) (string, bool) {
	v, ok := "", false
	for _, e := range s.Entries {
		if strings.EqualFold(e.Key, key) {
			v, ok = e.Value, true
		}
	}
	return v, ok
}

// all returns every value of key in the section itself, in order.
func (s *confSection) all(key string) []string {
	var out []string
	for _, e := range s.Entries {
		if strings.EqualFold(e.Key, key) {
			out = append(out, e.Value)
		}
	}
	return out
}

// confFile is a parsed Asterisk-style configuration file.
type confFile struct {
	Path     string
	Sections []*confSection
}

// named returns the non-template sections called name.
func (f *confFile) named(name string) []*confSection {
	var out []*confSection
	for _, s := range f.Sections {
		if s.Name == name && !s.Template {
			out = append(out, s)
		}
	}
	return out
}

// effective returns the section's entries after its templates' (as Asterisk
// applies them: inherited first, own entries after and winning).
func (f *confFile) effective(s *confSection) *confSection {
	out := &confSection{Name: s.Name, Line: s.Line}
	var visit func(sec *confSection, depth int)
	visit = func(sec *confSection, depth int) {
		if depth > 10 {
			return
		}
		for _, name := range sec.Inherits {
			for _, t := range f.Sections {
				if t.Name == name && t.Template {
					visit(t, depth+1)
				}
			}
		}
		out.Entries = append(out.Entries, sec.Entries...)
	}
	visit(s, 0)
	return out
}

// parseConf reads an Asterisk configuration file. comment lists the
// characters that start a comment (";" for Asterisk, "#;" for systemd).
func parseConf(path, comment string) (*confFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readConf(path, fh, comment)
}

func readConf(path string, r io.Reader, comment string) (*confFile, error) {
	f := &confFile{Path: path}
	var cur *confSection
	sc := bufio.NewScanner(r)
	inBlock := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		// Asterisk's block comments: ;-- ... --;
		if inBlock {
			if i := strings.Index(line, "--;"); i >= 0 {
				line, inBlock = line[i+3:], false
			} else {
				continue
			}
		}
		if strings.Contains(comment, ";") {
			if i := strings.Index(line, ";--"); i >= 0 {
				if j := strings.Index(line[i+3:], "--;"); j >= 0 {
					line = line[:i] + line[i+3+j+3:]
				} else {
					line, inBlock = line[:i], true
				}
			}
		}
		line = strings.TrimSpace(stripComment(line, comment))
		if line == "" {
			continue
		}
		if line[0] == '#' {
			// #include / #exec would hide part of the configuration from
			// this test; the shipped files do not use them.
			return nil, fmt.Errorf("%s:%d: %w: directive %q not supported here", path, n, errSyntax, line)
		}
		if line[0] == '[' {
			s, err := parseHeader(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			s.Line = n
			f.Sections = append(f.Sections, s)
			cur = s
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: %w: expected key = value, got %q", path, n, errSyntax, line)
		}
		value = strings.TrimPrefix(value, ">")
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %w: %q before any [section]", path, n, errSyntax, line)
		}
		cur.Entries = append(cur.Entries, confEntry{
			Key: strings.TrimSpace(key), Value: strings.TrimSpace(value), Line: n,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if inBlock {
		return nil, fmt.Errorf("%s: %w: block comment ;-- not closed", path, errSyntax)
	}
	return f, nil
}

// stripComment cuts line at the first unescaped comment character.
func stripComment(line, comment string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if strings.IndexByte(comment, line[i]) >= 0 {
			return line[:i]
		}
	}
	return line
}

// parseHeader reads "[name]" or "[name](opts)".
func parseHeader(line string) (*confSection, error) {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return nil, fmt.Errorf("%w: unclosed section header %q", errSyntax, line)
	}
	s := &confSection{Name: strings.TrimSpace(line[1:end])}
	if s.Name == "" {
		return nil, fmt.Errorf("%w: empty section name", errSyntax)
	}
	rest := strings.TrimSpace(line[end+1:])
	if rest == "" {
		return s, nil
	}
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return nil, fmt.Errorf("%w: unexpected %q after section name", errSyntax, rest)
	}
	for _, opt := range strings.Split(rest[1:len(rest)-1], ",") {
		switch opt = strings.TrimSpace(opt); opt {
		case "!":
			s.Template = true
		case "+":
			s.Append = true
		case "":
			return nil, fmt.Errorf("%w: empty option in %q", errSyntax, line)
		default:
			s.Inherits = append(s.Inherits, opt)
		}
	}
	return s, nil
}

// dpStep is one priority of a dialplan extension.
type dpStep struct {
	Label string
	App   string
	Args  []string
	Line  int
}

// dpContext is one dialplan context.
type dpContext struct {
	Name     string
	Includes []string
	Exts     map[string][]dpStep // by extension name or pattern, in priority order
	Order    []string            // extension names in file order
}

// dialplan is a parsed extensions.conf.
type dialplan map[string]*dpContext

// parseDialplan turns extensions.conf into contexts and extensions. It
// accepts "exten => name,1,App(args)", "same => n(label),App(args)" and
// "include => context"; [general] and [globals] are not contexts.
func parseDialplan(f *confFile) (dialplan, error) {
	dp := dialplan{}
	for _, s := range f.Sections {
		if s.Name == "general" || s.Name == "globals" {
			continue
		}
		if s.Template {
			return nil, fmt.Errorf("%s:%d: %w: context templates not supported here", f.Path, s.Line, errSyntax)
		}
		ctx := dp[s.Name]
		if ctx == nil {
			ctx = &dpContext{Name: s.Name, Exts: map[string][]dpStep{}}
			dp[s.Name] = ctx
		}
		last := ""
		for _, e := range s.Entries {
			switch strings.ToLower(e.Key) {
			case "include":
				ctx.Includes = append(ctx.Includes, e.Value)
			case "exten", "same":
				name, prio, app := "", "", ""
				var ok bool
				rest := e.Value
				if strings.EqualFold(e.Key, "exten") {
					if name, rest, ok = strings.Cut(rest, ","); !ok {
						return nil, fmt.Errorf("%s:%d: %w: exten without priority", f.Path, e.Line, errSyntax)
					}
					name = strings.TrimSpace(name)
				} else {
					if last == "" {
						return nil, fmt.Errorf("%s:%d: %w: same => before any exten", f.Path, e.Line, errSyntax)
					}
					name = last
				}
				if prio, app, ok = strings.Cut(rest, ","); !ok {
					return nil, fmt.Errorf("%s:%d: %w: priority without application", f.Path, e.Line, errSyntax)
				}
				step, err := parseStep(strings.TrimSpace(prio), strings.TrimSpace(app))
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", f.Path, e.Line, err)
				}
				step.Line = e.Line
				steps := ctx.Exts[name]
				isFirst := strings.HasPrefix(prio, "1")
				switch {
				case len(steps) == 0 && !isFirst:
					return nil, fmt.Errorf("%s:%d: %w: %s starts at priority %q, not 1", f.Path, e.Line, errSyntax, name, prio)
				case len(steps) > 0 && strings.EqualFold(e.Key, "exten") && isFirst:
					return nil, fmt.Errorf("%s:%d: %w: extension %s defined twice in %s", f.Path, e.Line, errSyntax, name, s.Name)
				}
				if len(steps) == 0 {
					ctx.Order = append(ctx.Order, name)
				}
				ctx.Exts[name] = append(steps, step)
				last = name
			default:
				return nil, fmt.Errorf("%s:%d: %w: unknown dialplan key %q", f.Path, e.Line, errSyntax, e.Key)
			}
		}
	}
	return dp, nil
}

// parseStep reads a priority ("1", "n", "n(label)") and "App(args)".
func parseStep(prio, app string) (dpStep, error) {
	var st dpStep
	if i := strings.IndexByte(prio, '('); i >= 0 && strings.HasSuffix(prio, ")") {
		st.Label = prio[i+1 : len(prio)-1]
		prio = prio[:i]
	}
	if _, err := strconv.Atoi(prio); err != nil && prio != "n" {
		return st, fmt.Errorf("%w: bad priority %q", errSyntax, prio)
	}
	open := strings.IndexByte(app, '(')
	if open < 0 {
		st.App = app
		return st, nil
	}
	if !strings.HasSuffix(app, ")") {
		return st, fmt.Errorf("%w: unbalanced parentheses in %q", errSyntax, app)
	}
	st.App = app[:open]
	st.Args = splitArgs(app[open+1 : len(app)-1])
	return st, nil
}

// splitArgs splits application arguments at commas outside (), [] and "".
func splitArgs(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// find returns the steps Asterisk would run for exten in context, searching
// the context's own extensions (exact names first, then patterns) before its
// includes, in order, as Asterisk does. It also returns the context where
// the extension was found.
func (dp dialplan) find(context, exten string) ([]dpStep, string, bool) {
	return dp.findDepth(context, exten, 0)
}

func (dp dialplan) findDepth(context, exten string, depth int) ([]dpStep, string, bool) {
	ctx := dp[context]
	if ctx == nil || depth > 10 {
		return nil, "", false
	}
	if steps, ok := ctx.Exts[exten]; ok && !strings.HasPrefix(exten, "_") {
		return steps, context, true
	}
	for _, name := range ctx.Order {
		if strings.HasPrefix(name, "_") && matchPattern(name[1:], exten) {
			return ctx.Exts[name], context, true
		}
	}
	for _, inc := range ctx.Includes {
		if steps, where, ok := dp.findDepth(inc, exten, depth+1); ok {
			return steps, where, true
		}
	}
	return nil, "", false
}

// matchPattern reports whether s matches an Asterisk extension pattern
// (without its leading "_"): X is 0-9, Z is 1-9, N is 2-9, [..] a set with
// ranges, "." one or more characters, "!" zero or more, anything else itself.
func matchPattern(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch c := p[0]; c {
	case '.':
		for i := 1; i <= len(s); i++ {
			if matchPattern(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '!':
		for i := 0; i <= len(s); i++ {
			if matchPattern(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	if s == "" {
		return false
	}
	switch c := p[0]; c {
	case 'X', 'x':
		return s[0] >= '0' && s[0] <= '9' && matchPattern(p[1:], s[1:])
	case 'Z', 'z':
		return s[0] >= '1' && s[0] <= '9' && matchPattern(p[1:], s[1:])
	case 'N', 'n':
		return s[0] >= '2' && s[0] <= '9' && matchPattern(p[1:], s[1:])
	case '[':
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return false
		}
		set := p[1:end]
		in := false
		for i := 0; i < len(set); i++ {
			if i+2 < len(set) && set[i+1] == '-' {
				if s[0] >= set[i] && s[0] <= set[i+2] {
					in = true
				}
				i += 2
				continue
			}
			if s[0] == set[i] {
				in = true
			}
		}
		return in && matchPattern(p[end+1:], s[1:])
	default:
		return s[0] == c && matchPattern(p[1:], s[1:])
	}
}

// call is one application a walk through the dialplan reached, with its
// arguments after variable substitution.
type call struct {
	App     string
	Args    []string
	Context string
	Exten   string
	Line    int
}

// walk follows a call through the dialplan from context,exten,1 the way the
// PBX would with no caller input: step by step, into Goto and Gosub targets,
// substituting ${VAR} for variables Set on the way and ${EXTEN[:n]}. It
// stops at Hangup, at a Goto leaving the known dialplan, when a step is
// visited twice (a retry loop), or after a bounded number of steps, and
// returns every application reached in order (Goto and Gosub included).
func (dp dialplan) walk(context, exten string) ([]call, error) {
	vars := map[string]string{}
	var out []call
	type frame struct {
		context, exten string
		steps          []dpStep
		idx            int
	}
	steps, where, ok := dp.find(context, exten)
	if !ok {
		return nil, fmt.Errorf("no extension %s in %s or its includes", exten, context)
	}
	cur := frame{context: where, exten: exten, steps: steps}
	var stack []frame
	seen := map[string]bool{}
	jump := func(ctx, ext, prio string) error {
		target, where, ok := dp.find(ctx, ext)
		if !ok {
			return fmt.Errorf("jump to %s,%s,%s: no such extension", ctx, ext, prio)
		}
		idx := 0
		if prio != "" && prio != "1" {
			idx = -1
			for i, st := range target {
				if st.Label == prio {
					idx = i
				}
			}
			if n, err := strconv.Atoi(prio); err == nil && n >= 1 && n <= len(target) {
				idx = n - 1
			}
			if idx < 0 {
				return fmt.Errorf("jump to %s,%s,%s: no such priority or label", ctx, ext, prio)
			}
		}
		cur = frame{context: where, exten: ext, steps: target, idx: idx}
		return nil
	}
	for n := 0; n < 500; n++ {
		if cur.idx >= len(cur.steps) {
			return out, nil // falls off the end: Asterisk hangs up
		}
		key := fmt.Sprintf("%s,%s,%d", cur.context, cur.exten, cur.idx)
		if seen[key] && len(stack) == 0 {
			return out, nil
		}
		seen[key] = true
		st := cur.steps[cur.idx]
		cur.idx++
		args := make([]string, len(st.Args))
		for i, a := range st.Args {
			args[i] = expand(a, vars, cur.exten)
		}
		out = append(out, call{App: st.App, Args: args, Context: cur.context, Exten: cur.exten, Line: st.Line})
		switch strings.ToLower(st.App) {
		case "set":
			if len(args) > 0 {
				if k, v, ok := strings.Cut(args[0], "="); ok && !strings.Contains(k, "(") {
					vars[k] = v
				}
			}
		case "hangup":
			return out, nil
		case "return":
			if len(stack) == 0 {
				return out, fmt.Errorf("%s,%s: Return outside Gosub", cur.context, cur.exten)
			}
			cur, stack = stack[len(stack)-1], stack[:len(stack)-1]
		case "goto", "gosub":
			if strings.EqualFold(st.App, "gosub") {
				stack = append(stack, cur)
			}
			var err error
			switch len(args) {
			case 1:
				err = jump(cur.context, cur.exten, args[0])
			case 2:
				err = jump(cur.context, args[0], args[1])
			case 3:
				err = jump(args[0], args[1], args[2])
			default:
				err = fmt.Errorf("%s(%s): unsupported arguments", st.App, strings.Join(args, ","))
			}
			if err != nil {
				return out, fmt.Errorf("line %d: %w", st.Line, err)
			}
			// A Gosub target's arguments in parentheses (name,1(arg)) are
			// not used by the shipped dialplan.
		}
	}
	return out, fmt.Errorf("walk from %s,%s did not end within 500 steps", context, exten)
}

// expand substitutes ${NAME} and ${NAME:offset} for known variables and
// EXTEN; anything else is left as written.
func expand(s string, vars map[string]string, exten string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		expr := s[i+2 : i+j]
		name, off, hasOff := strings.Cut(expr, ":")
		val, known := vars[name], false
		if _, ok := vars[name]; ok {
			known = true
		}
		if name == "EXTEN" {
			val, known = exten, true
		}
		if n, err := strconv.Atoi(off); known && hasOff && err == nil && n >= 0 && n <= len(val) {
			val = val[n:]
		} else if hasOff {
			known = false
		}
		if known {
			b.WriteString(val)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// wavInfo is what Asterisk cares about in a WAV header.
type wavInfo struct {
	Format     uint16 // 1 = PCM
	Channels   uint16
	SampleRate uint32
	Bits       uint16
	DataBytes  uint32
	FileBytes  int64
	RIFFBytes  uint32 // size field of the RIFF header (file size - 8)
}

// Seconds is the length of the audio.
func (w wavInfo) Seconds() float64 {
	bytesPerSec := float64(w.SampleRate) * float64(w.Channels) * float64(w.Bits) / 8
	if bytesPerSec == 0 {
		return 0
	}
	return float64(w.DataBytes) / bytesPerSec
}

// readWAV reads the RIFF header and chunk list of a WAV file.
func readWAV(path string) (wavInfo, error) {
	var w wavInfo
	data, err := os.ReadFile(path)
	if err != nil {
		return w, err
	}
	w.FileBytes = int64(len(data))
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return w, fmt.Errorf("%s: %w: not a RIFF/WAVE file", path, errSyntax)
	}
	w.RIFFBytes = binary.LittleEndian.Uint32(data[4:8])
	haveFmt := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		body := off + 8
		if body+size > len(data) {
			return w, fmt.Errorf("%s: %w: chunk %q runs past the end of the file", path, errSyntax, id)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return w, fmt.Errorf("%s: %w: fmt chunk of %d bytes", path, errSyntax, size)
			}
			c := data[body:]
			w.Format = binary.LittleEndian.Uint16(c[0:2])
			w.Channels = binary.LittleEndian.Uint16(c[2:4])
			w.SampleRate = binary.LittleEndian.Uint32(c[4:8])
			w.Bits = binary.LittleEndian.Uint16(c[14:16])
			haveFmt = true
		case "data":
			if !haveFmt {
				return w, fmt.Errorf("%s: %w: data chunk before fmt chunk", path, errSyntax)
			}
			w.DataBytes = uint32(size)
			return w, nil
		}
		off = body + size + size%2 // chunks are padded to even sizes
	}
	return w, fmt.Errorf("%s: %w: no data chunk", path, errSyntax)
}
