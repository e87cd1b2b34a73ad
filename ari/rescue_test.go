package ari

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
)

// TestShutdownRescuesFailedHandoff: during shutdown Asterisk refuses the
// hand-off of a call still in the menu (the flow's continue and the
// session's both fail), after which the node's sweep has stopped. Run still
// puts the caller through, by the dialplan fallback after the Stasis()
// line, before it returns: no caller is left in silence until a next start.
func TestShutdownRescuesFailedHandoff(t *testing.T) {
	e := startEnv(t, envOptions{cfg: func(c *configs.Config) {
		c.IVR.DrainTimeout = 300 * time.Millisecond
		c.ARI.RequestTimeout = 400 * time.Millisecond
	}})
	h := e.place(arisim.Caller{Number: "+628120000097", Dialed: "112", Script: silentAfterMenu()})
	waitPrompt(t, h, "menu")
	e.sim.FailREST("POST", "/channels/*/continue", http.StatusInternalServerError, 2)
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	start := time.Now()
	if err := e.ivr.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took, bound := time.Since(start), StopTimeout(e.cfg.ARI, e.cfg.IVR); took > bound+time.Second {
		t.Fatalf("Run took %s to stop, StopTimeout is %s", took, bound)
	}
	v := h.Result()
	// The sim's inbound dialplan runs Stasis() at priority 1.
	if v.Continued == nil || v.Continued.Extension != "112" || v.Continued.Priority != 2 {
		t.Fatalf("caller when Run returned: %s, want continued after the Stasis() line", fmtView(v))
	}
	if got := e.ivr.Stats().Orphans; got != 1 {
		t.Fatalf("orphans put through = %d, want 1", got)
	}
}
