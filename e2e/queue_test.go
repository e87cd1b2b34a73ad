package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// TestQueueAbandonReachesTheBoard: a caller who chooses fire, waits in the
// operators' queue where nobody answers and hangs up is published as a
// queue abandon to call back, and is on the board's call-back list (the
// API and the page) moments after hanging up; a caller answered by an
// operator gets seconds_to_person.
func TestQueueAbandonReachesTheBoard(t *testing.T) {
	w := startWorld(t)
	w.sim.SetQueue("siaga112-fire", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201", NoAnswer: true}}})
	w.sim.SetQueue("siaga112-medical", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op202", AnswerAfter: 2 * time.Second}}})

	const number = "+6281100000077"
	v := w.call(number, arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.Wait(5*time.Second), arisim.Hangup())
	hungUp := time.Now()
	if v.Continued == nil || v.Continued.Extension != "fire" || v.EndedIn != arisim.EndedInQueue {
		t.Fatalf("caller: %s, ended in %q; want put through to fire and hung up in the queue", fmtView(v), v.EndedIn)
	}
	var rec reports.CallRecord
	eventually(t, "the queue abandon in /api/calls", func() bool {
		var got struct {
			Calls []reports.CallRecord `json:"calls"`
		}
		if w.apiDo(http.MethodGet, "/api/calls?number="+number, adminToken, nil, &got) != http.StatusOK || len(got.Calls) != 1 {
			return false
		}
		rec = got.Calls[0]
		return rec.QueueAbandoned
	})
	seen := time.Since(hungUp)
	t.Logf("queue abandon on the board %s after the caller hung up", seen.Round(time.Millisecond))
	if !rec.Callback || rec.Where != events.WhereQueue {
		t.Fatalf("call record %+v, want a call-back ended in the queue", rec)
	}
	if seen > 2*time.Second {
		t.Errorf("the queue abandon reached the API %s after the hang-up, want within a second or two", seen)
	}
	// The board's figures count it among the calls to call back.
	var stats struct {
		QueueAbandoned int64 `json:"queue_abandoned"`
		Totals         struct {
			Callbacks int64 `json:"callbacks"`
		} `json:"totals"`
	}
	if code := w.get("/api/stats", &stats); code != http.StatusOK || stats.QueueAbandoned != 1 || stats.Totals.Callbacks != 1 {
		t.Errorf("/api/stats %d: queue_abandoned %d, callbacks %d; want 1 and 1", code, stats.QueueAbandoned, stats.Totals.Callbacks)
	}
	evs := w.callEvents(v.ChannelID)
	qa := only[events.QueueAbandoned](t, evs, events.TypeQueueAbandoned)
	if !qa.Callback || qa.EmergencyType != "fire" || qa.SecondsInQueue <= 0 {
		t.Fatalf("queue_abandoned %+v", qa)
	}

	// An answered caller: seconds to a person in the events and the API.
	const answered = "+6281100000078"
	v = w.call(answered, arisim.WaitForPrompt("menu"), arisim.Press("2"), arisim.WaitForOperator(), arisim.Wait(time.Second), arisim.Hangup())
	if v.Operator != "PJSIP/op202" {
		t.Fatalf("caller: %s, operator %q", fmtView(v), v.Operator)
	}
	evs = w.callEvents(v.ChannelID)
	oa := only[events.OperatorAnswered](t, evs, events.TypeOperatorAnswered)
	tr := only[events.Transferred](t, evs, events.TypeTransferred)
	if oa.Operator != "PJSIP/op202" || oa.SecondsToPerson < tr.SecondsToQueue || oa.SecondsInQueue <= 0 {
		t.Fatalf("operator_answered %+v after transferred %+v", oa, tr)
	}
	eventually(t, "seconds to a person in /api/calls", func() bool {
		var got struct {
			Calls []reports.CallRecord `json:"calls"`
		}
		return w.apiDo(http.MethodGet, "/api/calls?number="+answered, adminToken, nil, &got) == http.StatusOK &&
			len(got.Calls) == 1 && got.Calls[0].SecondsToPerson != nil && got.Calls[0].Where == events.WhereOperator
	})
}
