package flows

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// fakeClock is a Clock the fake call moves forward.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Time each fake operation takes on the fake clock, so seconds_to_classify
// is predictable: three seconds per prompt, seven per recording.
const (
	promptTakes = 3 * time.Second
	recordTakes = 7 * time.Second
)

// scriptedCall is a Call that answers prompts that collect keys from a
// queue, fails the operations named in fail ("prompt#2" is the second
// Prompt), and writes every operation it was asked for into ops.
type scriptedCall struct {
	t      *testing.T
	clock  *fakeClock
	prefix string // stripped from sounds in ops, for readable expectations

	prompts []PromptResult
	fail    map[string]error
	// free answers QUEUE_MEMBER(<queue>,free) by queue; a queue not listed
	// has no free operator ("0"), as Asterisk answers for an unknown queue.
	free map[string]string
	// hook, when set, runs first on every operation and may replace its
	// error (used to cancel the context in the middle of a step).
	hook func(key string) error

	counts  map[string]int
	ops     []string
	specs   []PromptSpec
	records []RecordSpec
	vars    []map[string]string
}

func (c *scriptedCall) op(ctx context.Context, name, desc string, took time.Duration) error {
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[name]++
	key := fmt.Sprintf("%s#%d", name, c.counts[name])
	var err error
	if c.hook != nil {
		err = c.hook(key)
	}
	if ctx.Err() != nil {
		desc += " !ctx"
	}
	c.ops = append(c.ops, desc)
	c.clock.Advance(took)
	if err != nil {
		return err
	}
	return c.fail[key]
}

func (c *scriptedCall) Answer(ctx context.Context) error {
	return c.op(ctx, "answer", "answer", 0)
}

func (c *scriptedCall) Prompt(ctx context.Context, spec PromptSpec) (PromptResult, error) {
	c.specs = append(c.specs, spec)
	if err := c.op(ctx, "prompt", formatPrompt(c.prefix, spec), promptTakes); err != nil {
		return PromptResult{}, err
	}
	if spec.MaxDigits == 0 {
		return PromptResult{Status: PromptDone}, nil
	}
	if len(c.prompts) == 0 {
		c.t.Errorf("prompt %v asked for keys but the script has no more answers", spec.Sounds)
		return PromptResult{}, fmt.Errorf("script exhausted: %w", ErrHangup)
	}
	res := c.prompts[0]
	c.prompts = c.prompts[1:]
	return res, nil
}

func (c *scriptedCall) Record(ctx context.Context, spec RecordSpec) (string, error) {
	c.records = append(c.records, spec)
	desc := fmt.Sprintf("record %s max=%s silence=%s", spec.Name, spec.MaxDuration, spec.MaxSilence)
	if err := c.op(ctx, "record", desc, recordTakes); err != nil {
		return "", err
	}
	return spec.Name, nil
}

func (c *scriptedCall) Variable(ctx context.Context, name string) (string, error) {
	if err := c.op(ctx, "variable", "get "+name, 0); err != nil {
		return "", err
	}
	if q, ok := strings.CutPrefix(name, "QUEUE_MEMBER("); ok {
		if v, ok := c.free[strings.TrimSuffix(q, ",free)")]; ok {
			return v, nil
		}
		return "0", nil
	}
	return "", fmt.Errorf("no variable %s", name)
}

func (c *scriptedCall) SetVariables(ctx context.Context, vars map[string]string) error {
	c.vars = append(c.vars, vars)
	return c.op(ctx, "setvars", "setvars", 0)
}

func (c *scriptedCall) Continue(ctx context.Context, dialplanContext, extension string, priority int) error {
	return c.op(ctx, "continue", fmt.Sprintf("continue %s,%s,%d", dialplanContext, extension, priority), 0)
}

func (c *scriptedCall) Hangup(ctx context.Context) error {
	return c.op(ctx, "hangup", "hangup", 0)
}

// formatPrompt writes a spec the way test expectations spell it:
// "prompt greeting+blocked max=1 first=5s", with zero fields left out.
func formatPrompt(prefix string, s PromptSpec) string {
	names := make([]string, len(s.Sounds))
	for i, snd := range s.Sounds {
		names[i] = strings.TrimPrefix(snd, prefix)
	}
	out := fmt.Sprintf("prompt %s max=%d", strings.Join(names, "+"), s.MaxDigits)
	if s.FirstDigitTimeout > 0 {
		out += " first=" + s.FirstDigitTimeout.String()
	}
	if s.InterDigitTimeout > 0 {
		out += " inter=" + s.InterDigitTimeout.String()
	}
	if s.Code != "" {
		out += " code=" + s.Code
	}
	if s.DetectTalk {
		out += " talk=" + s.TalkMin.String()
	}
	return out
}

// emitted is one event as the flow emitted it.
type emitted struct {
	Type events.Type
	Data any
}

// recorder is an Emitter that keeps what it was given and checks that the
// data is the events type that belongs to the event type.
type recorder struct {
	t   testing.TB
	got []emitted
}

func (r *recorder) Emit(ctx context.Context, typ events.Type, data any) {
	if ctx == nil {
		r.t.Errorf("Emit(%s) got a nil context", typ)
	} else if ctx.Err() != nil {
		r.t.Errorf("Emit(%s) got a context that has ended: %v", typ, ctx.Err())
	}
	want := map[events.Type]reflect.Type{
		events.TypeAnswered:    reflect.TypeFor[events.Answered](),
		events.TypeMenu:        reflect.TypeFor[events.Menu](),
		events.TypeClassified:  reflect.TypeFor[events.Classified](),
		events.TypeTransferred: reflect.TypeFor[events.Transferred](),
	}[typ]
	switch {
	case data == nil:
		r.t.Errorf("Emit(%s) with nil data", typ)
	case want == nil:
		r.t.Errorf("flow emitted %s, which is not the flow's to emit", typ)
	case reflect.TypeOf(data) != want:
		r.t.Errorf("Emit(%s) data is %T, want %s", typ, data, want)
	}
	r.got = append(r.got, emitted{typ, data})
}
