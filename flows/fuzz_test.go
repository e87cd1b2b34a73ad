package flows

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// byteCall is a Call whose every answer comes from a byte string: each
// operation reads one byte to pick success, caller hangup or failure, and a
// Prompt reads another to pick the status and keys. When the bytes run out
// every operation succeeds and prompts time out, so any input ends.
type byteCall struct {
	data  []byte
	clock *fakeClock

	answered, callerGone bool
	continues, hangups   int
	ops                  int
}

var fuzzDigits = []string{"", "1", "2", "0", "9", "7", "#", "55", "5", "12", "555"}

func (c *byteCall) next() byte {
	if len(c.data) == 0 {
		return 0
	}
	b := c.data[0]
	c.data = c.data[1:]
	return b
}

// outcome picks what happens to one operation: nil, ErrHangup or a failure.
func (c *byteCall) outcome(ctx context.Context) error {
	c.ops++
	if c.callerGone {
		// Once the caller has gone, every operation says so, as a real
		// channel would.
		return fmt.Errorf("gone: %w", ErrHangup)
	}
	switch b := c.next(); {
	case b >= 250:
		c.callerGone = true
		return fmt.Errorf("gone: %w", ErrHangup)
	case b >= 244:
		return errors.New("ari: 500")
	case b >= 240:
		return fmt.Errorf("op: %w", context.DeadlineExceeded)
	}
	return nil
}

func (c *byteCall) Answer(ctx context.Context) error {
	err := c.outcome(ctx)
	c.answered = err == nil
	return err
}

func (c *byteCall) Prompt(ctx context.Context, spec PromptSpec) (PromptResult, error) {
	if len(spec.Sounds) == 0 {
		return PromptResult{}, errors.New("prompt with no sounds")
	}
	if err := c.outcome(ctx); err != nil {
		return PromptResult{}, err
	}
	b := c.next()
	res := PromptResult{Status: PromptStatus(b % 4), Digits: fuzzDigits[int(b/4)%len(fuzzDigits)]}
	if b%4 == 3 {
		// An unknown status: the flow must still not misbehave.
		res.Status = PromptStatus(17)
	}
	return res, nil
}

func (c *byteCall) Record(ctx context.Context, spec RecordSpec) (string, error) {
	if err := c.outcome(ctx); err != nil {
		return "", err
	}
	if c.next()%2 == 0 {
		return "", nil
	}
	return spec.Name, nil
}

func (c *byteCall) Variable(ctx context.Context, name string) (string, error) {
	if err := c.outcome(ctx); err != nil {
		return "", err
	}
	return strconv.Itoa(int(c.next() % 3)), nil
}

func (c *byteCall) SetVariables(ctx context.Context, vars map[string]string) error {
	return c.outcome(ctx)
}

func (c *byteCall) Continue(ctx context.Context, dialplanContext, extension string, priority int) error {
	c.continues++
	return c.outcome(ctx)
}

func (c *byteCall) Hangup(ctx context.Context) error {
	c.hangups++
	return c.outcome(ctx)
}

