package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// Charts are drawn here as inline SVG so the dashboard needs no JavaScript
// library and no network: a wall screen in a 112 centre may have neither.
//
// Colour means one thing everywhere on the board — cards, chart segments,
// legends and table badges — and every colour that carries a meaning also
// has a pattern or a text label, so a colour-blind supervisor reads the same
// board. The hues are the Okabe–Ito palette, chosen to stay apart under the
// common colour-vision deficiencies.

// meaning is a colour with its pattern, used wherever the meaning shows.
type meaning struct {
	// Key is the group key (data-key in charts, class suffix in CSS).
	Key string
	// Color is the hue; Fill is what SVG shapes use (a pattern or the hue).
	Color, Fill string
}

// The board's meanings. The patterns are defined once per page (the
// "patterns" template in web/dashboard.html) and referenced by id.
var (
	meaningPutThrough = meaning{"put_through", "#56b4e9", "#56b4e9"}
	meaningSilentHelp = meaning{"silent_help", "#009e73", "url(#pat-silent)"}
	meaningPrank      = meaning{"prank", "#e69f00", "url(#pat-prank)"}
	meaningRefused    = meaning{"refused", "#cc79a7", "url(#pat-refused)"}
	meaningInProgress = meaning{"in_progress", "#6e7681", "#6e7681"}
	// meaningIncident is a caller who pressed the incident key: a person,
	// served by the announcement without an operator.
	meaningIncident = meaning{"incident", "#0072b2", "#0072b2"}
)

// outcomeGroups stacks the hourly chart by what an outcome means to a
// supervisor rather than by the nine outcomes, so each meaning keeps one
// colour; the recent-calls table still names the exact outcome in words.
var outcomeGroups = []struct {
	meaning
	outcomes []string
}{
	{meaningPutThrough, []string{string(events.OutcomeEmergency), string(events.OutcomeVoice), string(events.OutcomeBlockedOverride), string(events.OutcomeFailover)}},
	{meaningIncident, []string{string(events.OutcomeIncidentAck)}},
	{meaningSilentHelp, []string{string(events.OutcomeSilentHelp)}},
	{meaningPrank, []string{string(events.OutcomeNoInput), string(events.OutcomeAbandoned), string(events.OutcomeInvalid)}},
	{meaningRefused, []string{string(events.OutcomeBlocked)}},
	{meaningInProgress, []string{reports.OutcomeInProgress}},
}

// outcomeMeaning is the meaning an outcome's badge carries.
func outcomeMeaning(o string) meaning {
	if o == "" {
		o = reports.OutcomeInProgress
	}
	for _, g := range outcomeGroups {
		if slices.Contains(g.outcomes, o) {
			return g.meaning
		}
	}
	// An outcome this build does not know (a newer IVR) is put through by
	// the design's rule: anything but silence reaches an operator.
	return meaningPutThrough
}

// groupValue sums a bucket's outcomes of one group.
func groupValue(b reports.Bucket, group string) int64 {
	var n int64
	for _, g := range outcomeGroups {
		if g.Key == group {
			for _, o := range g.outcomes {
				n += b.Outcomes[o]
			}
		}
	}
	return n
}

// series is one stacked layer of a chart.
type series struct {
	meaning
	Label string
}

// Chart geometry in SVG units. The SVG scales to its panel, keeping its
// aspect, so these units are about pixels on a 1920-wide wall screen.
const (
	wallW, wallH           = 1000.0, 420.0
	smallW, smallH         = 1000.0, 300.0
	padL, padR, padT, padB = 64.0, 8.0, 34.0, 40.0
)

