package events

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

func TestEmbeddedReachableFromSecondConnection(t *testing.T) {
	e := startServer(t, t.TempDir(), "127.0.0.1:0")
	if !strings.HasPrefix(e.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("ClientURL %q is not a loopback nats url", e.ClientURL())
	}
	pubConn, js := connect(t, e.ClientURL())
	subConn, _ := connect(t, e.ClientURL())

	sub, err := subConn.SubscribeSync("siaga112.test")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := subConn.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := pubConn.Publish("siaga112.test", []byte("hello")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("second connection did not receive: %v", err)
	}
	if string(m.Data) != "hello" {
		t.Fatalf("got %q", m.Data)
	}
	// JetStream is on: the account reports its limits.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
}

func TestEmbeddedStoreInDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "nats")
	e := startServer(t, dir, "localhost:0")
	_, js := connect(t, e.ClientURL())
	ensureStream(t, js)
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("JetStream store not in data dir: %v", err)
	}
}

func TestStartEmbeddedErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     configs.Embedded
		wantIs  error
		wantMsg string
	}{
		{name: "data dir under a file", cfg: configs.Embedded{Listen: "127.0.0.1:0", DataDir: filepath.Join(file, "nats")}, wantMsg: "cannot create nats.embedded.data_dir"},
		{name: "empty data dir", cfg: configs.Embedded{Listen: "127.0.0.1:0"}, wantMsg: "data_dir is empty"},
		{name: "not loopback", cfg: configs.Embedded{Listen: "0.0.0.0:0", DataDir: t.TempDir()}, wantIs: ErrNotLoopback},
		{name: "public address", cfg: configs.Embedded{Listen: "192.0.2.1:4222", DataDir: t.TempDir()}, wantIs: ErrNotLoopback},
		{name: "no port", cfg: configs.Embedded{Listen: "127.0.0.1", DataDir: t.TempDir()}, wantMsg: "nats.embedded.listen"},
		{name: "bad port", cfg: configs.Embedded{Listen: "127.0.0.1:http", DataDir: t.TempDir()}, wantMsg: "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := StartEmbedded(tt.cfg, testLog(t))
			if err == nil {
				e.Shutdown()
				t.Fatal("StartEmbedded succeeded, want error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     configs.NATS
		url     string
		wantIs  error
		wantMsg string
	}{
		{name: "no url", wantIs: ErrNoURL},
		{name: "cert without key", url: "nats://127.0.0.1:1", cfg: configs.NATS{TLS: configs.TLS{Cert: "c.pem"}}, wantMsg: "must be set together"},
		{name: "missing nkey file", url: "nats://127.0.0.1:1", cfg: configs.NATS{NKey: filepath.Join(t.TempDir(), "none.nk")}, wantMsg: "nats.nkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := Connect(context.Background(), tt.cfg, tt.url, "test", testLog(t))
			if err == nil {
				nc.Close()
				t.Fatal("Connect succeeded, want error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestConnectRetriesUntilServerStarts(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir, "127.0.0.1:0")
	listen := listenOf(t, first.ClientURL())
	first.Shutdown()

	buf := &syncBuffer{}
	log := testLogTo(buf)
	nc, err := Connect(context.Background(), configs.NATS{URL: "nats://" + listen}, "", "late", log)
	if err != nil {
		t.Fatalf("Connect with the server down must not fail: %v", err)
	}
	defer nc.Close()
	if nc.IsConnected() {
		t.Fatal("connected to a stopped server")
	}
	startServer(t, dir, listen)
	eventually(t, 30*time.Second, "connection to the late server", nc.IsConnected)
	eventually(t, 5*time.Second, "connect log line", func() bool { return strings.Contains(buf.String(), "nats connected") })
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"nats://127.0.0.1:4222":                         "nats://127.0.0.1:4222",
		"nats://user:secret@host:4222":                  "nats://***@host:4222",
		"nats://a:b@h1:4222,nats://h2:4222,tok@h3:4222": "nats://***@h1:4222,nats://h2:4222,***@h3:4222",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := redactURL(in); got != want {
				t.Fatalf("redactURL(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
