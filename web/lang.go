package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// The dashboard speaks the supervisors' language. Every word a person reads
// on it — labels, legends, outcome and type names, banners, errors — comes
// from a catalogue below, and every number, date and time goes through the
// locale's formatters, so a template or handler never holds English text and
// a new language is one more catalogue. The catalogues are Go maps rather
// than files so a missing key fails a unit test (TestCatalogues), not a wall
// screen at night.

// Languages the dashboard speaks.
const (
	// LangID is Bahasa Indonesia, the default.
	LangID = "id"
	// LangEN is English.
	LangEN = "en"
)

// Languages lists the supported language tags, the default first.
var Languages = []string{LangID, LangEN}

// locale formats text, numbers and times for one language.
type locale struct {
	// Tag is the BCP 47 tag written into <html lang>.
	Tag      string
	msgs     map[string]string
	decimal  string // decimal separator
	group    string // thousands separator
	timeSep  string // between hours and minutes: id-ID writes 14.05
	months   [12]string
	weekdays [7]string
}

var locales = map[string]*locale{
	LangID: {
		Tag: LangID, msgs: catalogueID, decimal: ",", group: ".", timeSep: ".",
		months:   [12]string{"Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"},
		weekdays: [7]string{"Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"},
	},
	LangEN: {
		Tag: LangEN, msgs: catalogueEN, decimal: ".", group: ",", timeSep: ":",
		months:   [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	},
}

// SupportedLanguage reports whether tag names a language the dashboard has
// a catalogue for; configuration validation can use it.
func SupportedLanguage(tag string) bool { return locales[tag] != nil }

// negotiate picks the page's language: ?lang= first (a link or bookmark on
// a wall screen), then the browser's Accept-Language in order of preference,
// then the configured default. Region subtags are ignored (en-US is en).
func negotiate(r *http.Request, def string) *locale {
	if l := locales[strings.ToLower(r.URL.Query().Get("lang"))]; l != nil {
		return l
	}
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if locales[base] != nil && q > 0 {
			prefs = append(prefs, pref{base, q})
		}
	}
	// A stable sort keeps the header's order among equal weights.
	slices.SortStableFunc(prefs, func(a, b pref) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(prefs) > 0 {
		return locales[prefs[0].tag]
	}
	if l := locales[def]; l != nil {
		return l
	}
	return locales[LangID]
}

// localeOf is the locale of tag, the default language's for a tag the
// catalogues do not have.
func localeOf(tag string) *locale {
	if l := locales[tag]; l != nil {
		return l
	}
	return locales[LangID]
}

// text is key's message in lang, unformatted: the console's handlers and
// pages format it themselves.
func text(lang, key string) string { return localeOf(lang).T(key) }

// T returns the message for key, formatted with args when there are any. A
// key missing from the catalogue shows as itself, so the gap is visible
// rather than silently English.
func (l *locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Int formats n with the locale's thousands separator: 1.234 (id), 1,234 (en).
func (l *locale) Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Dec formats v with prec decimals: 12,5 (id), 12.5 (en).
func (l *locale) Dec(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Dash
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := l.Int(n)
	if v < 0 && s != strconv.FormatFloat(0, 'f', prec, 64) {
		out = "-" + out
	}
	if frac != "" {
		out += l.decimal + frac
	}
	return out
}

// Pct formats a ratio (0.125) as a percentage with one decimal: 12,5%.
func (l *locale) Pct(r float64) string { return l.Dec(r*100, 1) + "%" }

// Pct0 formats a ratio as a whole percentage: 93%. The board's queue
// tiles use it, where three shares share one tile.
func (l *locale) Pct0(r float64) string { return l.Dec(r*100, 0) + "%" }

// Wait is a duration of seconds as minutes and seconds, with the locale's
// time separator: 1.05 (id), 1:05 (en). The board's script ticks the same
// form (web/dashboard.js).
func (l *locale) Wait(secs float64) string {
	n := int64(math.Max(0, secs))
	return strconv.FormatInt(n/60, 10) + l.timeSep + fmt.Sprintf("%02d", n%60)
}

// TimeSep is the separator of hours and minutes (and of a wait's minutes
// and seconds): "." (id), ":" (en).
func (l *locale) TimeSep() string { return l.timeSep }

// Clock is a 24-hour time with seconds: 14.05.09 (id), 14:05:09 (en).
func (l *locale) Clock(t time.Time) string {
	return fmt.Sprintf("%02d%s%02d%s%02d", t.Hour(), l.timeSep, t.Minute(), l.timeSep, t.Second())
}

// HM is a 24-hour time without seconds: 14.05 (id), 14:05 (en).
func (l *locale) HM(t time.Time) string {
	return fmt.Sprintf("%02d%s%02d", t.Hour(), l.timeSep, t.Minute())
}

// DayMonth is "27 Nov" (en) or "27 Nov" / "3 Agu" (id).
func (l *locale) DayMonth(t time.Time) string {
	return strconv.Itoa(t.Day()) + " " + l.months[t.Month()-1]
}

// Date is the day with its weekday: "Jumat, 27 Nov 2026".
func (l *locale) Date(t time.Time) string {
	return l.weekdays[t.Weekday()] + ", " + l.DayMonth(t) + " " + strconv.Itoa(t.Year())
}

// DayTime is "27 Nov 14.05".
func (l *locale) DayTime(t time.Time) string { return l.DayMonth(t) + " " + l.HM(t) }

// DayTimeAt is DayTime read at now: the year is added when it is not now's
// ("2 Sep 2029 07.49"), since a short date of another year reads as this
// year's. t and now are in the zone shown.
func (l *locale) DayTimeAt(t, now time.Time) string {
	if t.Year() == now.Year() {
		return l.DayTime(t)
	}
	return l.DayMonth(t) + " " + strconv.Itoa(t.Year()) + " " + l.HM(t)
}

// TimeAt is DayTimeAt without the date on now's own day ("17.00"): the
// board's lists are read across a room, where today goes without saying.
func (l *locale) TimeAt(t, now time.Time) string {
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return l.HM(t)
	}
	return l.DayTimeAt(t, now)
}

// Outcome names an outcome (in_progress included).
func (l *locale) Outcome(o string) string {
	if o == "" {
		o = reports.OutcomeInProgress
	}
	if m, ok := l.msgs["outcome."+o]; ok {
		return m
	}
	return o
}

// Type names an emergency type. A caller put through without choosing a
// type (who spoke, pressed 5 5, or overrode a block, or whom a failure put
// through) carries the outcome as the type, and is named by it; a type the
// catalogue does not know (a menu entry added in configuration) shows as
// configured.
func (l *locale) Type(t string) string {
	if m, ok := l.msgs["type."+t]; ok {
		return m
	}
	if m, ok := l.msgs["outcome."+t]; ok && t != "" {
		return m
	}
	return t
}

// Dash stands for a figure that does not exist (a median of no calls, the
// share of nothing), so it is not mistaken for a measured zero.
const Dash = "–"

// Callback says where a dropped call's automatic call-back stands, in the
// board's words, with times in now's zone: "ditelepon balik 2×, tidak
// diangkat; berikutnya 16.42". "" for a call without one.
func (l *locale) Callback(cb *reports.CallbackInfo, now time.Time) string {
	if cb == nil {
		return ""
	}
	loc := now.Location()
	switch cb.Status {
	case reports.CallbackDone:
		switch cb.Done {
		case events.DoneAttemptsExhausted:
			return l.T("cb.exhausted", cb.Attempts)
		case events.DoneCancelled, events.DoneHandled:
			by := cb.By
			if by == "" {
				by = Dash
			}
			return l.T("cb.end."+cb.Done, by)
		}
		if _, ok := l.msgs["cb.end."+cb.Done]; ok {
			return l.T("cb.end." + cb.Done)
		}
		return l.T("cb.end.other")
	case reports.CallbackConnected:
		n := max(cb.Attempts, 1)
		switch cb.Queue {
		case reports.QueueAbandoned, reports.QueueEnded:
			return l.T("cb.tried", n, l.T("cb.own."+cb.Queue))
		case reports.QueueAnswered:
			return l.T("cb.end.operator_answered")
		}
		return l.T("cb.tried", n, l.T("cb.result.put_through"))
	}
	if cb.Attempts == 0 {
		if now.Before(cb.DueAt) {
			return l.T("cb.due", l.HM(cb.DueAt.In(loc)))
		}
		return l.T("cb.waiting")
	}
	result := l.T("cb.result.other")
	if _, ok := l.msgs["cb.result."+cb.LastResult]; ok {
		result = l.T("cb.result." + cb.LastResult)
	}
	s := l.T("cb.tried", cb.Attempts, result)
	switch {
	case cb.NextAt.IsZero():
		return s
	case now.Before(cb.NextAt):
		return l.T("cb.next", s, l.HM(cb.NextAt.In(loc)))
	}
	return l.T("cb.next_due", s)
}

// Span is a length of time as a supervisor says it, in at most two
// units: "1 jam", "2 hari 3 jam", "1 jam 30 menit", "12 menit" (id);
// "1 h", "2 days 3 h", "1 h 30 min", "12 min" (en). Minutes round up, so a
// block that ends in 59.5 minutes reads "1 jam" and none reads as zero;
// beside days the minutes are left out.
func (l *locale) Span(d time.Duration) string {
	m := int64((max(d, 0) + time.Minute - 1) / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	var parts []string
	if days > 0 {
		parts = append(parts, l.T("span.d", days))
	}
	if hours > 0 {
		parts = append(parts, l.T("span.h", hours))
	}
	if mins > 0 && days == 0 || len(parts) == 0 {
		parts = append(parts, l.T("span.m", max(mins, 1)))
	}
	return strings.Join(parts, " ")
}

// Length is a duration to the second, in words: "1 menit 12 detik",
// "4 detik", "1 jam 5 detik" (id); "1 min 12 s" (en). Span rounds up to
// minutes, which would make a 4-second call a minute long.
func (l *locale) Length(d time.Duration) string {
	secs := int64(max(d, time.Second).Round(time.Second) / time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	var parts []string
	if h > 0 {
		parts = append(parts, l.T("length.h", h))
	}
	if m > 0 {
		parts = append(parts, l.T("length.m", m))
	}
	if s > 0 {
		parts = append(parts, l.T("length.s", s))
	}
	return strings.Join(parts, " ")
}
