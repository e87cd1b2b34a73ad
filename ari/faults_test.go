package ari

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// silentAfterMenu is a caller who waits in silence once the menu starts.
func silentAfterMenu() []arisim.Step {
	return []arisim.Step{arisim.WaitForPrompt("menu"), arisim.WaitForEnd()}
}

// waitPrompt waits until the caller has heard the named prompt.
func waitPrompt(t *testing.T, h *arisim.CallHandle, name string) {
	t.Helper()
	eventually(t, "prompt "+name, func() bool { return slices.Contains(base(h.Result().Prompts), name) })
}

// count returns how many events of type typ are in evs.
func count(evs []events.Envelope, typ events.Type) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// fireCallWorks checks that a complete fire call is served.
func fireCallWorks(t *testing.T, e *env, number string) {
	t.Helper()
	v := e.call(arisim.Caller{Number: number, Script: fireScript()})
	if v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("fire call after the fault: %s", fmtView(v))
	}
	evs := e.waitEnded(v.ChannelID)
	want := []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded}
	if !slices.Equal(ivrTypes(evs), want) {
		t.Fatalf("fire call events %v, want %v", types(evs), want)
	}
}

// TestAsteriskRestartMidCall: the call in progress vanishes with Asterisk;
// its session ends cleanly with one call.ended, the node reconnects and
// new calls are served.
func TestAsteriskRestartMidCall(t *testing.T) {
	e := startEnv(t, envOptions{})
	h := e.place(arisim.Caller{Number: "+628120000001", Script: silentAfterMenu()})
	waitPrompt(t, h, "menu")
	e.sim.Restart()
	v := e.wait(h)
	// A restart takes the channel with it (as a real Asterisk does): the
	// session's hand-off after the drop meets the new process and a 404.
	if v.HungUpBy != arisim.HungUpByRestart || v.Continued != nil {
		t.Fatalf("hung up by %q, continued %v; want the restart to end the call", v.HungUpBy, v.Continued)
	}
	evs := e.waitEnded(v.ChannelID)
	e.waitConnected(2)
	eventually(t, "session gone", func() bool { return e.ivr.Stats().ActiveCalls == 0 })
	if n := count(e.streamEvents(v.ChannelID), evEnded); n != 1 {
		t.Fatalf("%d call.ended, want 1 (events %v)", n, types(evs))
	}
	fireCallWorks(t, e, "+628120000002")
	if h := e.ivr.Health()[0]; !h.Connected || h.Reconnects < 1 || h.LastError == "" {
		t.Fatalf("health %+v, want connected after a reconnect with the last error kept", h)
	}
}

// TestWebSocketDropMidCall: with the events connection lost the call's
// events cannot be trusted, so the caller is put through to operators at
// once (REST still works); new calls are served after the reconnect.
func TestWebSocketDropMidCall(t *testing.T) {
	e := startEnv(t, envOptions{})
	h := e.place(arisim.Caller{Number: "+628120000011", Script: silentAfterMenu()})
	waitPrompt(t, h, "menu")
	e.sim.DropWebSockets()
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension ||
		v.Continued.Context != e.cfg.IVR.OperatorContext {
		t.Fatalf("after the drop: %s, want continued to the failover extension", fmtView(v))
	}
	if v.Variables[flows.VarFailover] == "" || v.Variables[flows.VarCallID] != v.ChannelID {
		t.Fatalf("variables %v, want call id and failover reason", v.Variables)
	}
	evs := e.waitEnded(v.ChannelID)
	cl := dataOf[events.Classified](t, evs, evClassified)
	if cl.Outcome != events.OutcomeFailover || !strings.Contains(cl.Reason, "events connection lost") {
		t.Fatalf("classified %+v, want failover naming the lost connection", cl)
	}
	if count(evs, evTransferred) != 1 || count(evs, evEnded) != 1 {
		t.Fatalf("events %v, want one transferred and one ended", types(evs))
	}
	e.waitConnected(2)
	fireCallWorks(t, e, "+628120000012")
}

