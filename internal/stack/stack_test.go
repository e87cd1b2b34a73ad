package stack

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/health"
)

func testConfig(t *testing.T) configs.Config {
	cfg := configs.Default()
	cfg.NATS.Embedded = configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}
	cfg.NATS.Spool.Dir = t.TempDir()
	return cfg
}

func TestNewNeedsARole(t *testing.T) {
	if _, err := New(context.Background(), Options{Config: testConfig(t)}); !errors.Is(err, ErrNoRoles) {
		t.Fatalf("err = %v, want ErrNoRoles", err)
	}
}

// The workers and HTTP without an IVR: /healthz lists the workers' checks
// (and no IVR ones), says ok once the reports worker has caught up,
// and Run stops cleanly on cancel and cannot be run again.
func TestWorkersAndHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{
		Config: testConfig(t), Roles: Roles{Blocklist: true, Reports: true, HTTP: true}, Listener: ln,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	var h health.Health
	for {
		resp, err := http.Get("http://" + s.HTTPAddr() + "/healthz")
		if err == nil {
			h = health.Health{}
			derr := json.NewDecoder(resp.Body).Decode(&h)
			_ = resp.Body.Close()
			if derr == nil && resp.StatusCode == http.StatusOK && h.OK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never 200; last %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"nats", "blocklist_worker", "reports"} {
		if !h.Checks[name].OK {
			t.Errorf("check %s = %+v", name, h.Checks[name])
		}
	}
	for _, name := range []string{"ari", "publisher", "blocklist_cache"} {
		if _, ok := h.Checks[name]; ok {
			t.Errorf("check %s present without the IVR role", name)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunTwice) {
		t.Fatalf("second Run = %v, want ErrRunTwice", err)
	}
}
