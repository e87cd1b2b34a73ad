package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// The dashboard is a wall board: the figures a supervisor watches from
// across the room fit one 1920×1080 screen, and the page keeps itself up to
// date from /api/stream without reloading (a reload would wipe a date being
// picked). The part that changes — the "now" strip in the header and the
// "board" below it — is rendered by the same templates for the first page
// and for every stream message, so the page and its updates cannot drift.

// langLink switches the page's language, keeping the rest of the query.
type langLink struct {
	Tag, Label, Href string
	Active           bool
}

// legendItem is one entry of the chart legend.
type legendItem struct {
	meaning
	Label string
	Value int64
}

// nodeRow is one Asterisk node's line.
type nodeRow struct {
	Name string
	reports.NodeStats
}

// boardData is the part of the page the stream replaces.
type boardData struct {
	L          *locale
	Now        time.Time
	Zone       string
	RangeKey   string
	RangeTitle string
	Health     boardHealth
	Stats      reports.Stats
	// Figures of the tiles; strings where an empty figure shows a dash.
	Active, BlockedNumbers         int64
	Calls, PutThrough              int64
	PrankShare                     string
	Refused, SilentHelp, Callbacks int64
	ClassifyMedian, ClassifyP90    string
	Hourly, PrankChart, HeatMap    template.HTML
	// AvgLabel names the dashed line of the hourly chart ("" when none).
	AvgLabel string
	// WithinLegend explains the answered-within lines of the chart.
	WithinLegend      []withinLegend
	Legend            []legendItem
	Types             []typeRow
	Blocked           []reports.BlockedNumber
	TopCallers        []reports.RepeatCaller
	Recent            []reports.CallRecord
	Nodes             []nodeRow
	JSONLink, CSVLink string
	// Viewer is the signed-in console user (nil: nobody).
	Viewer *Viewer
	// Attention lists every call that needs an operator's look and was
	// not ticked yet: silent help, call-backs, blocked callers who
	// overrode, failovers (board_attention.go).
	Attention attentionQueue
	// Incident is the announcement playing now, with its figures.
	Incident *boardIncident
	// Queue is the operators' queue band (queue.go has the definitions).
	Queue boardQueue
	// Unreached is today's callers not yet reached (callback.go), the
	// tile that turns red above 0.
	Unreached int64
	// BlockedMore and TopMore count the rows left out of the two lists.
	BlockedMore, TopMore int
	// Switch is the centre's automatic call-back switch; CanCancel offers
	// a supervisor the button that cancels a call-back.
	Switch    boardSwitch
	CanCancel bool
}

// boardSwitch is the automatic call-back switch as the board shows it:
// Shown when the centre has one and its state could be read.
type boardSwitch struct{ Shown, On bool }

// boardQueue is the queue band: what happens past the hand-off.
type boardQueue struct {
	Now reports.QueueNow
	// Waiting per type with calls waiting, menu order first.
	Types []typeRow
	// Longest is the longest wait now (m.ss); LongestSinceMS when that
	// call was handed over and NowMS the server's clock (Unix ms), so the
	// page's script can tick it between updates. Both 0 when none waits.
	Longest               string
	LongestSinceMS, NowMS int64
	// Within are the answered-within shares of the range, whole percents
	// (a dash when no call decides a threshold).
	Within []withinFigure
	// PersonMedian and PersonP90 are seconds to a person (dash: none).
	PersonMedian, PersonP90 string
	// Busy counts busy and ringing devices; Away away and unknown ones.
	Free, Busy, Ringing, Away int
	// WaitAlarm and CountAlarm say that the longest wait and the number
	// waiting are above their thresholds; AlarmAfter is the wait threshold
	// in seconds, which the page's script applies as the wait ticks (0:
	// no alarm).
	WaitAlarm, CountAlarm bool
	AlarmAfter            int
}

// withinLegend is one answered-within line in the chart's legend.
type withinLegend struct {
	Seconds     int
	Shape, Dash string
}

// withinFigure is one answered-within share on the board.
type withinFigure struct {
	Seconds int
	// Value is the whole percent without its sign, which the tile sets
	// smaller so three shares fit one tile; a dash when none.
	Value   string
	Percent bool
}