// TestOrphanRecoveredAfterReconnect: the connection drops and Asterisk
// also refuses the hand-off for a while, so the session ends with the
// caller still in the app; the node's sweep finds the channel after the
// reconnect and puts it through.
func TestOrphanRecoveredAfterReconnect(t *testing.T) {
	e := startEnv(t, envOptions{})
	h := e.place(arisim.Caller{Number: "+628120000021", Script: silentAfterMenu()})
	waitPrompt(t, h, "menu")
	// The flow's and the session's continue both fail.
	e.sim.FailREST("POST", "/channels/*/continue", 500, 2)
	e.sim.DropWebSockets()
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("orphan not put through: %s", fmtView(v))
	}
	eventually(t, "orphan counted", func() bool { return e.ivr.Stats().Orphans == 1 })
	evs := e.waitEnded(v.ChannelID)
	if count(evs, evEnded) != 1 || count(evs, evClassified) != 1 {
		t.Fatalf("events %v, want one classified and one ended", types(evs))
	}
}

// TestHungREST: Asterisk stops answering REST requests in time; the call
// is not stuck: the session fails it over and ends within bounded time,
// and the late hand-off request still puts the caller through.
func TestHungREST(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) { c.ARI.RequestTimeout = 300 * time.Millisecond }})
	h := e.place(arisim.Caller{Number: "+628120000031", Script: silentAfterMenu()})
	waitPrompt(t, h, "menu")
	e.sim.SetRESTDelay(time.Second)
	var evs []events.Envelope
	eventually(t, "call.ended while REST is hung", func() bool {
		evs = e.streamEvents(h.ID())
		return count(evs, evEnded) == 1
	})
	cl := dataOf[events.Classified](t, evs, evClassified)
	if cl.Outcome != events.OutcomeFailover || !strings.Contains(cl.Reason, "timed out") {
		t.Fatalf("classified %+v, want failover after a timeout", cl)
	}
	v := e.wait(h) // the delayed continue reaches the sim
	e.sim.SetRESTDelay(0)
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("caller not put through: %s", fmtView(v))
	}
	fireCallWorks(t, e, "+628120000032")
}

// TestNATSDownDuringCall: calls are served unchanged while NATS is down;
// their events reach the stream, in order, once it is back.
func TestNATSDownDuringCall(t *testing.T) {
	dir := t.TempDir()
	e := startEnv(t, envOptions{natsDir: dir})
	listen := strings.TrimPrefix(e.nats.ClientURL(), "nats://")
	e.nats.Shutdown()

	v := e.call(arisim.Caller{Number: "+628120000041", Script: fireScript()})
	if v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("call with NATS down: %s", fmtView(v))
	}
	eventually(t, "events spooled", func() bool { return e.pub.Stats().Spooled >= 6 })

	var err error
	e.nats, err = events.StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir}, testLogger(t))
	if err != nil {
		t.Fatalf("restart nats: %v", err)
	}
	evs := e.waitEnded(v.ChannelID)
	want := []events.Type{evStarted, evAnswered, evMenu, evClassified, evTransferred, evEnded}
	if !slices.Equal(ivrTypes(evs), want) {
		t.Fatalf("events after NATS returned %v, want %v", types(evs), want)
	}
}

