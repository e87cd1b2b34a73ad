package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// TestDroppedCallerIsCalledBack: the whole stack as serve runs it. A
// caller chooses fire and hangs up before the queue; siaga112 calls the
// number back by itself callback.delay later, the callee presses 1 at the
// call-back prompt and an operator answers; the board's figures follow.
func TestDroppedCallerIsCalledBack(t *testing.T) {
	w := startWorldWith(t, func(c *configs.Config) {
		c.Callback.Delay = time.Second
		c.IVR.Location.When = configs.LocationAlways
	})
	w.sim.SetQueue("siaga112-fire", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201", AnswerAfter: time.Second}}})
	w.sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op201", AnswerAfter: time.Second}, {Device: "PJSIP/op202", AnswerAfter: time.Second}}})
	const number = "+6281100000099"
	endpoint := w.cfg.Callback.Dial(number, w.cfg.Blocklist.DefaultCountry)
	w.sim.SetCallee(endpoint, arisim.Callee{After: 2 * time.Second, Script: []arisim.Step{
		arisim.WaitForPrompt("siaga112/callback"), arisim.Press("1"), arisim.WaitForOperator(), arisim.Wait(time.Second), arisim.Hangup()}})

	v := w.call(number, arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.WaitForPrompt("location"), arisim.Hangup())
	if v.Continued != nil {
		t.Fatalf("the caller was put through; the test needs one who dropped before: %s", fmtView(v))
	}
	var unreached struct {
		Unreached int `json:"unreached"`
	}
	eventually(t, "the dropped caller counted unreached", func() bool {
		return w.get("/api/stats", &unreached) == http.StatusOK && unreached.Unreached == 1
	})
	var done events.CallbackDone
	eventually(t, "callback.done", func() bool {
		for _, e := range w.callEvents(v.ChannelID) {
			if e.Type == events.TypeCallbackDone {
				return e.DecodeData(&done) == nil
			}
		}
		return false
	})
	if !done.ReachedPerson || done.Reason != events.DoneOperatorAnswered || done.Attempts != 1 {
		t.Fatalf("callback.done %+v, want reached by an operator on the first attempt", done)
	}
	origs := w.sim.Originates()
	if len(origs) != 1 {
		t.Fatalf("%d originates, want 1", len(origs))
	}
	cv := origs[0].Call.Result()
	if cv.Operator == "" || cv.Continued == nil || cv.Continued.Extension != "callback" {
		t.Fatalf("callee: %s", fmtView(cv))
	}
	placed := origs[0].At.Sub(v.EndedAt)
	person := cv.OperatorAnsweredAt.Sub(v.EndedAt)
	t.Logf("call-back placed %s after the drop (callback.delay %s); callee with an operator %s after the drop",
		placed.Round(time.Millisecond), w.cfg.Callback.Delay, person.Round(time.Millisecond))
	if placed < w.cfg.Callback.Delay || placed > w.cfg.Callback.Delay+2*time.Second {
		t.Errorf("placed %s after the drop, want callback.delay (%s) plus at most 2 s", placed, w.cfg.Callback.Delay)
	}
	var stats struct {
		Callbacks struct {
			Scheduled  int `json:"scheduled"`
			Attempts   int `json:"attempts"`
			PutThrough int `json:"put_through"`
		} `json:"callbacks"`
		Unreached int `json:"unreached"`
		Totals    struct {
			Calls int `json:"calls"`
		} `json:"totals"`
	}
	eventually(t, "/api/stats after the call-back", func() bool {
		return w.get("/api/stats", &stats) == http.StatusOK && stats.Callbacks.PutThrough == 1 && stats.Unreached == 0
	})
	if stats.Callbacks.Scheduled != 1 || stats.Callbacks.Attempts != 1 {
		t.Errorf("/api/stats callbacks %+v", stats.Callbacks)
	}
	if stats.Totals.Calls != 1 {
		t.Errorf("calls %d: the call-back's own call was counted as a new call", stats.Totals.Calls)
	}
}