// checkRun runs the flow over data and checks what must hold for any caller
// and any Asterisk behaviour.
func checkRun(t *testing.T, f *Flow, cfg configs.IVR, blocked bool, data []byte) {
	t.Helper()
	clock := newFakeClock()
	call := &byteCall{data: data, clock: clock}
	rec := &recorder{t: t}
	res := f.Run(context.Background(), call, Input{CallID: "fz", Blocked: blocked}, rec)

	if !slices.Contains(events.AllOutcomes, res.Outcome) {
		t.Fatalf("outcome %q is not a known outcome (result %+v)", res.Outcome, res)
	}
	// The call ended somewhere: put through (attempted), hung up (attempted)
	// or left by the caller.
	if call.continues == 0 && call.hangups == 0 && !call.callerGone {
		t.Fatalf("flow returned without Continue, Hangup or a caller hangup: %+v", res)
	}
	if call.continues > 0 && call.hangups > 0 {
		t.Fatalf("flow both continued and hung up the call: %+v", res)
	}
	var classified, transferred []emitted
	for i, e := range rec.got {
		switch e.Type {
		case events.TypeAnswered:
			if i != 0 || !call.answered {
				t.Fatalf("call.answered at position %d (answered %v): %+v", i, call.answered, rec.got)
			}
		case events.TypeClassified:
			classified = append(classified, e)
		case events.TypeTransferred:
			transferred = append(transferred, e)
			if i != len(rec.got)-1 {
				t.Fatalf("call.transferred is not the last event: %+v", rec.got)
			}
		}
	}
	if len(classified) != 1 {
		t.Fatalf("%d call.classified events, want exactly 1: %+v", len(classified), rec.got)
	}
	c := classified[0].Data.(events.Classified)
	if c.Outcome != res.Outcome || c.Attempts != res.Attempts || c.EmergencyType != res.EmergencyType {
		t.Fatalf("classified %+v disagrees with result %+v", c, res)
	}
	if c.SecondsToClassify < 0 {
		t.Fatalf("negative seconds_to_classify %v", c.SecondsToClassify)
	}
	if res.Transferred != (len(transferred) == 1) || len(transferred) > 1 {
		t.Fatalf("Transferred=%v but %d call.transferred events", res.Transferred, len(transferred))
	}
	if res.Transferred && res.Extension == "" {
		t.Fatalf("transferred to an empty extension: %+v", res)
	}
	// Menu attempts are numbered 1, 2, ... and never exceed the config.
	n := 0
	for _, e := range rec.got {
		if m, ok := e.Data.(events.Menu); ok {
			n++
			if m.Attempt != n || n > cfg.MenuAttempts {
				t.Fatalf("menu event %d has attempt %d (max %d): %+v", n, m.Attempt, cfg.MenuAttempts, rec.got)
			}
		}
	}
	// Emergency first: a failover always tries to put the caller through.
	if res.Outcome == events.OutcomeFailover && call.continues == 0 && !call.callerGone {
		t.Fatalf("failover without a Continue attempt: %+v", res)
	}
	switch res.Outcome {
	case events.OutcomeNoInput, events.OutcomeInvalid, events.OutcomeBlocked:
		if call.continues > 0 {
			t.Fatalf("%s call was put through: %+v", res.Outcome, res)
		}
	case events.OutcomeAbandoned:
		if res.HangupBy != events.HangupByCaller {
			t.Fatalf("abandoned without a caller hangup: %+v", res)
		}
	}
	if res.Outcome == events.OutcomeBlocked || res.Outcome == events.OutcomeBlockedOverride {
		if !blocked {
			t.Fatalf("outcome %s for a caller who is not blocked", res.Outcome)
		}
	}
}

func fuzzFlow(t testing.TB) (*Flow, configs.IVR) {
	cfg := configs.Default().IVR
	cfg.FailoverExtension = "failover"
	f, err := New(cfg, newFakeClock(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, cfg
}

func FuzzRun(f *testing.F) {
	f.Add(false, []byte{})
	f.Add(true, []byte{0, 9 * 4})
	f.Add(false, []byte{0, 0, 0, 4, 0, 0, 0, 0})
	f.Add(false, []byte{0, 0, 0, 2, 0, 1})
	f.Add(false, []byte{245})
	f.Add(false, []byte{0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 245})
	f.Add(false, []byte{0, 0, 251})
	flow, cfg := fuzzFlow(f)
	f.Fuzz(func(t *testing.T, blocked bool, data []byte) {
		checkRun(t, flow, cfg, blocked, data)
	})
}

// TestRunAnyScript is the fuzz property on a few thousand random scripts,
// so that it runs on every go test, not only under -fuzz.
func TestRunAnyScript(t *testing.T) {
	flow, cfg := fuzzFlow(t)
	rng := rand.New(rand.NewPCG(112, 2026))
	for i := range 5000 {
		data := make([]byte, rng.IntN(24))
		for j := range data {
			// Mostly successes, with failures sprinkled in.
			if rng.IntN(8) == 0 {
				data[j] = byte(240 + rng.IntN(16))
			} else {
				data[j] = byte(rng.IntN(240))
			}
		}
		blocked := i%5 == 0
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkRun(t, flow, cfg, blocked, data) })
	}
}