// niceStep rounds v up to 1, 2 or 5 times a power of ten, but not below
// minStep, so gridlines fall on round numbers (whole calls for counts).
func niceStep(v, minStep float64) float64 {
	if v <= minStep {
		return minStep
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// axis is a y scale: yMax = ticks · step.
type axis struct {
	step  float64
	ticks int
}

// newAxis picks about four gridlines for values up to top.
func newAxis(top, minStep float64) axis {
	step := niceStep(top/4, minStep)
	return axis{step: step, ticks: max(1, int(math.Ceil(top/step-1e-9)))}
}

func (a axis) max() float64 { return a.step * float64(a.ticks) }

func bucketLabel(l *locale, t time.Time, size reports.BucketSize) string {
	if size == reports.Day || t.Hour() == 0 {
		return l.DayMonth(t)
	}
	return l.HM(t)
}

// frame writes gridlines, y labels and x labels shared by both chart kinds.
func frame(b *strings.Builder, l *locale, w, h float64, buckets []reports.Bucket, size reports.BucketSize, ax axis, yFmt func(float64) string) {
	plotW, plotH := w-padL-padR, h-padT-padB
	for i := 0; i <= ax.ticks; i++ {
		v := ax.step * float64(i)
		y := padT + plotH - plotH*float64(i)/float64(ax.ticks)
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, y, w-padR, y)
		fmt.Fprintf(b, `<text class="ylab" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-8, y+8, html.EscapeString(yFmt(v)))
	}
	n := len(buckets)
	// About one label per 80 units keeps "14.00" at 24 units apart.
	step := max(1, int(math.Ceil(float64(n)/(plotW/80))))
	slot := plotW / float64(max(n, 1))
	for i := 0; i < n; i += step {
		x := padL + slot*(float64(i)+0.5)
		fmt.Fprintf(b, `<text class="xlab" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, h-10, html.EscapeString(bucketLabel(l, buckets[i].Start, size)))
	}
}

// stackedBars draws one bar per bucket, stacked by series. Every segment
// carries data-key and data-value so tests (and curious users) can read the
// figures back from the DOM.
//
// avg, when not nil, is drawn over the bars as a dashed line: what is usual
// for each bucket (the same hour on the same weekday in past weeks), so a
// supervisor sees at a glance whether now is busier than usual.
//
// overlay, when not empty, is drawn last (shareLines).
func stackedBars(l *locale, testID, title string, w, h float64, buckets []reports.Bucket, size reports.BucketSize, ss []series, value func(reports.Bucket, string) int64, avg []float64, overlay string) template.HTML {
	var top int64
	for _, bk := range buckets {
		var sum int64
		for _, s := range ss {
			sum += value(bk, s.Key)
		}
		top = max(top, sum)
	}
	topF := float64(top)
	for _, v := range avg {
		topF = math.Max(topF, v)
	}
	ax := newAxis(topF, 1)
	yMax := ax.max()
	plotW, plotH := w-padL-padR, h-padT-padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-testid="%s" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet">`, testID, w, h, html.EscapeString(title))
	frame(&b, l, w, h, buckets, size, ax, func(v float64) string { return l.Int(int64(v)) })
	slot := plotW / float64(max(len(buckets), 1))
	barW := math.Max(1, slot*0.8)
	for i, bk := range buckets {
		x := padL + slot*float64(i) + (slot-barW)/2
		y := padT + plotH
		var sum int64
		fmt.Fprintf(&b, `<g class="bar" data-start="%s">`, bk.Start.Format(time.RFC3339))
		for _, s := range ss {
			v := value(bk, s.Key)
			if v == 0 {
				continue
			}
			sum += v
			sh := plotH * float64(v) / yMax
			y -= sh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="1.5" data-key="%s" data-value="%d"><title>%s · %s: %s</title></rect>`,
				x, y, barW, sh, s.Fill, s.Color, html.EscapeString(s.Key), v,
				html.EscapeString(bucketLabel(l, bk.Start, size)), html.EscapeString(s.Label), l.Int(v))
		}
		if sum > 0 && len(buckets) <= 31 {
			fmt.Fprintf(&b, `<text class="barlab" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+barW/2, y-6, l.Int(sum))
		}
		b.WriteString(`</g>`)
	}
	if len(avg) > 0 {
		var pts []string
		for i, v := range avg[:min(len(avg), len(buckets))] {
			x := padL + slot*float64(i)
			y := padT + plotH - plotH*v/yMax
			// A step per bucket: the usual level spans the whole hour.
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x, y, x+slot, y))
		}
		fmt.Fprintf(&b, `<polyline class="avg" data-testid="%s-avg" points="%s"/>`, testID, strings.Join(pts, " "))
	}
	b.WriteString(overlay)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from escaped parts above
}

