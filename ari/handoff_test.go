package ari

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// dropAt wraps the real flow and makes the caller hang up just before the
// flow's first SetVariables or Continue (op) reaches Asterisk.
type dropAt struct {
	flow   FlowRunner
	op     string
	handle chan *arisim.CallHandle
}

func (d *dropAt) Run(ctx context.Context, c flows.Call, in flows.Input, em flows.Emitter) flows.Result {
	return d.flow.Run(ctx, &droppingCall{Call: c, d: d}, in, em)
}

type droppingCall struct {
	flows.Call
	d       *dropAt
	dropped bool
}

func (c *droppingCall) drop(op string) {
	if op != c.d.op || c.dropped {
		return
	}
	c.dropped = true
	h := <-c.d.handle
	h.Hangup()
	<-h.Done()
}

func (c *droppingCall) SetVariables(ctx context.Context, v map[string]string) error {
	c.drop("set variables")
	return c.Call.SetVariables(ctx, v)
}

func (c *droppingCall) Continue(ctx context.Context, dc, ext string, prio int) error {
	c.drop("continue")
	return c.Call.Continue(ctx, dc, ext, prio)
}

// TestCallbackOnEndedWhenDroppedInHandoff: a fire caller who hangs up
// while being handed to the operators (during SetVariables or Continue)
// was classified before, without call-back; call.ended is the only event
// that says to call them back.
func TestCallbackOnEndedWhenDroppedInHandoff(t *testing.T) {
	for _, op := range []string{"set variables", "continue"} {
		t.Run(op, func(t *testing.T) {
			d := &dropAt{op: op, handle: make(chan *arisim.CallHandle, 1)}
			e := startEnv(t, envOptions{
				cfg:      func(c *configs.Config) { c.IVR.Location.When = configs.LocationNever },
				flowWrap: func(f FlowRunner) FlowRunner { d.flow = f; return d },
			})
			h := e.place(arisim.Caller{Number: "+628120000096", Script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.WaitForEnd()}})
			d.handle <- h
			v := e.wait(h)
			if v.Continued != nil || v.HungUpBy != arisim.HungUpByCaller {
				t.Fatalf("caller %s, want hung up before the hand-off", fmtView(v))
			}
			evs := e.waitEnded(v.ChannelID)
			if n := count(evs, evTransferred); n != 0 {
				t.Fatalf("events %v: a call.transferred for a caller who dropped", types(evs))
			}
			cl := dataOf[events.Classified](t, evs, evClassified)
			if cl.Outcome != events.OutcomeEmergency || cl.EmergencyType != "fire" {
				t.Fatalf("call.classified %+v, want emergency fire", cl)
			}
			end := dataOf[events.Ended](t, evs, evEnded)
			if !end.Callback || end.HangupBy != events.HangupByCaller || end.Outcome != events.OutcomeEmergency {
				t.Fatalf("call.ended %+v, want emergency, hung up by the caller, to be called back", end)
			}
			e.close()
		})
	}
}

// timeoutFlow answers, then makes one request that Asterisk is too slow to
// answer within ari.request_timeout, and gives up without putting the
// caller through, as a flow whose own hand-off timed out does.
type timeoutFlow struct{ sim *arisim.Server }

func (f *timeoutFlow) Run(ctx context.Context, c flows.Call, _ flows.Input, _ flows.Emitter) flows.Result {
	if err := c.Answer(ctx); err != nil {
		return flows.Result{Outcome: events.OutcomeFailover, Reason: err.Error()}
	}
	f.sim.SetRESTDelay(time.Second)
	_, err := c.Variable(ctx, "SOMETHING")
	f.sim.SetRESTDelay(0)
	if !errors.Is(err, ErrRequestTimeout) {
		return flows.Result{Outcome: events.OutcomeFailover, Reason: "the request did not time out"}
	}
	return flows.Result{Outcome: events.OutcomeFailover, Reason: err.Error()}
}

// TestSessionFailsOverAfterTimeout: when the flow ends with the caller
// still in the application after a request timed out, the session itself
// puts the caller through at once (and says so in call.transferred);
// the node's sweep, a later safety net, is not what rescues them.
func TestSessionFailsOverAfterTimeout(t *testing.T) {
	flow := &timeoutFlow{}
	e := startEnv(t, envOptions{
		cfg:  func(c *configs.Config) { c.ARI.RequestTimeout = 300 * time.Millisecond },
		flow: flow,
	})
	flow.sim = e.sim
	v := e.call(arisim.Caller{Number: "+628120000098", Script: []arisim.Step{arisim.WaitForEnd()}})
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("caller %s, want put through to the failover extension", fmtView(v))
	}
	evs := e.waitEnded(v.ChannelID)
	if count(evs, evTransferred) != 1 {
		t.Fatalf("events %v: want the session's call.transferred", types(evs))
	}
	if got := e.ivr.Stats().Orphans; got != 0 {
		t.Fatalf("orphans %d: the sweep put the caller through, not the session", got)
	}
}

// TestContinueStopsPromptFirst: Asterisk runs a continue only after the
// channel's playback ends, so a failover from the middle of a prompt
// stops the prompt first. Here every prompt is a tone that never ends on
// its own; the events connection drops during the greeting, and the
// caller must still reach the operators.
func TestContinueStopsPromptFirst(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		c.IVR.SoundPrefix = "tone:"
		c.IVR.MaxPrompt = time.Minute
	}})
	h := e.place(arisim.Caller{Number: "+628120000099", Script: []arisim.Step{arisim.WaitForEnd()}})
	eventually(t, "greeting playing", func() bool { return len(h.Result().Prompts) > 0 })
	e.sim.DropWebSockets()
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("caller %s, want put through to operators", fmtView(v))
	}
	if st := v.PromptLog[0].State; st != "stopped" {
		t.Fatalf("greeting %+v, want stopped before the continue", v.PromptLog[0])
	}
}
