package loadtest

import (
	"maps"
	"slices"
	"time"
)

// How the runner waits for the end of a call, and for the calls in
// progress to reach the IVR before its drain.

// waitEnded waits until the call's call.ended is in the stream (stored)
// or timeout fires. A call the IVR handed to the operators and then let go
// as it stopped (Options.Drain) gets no call.ended: the call goes on in
// Asterisk, and the IVR's next start finds it again. So once the drain is
// over and every event the IVR published for the call is stored, a call
// with call.transferred and no call.ended is let go (letGo), not waited
// for.
func waitEnded(o Options, st *runState, id string, timeout <-chan time.Time) (stored, letGo bool) {
	ended := o.Probe.Ended(id)
	select {
	case <-ended:
		return true, false
	case <-timeout:
		return false, false
	case <-st.ivrStopped:
	}
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for !o.Probe.Settled(id) {
		select {
		case <-ended:
			return true, false
		case <-timeout:
			return false, false
		case <-poll.C:
		}
	}
	select {
	case <-ended:
		return true, false
	default:
	}
	return false, o.Probe.Result(id).HasTransferred
}

// reachWait bounds waitReached.
const reachWait = 5 * time.Second

// waitReached waits, at most reachWait, until the IVR has begun every call
// in progress (or the call is over), so that the drain begins with every
// call placed in the IVR's hands. A call placed the moment placing ended
// (the last tick and the end of --duration coincide when the duration is
// a multiple of the interval) could otherwise still be on its way when an
// idle IVR stops at once, and reach it no more.
func waitReached(o Options, st *runState) {
	deadline := time.Now().Add(reachWait)
	for time.Now().Before(deadline) {
		st.mu.Lock()
		calls := slices.Collect(maps.Values(st.inFlight))
		st.mu.Unlock()
		if !slices.ContainsFunc(calls, func(c Call) bool { return !o.Probe.Started(c.ID()) && !isDone(c) }) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isDone(c Call) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}
