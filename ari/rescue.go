package ari

import (
	"context"
	"errors"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
)

// Why callers whose hand-off failed are rescued once more at shutdown.
//
// A session that could not get its caller out of the application (the
// continue timed out or was refused with the caller still there) ends and
// asks the node's sweep to retry. The sweep runs on the node's context,
// which shutdown ends before the last sessions are done: a hand-off that
// failed during the drain's tail would leave its caller in Stasis, in
// silence, until a next start swept them. So the node remembers such
// channels, and Run, while it waits for the last sessions, puts each one
// still in the application through by the dialplan fallback: a continue
// without a destination resumes the dialplan after the Stasis() line, whose
// next priority sends the caller to an operator (asterisk-conf's
// extensions.conf). That is a different request from the one that failed,
// and it needs neither our context nor our extension to exist. A
// channel is checked first (in the application, no live session), so a
// call a newer process or session serves is never touched.

// leftInApp records that the session of channel id ended with the caller
// possibly still in the application, and asks the sweep to retry.
func (n *node) leftInApp(id string) {
	n.umu.Lock()
	if n.unresolved == nil {
		n.unresolved = make(map[string]struct{})
	}
	n.unresolved[id] = struct{}{}
	n.umu.Unlock()
	n.triggerSweep()
}

// pendingRescue returns the channels recorded by leftInApp and not yet
// known to be out of the application.
func (n *node) pendingRescue() []string {
	n.umu.Lock()
	defer n.umu.Unlock()
	out := make([]string, 0, len(n.unresolved))
	for id := range n.unresolved {
		out = append(out, id)
	}
	return out
}

// resolved forgets channels that are out of the application.
func (n *node) resolved(ids ...string) {
	n.umu.Lock()
	defer n.umu.Unlock()
	for _, id := range ids {
		delete(n.unresolved, id)
	}
}

// forgetLeft forgets the recorded channels that the listing chans shows
// are no longer in the application (gone, or put through by the sweep).
func (n *node) forgetLeft(chans []ariv6.ChannelData) {
	in := make(map[string]bool, len(chans))
	for i := range chans {
		if inApp(&chans[i], n.ari.Application) {
			in[chans[i].ID] = true
		}
	}
	n.umu.Lock()
	defer n.umu.Unlock()
	for id := range n.unresolved {
		if !in[id] {
			delete(n.unresolved, id)
		}
	}
}

// rescue puts each recorded channel still in the application, with no
// live session, through by the dialplan fallback. It reports how many
// channels are still pending.
func (n *node) rescue(ctx context.Context) int {
	timeout := n.ari.RequestTimeout
	pending := 0
	for _, id := range n.pendingRescue() {
		if ctx.Err() != nil {
			return pending + 1
		}
		if n.router.get(id) != nil {
			pending++ // a session serves the channel again
			continue
		}
		key := ariv6.NewKey(ariv6.ChannelKey, id)
		var data *ariv6.ChannelData
		err := restCall(ctx, timeout, "get channel", func() error {
			d, err := n.client.Channel().Data(key)
			data = d
			return err
		})
		switch {
		case errors.Is(err, ErrChannelGone):
			n.resolved(id)
			continue
		case err != nil:
			pending++
			n.log.Warn("channel left in the application not checked; will retry", "channel_id", id, "error", err)
			continue
		case !inApp(data, n.ari.Application):
			n.resolved(id)
			continue
		}
		err = restCall(ctx, timeout, "continue to the dialplan fallback", func() error {
			return n.client.Channel().Continue(key, "", "", 0)
		})
		switch {
		case err == nil:
			n.resolved(id)
			n.ivr.orphans.Add(1)
			n.log.Warn("caller left in the application at shutdown put through by the dialplan fallback", "channel_id", id)
		case errors.Is(err, ErrChannelGone):
			n.resolved(id)
		default:
			pending++
			n.log.Error("caller left in the application could not be put through; will retry", "channel_id", id, "error", err)
		}
	}
	return pending
}

// rescueInterval is how often Run retries the rescue of callers left in
// the application while it waits for the last sessions.
const rescueInterval = 20 * time.Millisecond

// waitIdleRescuing waits until no call is live and no caller is left in
// the application, or until deadline, rescuing the callers sessions left
// behind as they appear; it reports whether everything was resolved.
func (v *IVR) waitIdleRescuing(deadline time.Time) bool {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for {
		pending := 0
		for _, n := range v.nodes {
			pending += n.rescue(ctx)
		}
		if pending == 0 && v.activeCalls() == 0 {
			return true
		}
		if !sleepCtx(ctx, rescueInterval) {
			return false
		}
	}
}
