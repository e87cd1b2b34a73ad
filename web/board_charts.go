package web

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// Charts are drawn as inline SVG so the dashboard needs no JavaScript
// library and no network: a wall screen in a 112 centre may have neither.
// This file computes them; assets/charts.html lays them out.
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
// "patterns" template in assets/dashboard.html) and referenced by id.
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

// chartTemplates lay out the charts (assets/charts.html); the functions
// below compute what they show.
var chartTemplates = template.Must(template.New("charts").ParseFS(assetsFS, "assets/charts.html"))

// renderChart executes the chart template name with v.
func renderChart(name string, v any) template.HTML {
	var b strings.Builder
	if err := chartTemplates.ExecuteTemplate(&b, name, v); err != nil {
		// The templates are fixed and their data built here: an error is a
		// bug, shown as a missing chart rather than a broken page.
		return ""
	}
	return template.HTML(b.String()) // #nosec: rendered by html/template
}

// f1 formats an SVG coordinate.
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// chartText is a label at a point.
type chartText struct{ X, Y, Text string }

// gridLine is one horizontal gridline with its y label.
type gridLine struct{ X1, X2, Y, LabX, LabY, Label string }

// chartFrame is the gridlines, y labels and x labels both chart kinds share.
type chartFrame struct {
	Grid    []gridLine
	XLabels []chartText
	// X0 and VW are the viewBox's left edge and width: the drawing keeps
	// its coordinates, and the box reaches left of it as far as the
	// widest y label needs (yLabelRoom).
	X0, VW string
	// room is how far left of x=0 the box reaches (X0 as a number).
	room float64
}

// yCharUnits is the room one character of a y label takes, in SVG units,
// at the largest size the page's script draws it (24 px undone from a
// chart scaled down to about 0.55; "%" is wider than a digit): "1.000" lost its first digit when the
// room was fixed at padL.
const yCharUnits = 34

// rlabRoom is how far right of the plot the viewBox reaches for the
// right-hand scale of the answered-within lines ("100%" at the labels' 22
// units, bold): drawn inside the plot, the labels covered the last hours'
// bars.
const rlabRoom = 64.0

// yLabelRoom is how far left of x=0 the viewBox reaches so the widest of
// labels is not cut, ending 8 units left of the plot.
func yLabelRoom(labels []string) float64 {
	n := 0
	for _, s := range labels {
		n = max(n, utf8.RuneCountInString(s))
	}
	return max(0, 8+float64(n)*yCharUnits-padL)
}

func frame(l *locale, w, h float64, buckets []reports.Bucket, size reports.BucketSize, ax axis, yFmt func(float64) string) chartFrame {
	var f chartFrame
	plotW, plotH := w-padL-padR, h-padT-padB
	for i := 0; i <= ax.ticks; i++ {
		v := ax.step * float64(i)
		y := padT + plotH - plotH*float64(i)/float64(ax.ticks)
		f.Grid = append(f.Grid, gridLine{X1: f1(padL), X2: f1(w - padR), Y: f1(y), LabX: f1(padL - 8), LabY: f1(y + 8), Label: yFmt(v)})
	}
	labels := make([]string, len(f.Grid))
	for i, g := range f.Grid {
		labels[i] = g.Label
	}
	room := yLabelRoom(labels)
	f.X0, f.VW, f.room = f1(-room), f1(w+room), room
	n := len(buckets)
	// About one label per 80 units keeps "14.00" at 24 units apart.
	step := max(1, int(math.Ceil(float64(n)/(plotW/80))))
	slot := plotW / float64(max(n, 1))
	for i := 0; i < n; i += step {
		x := padL + slot*(float64(i)+0.5)
		f.XLabels = append(f.XLabels, chartText{X: f1(x), Y: f1(h - 10), Text: bucketLabel(l, buckets[i].Start, size)})
	}
	return f
}

// barsChart is a stacked bar chart as the "bars" template draws it.
type barsChart struct {
	TestID, W, H, Title string
	Frame               chartFrame
	Bars                []barGroup
	// Avg is the points of the usual level's dashed line ("" for none).
	Avg string
	// Within is the answered-within lines drawn over the bars (nil: none).
	Within *withinOverlay
}

type barGroup struct {
	Start string
	Segs  []barSeg
	Label *chartText
}

type barSeg struct {
	X, Y, W, H, Fill, Color, Key string
	Value                        int64
	Title                        string
}

