package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
)

// TestSplitRoles runs a larger centre's layout: `ivr` next to Asterisk with
// its own NATS, and `worker blocklist --listen` and `worker reports` as
// separate processes pointed at that NATS. A number whose callers hang up
// three times during the greeting is blocked by the blocklist worker (seen
// on its API), the reports worker counts the calls on its dashboard API,
// and the IVR refuses the number's next call as blocked.
func TestSplitRoles(t *testing.T) {
	clearEnv(t)
	sim := startCmdSim(t)
	dataDir, natsAddr, blAddr, repAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	ivrCfg := writeFile(t, fmt.Sprintf(`
ari:
  application: siaga112
  nodes:
    - {name: sim-1, url: %q, ws_url: %q, username: siaga112, password: test-secret}
  reconnect_min: 20ms
nats:
  embedded: {listen: %q, data_dir: %q}
  spool: {dir: %q}
log:
  level: warn
`, sim.URL(), sim.WSURL(), natsAddr, dataDir, t.TempDir()))
	// The workers reach the IVR's NATS at its address and log in with the
	// credentials file of its data directory, as on one host.
	workerCfg := func(listen string) string {
		return writeFile(t, fmt.Sprintf(`
nats:
  url: nats://%s
  embedded: {data_dir: %q}
  spool: {dir: %q}
http:
  listen: %q
log:
  level: warn
`, natsAddr, dataDir, t.TempDir(), listen))
	}
	startCommand(t, "ivr", "--config", ivrCfg)
	waitFor(t, "the IVR registered with the sim", func() bool {
		req, _ := http.NewRequest(http.MethodGet, sim.URL()+"/applications/siaga112", nil)
		req.SetBasicAuth("siaga112", "test-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var app struct {
			Name string `json:"name"`
		}
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&app) == nil && app.Name != ""
	})
	// One at a time, each role's stream update and consumer creation done
	// before the next starts: nats-server v2.15.2's file store races
	// (under -race) when one client updates the stream while another
	// creates a consumer on it, as two roles starting at once do.
	_, repErr := startCommand(t, "worker", "reports", "--config", workerCfg(repAddr))
	waitFor(t, "the reports worker caught up", func() bool {
		resp, err := http.Get("http://" + repAddr + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	_, blErr := startCommand(t, "worker", "blocklist", "--listen", blAddr, "--config", workerCfg(freeAddr(t)))
	// Calls placed before a worker's durable consumer exists would reach
	// it only through a replay: wait until both serve (liveness included).
	waitFor(t, "both workers serving", func() bool {
		for _, u := range []string{"http://" + blAddr + "/api/blocklist", "http://" + repAddr + "/healthz",
			"http://" + blAddr + "/livez", "http://" + repAddr + "/livez"} {
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})
	const number = "+6281277778888"
	for i := range 3 {
		h, err := sim.Call(context.Background(), arisim.Caller{Number: number, Dialed: "112",
			Script: []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Hangup()}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.Done():
		case <-time.After(serveWait):
			t.Fatalf("call %d did not end", i)
		}
	}
	getJSON := func(url string, v any) bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("blocklist worker stderr: %s", blErr.String())
			t.Logf("reports worker stderr: %s", repErr.String())
			for _, u := range []string{"http://" + blAddr + "/api/blocklist", "http://" + repAddr + "/api/stats"} {
				if resp, err := http.Get(u); err == nil {
					b := make([]byte, 600)
					n, _ := resp.Body.Read(b)
					resp.Body.Close()
					t.Logf("%s: %s %s", u, resp.Status, b[:n])
				} else {
					t.Logf("%s: %v", u, err)
				}
			}
		}
	})
	waitFor(t, "the blocklist worker's API lists the block", func() bool {
		var list struct {
			Entries []struct {
				Blocked bool `json:"blocked"`
			} `json:"entries"`
		}
		return getJSON("http://"+blAddr+"/api/blocklist?blocked=true", &list) && len(list.Entries) == 1 && list.Entries[0].Blocked
	})
	waitFor(t, "the reports worker counts the three calls", func() bool {
		var st struct {
			Totals struct {
				Calls int `json:"calls"`
			} `json:"totals"`
		}
		return getJSON("http://"+repAddr+"/api/stats", &st) && st.Totals.Calls == 3
	})
	// The IVR's cache follows the block the separate worker wrote.
	var v arisim.CallerView
	waitFor(t, "the IVR treats the number as blocked", func() bool {
		// A blocked caller hears the warning right after the greeting.
		h, err := sim.Call(context.Background(), arisim.Caller{Number: number, Dialed: "112",
			Script: []arisim.Step{arisim.WaitForPrompt("greeting"), arisim.Wait(8 * time.Second), arisim.Hangup()}})
		if err != nil {
			return false
		}
		<-h.Done()
		v = h.Result()
		for _, p := range v.Prompts {
			if p == "siaga112/blocked" {
				return true
			}
		}
		return false
	})

}
