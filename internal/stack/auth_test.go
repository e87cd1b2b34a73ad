package stack

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// authConfig is the default configuration, whose embedded server requires
// its credentials, with its files in temporary directories.
func authConfig(t *testing.T, dataDir string) configs.Config {
	cfg := configs.Default()
	if !cfg.NATS.Embedded.Auth {
		t.Fatal("the default configuration runs the embedded server without authentication")
	}
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.DataDir = dataDir
	cfg.NATS.Spool.Dir = t.TempDir()
	return cfg
}

// testLog writes the stacks' warnings and errors (a permissions violation,
// say) to the test's output.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// runStack runs s until the test ends.
func runStack(t *testing.T, s *Stack) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitHealthy(t *testing.T, what string, s *Stack) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h := s.Health(context.Background())
		if h.OK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never healthy: %+v", what, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRolesLogInAsTheirUsers runs the workers on the embedded server with
// authentication (the union user), then an IVR, a reports worker and a
// blocklist worker each on its own, connected to that server as their own
// restricted user, as `siaga112 ivr` and `siaga112 worker ...` next to a
// running serve do. Each must be able to do its whole job.
func TestRolesLogInAsTheirUsers(t *testing.T) {
	dataDir := t.TempDir()
	main, err := New(context.Background(), Options{Config: authConfig(t, dataDir), Roles: Roles{Blocklist: true, Reports: true}, Name: "workers", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	runStack(t, main)
	waitHealthy(t, "workers as "+events.UserServer, main)

	// Every other role reaches the running server as a second process
	// would: nats.url on loopback, credentials from the data directory.
	attached := func(r Roles, name string) *Stack {
		cfg := authConfig(t, dataDir)
		cfg.NATS.URL = main.NATSURL()
		s, err := New(context.Background(), Options{Config: cfg, Roles: r, Name: name, Log: testLog(t)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}

	ivr := attached(Roles{IVR: true}, "ivr")
	defer ivr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cacheDone := make(chan error, 1)
	go func() { cacheDone <- ivr.Cache().Run(ctx) }()
	select {
	case <-ivr.Cache().Ready():
	case <-ctx.Done():
		t.Fatalf("the IVR's blocklist cache never loaded: %+v", ivr.Cache().Stats())
	}
	e, err := events.New(events.TypeStarted, "call-auth-1", "node-a",
		events.Caller{Number: "+6281234567890", Presentation: events.PresentationAllowed},
		events.Started{Dialed: "112", Channel: "PJSIP/telco-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ivr.Publisher().Publish(ctx, e); err != nil {
		t.Fatalf("publish as %s: %v", events.UserIVR, err)
	}
	for st := ivr.Publisher().Stats(); st.Published+st.Replayed != 1; st = ivr.Publisher().Stats() {
		if ctx.Err() != nil {
			t.Fatalf("the IVR's event never reached JetStream: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, r := range []struct {
		roles Roles
		name  string
	}{{Roles{Reports: true}, "reports"}, {Roles{Blocklist: true}, "blocklist"}} {
		s := attached(r.roles, r.name)
		runStack(t, s)
		waitHealthy(t, r.name+" worker as its own user", s)
	}
	cancel()
	<-cacheDone
}