// heatMap draws prank-like calls by weekday (rows, Monday first, as the
// Indonesian week starts) and hour of day (columns): when children call.
// One hue (the prank meaning) whose strength follows the count, and the
// count written in every cell that has one, so it reads without colour.
func heatMap(l *locale, testID, title string, buckets []reports.Bucket, loc *time.Location) template.HTML {
	var grid [7][24]int64
	var top int64
	for _, bk := range buckets {
		t := bk.Start.In(loc)
		row := (int(t.Weekday()) + 6) % 7
		grid[row][t.Hour()] += bk.Prank
		top = max(top, grid[row][t.Hour()])
	}
	const cellW, cellH, left, head = 38.0, 30.0, 100.0, 28.0
	w, h := left+24*cellW, head+7*cellH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart heat" data-testid="%s" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet">`, testID, w, h, html.EscapeString(title))
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<text class="xlab" x="%.1f" y="%.1f" text-anchor="middle">%02d</text>`, left+cellW*(float64(hr)+0.5), head-8, hr)
	}
	for row := range 7 {
		y := head + cellH*float64(row)
		fmt.Fprintf(&b, `<text class="ylab" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-8, y+cellH/2+7, html.EscapeString(l.weekdays[(row+1)%7][:3]))
		for hr := range 24 {
			v := grid[row][hr]
			x := left + cellW*float64(hr)
			op := 0.0
			if top > 0 && v > 0 {
				op = 0.25 + 0.75*float64(v)/float64(top)
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="%.2f" class="cell" data-value="%d"><title>%s %02d: %s</title></rect>`,
				x+1, y+1, cellW-2, cellH-2, meaningPrank.Color, op, v, html.EscapeString(l.weekdays[(row+1)%7]), hr, l.Int(v))
			if v > 0 {
				fmt.Fprintf(&b, `<text class="cellv" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+cellW/2, y+cellH/2+7, l.Int(v))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from escaped parts above
}

// ratioLine draws the prank ratio per bucket as a line; buckets without
// calls have no ratio and break the line.
func ratioLine(l *locale, testID, title string, w, h float64, buckets []reports.Bucket, size reports.BucketSize) template.HTML {
	top := 0.0
	for _, bk := range buckets {
		top = math.Max(top, bk.PrankRatio)
	}
	if top == 0 {
		top = 1
	}
	// The scale is in percent so its steps are whole percents.
	ax := newAxis(math.Min(100, top*100), 1)
	yMax := ax.max() / 100
	plotW, plotH := w-padL-padR, h-padT-padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-testid="%s" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet">`, testID, w, h, html.EscapeString(title))
	frame(&b, l, w, h, buckets, size, ax, func(v float64) string { return l.Int(int64(v)) + "%" })
	slot := plotW / float64(max(len(buckets), 1))
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="line" stroke="%s" points="%s"/>`, meaningPrank.Color, strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	var dots strings.Builder
	for i, bk := range buckets {
		if bk.Calls == 0 {
			flush()
			continue
		}
		x := padL + slot*(float64(i)+0.5)
		y := padT + plotH - plotH*bk.PrankRatio/yMax
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		fmt.Fprintf(&dots, `<circle class="dot" fill="%s" cx="%.1f" cy="%.1f" r="6" data-start="%s" data-value="%.4f"><title>%s</title></circle>`,
			meaningPrank.Color, x, y, bk.Start.Format(time.RFC3339), bk.PrankRatio,
			html.EscapeString(l.T("chart.prank.title", bucketLabel(l, bk.Start, size), l.Pct(bk.PrankRatio), l.Int(bk.Calls))))
	}
	flush()
	b.WriteString(dots.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from escaped parts above
}

// typeRow is one emergency type in the types panel: a labelled bar, all in
// one neutral colour, since a type is not a state and needs no hue.
type typeRow struct {
	Key, Label string
	Value      int64
	// Percent is the bar's width relative to the largest type.
	Percent float64
}

// typeRows lists the types present in st, known ones first in menu order.
func typeRows(l *locale, st reports.Stats) []typeRow {
	var keys []string
	for _, k := range menuOrder(st.Totals.Types) {
		if st.Totals.Types[k] > 0 {
			keys = append(keys, k)
		}
	}
	var top int64
	for _, k := range keys {
		top = max(top, st.Totals.Types[k])
	}
	out := make([]typeRow, 0, len(keys))
	for _, k := range keys {
		v := st.Totals.Types[k]
		out = append(out, typeRow{Key: k, Label: l.Type(k), Value: v, Percent: math.Round(float64(v) / float64(top) * 100)})
	}
	return out
}

// menuOrder lists m's keys: the default menu's types first, in menu order,
// then the others sorted.
func menuOrder[V any](m map[string]V) []string {
	var keys, rest []string
	for _, k := range reports.DefaultEmergencyTypes {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	for k := range m {
		if !slices.Contains(reports.DefaultEmergencyTypes, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// meaningWithin is the answered-within lines' hue: vermillion (lightened
// for the dark board), the one Okabe–Ito colour no other meaning on the
// board uses. The three thresholds are told apart by their markers and
// dashes, not by hue.
var meaningWithin = meaning{"within", "#e8671a", "#e8671a"}

// withinMarks are the marker and dash of each threshold's line, in
// reports.WithinThresholds order: 10 s dotted with circles, 15 s solid with
// squares, 20 s dashed with triangles.
var withinMarks = [len(reports.WithinThresholds)]struct{ shape, dash string }{
	{"circle", "2 6"}, {"square", ""}, {"triangle", "12 6"},
}

// marker draws one marker shape centred on x, y, with attrs (already
// escaped) and a tooltip.
func marker(b *strings.Builder, shape string, x, y float64, attrs, title string) {
	const r = 7.0
	tag := "circle"
	switch shape {
	case "square":
		tag = "rect"
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s>`, x-r, y-r, 2*r, 2*r, attrs)
	case "triangle":
		tag = "path"
		fmt.Fprintf(b, `<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fZ" %s>`, x, y-r-1, x+r+1, y+r, x-r-1, y+r, attrs)
	default:
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="%.1f" %s>`, x, y, r, attrs)
	}
	fmt.Fprintf(b, `<title>%s</title></%s>`, html.EscapeString(title), tag)
}

// shareLines draws, over a chart of the same geometry, each bucket's share
// answered by a person within 10, 15 and 20 s on a 0–100 % scale of its
// own, labelled on the right; a bucket no call decides breaks the line.
// Each marker carries data-key (the threshold) and data-value (the share).
func shareLines(l *locale, w, h float64, buckets []reports.Bucket, size reports.BucketSize) string {
	plotW, plotH := w-padL-padR, h-padT-padB
	slot := plotW / float64(max(len(buckets), 1))
	var b strings.Builder
	drawn := false
	for ti, th := range reports.WithinThresholds {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline class="within" stroke="%s" stroke-dasharray="%s" points="%s"/>`, meaningWithin.Color, withinMarks[ti].dash, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		var marks strings.Builder
		for i, bk := range buckets {
			v := bk.AnsweredWithin[th.Key]
			if v == nil {
				flush()
				continue
			}
			drawn = true
			x := padL + slot*(float64(i)+0.5)
			y := padT + plotH - plotH**v
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			marker(&marks, withinMarks[ti].shape, x, y,
				fmt.Sprintf(`class="wmark" fill="%s" data-key="%s" data-start="%s" data-value="%.4f"`, meaningWithin.Color, th.Key, bk.Start.Format(time.RFC3339), *v),
				l.T("chart.within.title", bucketLabel(l, bk.Start, size), l.Pct0(*v), int(th.Seconds)))
		}
		flush()
		b.WriteString(marks.String())
	}
	if !drawn {
		return ""
	}
	for _, p := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<text class="rlab" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, w-padR, padT+plotH-plotH*p-6, html.EscapeString(l.Pct0(p)))
	}
	return b.String()
}
