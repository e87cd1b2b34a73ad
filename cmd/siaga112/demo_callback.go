package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/loadtest"
)

// The demo's call-backs. Its mix has dropped callers, who choose a type
// and hang up at the location question; the IVR calls them back
// callback.delay later (the product's 30 s: the demo shows the wait a
// centre would configure, not a shortened one), their phones answer and
// press 1, and they are put through. Each step is one line of the
// console, as blocks are, so the feature is seen without the board.

// demoCallbacks turns call-backs on for the demo when the configuration
// has them off, and says so: the demo's Asterisk is simulated, so any
// endpoint reaches the dropped callers' simulated phones. It returns the
// line to print, "" when nothing was changed.
func demoCallbacks(cfg *configs.Config) string {
	var changed []string
	if cfg.Callback.Endpoint == "" {
		cfg.Callback.Endpoint = configs.DefaultCallback().Endpoint
		changed = append(changed, "callback.endpoint "+cfg.Callback.Endpoint)
	}
	if !cfg.Callback.Enabled {
		cfg.Callback.Enabled = true
		changed = append(changed, "callback.enabled true")
	}
	if len(changed) == 0 {
		return ""
	}
	return fmt.Sprintf("call-backs are off in the configuration; on for this demo (%v)", changed)
}

// cbAnnouncer prints a line for each call-back event.
type cbAnnouncer struct {
	con     *demoConsole
	cfg     configs.Callback
	country string
	start   time.Time

	// mu guards drops. The bus calls the Follow callback from the
	// client's delivery goroutine, one event at a time, but the ordered
	// consumer behind it may be recreated after a reconnect, and a lock
	// costs nothing at the demo's pace.
	mu sync.Mutex
	// drops holds, by dropped call id, when the call ended
	// (callback.scheduled's due time less callback.delay), until the
	// call-back is over.
	drops map[string]time.Time
}

// announceCallbacks prints the call-backs' progress as the stream tells
// it, from now until ctx ends.
func announceCallbacks(ctx context.Context, con *demoConsole, bus *events.Bus, cfg configs.Config) error {
	a := &cbAnnouncer{con: con, cfg: cfg.Callback, country: cfg.Blocklist.DefaultCountry, start: time.Now(), drops: map[string]time.Time{}}
	subjects := []string{events.TypeCallbackScheduled.Subject(), events.TypeCallbackAttempt.Subject(), events.TypeCallbackDone.Subject()}
	return bus.Follow(ctx, subjects, a.event)
}

// number is the number as the call-back dials it (callback.number_format):
// 0812... for the demo's national numbers.
func (a *cbAnnouncer) number(e164 string) string {
	c := a.cfg
	c.Endpoint = configs.EndpointNumber
	return c.Dial(e164, a.country)
}

func (a *cbAnnouncer) event(e events.Envelope) {
	a.mu.Lock()
	defer a.mu.Unlock()
	since := blocklist.HumanDuration(time.Since(a.start))
	num := a.number(e.Caller.Number)
	switch e.Type {
	case events.TypeCallbackScheduled:
		var d events.CallbackScheduled
		if e.DecodeData(&d) != nil {
			return
		}
		a.drops[e.CallID] = d.DueAt.Add(-a.cfg.Delay)
		chose := "asked for help"
		if d.EmergencyType != "" {
			chose = "chose " + d.EmergencyType
		}
		where := "hung up before an operator answered"
		switch d.Where {
		case events.WhereIVR:
			where = "hung up before the hand-off"
		case events.WhereQueue:
			where = "hung up in the queue before an operator answered"
		}
		a.con.Notice("%s  dropped %s: %s and %s; call-back at %s (in %s)", since, num, chose, where,
			d.DueAt.Local().Format("15:04:05"), blocklist.HumanDuration(time.Until(d.DueAt)))
	case events.TypeCallbackAttempt:
		var d events.CallbackAttempt
		if e.DecodeData(&d) != nil {
			return
		}
		after := ""
		if drop, ok := a.drops[e.CallID]; ok {
			after = ", " + blocklist.HumanDuration(e.Time.Sub(drop)) + " after the drop"
		}
		next := ""
		if d.NextAt != nil {
			next = "; next attempt at " + d.NextAt.Local().Format("15:04:05")
		}
		result := attemptText(d.Result)
		if d.Reason != "" {
			result += ": " + d.Reason
		}
		a.con.Notice("%s  called back %s: %s (attempt %d%s)%s", since, num, result, d.Attempt, after, next)
	case events.TypeCallbackDone:
		var d events.CallbackDone
		if e.DecodeData(&d) != nil {
			return
		}
		delete(a.drops, e.CallID)
		a.con.Notice("%s  call-back of %s over: %s", since, num, doneText(d))
	}
}

// attemptText says an attempt's result in the console's words.
func attemptText(result string) string {
	switch result {
	case events.CallbackPutThrough:
		return "put through"
	case events.CallbackNoResponse:
		return "answered, no response"
	case events.CallbackNoAnswer:
		return "no answer"
	}
	return result // busy, failed, cancelled
}

// doneText says why a call-back is over.
func doneText(d events.CallbackDone) string {
	switch d.Reason {
	case events.DoneOperatorAnswered:
		return "an operator answered"
	case events.DoneCalledAgain:
		return "the caller rang again and reached an operator"
	case events.DoneAttemptsExhausted:
		return fmt.Sprintf("no one reached after %d attempts", d.Attempts)
	case events.DoneCancelled:
		return "cancelled by " + d.By
	case events.DoneHandled:
		return "ticked as handled by " + d.By
	}
	return d.Reason // prank, blocked
}

// writeDemoCallbacks is the demo's closing line on call-backs; nothing
// when there were none.
func writeDemoCallbacks(w io.Writer, c *loadtest.CallbackSummary) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\ncall-backs: scheduled %d, attempts %d, put through %d, no answer %d, no response %d, busy %d, failed %d, cancelled %d; over %d, reached a person %d",
		c.Scheduled, c.Attempts, c.PutThrough, c.NoAnswer, c.NoResponse, c.Busy, c.Failed, c.AttemptCancelled+c.Cancelled, c.Done, c.ReachedPerson)
	if c.DropToPutThrough.N > 0 {
		fmt.Fprintf(w, "; drop -> put through p50 %s, p95 %s",
			blocklist.HumanDuration(msDuration(c.DropToPutThrough.P50)), blocklist.HumanDuration(msDuration(c.DropToPutThrough.P95)))
	}
	if open := c.Scheduled - c.Done; open > 0 {
		// The demo's stop ends the IVR, which places no more: these stay
		// open in the call-backs bucket, which goes with the demo's data.
		fmt.Fprintf(w, "; %d still open when the demo stopped", open)
	}
	fmt.Fprintln(w)
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
