package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// TestCallbackAggregation applies each call-back story to a dropped call
// (c1 at 18:00 WITA) and checks what the board and the API make of it at
// 18:10: whether the call still needs attention and what its item says,
// unreached, today's call-back counts, and that a call-back's own call is
// never a call of its own.
func TestCallbackAggregation(t *testing.T) {
	const (
		num   = "+6281234500010"
		other = "+6281234500011"
	)
	now := t0.Add(10 * time.Minute)
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	type want struct {
		attention []string // call ids in needs-attention, oldest first
		stateID   string   // c1's item, in Indonesian ("" = no call-back state)
		stateEN   string
		unreached int
		counts    reports.CallbackCounts
		calls     int64
	}
	for _, tc := range []struct {
		name   string
		script func(s *cbScript)
		want   want
	}{
		{"dropped, no call-back yet", func(s *cbScript) {}, want{
			attention: []string{"c1"}, unreached: 1, calls: 1,
		}},
		{"scheduled, not due yet", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(12))
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik otomatis pukul 18.12", stateEN: "automatic call-back at 18:12",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1}, calls: 1,
		}},
		{"due, no operator free", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
		}, want{
			attention: []string{"c1"}, stateID: "menunggu petugas kosong", stateEN: "waiting for a free operator",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1}, calls: 1,
		}},
		{"two attempts not answered, the next later", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(3), "")
			s.Attempt("c1", num, at(3.5), 2, events.CallbackNoAnswer, at(12.5), "")
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik 2×, tidak diangkat; berikutnya 18.12", stateEN: "called back 2×, no answer; next 18:12",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 2, NoAnswer: 2}, calls: 1,
		}},
		{"next attempt due, waiting for an operator", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackBusy, at(3), "")
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik 1×, nada sibuk; menunggu petugas kosong", stateEN: "called back 1×, busy; waiting for a free operator",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 1, NoAnswer: 1}, calls: 1,
		}},
		{"put through, waiting in the queue", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(3), "")
			s.Attempt("c1", num, at(3.5), 2, events.CallbackPutThrough, time.Time{}, "cb-own-1")
			s.Own(events.TypeTransferred, "cb-own-1", "c1", num, at(3.6))
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik 2×, tersambung ke antrean petugas", stateEN: "called back 2×, connected to the operators' queue",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 2, PutThrough: 1, NoAnswer: 1}, calls: 1,
		}},
		{"put through, then hung up in the queue", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackPutThrough, time.Time{}, "cb-own-1")
			s.Own(events.TypeTransferred, "cb-own-1", "c1", num, at(1.1))
			s.Own(events.TypeQueueAbandoned, "cb-own-1", "c1", num, at(1.6))
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik 1×, tersambung, lalu menutup di antrean", stateEN: "called back 1×, connected, then hung up in the queue",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 1, PutThrough: 1}, calls: 1,
		}},
		{"operator answered the call-back: resolved", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(3), "")
			s.Attempt("c1", num, at(3.5), 2, events.CallbackPutThrough, time.Time{}, "cb-own-1")
			s.Own(events.TypeTransferred, "cb-own-1", "c1", num, at(3.6))
			s.Own(events.TypeOperatorAnswered, "cb-own-1", "c1", num, at(3.8))
			s.Own(events.TypeEnded, "cb-own-1", "c1", num, at(6))
			s.Done("c1", num, at(3.8), events.DoneOperatorAnswered, true, 2, "", "")
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 2, PutThrough: 1, NoAnswer: 1}, calls: 1,
		}},
		{"operator answered, callback.done not come yet: resolved", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackPutThrough, time.Time{}, "cb-own-1")
			s.Own(events.TypeOperatorAnswered, "cb-own-1", "c1", num, at(1.3))
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 1, PutThrough: 1}, calls: 1,
		}},
		{"every attempt failed: kept, unreached", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(3), "")
			s.Attempt("c1", num, at(3.5), 2, events.CallbackNoResponse, at(8.5), "")
			s.Attempt("c1", num, at(9), 3, events.CallbackFailed, time.Time{}, "")
			s.Done("c1", num, at(9), events.DoneAttemptsExhausted, false, 3, "", "")
		}, want{
			attention: []string{"c1"}, stateID: "tidak terjangkau setelah 3 kali — telepon manual", stateEN: "not reached after 3 attempts — call by hand",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 3, NoAnswer: 2}, calls: 1,
		}},
		{"called again and reached an operator", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Add(events.TypeStarted, "c2", num, at(2), events.Started{Dialed: "112"})
			s.Add(events.TypeClassified, "c2", num, at(2.1), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3})
			s.Add(events.TypeTransferred, "c2", num, at(2.2), events.Transferred{EmergencyType: "fire", SecondsToQueue: 4})
			s.Add(events.TypeOperatorAnswered, "c2", num, at(2.4), events.OperatorAnswered{EmergencyType: "fire", Operator: "PJSIP/op202", SecondsInQueue: 8, SecondsToPerson: 14})
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1}, calls: 2,
		}},
		{"another number reaching an operator changes nothing", func(s *cbScript) {
			s.Add(events.TypeStarted, "c2", other, at(2), events.Started{Dialed: "112"})
			s.Add(events.TypeClassified, "c2", other, at(2.1), events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", Attempts: 1, SecondsToClassify: 3})
			s.Add(events.TypeTransferred, "c2", other, at(2.2), events.Transferred{EmergencyType: "fire", SecondsToQueue: 4})
			s.Add(events.TypeOperatorAnswered, "c2", other, at(2.4), events.OperatorAnswered{EmergencyType: "fire", Operator: "PJSIP/op202", SecondsInQueue: 8, SecondsToPerson: 14})
		}, want{
			attention: []string{"c1"}, unreached: 1, calls: 2,
		}},
		{"cancelled by a supervisor", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(3), "")
			s.Done("c1", num, at(2), events.DoneCancelled, false, 1, "siti", "salah sambung, sudah dikonfirmasi")
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 1, NoAnswer: 1, Cancelled: 1}, calls: 1,
		}},
		{"ticked by an operator", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Add(events.TypeHandled, "c1", "", at(1), events.Handled{Action: events.HandledCalledBack, By: "budi"})
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1}, calls: 1,
		}},
		{"prank verdict", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Done("c1", num, at(1), events.DonePrank, false, 0, "", "")
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1}, calls: 1,
		}},
		{"blocked since: kept", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Done("c1", num, at(1), events.DoneBlocked, false, 0, "", "")
		}, want{
			attention: []string{"c1"}, stateID: "nomor diblokir, tidak ditelepon balik otomatis", stateEN: "number blocked, no automatic call-back",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1}, calls: 1,
		}},
		{"a second drop folds into the call-back: one caller", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Dropped("c1b", num, at(2))
		}, want{
			attention: []string{"c1", "c1b"}, stateID: "menunggu petugas kosong", stateEN: "waiting for a free operator",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1}, calls: 2,
		}},
		{"a cancel closes the folded drop too", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Dropped("c1b", num, at(2))
			s.Done("c1", num, at(3), events.DoneCancelled, false, 0, "siti", "sudah ditangani polisi")
		}, want{
			unreached: 0, counts: reports.CallbackCounts{Scheduled: 1, Cancelled: 1}, calls: 2,
		}},
		{"redelivered events count once", func(s *cbScript) {
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Scheduled("c1", num, at(0.1), at(0.6))
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(12.5), "")
			s.Attempt("c1", num, at(1), 1, events.CallbackNoAnswer, at(12.5), "")
		}, want{
			attention: []string{"c1"}, stateID: "ditelepon balik 1×, tidak diangkat; berikutnya 18.12", stateEN: "called back 1×, no answer; next 18:12",
			unreached: 1, counts: reports.CallbackCounts{Scheduled: 1, Attempts: 1, NoAnswer: 1}, calls: 1,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := reports.NewAggregator(reports.Options{Location: wita, Now: func() time.Time { return now }})
			s := &cbScript{T: t}
			s.Dropped("c1", num, t0)
			tc.script(s)
			applyAll(t, a, s.Events)

			var ids []string
			var c1 *reports.CallRecord
			for _, r := range a.Attention(t0.Add(-time.Hour), now, 0, true) {
				ids = append(ids, r.CallID)
				if r.CallID == "c1" {
					c1 = &r
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want.attention) {
				t.Errorf("needs attention %v, want %v", ids, tc.want.attention)
			}
			for _, r := range a.Attention(t0.Add(-time.Hour), now, 0, true) {
				// A later drop folded into c1's call-back shows c1's.
				if r.CallID == "c1b" && (r.CallbackState == nil || r.CallbackState.Of != "c1" || locales[LangEN].Callback(r.CallbackState, now) != "waiting for a free operator") {
					t.Errorf("the folded drop shows %+v, want c1's call-back", r.CallbackState)
				}
			}
			if c1 != nil {
				for lang, want := range map[string]string{LangID: tc.want.stateID, LangEN: tc.want.stateEN} {
					if got := locales[lang].Callback(c1.CallbackState, now.In(wita)); got != want {
						t.Errorf("%s: item says %q, want %q", lang, got, want)
					}
				}
			}
			if got := a.Unreached(now); got != tc.want.unreached {
				t.Errorf("unreached %d, want %d", got, tc.want.unreached)
			}
			if got := a.Callbacks(now); got != tc.want.counts {
				t.Errorf("call-back counts %+v, want %+v", got, tc.want.counts)
			}
			// A call-back's own call is no call: not counted, no outcome,
			// no hand-off, no operator answer, no time to the queue.
			tot := mustStats(t, a, t0.Add(-time.Hour), now, reports.Hour).Totals
			if tot.Calls != tc.want.calls || tot.Outcomes[string(events.OutcomeEmergency)] != tc.want.calls {
				t.Errorf("calls %d (emergency %d), want %d", tot.Calls, tot.Outcomes[string(events.OutcomeEmergency)], tc.want.calls)
			}
			var handedOver int64
			for _, r := range a.Calls(reports.CallFilter{Unmasked: true}) {
				if strings.HasPrefix(r.CallID, "cb-own") {
					t.Errorf("the call-back's own call %s became a call: %+v", r.CallID, r)
				}
				if r.Transferred {
					handedOver++
				}
				if r.CallID == "c1" && (r.Transferred || r.SecondsToQueue != 0 || r.Queue != "" || r.QueueAbandoned) {
					t.Errorf("the call-back's own call changed the dropped call's own figures: %+v", r)
				}
			}
			if tot.PutThrough != handedOver || tot.QueueAbandoned != 0 {
				t.Errorf("put through %d (want %d), queue abandoned %d (want 0): a call-back counted as a call", tot.PutThrough, handedOver, tot.QueueAbandoned)
			}
			if c := a.Counters(); c.QueueAbandoned != 0 || c.OperatorAnswered > uint64(handedOver) {
				t.Errorf("lifetime counters count the call-back's own call: %+v", c)
			}
		})
	}
}

