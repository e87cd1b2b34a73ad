package loadtest

import "context"

// The audit at the end of a run: what the IVR published for each call
// against what the stream holds: an event published and not stored is lost.

// audit compares, for every call, the events the IVR published with those
// the stream holds at the end.
func audit(ctx context.Context, o Options, st *runState, s *Summary) {
	st.mu.Lock()
	ids := st.ids
	st.mu.Unlock()
	var stored map[string]int
	if o.Bus != nil && len(ids) > 0 && !o.Forget {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.SettleTimeout)
		var err error
		stored, err = Audit(actx, o.Bus, ids)
		cancel()
		if err != nil {
			st.fail("audit of the stream: %v", err)
		}
	}
	c := o.Probe.Counts()
	st.mu.Lock()
	defer st.mu.Unlock()
	if stored == nil {
		// Without a per-call audit, the probe's totals are all there is.
		s.Events, s.Stored = int(c.Published), int(min(c.Stored, c.Published))
		s.Lost = int(c.Published) - s.Stored
		return
	}
	for id := range ids {
		r := o.Probe.Result(id)
		n := min(stored[id], r.Published)
		s.Events += r.Published
		s.Stored += n
		if lost := r.Published - n; lost > 0 {
			s.Lost += lost
			st.failLocked("call %s: %d of its %d events are not in the stream", id, lost, r.Published)
		}
	}
}