// queueBand fills the queue band for the range's totals at now.
func (s *Board) queueBand(l *locale, tot reports.Bucket, now time.Time) boardQueue {
	q := boardQueue{Now: s.agg.Queue(now, false), Longest: Dash, PersonMedian: Dash, PersonP90: Dash}
	for _, k := range menuOrder(q.Now.ByType) {
		if n := q.Now.ByType[k]; n > 0 {
			label := l.Type(k)
			if _, isType := l.msgs["type."+k]; !isType && k != reports.OtherKey {
				// A caller who chose no type waits as what they did.
				label = l.Outcome(k)
			}
			q.Types = append(q.Types, typeRow{Key: k, Label: label, Value: int64(n)})
		}
	}
	if q.Now.LongestWaitS != nil {
		q.Longest = l.Wait(*q.Now.LongestWaitS)
		q.LongestSinceMS, q.NowMS = q.Now.LongestSince.UnixMilli(), now.UnixMilli()
	}
	for _, th := range reports.WithinThresholds {
		f := withinFigure{Seconds: int(th.Seconds), Value: Dash}
		if v := tot.AnsweredWithin[th.Key]; v != nil {
			f.Value, f.Percent = l.Dec(*v*100, 0), true
		}
		q.Within = append(q.Within, f)
	}
	if p := tot.SecondsToPerson; p != nil {
		q.PersonMedian, q.PersonP90 = l.Dec(p.P50, 1), l.Dec(p.P90, 1)
	}
	th := s.cfg.Thresholds
	q.AlarmAfter = th.WaitingSeconds
	q.WaitAlarm = th.WaitingSeconds > 0 && q.Now.LongestWaitS != nil && *q.Now.LongestWaitS > float64(th.WaitingSeconds)
	q.CountAlarm = th.WaitingCalls > 0 && q.Now.Waiting > th.WaitingCalls
	o := q.Now.Operators
	q.Free, q.Busy, q.Ringing, q.Away = o.Free, o.Busy+o.Ringing, o.Ringing, o.Away+o.Unknown
	return q
}

// boardIncident is the incident banner's data.
type boardIncident struct {
	Title string
	Stats reports.IncidentStats
}

// maxBoardList bounds the blocked list on the wall; the rest is counted.
const maxBoardList = 10

// pageData is the whole page.
type pageData struct {
	L              *locale
	Title          string
	Ranges         []rangeChoice
	Langs          []langLink
	From, To       string
	Error          string
	RefreshSeconds int
	StreamURL      string
	CSS            template.CSS
	JS             template.JS
	Board          boardData
	// TV is "1" for ?tv=1, "0" for ?tv=0, "" to let the page choose by
	// its width (TV mode from 1920 px).
	TV string
}