// TestAPIStatsCallbacks: /api/stats carries today's call-back counts and
// unreached whatever the range.
func TestAPIStatsCallbacks(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	a := reports.NewAggregator(reports.Options{Location: wita, Now: func() time.Time { return now }})
	s := &cbScript{T: t}
	s.Dropped("c1", "+6281234500040", t0)
	s.Scheduled("c1", "+6281234500040", t0.Add(5*time.Second), t0.Add(35*time.Second))
	s.Attempt("c1", "+6281234500040", t0.Add(time.Minute), 1, events.CallbackNoAnswer, t0.Add(3*time.Minute), "")
	s.Attempt("c1", "+6281234500040", t0.Add(4*time.Minute), 2, events.CallbackPutThrough, time.Time{}, "cb-own")
	s.Dropped("c2", "+6281234500041", t0.Add(time.Minute))
	s.Scheduled("c2", "+6281234500041", t0.Add(65*time.Second), t0.Add(95*time.Second))
	s.Done("c2", "+6281234500041", t0.Add(2*time.Minute), events.DoneCancelled, false, 0, "siti", "salah sambung")
	s.Dropped("c3", "+6281234500042", t0.Add(2*time.Minute))
	applyAll(t, a, s.Events)
	ts := newTestServer(t, a, BoardConfig{Now: func() time.Time { return now }})
	for _, q := range []string{"", "?bucket=day&from=2026-11-01&to=2026-11-02"} {
		status, body, _ := get(t, ts.URL+"/api/stats"+q, false)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d %s", q, status, body)
		}
		var got struct {
			Callbacks map[string]int64 `json:"callbacks"`
			Unreached *int             `json:"unreached"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"scheduled": 2, "attempts": 2, "put_through": 1, "no_answer": 1, "cancelled": 1}
		if fmt.Sprint(got.Callbacks) != fmt.Sprint(want) {
			t.Errorf("%s: callbacks %v, want %v", q, got.Callbacks, want)
		}
		// c1 is still in the queue (put through, nobody answered yet) and
		// c3 has no call-back yet; c2 was cancelled.
		if got.Unreached == nil || *got.Unreached != 2 {
			t.Errorf("%s: unreached %v, want 2", q, got.Unreached)
		}
	}
}

// TestBoardCallbacks: the tile says how many callers are not yet reached,
// red above 0; each item says where its call-back stands in the board's
// language; a supervisor (not an operator) gets the cancel form, and only
// where the centre has a call-back switch, whose state the console bar
// shows.
func TestBoardCallbacks(t *testing.T) {
	a, now := boardCallbacks(t)
	sup := Session{Name: "siti", Role: console.RoleSupervisor, CSRF: "tok"}
	op := Session{Name: "budi", Role: console.RoleOperator, CSRF: "tok"}
	on := func(context.Context) (bool, bool) { return true, true }
	off := func(context.Context) (bool, bool) { return false, true }
	for _, tc := range []struct {
		name   string
		viewer *Session
		sw     func(context.Context) (bool, bool)
		query  string
		want   []string
		not    []string
	}{
		{"supervisor, switch on, id", &sup, on, "?lang=id", []string{
			`class="kpi m-callback alarm" data-panel="callback"`, `data-testid="unreached">2<`, "Belum terjangkau", `data-testid="total-callback">3 perlu ditelepon balik<`,
			`<div class="cbstate" data-testid="cb-state">ditelepon balik 2×, tidak diangkat; berikutnya 18.12</div>`,
			`<div class="cbstate" data-testid="cb-state">tidak terjangkau setelah 3 kali — telepon manual</div>`,
			`action="console/calls/c1/callback/cancel"`, `name="number" value="&#43;6281234500050"`, `name="note" required maxlength="200" placeholder="alasan (wajib)"`,
			"Batalkan telepon balik", `data-testid="callback-switch"><a href="console/callbacks?lang=id">Telepon balik otomatis: AKTIF</a>`,
		}, []string{`console/calls/c2/callback/cancel`, "called back", "Not yet reached", "Cancel"}},
		{"supervisor, switch off, en", &sup, off, "?lang=en", []string{
			`data-testid="unreached">2<`, "Not yet reached", `data-testid="total-callback">3 to call back<`,
			`data-testid="cb-state">called back 2×, no answer; next 18:12<`, "Cancel call-back",
			`<span class="cb-switch off" data-testid="callback-switch"><a href="console/callbacks?lang=en">Automatic call-back: OFF</a>`,
		}, []string{"ditelepon", "Belum terjangkau"}},
		{"operator: no cancel", &op, on, "?lang=id", []string{
			`data-testid="cb-state">ditelepon balik 2×`, "Telepon balik otomatis: AKTIF",
		}, []string{"callback/cancel"}},
		{"no call-back control", &sup, nil, "?lang=id", []string{
			`data-testid="cb-state">ditelepon balik 2×`,
		}, []string{"callback/cancel", "callback-switch"}},
		{"not signed in", nil, on, "?lang=id", []string{
			`data-testid="unreached">2<`, `data-testid="callback-switch">Telepon balik otomatis: AKTIF</span>`,
		}, []string{"cb-state", "callback/cancel", "console/callbacks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := BoardConfig{Now: func() time.Time { return now }}
			if tc.sw != nil {
				cfg.Callbacks = switchFunc(tc.sw)
			}
			ts := newTestServerAs(t, a, cfg, tc.viewer)
			status, body, _ := get(t, ts.URL+"/"+tc.query, false)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("board lacks %s", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("board shows %s", w)
				}
			}
			if i := strings.Index(body, `data-testid="attention"`); i >= 0 {
				att := body[i:]
				att = att[:strings.Index(att, "</section>")]
				if !strings.Contains(att, `data-call-id="c1"`) || !strings.Contains(att, `data-call-id="c2"`) || strings.Contains(att, `data-call-id="c3"`) {
					t.Errorf("needs attention must list c1 and c2 and not c3 (reached on its call-back): %s", att)
				}
			}
		})
	}

	// Nobody left to reach: the tile is not red.
	empty := reports.NewAggregator(reports.Options{Location: wita, Now: func() time.Time { return now }})
	ts := newTestServer(t, empty, BoardConfig{Now: func() time.Time { return now }})
	_, body, _ := get(t, ts.URL+"/", false)
	if !strings.Contains(body, `class="kpi m-callback" data-panel="callback"`) || !strings.Contains(body, `data-testid="unreached">0<`) {
		t.Error("an empty board's unreached tile is not a plain 0")
	}
}

// TestCallbackMetrics: /metrics counts call-backs and says how many
// callers are not yet reached.
func TestCallbackMetrics(t *testing.T) {
	a, now := boardCallbacks(t)
	ts := newTestServer(t, a, BoardConfig{Now: func() time.Time { return now }})
	mfs := scrape(t, ts.URL)
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"siaga112_callers_unreached", nil, 2},
		{"siaga112_callbacks_scheduled_total", nil, 3},
		{"siaga112_callback_attempts_total", map[string]string{"result": "no_answer"}, 2},
		{"siaga112_callback_attempts_total", map[string]string{"result": "busy"}, 3},
		{"siaga112_callback_attempts_total", map[string]string{"result": "put_through"}, 1},
		{"siaga112_callback_attempts_total", map[string]string{"result": "failed"}, 0},
		{"siaga112_callbacks_done_total", map[string]string{"reason": "attempts_exhausted"}, 1},
		{"siaga112_callbacks_done_total", map[string]string{"reason": "cancelled"}, 0},
		{"siaga112_operator_answered_total", nil, 0},
	} {
		if got, ok := metricValue(mfs, m.name, m.labels); !ok || got != m.want {
			t.Errorf("%s%v = %v (found %v), want %v", m.name, m.labels, got, ok, m.want)
		}
	}
}

// TestCallbackWords: every attempt result and every reason a call-back
// ends has its own words in both languages.
func TestCallbackWords(t *testing.T) {
	for _, l := range locales {
		for _, r := range events.CallbackResults {
			if _, ok := l.msgs["cb.result."+r]; !ok {
				t.Errorf("%s: no words for the attempt result %s", l.Tag, r)
			}
		}
		// A reason no one defined (forged on the stream) is a plain end.
		for _, forged := range []string{reports.OtherKey, "forged-reason"} {
			if got := l.Callback(&reports.CallbackInfo{Status: reports.CallbackDone, Done: forged}, t0); got != l.T("cb.end.other") {
				t.Errorf("%s: a forged reason %q reads %q", l.Tag, forged, got)
			}
		}
		for _, r := range events.CallbackDoneReasons {
			got := l.Callback(&reports.CallbackInfo{Status: reports.CallbackDone, Done: r, Attempts: 3, By: "siti"}, t0)
			if got == l.T("cb.end.other") || strings.Contains(got, "cb.") {
				t.Errorf("%s: the reason %s reads %q", l.Tag, r, got)
			}
		}
	}
}

// boardCallbacks is an aggregator at 18:10 WITA with three dropped calls:
// c1 called back twice without an answer (next 18:12), c2 every attempt
// failed, c3 answered on its call-back (resolved).
func boardCallbacks(t *testing.T) (*reports.Aggregator, time.Time) {
	t.Helper()
	now := t0.Add(10 * time.Minute)
	a := reports.NewAggregator(reports.Options{Location: wita, Now: func() time.Time { return now }})
	s := &cbScript{T: t}
	s.Dropped("c1", "+6281234500050", t0)
	s.Scheduled("c1", "+6281234500050", t0.Add(5*time.Second), t0.Add(35*time.Second))
	s.Attempt("c1", "+6281234500050", t0.Add(time.Minute), 1, events.CallbackNoAnswer, t0.Add(3*time.Minute), "")
	s.Attempt("c1", "+6281234500050", t0.Add(4*time.Minute), 2, events.CallbackNoAnswer, t0.Add(12*time.Minute), "")
	s.Dropped("c2", "+6281234500051", t0.Add(time.Minute))
	s.Scheduled("c2", "+6281234500051", t0.Add(65*time.Second), t0.Add(95*time.Second))
	for i := 1; i <= 3; i++ {
		s.Attempt("c2", "+6281234500051", t0.Add(time.Duration(1+2*i)*time.Minute), i, events.CallbackBusy, time.Time{}, "")
	}
	s.Done("c2", "+6281234500051", t0.Add(7*time.Minute), events.DoneAttemptsExhausted, false, 3, "", "")
	s.Dropped("c3", "+6281234500052", t0.Add(2*time.Minute))
	s.Scheduled("c3", "+6281234500052", t0.Add(125*time.Second), t0.Add(155*time.Second))
	s.Attempt("c3", "+6281234500052", t0.Add(3*time.Minute), 1, events.CallbackPutThrough, time.Time{}, "cb-own-3")
	s.Own(events.TypeTransferred, "cb-own-3", "c3", "+6281234500052", t0.Add(3*time.Minute+time.Second))
	s.Own(events.TypeOperatorAnswered, "cb-own-3", "c3", "+6281234500052", t0.Add(3*time.Minute+9*time.Second))
	applyAll(t, a, s.Events)
	return a, now
}
