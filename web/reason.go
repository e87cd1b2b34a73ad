package web

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/blocklist"
)

// Reason is a blocklist reason in l's language. The record keeps its
// reason twice: as English text, which the CLI and the API show and which
// is all an older record or an admin's typed reason has, and as a code
// with parameters (blocklist.CodeAutoBlock, ...), which is what a page can
// translate. The text is shown whenever the code cannot be said in full:
// no code, a code this build does not know (a newer worker wrote it), or a
// parameter missing or unreadable. Half a translation would be worse than
// the English the record holds. A record or event from before codes has
// only the text; if it is exactly a text the policy itself wrote then
// (blocklist.LegacyReason), it is said as its code, and any other text,
// an admin's typed reason above all, is shown as stored.
func (l *locale) Reason(code string, args map[string]string, stored string) string {
	if code == "" {
		var ok bool
		if code, args, ok = blocklist.LegacyReason(stored); !ok {
			return stored
		}
	}
	if code != blocklist.CodeAutoBlock {
		if _, ok := l.msgs["reason."+code]; !ok {
			return stored
		}
		return l.T("reason." + code)
	}
	strikes, err1 := strconv.Atoi(args[blocklist.ArgStrikes])
	level, err2 := strconv.Atoi(args[blocklist.ArgLevel])
	window, err3 := time.ParseDuration(args[blocklist.ArgWindow])
	length, err4 := time.ParseDuration(args[blocklist.ArgLength])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return stored
	}
	var kinds []string
	for k := range args {
		if kind, ok := strings.CutPrefix(k, blocklist.ArgCountPrefix); ok {
			kinds = append(kinds, kind)
		}
	}
	// Sorted by the stored kind, as the English text is, so the two
	// renderings of one record list the strikes in the same order.
	slices.Sort(kinds)
	counts := make([]string, 0, len(kinds))
	for _, kind := range kinds {
		n, err := strconv.Atoi(args[blocklist.ArgCountPrefix+kind])
		name, ok := l.msgs["reason.kind."+kind]
		if err != nil || !ok {
			return stored
		}
		counts = append(counts, l.T("reason.count", name, n))
	}
	return l.T("reason."+code, strikes, l.Span(window), strings.Join(counts, ", "), level, l.Span(length))
}

// verdictBy is an operator's verdict with who gave it, in l's language; a
// verdict the catalogue does not know is shown as stored rather than as
// its catalogue key.
func (l *locale) verdictBy(verdict, by string) string {
	name := verdict
	if m, ok := l.msgs["verdict."+verdict]; ok {
		name = m
	}
	return l.T("csv.verdict_by", name, by)
}
