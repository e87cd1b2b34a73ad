package web

import (
	"encoding/csv"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// TestAPIStatsQueue reads /api/stats as a client does, by field name.
func TestAPIStatsQueue(t *testing.T) {
	agg, now := queueAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	q := "?from=" + t0.Format(time.RFC3339) + "&to=" + t0.Add(time.Hour).Format(time.RFC3339)
	var body struct {
		AnsweredWithin  map[string]*float64 `json:"answered_within"`
		SecondsToPerson map[string]float64  `json:"seconds_to_person"`
		WaitingNow      *int                `json:"waiting_now"`
		WaitingByType   map[string]int      `json:"waiting_by_type"`
		LongestWaitS    *float64            `json:"longest_wait_s"`
		QueueAbandoned  *int64              `json:"queue_abandoned"`
		Operators       map[string]any      `json:"operators"`
		Buckets         []struct {
			AnsweredWithin map[string]*float64 `json:"answered_within"`
			QueueAbandoned int64               `json:"queue_abandoned"`
		} `json:"buckets"`
	}
	status, raw, _ := get(t, ts.URL+"/api/stats"+q, false)
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	if share(body.AnsweredWithin, "10s") != 0.1429 || share(body.AnsweredWithin, "15s") != 0.3333 || share(body.AnsweredWithin, "20s") != 0.5 {
		t.Errorf("answered_within %s", raw[:min(len(raw), 400)])
	}
	if p := body.SecondsToPerson; p["max"] != 25 || !within(p["p50"], 12, 0.025) || !within(p["p90"], 25, 0.025) || !within(p["p95"], 25, 0.025) {
		t.Errorf("seconds_to_person %v", p)
	}
	// h was handed over 2 s after its answer, 13 s before now.
	if body.WaitingNow == nil || *body.WaitingNow != 1 || body.WaitingByType["medical"] != 1 || body.LongestWaitS == nil || *body.LongestWaitS != 11 {
		t.Errorf("waiting_now %v by type %v longest_wait_s %v, want 1, medical 1, 11", body.WaitingNow, body.WaitingByType, body.LongestWaitS)
	}
	if body.QueueAbandoned == nil || *body.QueueAbandoned != 1 {
		t.Errorf("queue_abandoned %v, want 1", body.QueueAbandoned)
	}
	for k, v := range map[string]float64{"free": 1, "busy": 1, "ringing": 1, "away": 1, "unknown": 0} {
		if body.Operators[k] != v {
			t.Errorf("operators.%s = %v, want %v", k, body.Operators[k], v)
		}
	}
	if _, ok := body.Operators["devices"]; ok {
		t.Error("operators' devices listed without the admin token")
	}
	if len(body.Buckets) != 1 || share(body.Buckets[0].AnsweredWithin, "20s") != 0.5 || body.Buckets[0].QueueAbandoned != 1 {
		t.Errorf("buckets %+v", body.Buckets)
	}
	_, raw, _ = get(t, ts.URL+"/api/stats"+q, true)
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	if devs, _ := body.Operators["devices"].([]any); len(devs) != 4 {
		t.Errorf("with the token, %d devices, want 4", len(devs))
	}
	// A range without a handed-over call has no share at all.
	_, raw, _ = get(t, ts.URL+"/api/stats?from=2026-11-20&to=2026-11-20", false)
	if strings.Contains(raw, `"answered_within"`) || strings.Contains(raw, `"seconds_to_person"`) {
		t.Errorf("a day without calls reports answered_within or seconds_to_person")
	}
}

// TestQueueMetrics: the histogram of seconds to a person with its bounds,
// waiting calls, operators by state and queue abandons.
func TestQueueMetrics(t *testing.T) {
	agg, now := queueAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	mfs := scrape(t, ts.URL)
	h := mfs["siaga112_seconds_to_person"]
	if h == nil {
		t.Fatal("no siaga112_seconds_to_person")
	}
	hist := h.GetMetric()[0].GetHistogram()
	cum := map[float64]uint64{}
	for _, b := range hist.GetBucket() {
		cum[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	// 8, 12, 18, 25 s.
	for ub, want := range map[float64]uint64{5: 0, 10: 1, 15: 2, 20: 3, 30: 4, 60: 4, 120: 4} {
		if cum[ub] != want {
			t.Errorf("seconds_to_person ≤ %v: %d, want %d (buckets %v)", ub, cum[ub], want, cum)
		}
	}
	if hist.GetSampleCount() != 4 || hist.GetSampleSum() != 63 {
		t.Errorf("seconds_to_person count %d sum %v, want 4 and 63", hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"siaga112_queue_waiting_calls", map[string]string{"type": "medical"}, 1},
		{"siaga112_queue_waiting_calls", map[string]string{"type": "fire"}, 0},
		{"siaga112_queue_longest_wait_seconds", nil, 11},
		{"siaga112_queue_abandoned_total", nil, 1},
		{"siaga112_operator_answered_total", nil, 4},
		{"siaga112_operators", map[string]string{"state": "free"}, 1},
		{"siaga112_operators", map[string]string{"state": "busy"}, 1},
		{"siaga112_operators", map[string]string{"state": "ringing"}, 1},
		{"siaga112_operators", map[string]string{"state": "away"}, 1},
		{"siaga112_operators", map[string]string{"state": "unknown"}, 0},
		{"siaga112_active_calls", nil, 0},
	} {
		if got, ok := metricValue(mfs, m.name, m.labels); !ok || got != m.want {
			t.Errorf("%s%v = %v (present %v), want %v", m.name, m.labels, got, ok, m.want)
		}
	}
}

// TestBoardQueue: the queue band's figures in both languages, the
// hand-off's wording, and callers who reached no person in needs-attention
// as call-back items, oldest first.
func TestBoardQueue(t *testing.T) {
	agg, now := queueAggregator(t)
	// A caller who dropped before the hand-off, after the queue's calls.
	cb := callEvents(t, callSpec{id: "cb", number: "+6281234500002", at: t0.Add(20 * time.Minute), outcome: events.OutcomeEmergency, typ: "fire", ttc: 3})
	for i, e := range cb {
		if e.Type == events.TypeClassified {
			raw, _ := json.Marshal(map[string]any{"outcome": "emergency", "emergency_type": "fire", "attempts": 1, "seconds_to_classify": 3, "callback": true})
			cb[i].Data = raw
		}
	}
	applyAll(t, agg, cb)
	ts := newTestServerAs(t, agg, BoardConfig{
		Now: func() time.Time { return now },
	}, &Session{Name: "op1", Role: console.RoleOperator, CSRF: "tok"})
	p := mustStats(t, agg, t0, t0.Add(time.Hour), reports.Hour).Totals.SecondsToPerson
	for _, lg := range []struct {
		query string
		want  []string
		not   []string
	}{
		{"?lang=id", []string{
			`data-testid="waiting-now">1<`, `data-wait-since="` + strconv.FormatInt(now.Add(-11*time.Second).UnixMilli(), 10) + `"`, `>0.11<`,
			`data-testid="waiting-types">medis <b>1</b><`,
			`data-testid="within-10s">14<small>%</small><`, `data-testid="within-15s">33<small>%</small><`, `data-testid="within-20s">50<small>%</small><`,
			`data-testid="person-median">` + locales[LangID].Dec(p.P50, 1) + `<`,
			`data-testid="queue-abandoned">1<`,
			`data-testid="operators-free">1<`, `data-testid="operators-busy">2<`, `data-testid="operators-away">1<`, `· 1 berdering`,
			"Ke antrean petugas", `data-testid="put-through-fates">5 dijawab petugas, 1 menutup di antrean<`,
			`<span class="badge q-abandoned">menutup di antrean</span>`, `<span class="badge q-answered">dijawab petugas</span>`,
		}, []string{"Diteruskan", "diteruskan", "Put through", "Answered", "Operators"}},
		{"?lang=en", []string{
			`>0:11<`, `data-testid="within-15s">33<small>%</small><`, "To the operators&#39; queue",
			`data-testid="put-through-fates">5 answered by a person, 1 hung up in the queue<`,
			`<span class="badge q-abandoned">hung up in the queue</span>`,
		}, []string{"Put through", "put through"}},
	} {
		t.Run(lg.query, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+"/"+lg.query, false)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			for _, w := range lg.want {
				if !strings.Contains(body, w) {
					t.Errorf("board lacks %s", w)
				}
			}
			for _, w := range lg.not {
				if strings.Contains(body, w) {
					t.Errorf("board says %q", w)
				}
			}
			att := body[strings.Index(body, `data-testid="attention"`):]
			att = att[:strings.Index(att, "</section>")]
			var ids []string
			for _, m := range regexp.MustCompile(`data-call-id="([^"]+)"`).FindAllStringSubmatch(att, -1) {
				ids = append(ids, m[1])
			}
			// e hung up in the queue at 10:05, f was ended in it at 10:06,
			// cb dropped before the hand-off at 10:20.
			if !slices.Equal(ids, []string{"e", "f", "cb"}) {
				t.Errorf("needs attention %v, want [e f cb] (oldest first)", ids)
			}
			if n := strings.Count(att, `value="called_back"`); n != 3 {
				t.Errorf("%d call-back buttons in needs attention, want 3", n)
			}
		})
	}
}

// TestCallsQueueFields: /api/calls and its CSV carry each call's queue
// state, operator and seconds to a person.
func TestCallsQueueFields(t *testing.T) {
	agg, now := queueAggregator(t)
	ts := newTestServer(t, agg, BoardConfig{Now: func() time.Time { return now }})
	_, body, _ := get(t, ts.URL+"/api/calls?limit=100", false)
	var res struct{ Calls []reports.CallRecord }
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]reports.CallRecord{}
	for _, c := range res.Calls {
		got[c.CallID] = c
	}
	if a := got["a"]; a.Queue != reports.QueueAnswered || a.Operator != "PJSIP/op201" || a.SecondsToPerson == nil || *a.SecondsToPerson != 8 || a.Where != events.WhereOperator {
		t.Errorf("call a %+v", a)
	}
	if e := got["e"]; e.Queue != reports.QueueAbandoned || !e.QueueAbandoned || !e.Callback || e.SecondsToPerson != nil {
		t.Errorf("call e %+v", e)
	}
	_, body, _ = get(t, ts.URL+"/api/calls.csv?lang=en", false)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[0] == "a" && (r[col["queue"]] != "answered" || r[col["operator"]] != "PJSIP/op201" || r[col["seconds_to_person"]] != "8" || r[col["where"]] != "operator") {
			t.Errorf("CSV row of a %q", r)
		}
	}
}
