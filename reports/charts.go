package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// Charts are drawn here as inline SVG so the dashboard needs no JavaScript
// library and no network: a wall screen in a 112 centre may have neither.

// series is one colour in a stacked chart.
type series struct {
	Key, Label, Color string
}

// Colours chosen for a dark background; a colour per meaning, kept the same
// across charts and the recent-calls table.
var outcomeSeries = []series{
	{"emergency", "emergency", "#3fb950"},
	{"voice", "voice", "#58a6ff"},
	{"silent_help", "silent help", "#a371f7"},
	{"blocked_override", "blocked, put through", "#f0883e"},
	{"failover", "failover", "#79c0ff"},
	{"no_input", "no input", "#8b949e"},
	{"abandoned", "abandoned", "#d29922"},
	{"invalid", "invalid", "#db61a2"},
	{"blocked", "blocked", "#f85149"},
	{OutcomeInProgress, "in progress", "#484f58"},
}

var typeColors = map[string]string{
	"fire": "#f85149", "medical": "#3fb950", "police": "#58a6ff",
	"disaster": "#d29922", "operator": "#a371f7",
}

var spareColors = []string{"#39c5cf", "#e3b341", "#ff7b72", "#7ee787", "#d2a8ff", "#ffa657"}

func outcomeColor(o string) string {
	for _, s := range outcomeSeries {
		if s.Key == o {
			return s.Color
		}
	}
	return "#6e7681"
}

// typeSeries lists the types present in st, known ones first in menu order.
func typeSeries(st Stats) []series {
	var out []series
	seen := map[string]bool{}
	for _, k := range []string{"fire", "medical", "police", "disaster", "operator"} {
		if st.Totals.Types[k] > 0 {
			out = append(out, series{k, k, typeColors[k]})
			seen[k] = true
		}
	}
	var rest []string
	for k := range st.Totals.Types {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for i, k := range rest {
		out = append(out, series{k, k, spareColors[i%len(spareColors)]})
	}
	return out
}

// Chart geometry in SVG units. The SVG scales to its panel, so a half-width
// chart uses a narrower view box to keep its text as large as the wide one's.
const (
	chartH                 = 250.0
	padL, padR, padT, padB = 44.0, 8.0, 16.0, 26.0
	wideW, halfW           = 1000.0, 620.0
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

func bucketLabel(t time.Time, size BucketSize) string {
	if size == Day {
		return t.Format("2 Jan")
	}
	if t.Hour() == 0 {
		return t.Format("2 Jan")
	}
	return t.Format("15:04")
}

// xAxis writes gridlines, y labels and x labels shared by both chart kinds.
func xAxis(b *strings.Builder, chartW float64, buckets []Bucket, size BucketSize, ax axis, yFmt func(float64) string) {
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	for i := 0; i <= ax.ticks; i++ {
		v := ax.step * float64(i)
		y := padT + plotH - plotH*float64(i)/float64(ax.ticks)
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text class="ylab" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, yFmt(v))
	}
	n := len(buckets)
	step := max(1, int(math.Ceil(float64(n)/(chartW/85))))
	slot := plotW / float64(max(n, 1))
	for i := 0; i < n; i += step {
		x := padL + slot*(float64(i)+0.5)
		fmt.Fprintf(b, `<text class="xlab" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, chartH-8, html.EscapeString(bucketLabel(buckets[i].Start, size)))
	}
}

// stackedBars draws one bar per bucket, stacked by series. Every segment
// carries data-key and data-value so tests (and curious users) can read the
// figures back from the DOM.
func stackedBars(testID string, chartW float64, buckets []Bucket, size BucketSize, ss []series, value func(Bucket, string) int64) template.HTML {
	var top int64
	for _, bk := range buckets {
		var sum int64
		for _, s := range ss {
			sum += value(bk, s.Key)
		}
		top = max(top, sum)
	}
	ax := newAxis(float64(top), 1)
	yMax := ax.max()
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-testid="%s" viewBox="0 0 %.0f %.0f" role="img" preserveAspectRatio="xMidYMid meet">`, testID, chartW, chartH)
	xAxis(&b, chartW, buckets, size, ax, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	slot := plotW / float64(max(len(buckets), 1))
	barW := math.Max(1, slot*0.78)
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
			h := plotH * float64(v) / yMax
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-key="%s" data-value="%d"><title>%s %s: %d</title></rect>`,
				x, y, barW, h, s.Color, html.EscapeString(s.Key), v, html.EscapeString(bucketLabel(bk.Start, size)), html.EscapeString(s.Label), v)
		}
		if sum > 0 && len(buckets) <= 31 {
			fmt.Fprintf(&b, `<text class="barlab" x="%.1f" y="%.1f" text-anchor="middle">%d</text>`, x+barW/2, y-4, sum)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from escaped parts above
}

// ratioLine draws the prank ratio per bucket as a line; buckets without
// calls have no ratio and break the line.
func ratioLine(testID string, chartW float64, buckets []Bucket, size BucketSize) template.HTML {
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
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-testid="%s" viewBox="0 0 %.0f %.0f" role="img" preserveAspectRatio="xMidYMid meet">`, testID, chartW, chartH)
	xAxis(&b, chartW, buckets, size, ax, func(v float64) string { return fmt.Sprintf("%.0f%%", v) })
	slot := plotW / float64(max(len(buckets), 1))
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
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
		fmt.Fprintf(&dots, `<circle class="dot" cx="%.1f" cy="%.1f" r="4" data-start="%s" data-value="%.4f"><title>%s: %.0f%% of %d calls</title></circle>`,
			x, y, bk.Start.Format(time.RFC3339), bk.PrankRatio, html.EscapeString(bucketLabel(bk.Start, size)), bk.PrankRatio*100, bk.Calls)
	}
	flush()
	b.WriteString(dots.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from escaped parts above
}
