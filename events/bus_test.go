package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

func TestOpenStartsEmbeddedAndAttaches(t *testing.T) {
	cfg := configs.Default().NATS
	cfg.Embedded.DataDir = t.TempDir()
	cfg.Embedded.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	server, err := Open(ctx, cfg, OpenOptions{Name: "test-server", RequireStream: true}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer server.Close()
	if err := server.Health(ctx); err != nil {
		t.Fatalf("Health of a fresh bus: %v", err)
	}
	if _, err := server.JS.Stream(ctx, StreamName); err != nil {
		t.Fatalf("stream %s not created: %v", StreamName, err)
	}

	// A second role attaches to the running embedded server instead of
	// starting its own on the same store.
	attach := cfg
	attach.Embedded.Listen = server.URL[len("nats://"):]
	client, err := Open(ctx, attach, OpenOptions{Name: "test-client", Embedded: EmbeddedAttach, RequireStream: true}, nil)
	if err != nil {
		t.Fatalf("Open attach: %v", err)
	}
	if client.embedded != nil {
		t.Fatal("attach mode started an embedded server")
	}
	if err := client.Health(ctx); err != nil {
		t.Fatalf("Health of attached bus: %v", err)
	}
	client.Close()
	if err := client.Health(ctx); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Health after Close = %v, want ErrNotConnected", err)
	}
}

func TestOpenRequireStreamFailsWithoutServer(t *testing.T) {
	cfg := configs.Default().NATS
	cfg.URL = "nats://127.0.0.1:1" // nothing listens on port 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, cfg, OpenOptions{Name: "t", RequireStream: true, StreamTimeout: 300 * time.Millisecond}, nil)
	if err == nil {
		t.Fatal("Open with RequireStream and no server succeeded")
	}
	b, err := Open(ctx, cfg, OpenOptions{Name: "t", StreamTimeout: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("Open without RequireStream must tolerate a missing server: %v", err)
	}
	defer b.Close()
	if err := b.Health(ctx); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Health = %v, want ErrNotConnected", err)
	}
}
