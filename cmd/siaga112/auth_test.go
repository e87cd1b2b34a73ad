package main

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// TestAdminCommandsLogInFromDataDir: with an embedded server that requires
// its login, as serve runs it, the blocklist commands find it at
// nats.embedded.listen and log in as admin with the credentials file of
// nats.embedded.data_dir; pointed at another data directory they have no
// password and the server refuses them.
func TestAdminCommandsLogInFromDataDir(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	emb, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	u, err := url.Parse(emb.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := events.Connect(ctx, configs.NATS{}, emb.ClientURL(), "test", nil, emb.Login(events.UserAdmin))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(ctx, js, configs.Default().NATS.Stream); err != nil {
		t.Fatalf("EnsureStream as admin: %v", err)
	}

	t.Setenv("SIAGA112_NATS_EMBEDDED_LISTEN", u.Host)
	t.Setenv("SIAGA112_LOG_LEVEL", "warn")

	t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", dir)
	out, _, code, err := execute(t, "blocklist", "add", "0812-3456-7890", "--for", "1h", "--reason", "test")
	if code != 0 || !strings.Contains(out, "+6281234567890 blocked until") {
		t.Fatalf("blocklist add with the data dir's credentials: exit %d, %v, %q", code, err, out)
	}
	out, _, code, err = execute(t, "blocklist", "ls")
	if code != 0 || !strings.Contains(out, "+6281234567890") {
		t.Fatalf("blocklist ls: exit %d, %v, %q", code, err, out)
	}

	// Without the file there is no password to send, and the block is
	// not written.
	t.Setenv("SIAGA112_NATS_EMBEDDED_DATA_DIR", t.TempDir())
	out, _, code, err = execute(t, "blocklist", "add", "0812-1111-2222", "--for", "1h")
	if code == 0 {
		t.Fatalf("blocklist add without credentials succeeded: %q", out)
	}
	kv, kerr := js.KeyValue(ctx, blocklist.Bucket)
	if kerr != nil {
		t.Fatal(kerr)
	}
	for number, want := range map[string]bool{"+6281234567890": true, "+6281211112222": false} {
		key, kerr := blocklist.Key(number)
		if kerr != nil {
			t.Fatal(kerr)
		}
		if _, kerr := kv.Get(ctx, key); (kerr == nil) != want {
			t.Fatalf("record of %s: stored %v, want %v (last command: %v)", number, kerr == nil, want, err)
		}
	}
}
