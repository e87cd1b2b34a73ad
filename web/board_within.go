package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/siaga112/siaga112/reports"
)

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

// withinOverlay is the answered-within lines as the "within" template
// draws them over a bar chart of the same geometry.
type withinOverlay struct {
	Color  string
	Lines  []withinLine
	Labels []chartText
}

// withinLine is one threshold's line: its unbroken runs, then its markers.
type withinLine struct {
	Polylines []withinRun
	Marks     []withinMark
}

type withinRun struct{ Dash, Points string }

// withinMark is one marker: a circle (X, Y, radius W), a square (corner X,
// Y, side W) or a triangle (path D).
type withinMark struct {
	Shape, X, Y, W, D, Fill, Key, Start, Value, Title string
}

// mark places one marker shape centred on x, y.
func mark(shape string, x, y float64) withinMark {
	const r = 7.0
	switch shape {
	case "square":
		return withinMark{Shape: shape, X: f1(x - r), Y: f1(y - r), W: f1(2 * r)}
	case "triangle":
		return withinMark{Shape: shape, D: fmt.Sprintf("M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y-r-1, x+r+1, y+r, x-r-1, y+r)}
	}
	return withinMark{Shape: "circle", X: f1(x), Y: f1(y), W: f1(r)}
}

// shareLines lays out, over a chart of the same geometry, each bucket's
// share answered by a person within 10, 15 and 20 s on a 0–100 % scale of
// its own, labelled on the right; a bucket no call decides breaks the line.
// Each marker carries data-key (the threshold) and data-value (the share).
// It is nil when no bucket has a share.
func shareLines(l *locale, w, h float64, buckets []reports.Bucket, size reports.BucketSize) *withinOverlay {
	plotW, plotH := w-padL-padR, h-padT-padB
	slot := plotW / float64(max(len(buckets), 1))
	o := &withinOverlay{Color: meaningWithin.Color}
	drawn := false
	for ti, th := range reports.WithinThresholds {
		var line withinLine
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				line.Polylines = append(line.Polylines, withinRun{Dash: withinMarks[ti].dash, Points: strings.Join(pts, " ")})
			}
			pts = pts[:0]
		}
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
			m := mark(withinMarks[ti].shape, x, y)
			m.Fill, m.Key, m.Start, m.Value = meaningWithin.Color, th.Key, bk.Start.Format(time.RFC3339), fmt.Sprintf("%.4f", *v)
			m.Title = l.T("chart.within.title", bucketLabel(l, bk.Start, size), l.Pct0(*v), int(th.Seconds))
			line.Marks = append(line.Marks, m)
		}
		flush()
		o.Lines = append(o.Lines, line)
	}
	if !drawn {
		return nil
	}
	for _, p := range []float64{0, 0.5, 1} {
		o.Labels = append(o.Labels, chartText{X: f1(w - padR + rlabRoom), Y: f1(padT + plotH - plotH*p - 6), Text: l.Pct0(p)})
	}
	return o
}