// board computes the figures for bq.
func (s *Board) board(ctx context.Context, l *locale, bq boardQuery, admin bool, viewer *Viewer) (boardData, error) {
	st, err := s.agg.Stats(bq.from, bq.to, bq.size)
	if err != nil {
		return boardData{}, err
	}
	now := s.cfg.Now()
	loc := s.agg.Location()
	tot := st.Totals
	d := boardData{
		L: l, Now: now.In(loc), Zone: zoneName(now.In(loc)), RangeKey: bq.key, RangeTitle: bq.title,
		Health: s.health(ctx), Stats: st, Active: int64(s.agg.Active(now)),
		Calls: tot.Calls, PutThrough: tot.PutThrough, PrankShare: Dash,
		Refused:        tot.Outcomes[string(events.OutcomeBlocked)],
		SilentHelp:     tot.Outcomes[string(events.OutcomeSilentHelp)],
		Callbacks:      tot.Callbacks,
		Blocked:        s.blockedNow(ctx, now),
		TopCallers:     s.agg.TopCallers(bq.from, bq.to, -1, true),
		Recent:         s.agg.Calls(reports.CallFilter{From: bq.from, To: bq.to, Limit: dashboardRecent, Unmasked: admin}),
		ClassifyMedian: Dash, ClassifyP90: Dash,
	}
	d.BlockedNumbers = int64(len(d.Blocked))
	// Both lists are masked here rather than by the aggregator, so two
	// numbers with the same last four digits get different tags; both are
	// cut to a length the wall shows, with how many more there are (the
	// page's script cuts further to what fits its screen).
	if !admin {
		for i := range d.Blocked {
			d.Blocked[i].Number = s.masks.mask(d.Blocked[i].Number)
		}
		for i := range d.TopCallers {
			d.TopCallers[i].Number = s.masks.mask(d.TopCallers[i].Number)
		}
	}
	d.BlockedMore = cutList(d.Blocked, maxBoardList).More
	d.Blocked = cutList(d.Blocked, maxBoardList).Rows
	top := cutList(d.TopCallers, s.cfg.TopCallers)
	d.TopCallers, d.TopMore = top.Rows, top.More
	d.Viewer = viewer
	if viewer != nil {
		// Looked for among every call the aggregator still holds, not
		// just the range's: a silent-help call of last night still needs
		// its tick this morning. Oldest first: the caller who has waited
		// longest comes first.
		d.Attention = s.attention(l, now, admin)
	}
	d.Queue = s.queueBand(l, tot, now)
	d.Unreached = int64(s.agg.Unreached(now))
	d.Switch.On, d.Switch.Shown = s.callbackSwitch(ctx)
	// The buttons go with a switch that answers: a console without
	// call-backs, or a store that cannot be read, could not cancel.
	d.CanCancel = d.Switch.Shown && viewer != nil && viewer.Supervisor
	if s.cfg.Incidents != nil {
		if inc, ok := s.cfg.Incidents.Playing(ctx); ok {
			st, _ := s.agg.Incident(inc.ID)
			d.Incident = &boardIncident{Title: inc.Title, Stats: st}
		}
	}
	if tot.Calls > 0 {
		d.PrankShare = l.Pct(tot.PrankRatio)
	}
	if tot.Classified > 0 {
		d.ClassifyMedian, d.ClassifyP90 = l.Dec(tot.ClassifyMedian, 1), l.Dec(tot.ClassifyP90, 1)
	}
	apiQuery := url.Values{"from": {st.From.Format(time.RFC3339)}, "to": {st.To.Format(time.RFC3339)}, "bucket": {string(bq.size)}}.Encode()
	// The CSV is written in the page's language (headers, separator).
	d.JSONLink, d.CSVLink = "api/stats?"+apiQuery, "api/calls.csv?"+apiQuery+"&lang="+l.Tag

	var ss []series
	for _, g := range outcomeGroups {
		se := series{meaning: g.meaning, Label: l.T("group." + g.Key)}
		ss = append(ss, se)
		if v := groupValue(tot, g.Key); v > 0 || g.Key != meaningInProgress.Key {
			d.Legend = append(d.Legend, legendItem{g.meaning, se.Label, v})
		}
	}
	var avg []float64
	if bq.key == "today" {
		if avg = s.weekdayAverage(bq.from, usualWeeks); avg != nil {
			d.AvgLabel = l.T("chart.avg", l.weekdays[bq.from.In(loc).Weekday()], usualWeeks)
		}
	}
	hourlyTitle := l.T("chart.hourly")
	if bq.size == reports.Day {
		hourlyTitle = l.T("chart.daily")
	}
	d.Hourly = stackedBars(l, "chart-outcomes", hourlyTitle, wallW, wallH, st.Buckets, bq.size, ss, groupValue, avg, shareLines(l, wallW, wallH, st.Buckets, bq.size))
	for i, th := range reports.WithinThresholds {
		d.WithinLegend = append(d.WithinLegend, withinLegend{Seconds: int(th.Seconds), Shape: withinMarks[i].shape, Dash: withinMarks[i].dash})
	}
	// The lower panels look back over weeks whatever the range: the trend
	// of the prank share and when in the week pranks come.
	day := s.agg.BucketStart(now, reports.Day)
	if month, err := s.agg.Stats(day.AddDate(0, 0, -29), s.agg.NextBucket(day, reports.Day), reports.Day); err == nil {
		d.PrankChart = ratioLine(l, "chart-prank", l.T("chart.prank.30d"), smallW, smallH, month.Buckets, reports.Day)
	}
	if weeks, err := s.agg.Stats(day.AddDate(0, 0, -7*heatWeeks+1), s.agg.NextBucket(day, reports.Day), reports.Hour); err == nil {
		d.HeatMap = heatMap(l, "chart-heat", l.T("chart.heat"), weeks.Buckets, loc)
	}
	d.Types = typeRows(l, st)
	for name, ns := range tot.Nodes {
		d.Nodes = append(d.Nodes, nodeRow{name, ns})
	}
	slices.SortFunc(d.Nodes, func(a, b nodeRow) int { return strings.Compare(a.Name, b.Name) })
	return d, nil
}

// usualWeeks is how many past weeks the "usual for this weekday" line
// averages; heatWeeks how many weeks the heat map covers.
const (
	usualWeeks = 4
	heatWeeks  = 4
)

