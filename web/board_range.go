package web

import (
	"net/url"
	"slices"
	"time"

	"github.com/siaga112/siaga112/reports"
)

// rangeChoice is one button of the dashboard's range selector.
type rangeChoice struct {
	Key, Label, Href string
	Active           bool
}

var dashboardRanges = []string{"today", "24h", "7d", "30d"}

// rangeError is a bad range on the dashboard, said in the reader's words.
type rangeError struct {
	key  string
	args []any
}

func (e *rangeError) Error() string { return locales[LangEN].T(e.key, e.args...) }

// boardQuery is what a dashboard or stream request asks for.
type boardQuery struct {
	key, title string
	from, to   time.Time
	size       reports.BucketSize
}

// dashboardRange turns ?range= (or ?from=&to=&bucket=) into a range.
// maxHourlyRange is the longest board range shown in hourly bars.
const maxHourlyRange = 7 * 24 * time.Hour

func (s *Board) dashboardRange(l *locale, q url.Values) (boardQuery, error) {
	now := s.cfg.Now()
	day := s.agg.BucketStart(now, reports.Day)
	today := boardQuery{key: "today", title: l.T("range.title.today"), from: day, to: s.agg.NextBucket(day, reports.Day), size: reports.Hour}
	if q.Get("from") != "" || q.Get("to") != "" {
		bq := boardQuery{key: "custom", size: reports.BucketSize(q.Get("bucket"))}
		switch bq.size {
		case "", reports.Hour, reports.Day:
		default:
			return today, &rangeError{"err.bucket", []any{string(bq.size)}}
		}
		var err error
		if bq.from, err = s.boardTime(q.Get("from"), false); err != nil {
			return today, err
		}
		if bq.to, err = s.boardTime(q.Get("to"), true); err != nil {
			return today, err
		}
		switch {
		case bq.to.IsZero() && bq.from.IsZero():
			return today, nil
		case bq.to.IsZero():
			bq.to = now
		case bq.from.IsZero():
			bq.from = bq.to.Add(-24 * time.Hour)
		}
		if !bq.to.After(bq.from) {
			return today, &rangeError{key: "err.range.order"}
		}
		if bq.size == "" {
			bq.size = reports.Hour
			if bq.to.Sub(bq.from) > 3*24*time.Hour {
				bq.size = reports.Day
			}
		}
		// Hourly bars over more than a week cannot be read on a wall, and a
		// quarter of them cost four times the default board's render (see
		// renderEvery): such a range is shown by day.
		if bq.size == reports.Hour && bq.to.Sub(bq.from) > maxHourlyRange {
			bq.size = reports.Day
		}
		loc := s.agg.Location()
		bq.title = l.DayTimeAt(bq.from.In(loc), now.In(loc)) + " – " + l.DayTimeAt(bq.to.In(loc), now.In(loc))
		return bq, nil
	}
	switch key := q.Get("range"); key {
	case "", "today":
		return today, nil
	case "24h":
		return boardQuery{key, l.T("range.title.24h"), now.Add(-23 * time.Hour), now, reports.Hour}, nil
	case "7d":
		return boardQuery{key, l.T("range.title.7d"), day.AddDate(0, 0, -6), s.agg.NextBucket(day, reports.Day), reports.Day}, nil
	case "30d":
		return boardQuery{key, l.T("range.title.30d"), day.AddDate(0, 0, -29), s.agg.NextBucket(day, reports.Day), reports.Day}, nil
	default:
		return today, &rangeError{"err.range.key", []any{key}}
	}
}

// boardTime reads a date input (2006-01-02, local) or an RFC3339 time. A
// date used as the end of a range means the end of that day.
func (s *Board) boardTime(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, s.agg.Location())
	if err != nil {
		return time.Time{}, &rangeError{"err.range.date", []any{v}}
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// withQuery returns "?"+q with key set to v (or removed when v is "").
func withQuery(q url.Values, key, v string) string {
	c := url.Values{}
	for k, vs := range q {
		c[k] = slices.Clone(vs)
	}
	if v == "" {
		c.Del(key)
	} else {
		c.Set(key, v)
	}
	return "?" + c.Encode()
}