// TestGracefulShutdown: Stop stops taking calls (a new call goes straight
// to operators) and a call still in the IVR after the drain time is put
// through to operators.
func TestGracefulShutdown(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) { c.IVR.DrainTimeout = 500 * time.Millisecond }})
	a := e.place(arisim.Caller{Number: "+628120000051", Script: silentAfterMenu()})
	waitPrompt(t, a, "menu")
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitMax)
		defer cancel()
		stopped <- e.ivr.Stop(ctx)
	}()
	eventually(t, "draining", e.ivr.draining.Load)
	b := e.place(arisim.Caller{Number: "+628120000052", Script: []arisim.Step{arisim.WaitForEnd()}})
	for _, h := range []*arisim.CallHandle{a, b} {
		v := e.wait(h)
		if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
			t.Fatalf("call %s after shutdown: %s", h.ID(), fmtView(v))
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	e.close()
	for _, id := range []string{a.ID(), b.ID()} {
		evs := e.streamEventsAfterClose(id, nil)
		if count(evs, evEnded) != 1 || count(evs, evTransferred) != 1 {
			t.Fatalf("call %s events %v, want one transferred and one ended", id, types(evs))
		}
		if end := dataOf[events.Ended](t, evs, evEnded); end.Outcome != events.OutcomeFailover {
			t.Fatalf("call %s ended %+v, want failover", id, end)
		}
	}
}

// panicFlow answers and then panics.
type panicFlow struct{}

func (panicFlow) Run(ctx context.Context, c flows.Call, _ flows.Input, _ flows.Emitter) flows.Result {
	if err := c.Answer(ctx); err != nil {
		return flows.Result{Outcome: events.OutcomeAbandoned}
	}
	panic("boom")
}

// TestFlowPanicFailsOver: a panic in the flow is contained in its session
// and the caller is put through to operators.
func TestFlowPanicFailsOver(t *testing.T) {
	e := startEnv(t, envOptions{flow: panicFlow{}})
	v := e.call(arisim.Caller{Number: "+628120000061"})
	if v.Continued == nil || v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("after a panic: %s", fmtView(v))
	}
	evs := e.waitEnded(v.ChannelID)
	want := []events.Type{evStarted, evClassified, evTransferred, evEnded}
	if !slices.Equal(ivrTypes(evs), want) {
		t.Fatalf("events %v, want %v", types(evs), want)
	}
	if cl := dataOf[events.Classified](t, evs, evClassified); cl.Outcome != events.OutcomeFailover || cl.Reason != "panic: boom" {
		t.Fatalf("classified %+v", cl)
	}
	fireCallWorksWithPanicFlow := e.ivr.Stats().ActiveCalls == 0
	if !fireCallWorksWithPanicFlow {
		t.Fatal("session still live after the panic")
	}
}