// weekdayAverage returns, for each hour of the day starting at day, the
// mean calls in that hour on the same weekday of the past n weeks that had
// any calls; nil when none had (a new installation has no "usual").
func (s *Board) weekdayAverage(day time.Time, n int) []float64 {
	var sum []float64
	weeks := 0
	for k := 1; k <= n; k++ {
		from := day.AddDate(0, 0, -7*k)
		st, err := s.agg.Stats(from, s.agg.NextBucket(from, reports.Day), reports.Hour)
		if err != nil || st.Totals.Calls == 0 {
			continue
		}
		weeks++
		if sum == nil {
			sum = make([]float64, 24)
		}
		for i, b := range st.Buckets[:min(24, len(st.Buckets))] {
			sum[i] += float64(b.Calls)
		}
	}
	if weeks == 0 {
		return nil
	}
	for i := range sum {
		sum[i] /= float64(weeks)
	}
	return sum
}

// zoneName is the zone's abbreviation as people use it (WITA), from the
// one place that names zones (configs.ZoneName): the board, the console
// and the CLI cannot name one zone two ways.
func zoneName(t time.Time) string { return configs.ZoneName(t) }

func (s *Board) dashboard(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := negotiate(r, s.cfg.Language)
	status := http.StatusOK
	p := pageData{
		L: l, Title: s.cfg.Title, CSS: s.css, JS: s.js,
		RefreshSeconds: int(s.cfg.Refresh.Round(time.Second) / time.Second),
		From:           q.Get("from"), To: q.Get("to"),
	}
	bq, err := s.dashboardRange(l, q)
	var re *rangeError
	if errors.As(err, &re) {
		// A bad range keeps the page: today's board under a banner that
		// says what was wrong, and the inputs as the user left them.
		status = http.StatusBadRequest
		p.Error = l.T("err.range", l.T(re.key, re.args...))
		q = url.Values{"lang": q["lang"]}
	}
	viewer := s.viewer(r)
	p.Board, err = s.board(r.Context(), l, bq, s.unmasked(r, viewer), viewer)
	if errors.Is(err, reports.ErrRange) {
		status = http.StatusBadRequest
		p.Error = l.T("err.range", l.T("err.range.long"))
		q = url.Values{"lang": q["lang"]}
		bq, _ = s.dashboardRange(l, q)
		p.Board, err = s.board(r.Context(), l, bq, s.unmasked(r, viewer), viewer)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	if p.From == "" && p.To == "" {
		loc := s.agg.Location()
		p.From = p.Board.Stats.From.In(loc).Format(time.DateOnly)
		p.To = p.Board.Stats.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
	}
	keepLang := url.Values{}
	if v := q.Get("lang"); v != "" {
		keepLang.Set("lang", v)
	}
	if v := q.Get("tv"); v == "1" || v == "0" {
		p.TV = v
		keepLang.Set("tv", v)
	} else if viewer != nil {
		// A signed-in supervisor works the needs-attention queue on this
		// screen: the desk layout leaves it room, where the TV sizes
		// (for a wall read from across the room) crowd the tiles out.
		p.TV = "0"
	}
	for _, k := range dashboardRanges {
		p.Ranges = append(p.Ranges, rangeChoice{Key: k, Label: l.T("range." + k), Href: withQuery(keepLang, "range", k), Active: k == bq.key})
	}
	for _, tag := range Languages {
		p.Langs = append(p.Langs, langLink{Tag: tag, Label: l.T("lang." + tag), Href: withQuery(q, "lang", tag), Active: tag == l.Tag})
	}
	// The stream renders in the page's language whatever the browser sends.
	p.StreamURL = "api/stream" + withQuery(q, "lang", l.Tag)

	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "dashboard.html", p); err != nil {
		s.cfg.Log.Warn("dashboard render", "err", err)
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Tag)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// callbackSwitch reads the call-back switch; ok is false when there is
// none or it cannot be read now, and the board then shows neither its
// state nor the buttons.
func (s *Board) callbackSwitch(ctx context.Context) (on, ok bool) {
	if s.cfg.Callbacks == nil {
		return false, false
	}
	on, err := s.cfg.Callbacks.Enabled(ctx)
	if err != nil {
		s.cfg.Log.Warn("call-back switch not read", "err", err)
		return false, false
	}
	return on, true
}
