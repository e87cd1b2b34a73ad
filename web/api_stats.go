package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/siaga112/siaga112/reports"
)

// paramError is a bad query parameter; its message names the parameter.
type paramError struct {
	param, msg string
	status     int
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(param, format string, a ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, a...), status: http.StatusBadRequest}
}

func (s *Board) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		status = pe.status
	case errors.Is(err, reports.ErrRange), errors.Is(err, reports.ErrBucket):
		status = http.StatusBadRequest
	default:
		s.cfg.Log.Error("reports request failed", "err", err)
	}
	writeError(w, status, err.Error())
}

// parseTime accepts RFC3339 or a local date (2006-01-02). A date used as
// the end of a range means the end of that day, so from=to=<date> is that day.
func (s *Board) parseTime(q url.Values, param string, end bool) (time.Time, bool, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, s.agg.Location())
	if err != nil {
		return time.Time{}, false, badParam(param, "%q is neither RFC3339 (2026-11-27T10:00:00+08:00) nor a date (2026-11-27)", v)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, true, nil
}

// statsQuery reads from, to and bucket; defaults: the last 24 hours by
// hour, or the last 30 days by day.
func (s *Board) statsQuery(q url.Values) (from, to time.Time, size reports.BucketSize, err error) {
	size = reports.BucketSize(q.Get("bucket"))
	switch size {
	case "":
		size = reports.Hour
	case reports.Hour, reports.Day:
	default:
		return from, to, size, badParam("bucket", "%q is not hour or day", size)
	}
	from, hasFrom, err := s.parseTime(q, "from", false)
	if err != nil {
		return from, to, size, err
	}
	to, hasTo, err := s.parseTime(q, "to", true)
	if err != nil {
		return from, to, size, err
	}
	if !hasTo {
		to = s.cfg.Now()
	}
	if !hasFrom {
		from = to.Add(-24 * time.Hour)
		if size == reports.Day {
			from = to.AddDate(0, 0, -30)
		}
	}
	if !to.After(from) {
		return from, to, size, badParam("to", "must be after from")
	}
	return from, to, size, nil
}

// statsResponse is /api/stats' body: the statistics plus repeat callers.
type statsResponse struct {
	reports.Stats
	TopCallers []reports.RepeatCaller `json:"top_callers"`
	// Incidents are the incident announcements the figures still hold:
	// how many callers heard each, pressed its key (incident_ack) or
	// still went to operators.
	Incidents []reports.IncidentStats `json:"incidents"`
	// AnsweredWithin, SecondsToPerson and QueueAbandoned are the range's
	// figures past the hand-off, the same as totals' (queue.go defines
	// them): the shares answered by a person within 10, 15 and 20 s,
	// the percentiles of seconds to a person, and the callers who hung
	// up in the queue. The first two are absent when no call decides them.
	AnsweredWithin  map[string]*float64  `json:"answered_within,omitempty"`
	SecondsToPerson *reports.PersonTimes `json:"seconds_to_person,omitempty"`
	QueueAbandoned  int64                `json:"queue_abandoned"`
	// Callbacks are today's automatic call-back counts (scheduled,
	// attempts, put_through, no_answer, cancelled) and Unreached the
	// callers who gave a sign of a person today and have not reached one
	// yet, whatever the range; callback.go defines both. Unreached is the
	// one figure whose goal is 0.
	Callbacks reports.CallbackCounts `json:"callbacks"`
	Unreached int                    `json:"unreached"`
	// QueueNow is the queue at the request's time whatever the range:
	// waiting_now, waiting_by_type, longest_wait_s and operators (with
	// each device only for the admin token).
	reports.QueueNow
}

func (s *Board) stats(w http.ResponseWriter, r *http.Request) {
	from, to, size, err := s.statsQuery(r.URL.Query())
	if err != nil {
		s.fail(w, err)
		return
	}
	st, err := s.agg.Stats(from, to, size)
	if err != nil {
		s.fail(w, err)
		return
	}
	tot := st.Totals.QueueStats
	writePrettyJSON(w, statsResponse{
		Stats: st, TopCallers: s.agg.TopCallers(from, to, s.cfg.TopCallers, s.admin(r)), Incidents: s.agg.Incidents(),
		AnsweredWithin: tot.AnsweredWithin, SecondsToPerson: tot.SecondsToPerson, QueueAbandoned: tot.QueueAbandoned,
		QueueNow:  s.agg.Queue(s.cfg.Now(), s.admin(r)),
		Callbacks: s.agg.Callbacks(s.cfg.Now()), Unreached: s.agg.Unreached(s.cfg.Now()),
	})
}
