package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// opRecorder wraps the real flow and gives it a Call that notes each
// operation and, at operation number hangAt, makes the caller hang up
// while the operation runs.
type opRecorder struct {
	flow   FlowRunner
	hangAt int // -1: never
	handle chan *arisim.CallHandle

	mu  sync.Mutex
	ops []string
	wg  sync.WaitGroup
}

func (r *opRecorder) Run(ctx context.Context, c flows.Call, in flows.Input, em flows.Emitter) flows.Result {
	return r.flow.Run(ctx, &hangingCall{Call: c, r: r}, in, em)
}

func (r *opRecorder) opsSeen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ops...)
}

type hangingCall struct {
	flows.Call
	r *opRecorder
}

// op records one operation and, if it is the chosen one, hangs the
// caller up concurrently with it.
func (c *hangingCall) op(name string) {
	c.r.mu.Lock()
	n := len(c.r.ops)
	c.r.ops = append(c.r.ops, name)
	c.r.mu.Unlock()
	if n == c.r.hangAt {
		c.r.wg.Add(1)
		go func() {
			defer c.r.wg.Done()
			(<-c.r.handle).Hangup()
		}()
	}
}

func (c *hangingCall) Answer(ctx context.Context) error { c.op("answer"); return c.Call.Answer(ctx) }
func (c *hangingCall) Prompt(ctx context.Context, s flows.PromptSpec) (flows.PromptResult, error) {
	c.op(fmt.Sprint("prompt ", s.Sounds))
	return c.Call.Prompt(ctx, s)
}
func (c *hangingCall) Record(ctx context.Context, s flows.RecordSpec) (string, error) {
	c.op("record")
	return c.Call.Record(ctx, s)
}
func (c *hangingCall) SetVariables(ctx context.Context, v map[string]string) error {
	c.op("set variables")
	return c.Call.SetVariables(ctx, v)
}
func (c *hangingCall) Continue(ctx context.Context, dc, ext string, prio int) error {
	c.op("continue")
	return c.Call.Continue(ctx, dc, ext, prio)
}
func (c *hangingCall) Hangup(ctx context.Context) error { c.op("hangup"); return c.Call.Hangup(ctx) }

func fireScript() []arisim.Step {
	return []arisim.Step{
		arisim.WaitForPrompt("menu"), arisim.Press("1"),
		arisim.WaitForPrompt("location"), arisim.Talk(2 * time.Second),
	}
}

// TestHangupDuringEveryOperation hangs the caller up during each ARI
// operation of a fire call in turn: no panic (a panic would fail the call
// over), exactly one call.ended, and no goroutine left behind.
func TestHangupDuringEveryOperation(t *testing.T) {
	// Learn the operations of a complete call first.
	probe := &opRecorder{hangAt: -1}
	{
		e := startEnv(t, envOptions{flowWrap: func(f FlowRunner) FlowRunner { probe.flow = f; return probe }})
		v := e.call(arisim.Caller{Number: "+628110000001", Script: fireScript()})
		if v.Continued == nil {
			t.Fatalf("probe call not continued: %s", fmtView(v))
		}
		e.close()
	}
	ops := probe.opsSeen()
	if len(ops) < 8 {
		t.Fatalf("operations of a fire call: %v, want at least 8", ops)
	}
	t.Logf("operations: %q", ops)

	for k, op := range ops {
		t.Run(fmt.Sprintf("%d %s", k, op), func(t *testing.T) {
			rec := &opRecorder{hangAt: k, handle: make(chan *arisim.CallHandle, 1)}
			e := startEnv(t, envOptions{flowWrap: func(f FlowRunner) FlowRunner { rec.flow = f; return rec }})
			h := e.place(arisim.Caller{Number: "+628110000002", Script: fireScript()})
			rec.handle <- h
			v := e.wait(h)
			evs := e.waitEnded(v.ChannelID)
			rec.wg.Wait()
			e.close()
			evs = e.streamEventsAfterClose(v.ChannelID, evs)

			counts := map[events.Type]int{}
			for _, ev := range evs {
				counts[ev.Type]++
			}
			if counts[evEnded] != 1 || counts[evStarted] != 1 || counts[evClassified] != 1 {
				t.Fatalf("events %v: want exactly one started, classified and ended", types(evs))
			}
			end := dataOf[events.Ended](t, evs, evEnded)
			switch end.Outcome {
			case events.OutcomeAbandoned, events.OutcomeEmergency:
			default:
				t.Fatalf("outcome %s, want abandoned or emergency (events %v, view %s)", end.Outcome, types(evs), fmtView(v))
			}
			// Only a caller who hangs up as the transfer happens may find
			// the transfer won the race.
			if end.HangupBy != events.HangupByCaller && op != "continue" && op != "set variables" {
				t.Fatalf("hangup_by %s, want caller", end.HangupBy)
			}
			verifyNoLeaks(t)
		})
	}
}

// deleteChannel asks the simulated Asterisk to hang the channel up as a
// second ARI client would (another application, or what the CLI's
// "channel request hangup" does): a soft hangup, cause 32, that the IVR did
// not ask for.
func deleteChannel(t *testing.T, sim *arisim.Server, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, sim.URL()+"/channels/"+url.PathEscape(id)+"?reason=normal", nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.SetBasicAuth(simUser, simPass)
	client := &http.Client{Timeout: waitMax}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("DELETE channel: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE channel: status %d, want 204", resp.StatusCode)
	}
}

// TestHangupMidMenuBy hangs a call up in the middle of the menu, once by
// the caller and once from inside Asterisk (a second client's DELETE): both
// calls are abandoned, and call.ended and call.classified say who ended it,
// so the blocklist gives no strike for Asterisk's doing.
func TestHangupMidMenuBy(t *testing.T) {
	cases := []struct {
		name   string
		hangup func(t *testing.T, e *env, h *arisim.CallHandle)
		simBy  string
		wantBy string
	}{
		{
			name:   "caller",
			hangup: func(_ *testing.T, _ *env, h *arisim.CallHandle) { h.Hangup() },
			simBy:  arisim.HungUpByCaller,
			wantBy: events.HangupByCaller,
		},
		{
			name:   "system",
			hangup: func(t *testing.T, e *env, h *arisim.CallHandle) { deleteChannel(t, e.sim, h.ID()) },
			simBy:  arisim.HungUpByApp,
			wantBy: events.HangupBySystem,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{})
			h := e.place(arisim.Caller{Number: "+628110000003", Script: []arisim.Step{
				arisim.WaitForPrompt("menu"), arisim.WaitForEnd(),
			}})
			eventually(t, "menu playing", func() bool {
				return slices.Contains(base(h.Result().Prompts), "menu")
			})
			tc.hangup(t, e, h)
			v := e.wait(h)
			if v.HungUpBy != tc.simBy {
				t.Fatalf("sim: hung up by %q, want %q (%s)", v.HungUpBy, tc.simBy, fmtView(v))
			}
			evs := e.waitEnded(v.ChannelID)
			cl := dataOf[events.Classified](t, evs, evClassified)
			if cl.Outcome != events.OutcomeAbandoned || cl.HangupBy != tc.wantBy {
				t.Fatalf("call.classified %+v, want abandoned with hangup_by %s (events %v)", cl, tc.wantBy, types(evs))
			}
			end := dataOf[events.Ended](t, evs, evEnded)
			if end.Outcome != events.OutcomeAbandoned || end.HangupBy != tc.wantBy {
				t.Fatalf("call.ended %+v, want abandoned with hangup_by %s", end, tc.wantBy)
			}
			e.close()
		})
	}
}
