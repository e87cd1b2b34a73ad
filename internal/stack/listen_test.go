package stack

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

// startHTTP runs a stack with the reports worker and the HTTP listener
// (no IVR) on cfg until the test ends, and returns its address.
func startHTTP(t *testing.T, cfg configs.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{Config: cfg, Roles: Roles{Reports: true, HTTP: true}, Listener: ln, Log: testLogger(t), Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s.HTTPAddr()
}

// closedWithin reads c until the server closes it and returns how long
// that took, failing the test if it is still open after limit.
func closedWithin(t *testing.T, c net.Conn, r io.Reader, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", limit)
	}
	return time.Since(start)
}

// A client that sends half a body, or keeps a connection idle, is cut off
// after http.read_timeout or http.idle_timeout; an open board's stream is
// not cut by http.write_timeout.
func TestHTTPTimeouts(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.ReadTimeout = 300 * time.Millisecond
	cfg.HTTP.IdleTimeout = 300 * time.Millisecond
	cfg.HTTP.WriteTimeout = 300 * time.Millisecond
	cfg.Reports.Refresh = 100 * time.Millisecond
	addr := startHTTP(t, cfg)

	t.Run("half-sent body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /api/blocklist HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"num"); err != nil {
			t.Fatal(err)
		}
		d := closedWithin(t, c, c, 5*time.Second)
		t.Logf("closed after %s", d)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("/livez %d, close %v", res.StatusCode, res.Close)
		}
		d := closedWithin(t, c, br, 5*time.Second)
		t.Logf("idle connection closed after %s", d)
	})
	t.Run("stream outlives write timeout", func(t *testing.T) {
		client := &http.Client{Timeout: 10 * time.Second}
		res, err := client.Get("http://" + addr + "/api/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		br := bufio.NewReader(res.Body)
		start := time.Now()
		n := 0
		for time.Since(start) < 4*cfg.HTTP.WriteTimeout {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended after %s and %d messages: %v", time.Since(start), n, err)
			}
			if strings.HasPrefix(line, "event: board") {
				n++
			}
		}
	})
}

// At most http.max_connections are open: one more is not served until one
// of them closes.
func TestHTTPConnectionCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.MaxConnections = 8
	cfg.HTTP.StreamMaxClients = 4
	addr := startHTTP(t, cfg)

	var held []net.Conn
	for range cfg.HTTP.MaxConnections {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A served request proves the connection was accepted.
		if _, err := io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		held = append(held, c)
	}
	get := func(timeout time.Duration) error {
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := client.Get("http://" + addr + "/livez")
		if err == nil {
			_ = res.Body.Close()
		}
		return err
	}
	if err := get(500 * time.Millisecond); err == nil {
		t.Fatalf("a connection beyond http.max_connections %d was served", cfg.HTTP.MaxConnections)
	}
	_ = held[0].Close()
	if err := get(5 * time.Second); err != nil {
		t.Fatalf("not served after a connection closed: %v", err)
	}
}

// The caps are fitted into a low file-descriptor limit, never below a
// working minimum, and left alone when they fit.
func TestFDBudget(t *testing.T) {
	tests := []struct {
		name             string
		http, nats, ari  int
		limit            uint64
		wantHTTP, wantNS int
		warn             bool
	}{
		{name: "fits", http: 256, nats: 64, ari: 65, limit: 1024, wantHTTP: 256, wantNS: 64},
		{name: "unknown limit", http: 256, nats: 64, ari: 65, limit: 0, wantHTTP: 256, wantNS: 64},
		{name: "ulimit 256", http: 256, nats: 64, ari: 65, limit: 256, wantHTTP: 101, wantNS: 26, warn: true},
		{name: "external nats", http: 256, nats: 0, ari: 65, limit: 256, wantHTTP: 127, wantNS: 0, warn: true},
		{name: "tiny", http: 256, nats: 64, ari: 65, limit: 64, wantHTTP: 12, wantNS: 8, warn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, warn := fdBudget(tt.http, tt.nats, tt.ari, tt.limit)
			if h != tt.wantHTTP || n != tt.wantNS || (warn != "") != tt.warn {
				t.Fatalf("fdBudget = %d, %d, %q; want %d, %d, warn %v", h, n, warn, tt.wantHTTP, tt.wantNS, tt.warn)
			}
		})
	}
	cfg := configs.Default()
	cfg.NATS.URL = ""
	fitFDs(&cfg, All(), 256, testLogger(t))
	if cfg.HTTP.MaxConnections >= configs.DefaultHTTPMaxConnections || cfg.NATS.Embedded.MaxConnections >= configs.DefaultEmbeddedMaxConnections ||
		cfg.HTTP.StreamMaxClients > cfg.HTTP.MaxConnections/2 {
		t.Fatalf("caps not fitted into 256 descriptors: http %d (streams %d), nats %d",
			cfg.HTTP.MaxConnections, cfg.HTTP.StreamMaxClients, cfg.NATS.Embedded.MaxConnections)
	}
}

// The embedded NATS server refuses clients beyond
// nats.embedded.max_connections, so a local flood of connections cannot
// use up the descriptors the roles need.
func TestEmbeddedNATSConnectionCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.NATS.Embedded.MaxConnections = 8
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{Config: cfg, Roles: Roles{Reports: true, HTTP: true}, Listener: ln, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	host := strings.TrimPrefix(s.NATSURL(), "nats://")
	refused := 0
	for range 12 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// INFO comes first; a refused client then reads the error.
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		b, _ := io.ReadAll(c)
		if strings.Contains(string(b), "maximum connections exceeded") {
			refused++
		}
	}
	// The stack's own connection holds one of the 8.
	if refused < 12-cfg.NATS.Embedded.MaxConnections+1 {
		t.Fatalf("%d of 12 connections refused with nats.embedded.max_connections %d", refused, cfg.NATS.Embedded.MaxConnections)
	}
}
