package loadtest

import (
	"context"
	"time"
)

// asteriskCallsEvery is how often the calls in Asterisk are counted: each
// count is a GET /channels that Asterisk answers with every channel, so
// not as often as the other samples.
const asteriskCallsEvery = 2 * time.Second

// sampleInAsterisk counts the calls the target carries until ctx ends.
func sampleInAsterisk(ctx context.Context, o Options, st *runState) {
	t := time.NewTicker(asteriskCallsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := o.CallsInAsterisk(ctx)
		if ctx.Err() != nil {
			return
		}
		st.mu.Lock()
		if err != nil {
			st.inAsteriskErr = err
		} else {
			st.inAsteriskSum += n
			st.inAsteriskSamples++
		}
		st.mu.Unlock()
	}
}

// sample records peak live calls, IVR sessions and memory until ctx ends.
func sample(ctx context.Context, o Options, st *runState) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ivr := 0
		if o.IVRStats != nil {
			ivr = o.IVRStats().ActiveCalls
		}
		st.mu.Lock()
		st.peakIVR = max(st.peakIVR, ivr)
		live := st.live
		st.liveSum += live
		st.liveSamples++
		st.mu.Unlock()
		st.mem.sample(live)
	}
}
