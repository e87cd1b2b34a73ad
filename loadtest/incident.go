package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/incident"
	"github.com/siaga112/siaga112/internal/stack"
)

// Surge mode: a fire or a flood brings a surge of calls about one event.
// The run starts an incident announcement before its first call, as a
// supervisor would from the console, and a share of the callers
// (KindIncidentCaller) call about it and press the incident key while the
// offer plays. The other callers keep their scripts: they hear the
// announcement after the greeting unless they keyed or talked before it,
// so their time to the queue is measured with it on.

// incidentTitle is the announcement's title in the run's events and on the
// demo's board: what the prepared prompt (incident-example) is about.
const incidentTitle = "Kebakaran Pasar Rawa Indah (contoh)"

// incidentLength is how long the run's announcement lasts: longer than any
// run, so it cannot expire under the calls.
const incidentLength = 12 * time.Hour

// ErrNoIncidentPrompt is returned by IncidentOn when the configuration
// names no prepared announcement (ivr.incident_prompts).
var ErrNoIncidentPrompt = errors.New("loadtest: no prepared incident announcement in ivr.incident_prompts")

// IncidentOn returns an Options.Incident that starts an announcement of the
// first prepared prompt (ivr.incident_prompts) in the incident bucket of
// s's NATS, publishing incident.started, and returns once a watch of the
// bucket sees it active. That watch is the load tool's own, not the IVR's,
// but both follow the same key on the same server and are pushed the same
// update; the runner checks that every call's flow started with the
// incident on, so an IVR that saw it late is reported rather than measured.
func IncidentOn(s *stack.Stack, cfg configs.Config, log *slog.Logger) func(context.Context) (incident.Incident, error) {
	return func(ctx context.Context) (incident.Incident, error) {
		if len(cfg.IVR.IncidentPrompts) == 0 {
			return incident.Incident{}, ErrNoIncidentPrompt
		}
		media := cfg.IVR.SoundPrefix + cfg.IVR.IncidentPrompts[0]
		bus := s.Bus()
		kv, err := incident.OpenBucket(ctx, bus.JS, cfg.NATS.Stream.Replicas)
		if err != nil {
			return incident.Incident{}, err
		}
		store := incident.NewStore(kv, blocklist.JSPublisher{JS: bus.JS}, log)
		inc, err := store.Start(ctx, incidentTitle, media, incidentLength, "loadtest")
		if err != nil {
			return incident.Incident{}, fmt.Errorf("loadtest: start the incident announcement: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		w := incident.NewWatch(bus.JS, cfg.NATS.Stream.Replicas, log)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = w.Run(wctx) // returns nil once wctx ends
		}()
		defer func() { cancel(); <-done }()
		for {
			if a, ok := w.Active(time.Now()); ok && a.ID == inc.ID {
				return inc, nil
			}
			select {
			case <-wctx.Done():
				return incident.Incident{}, fmt.Errorf("loadtest: incident %s never seen active: %w", inc.ID, wctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// BlockOn returns an Options.Block that blocks numbers in s's blocklist
// store, as an admin would, and waits until the IVR's cache holds every
// block, so the first call from them already meets the warning.
func BlockOn(s *stack.Stack) func(context.Context, []string) error {
	return func(ctx context.Context, numbers []string) error {
		store := s.Store()
		if store == nil {
			return ErrNoBlocklist
		}
		for _, n := range numbers {
			if _, _, err := store.Add(ctx, n, blockLength, "load test: blocked caller", "loadtest"); err != nil {
				return fmt.Errorf("loadtest: block %s: %w", n, err)
			}
		}
		ctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		for _, n := range numbers {
			for {
				if _, blocked := s.Cache().Check(n, time.Now()); blocked {
					break
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("loadtest: the IVR's cache never saw %s blocked: %w", n, ctx.Err())
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
		return nil
	}
}

// StrikesOn returns an Options.Strikes that waits until s's blocklist
// worker has handled every call event stored so far (its consumer has
// nothing pending or unacknowledged) and then reads each number's strikes
// from the store (a block counts as one more). Without the wait a strike on
// its way would read as none.
func StrikesOn(s *stack.Stack) func(context.Context, []string) (map[string]int, error) {
	return func(ctx context.Context, numbers []string) (map[string]int, error) {
		store := s.Store()
		if store == nil {
			return nil, ErrNoBlocklist
		}
		cons, err := s.Bus().JS.Consumer(ctx, events.StreamName, blocklist.Durable)
		if err != nil {
			return nil, fmt.Errorf("loadtest: blocklist consumer: %w", err)
		}
		for {
			info, err := cons.Info(ctx)
			if err != nil {
				return nil, fmt.Errorf("loadtest: blocklist consumer: %w", err)
			}
			if info.NumPending == 0 && info.NumAckPending == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("loadtest: blocklist worker still has %d events to handle: %w",
					info.NumPending+uint64(info.NumAckPending), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		out := make(map[string]int, len(numbers))
		for _, n := range numbers {
			r, err := store.Get(ctx, n)
			switch {
			case errors.Is(err, blocklist.ErrNotFound):
				out[n] = 0
			case err != nil:
				return nil, fmt.Errorf("loadtest: blocklist record of %s: %w", n, err)
			case !r.Until.IsZero():
				// The strikes led to a block, which consumed them.
				out[n] = len(r.Strikes) + 1
			default:
				out[n] = len(r.Strikes)
			}
		}
		return out, nil
	}
}

// offerMissed reports whether c is an incident caller of a surge run whose
// call started after the announcement was stopped (a supervisor may stop it
// from the console mid-run): the IVR plays no announcement and no offer, so
// the caller's script, which waits for the offer, never presses the key.
func (st *runState) offerMissed(c Caller, r CallResult) bool {
	return c.Kind == KindIncidentCaller && st.afterEnd(r)
}

// afterEnd reports whether a call of a surge run started with no
// announcement on because the run's had ended. The stream must say it
// ended: an IVR that never had it on is a fault the run reports.
func (st *runState) afterEnd(r CallResult) bool {
	return st.incident != "" && r.IncidentOn == "" && st.incidentEnded(st.incident)
}

// expect is c.Expect, except for an incident caller who heard no offer:
// such a caller is judged by what it heard. Waiting for an offer that never
// comes, it says and presses nothing, so the IVR treats it as any silent
// caller (KindSilent), and that is the product working, not a failure.
func (st *runState) expect(c Caller, r CallResult, onARI bool) Expectation {
	if st.offerMissed(c, r) {
		return Caller{Kind: KindSilent}.Expect(onARI)
	}
	return c.Expect(onARI)
}

// checkIncident checks a call of a surge run and counts it; st.mu is held.
// A call that started with the announcement on must have started with the
// run's (another would be measured against the wrong one), and an
// incident_ack must name it. A call that started with none is one after
// the announcement was stopped: counted apart, its incident caller left
// out of the strike check (a silent caller's strike is the blocklist doing
// its job).
func checkIncident(st *runState, c Caller, call Call, r CallResult) {
	switch {
	case st.afterEnd(r):
		st.afterStop++
		if st.offerMissed(c, r) {
			st.noOffer[c.Number] = true
		}
	case r.IncidentOn != st.incident:
		st.failLocked("call %d (%s) %s: the IVR had incident %q on when the call started, want %q", c.Seq, c.Kind, call.ID(), r.IncidentOn, st.incident)
	case r.Outcome == events.OutcomeIncidentAck && r.IncidentHeard != st.incident:
		st.failLocked("call %d (%s) %s: incident_ack for incident %q, want %q", c.Seq, c.Kind, call.ID(), r.IncidentHeard, st.incident)
	}
	if c.Kind == KindIncidentCaller {
		return
	}
	st.others++
	if r.IncidentHeard == st.incident {
		st.othersHeard++
	}
}

// checkStrikes asks the blocklist for the incident callers' strikes and
// counts each struck caller as an error: pressing the incident key is the
// answer the line asked for, never a prank. It returns how many were struck.
func checkStrikes(ctx context.Context, o Options, st *runState) int {
	st.mu.Lock()
	numbers := slices.DeleteFunc(slices.Clone(st.incidentNumbers), func(n string) bool { return st.noOffer[n] })
	st.mu.Unlock()
	if len(numbers) == 0 {
		return 0
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.SettleTimeout)
	defer cancel()
	strikes, err := o.Strikes(sctx, numbers)
	if err != nil {
		st.fail("strikes of the incident callers: %v", err)
		return -1
	}
	struck := 0
	for _, n := range numbers {
		if strikes[n] > 0 {
			struck++
			st.fail("incident caller %s: %d blocklist strikes, want none", n, strikes[n])
		}
	}
	return struck
}