// stackedBars draws one bar per bucket, stacked by series. Every segment
// carries data-key and data-value so tests (and curious users) can read the
// figures back from the DOM.
//
// avg, when not nil, is drawn over the bars as a dashed line: what is usual
// for each bucket (the same hour on the same weekday in past weeks), so a
// supervisor sees at a glance whether now is busier than usual.
//
// overlay, when not nil, is drawn last (shareLines).
func stackedBars(l *locale, testID, title string, w, h float64, buckets []reports.Bucket, size reports.BucketSize, ss []series, value func(reports.Bucket, string) int64, avg []float64, overlay *withinOverlay) template.HTML {
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
	c := barsChart{TestID: testID, W: fmt.Sprintf("%.0f", w), H: fmt.Sprintf("%.0f", h), Title: title, Within: overlay,
		Frame: frame(l, w, h, buckets, size, ax, func(v float64) string { return l.Int(int64(v)) })}
	if overlay != nil {
		c.Frame.VW = f1(w + c.Frame.room + rlabRoom)
	}
	slot := plotW / float64(max(len(buckets), 1))
	barW := math.Max(1, slot*0.8)
	for i, bk := range buckets {
		x := padL + slot*float64(i) + (slot-barW)/2
		y := padT + plotH
		var sum int64
		g := barGroup{Start: bk.Start.Format(time.RFC3339)}
		for _, s := range ss {
			v := value(bk, s.Key)
			if v == 0 {
				continue
			}
			sum += v
			sh := plotH * float64(v) / yMax
			y -= sh
			g.Segs = append(g.Segs, barSeg{X: f1(x), Y: f1(y), W: f1(barW), H: f1(sh), Fill: s.Fill, Color: s.Color, Key: s.Key, Value: v,
				Title: bucketLabel(l, bk.Start, size) + " · " + s.Label + ": " + l.Int(v)})
		}
		if sum > 0 && len(buckets) <= 31 {
			g.Label = &chartText{X: f1(x + barW/2), Y: f1(y - 6), Text: l.Int(sum)}
		}
		c.Bars = append(c.Bars, g)
	}
	if len(avg) > 0 {
		var pts []string
		for i, v := range avg[:min(len(avg), len(buckets))] {
			x := padL + slot*float64(i)
			y := padT + plotH - plotH*v/yMax
			// A step per bucket: the usual level spans the whole hour.
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x, y, x+slot, y))
		}
		c.Avg = strings.Join(pts, " ")
	}
	return renderChart("bars", c)
}

// heatChart is the weekday-by-hour map as the "heat" template draws it.
type heatChart struct {
	TestID, W, H, Title, Color string
	Hours                      []chartText
	Rows                       []heatRow
}

type heatRow struct {
	Label chartText
	Cells []heatCell
}

type heatCell struct {
	X, Y, W, H, Opacity string
	Value               int64
	Title               string
	// Text is the count written in the cell (nil for an empty cell).
	Text *chartText
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
	c := heatChart{TestID: testID, W: fmt.Sprintf("%.0f", w), H: fmt.Sprintf("%.0f", h), Title: title, Color: meaningPrank.Color}
	for hr := 0; hr < 24; hr += 3 {
		c.Hours = append(c.Hours, chartText{X: f1(left + cellW*(float64(hr)+0.5)), Y: f1(head - 8), Text: fmt.Sprintf("%02d", hr)})
	}
	for row := range 7 {
		y := head + cellH*float64(row)
		r := heatRow{Label: chartText{X: f1(left - 8), Y: f1(y + cellH/2 + 7), Text: l.weekdays[(row+1)%7][:3]}}
		for hr := range 24 {
			v := grid[row][hr]
			x := left + cellW*float64(hr)
			op := 0.0
			if top > 0 && v > 0 {
				op = 0.25 + 0.75*float64(v)/float64(top)
			}
			cell := heatCell{X: f1(x + 1), Y: f1(y + 1), W: f1(cellW - 2), H: f1(cellH - 2), Opacity: fmt.Sprintf("%.2f", op), Value: v,
				Title: fmt.Sprintf("%s %02d: %s", l.weekdays[(row+1)%7], hr, l.Int(v))}
			if v > 0 {
				cell.Text = &chartText{X: f1(x + cellW/2), Y: f1(y + cellH/2 + 7), Text: l.Int(v)}
			}
			r.Cells = append(r.Cells, cell)
		}
		c.Rows = append(c.Rows, r)
	}
	return renderChart("heat", c)
}

// ratioChart is the prank ratio line as the "ratio" template draws it.
type ratioChart struct {
	TestID, W, H, Title, Color string
	Frame                      chartFrame
	// Lines are the points of each unbroken run of the line.
	Lines []string
	Dots  []ratioDot
}

type ratioDot struct{ X, Y, Start, Value, Title string }

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
	c := ratioChart{TestID: testID, W: fmt.Sprintf("%.0f", w), H: fmt.Sprintf("%.0f", h), Title: title, Color: meaningPrank.Color,
		Frame: frame(l, w, h, buckets, size, ax, func(v float64) string { return l.Int(int64(v)) + "%" })}
	slot := plotW / float64(max(len(buckets), 1))
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			c.Lines = append(c.Lines, strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	for i, bk := range buckets {
		if bk.Calls == 0 {
			flush()
			continue
		}
		x := padL + slot*(float64(i)+0.5)
		y := padT + plotH - plotH*bk.PrankRatio/yMax
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		c.Dots = append(c.Dots, ratioDot{X: f1(x), Y: f1(y), Start: bk.Start.Format(time.RFC3339), Value: fmt.Sprintf("%.4f", bk.PrankRatio),
			Title: l.T("chart.prank.title", bucketLabel(l, bk.Start, size), l.Pct(bk.PrankRatio), l.Int(bk.Calls))})
	}
	flush()
	return renderChart("ratio", c)
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