// TestWebSocketDropDuringLocationRecording: the events connection drops
// while the caller is telling the location. The caller is put through to
// the chosen type's operators, and what they said so far is stored and
// named in SIAGA112_RECORDING and call.classified, not lost with the events.
func TestWebSocketDropDuringLocationRecording(t *testing.T) {
	// Long limits (media time runs 100x fast) keep the recording running
	// until the drop.
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		c.IVR.Location.MaxSilence = 30 * time.Minute
		c.IVR.Location.MaxDuration = 30 * time.Minute
	}})
	h := e.place(arisim.Caller{Number: "+628120000031", Script: []arisim.Step{
		arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.WaitForEnd(),
	}})
	eventually(t, "call id", func() bool { return h.Result().ChannelID != "" })
	name := "siaga112-" + h.Result().ChannelID + "-location"
	node := e.cfg.ARI.Nodes[0]
	eventually(t, "location recording live", func() bool {
		req, err := http.NewRequest(http.MethodGet, e.sim.URL()+"/recordings/live/"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(node.Username, node.Password)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	e.sim.DropWebSockets()
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Extension != "fire" {
		t.Fatalf("after the drop: %s, want continued to the fire extension", fmtView(v))
	}
	if got := v.Variables[flows.VarRecording]; got != name {
		t.Fatalf("%s = %q, want the interrupted recording %q", flows.VarRecording, got, name)
	}
	if _, ok := e.sim.StoredRecordingWAV(name); !ok {
		t.Fatalf("recording %q not stored", name)
	}
	evs := e.waitEnded(v.ChannelID)
	cl := dataOf[events.Classified](t, evs, evClassified)
	if cl.Outcome != events.OutcomeFailover || cl.EmergencyType != "fire" || cl.Recording != name {
		t.Fatalf("classified %+v, want failover of a fire call naming recording %q", cl, name)
	}
	if count(evs, evClassified) != 1 || count(evs, evTransferred) != 1 || count(evs, evEnded) != 1 {
		t.Fatalf("events %v, want one classified, transferred and ended", types(evs))
	}
}

// TestConflictWithoutHangupFailsOver: Asterisk answers 409 to the
// location recording while the caller is still there (409 also means "a
// recording of that name is in progress"). No hangup event follows and the
// channel is still in the app, so the caller is not taken for gone: they
// are put through to operators (TestRecordRefusedKeepsType checks that it
// is the chosen type's queue, without call-back).
func TestConflictWithoutHangupFailsOver(t *testing.T) {
	e := startEnv(t, envOptions{})
	e.sim.FailREST("POST", "/channels/*/record", 409, 1)
	h := e.place(arisim.Caller{Number: "+628120000041", Script: []arisim.Step{
		arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.WaitForEnd(),
	}})
	v := e.wait(h)
	if v.Continued == nil || v.Continued.Context != e.cfg.IVR.OperatorContext {
		t.Fatalf("after the refused recording: %s, want put through to operators", fmtView(v))
	}
	evs := e.waitEnded(v.ChannelID)
	if count(evs, evClassified) != 1 || count(evs, evTransferred) != 1 || count(evs, evEnded) != 1 {
		t.Fatalf("events %v, want one classified, transferred and ended", types(evs))
	}
	// The caller was put through, not lost in the IVR: the call ended
	// past the hand-off.
	if ended := dataOf[events.Ended](t, evs, evEnded); ended.Where != events.WhereOperator && ended.Where != events.WhereQueue {
		t.Fatalf("ended %+v, want an end past the hand-off", ended)
	}
}

// TestLostPlaybackFinishedFailsOverAfterMaxPrompt: when Asterisk never
// reports the end of a prompt (as Asterisk 22 does for media it cannot
// play, other than a missing sound: file), the caller is put through to
// operators after ivr.max_prompt instead of waiting on silence.
func TestLostPlaybackFinishedFailsOverAfterMaxPrompt(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		// The sim, like Asterisk, starts a playback of an unknown scheme
		// and never finishes it.
		c.IVR.SoundPrefix = "bogus:siaga112/"
		c.IVR.MaxPrompt = 300 * time.Millisecond
	}})
	start := time.Now()
	v := e.call(arisim.Caller{Number: "+628120000009", Script: []arisim.Step{arisim.WaitForEnd()}})
	if v.Continued == nil || v.Continued.Context != e.cfg.IVR.OperatorContext ||
		v.Continued.Extension != e.cfg.IVR.FailoverExtension {
		t.Fatalf("caller with a stuck prompt: %s, want put through to %s,%s",
			fmtView(v), e.cfg.IVR.OperatorContext, e.cfg.IVR.FailoverExtension)
	}
	// From max_prompt on the first (greeting) prompt, not from some later
	// timer: at most a few seconds of call set-up and event delivery over
	// it on a loaded machine, against the minute of the default.
	if took, maxPrompt := time.Since(start), e.cfg.IVR.MaxPrompt; took < maxPrompt || took > maxPrompt+2*time.Second {
		t.Fatalf("stuck prompt failed over after %s, want max_prompt %s (+ at most 2 s)", took, maxPrompt)
	}
	evs := e.waitEnded(v.ChannelID)
	var cl events.Classified
	for _, ev := range evs {
		if ev.Type == evClassified {
			if err := ev.DecodeData(&cl); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cl.Outcome != events.OutcomeFailover || !strings.Contains(cl.Reason, "did not finish") {
		t.Fatalf("classified %+v, want failover naming the stuck prompt", cl)
	}
}
