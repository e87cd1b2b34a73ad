//go:build unix

package configs_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

// TestLoadFIFOFailsAtOnce gives --config a named pipe nobody writes to:
// opening it for reading would block forever, so Load must refuse it
// without opening it.
func TestLoadFIFOFailsAtOnce(t *testing.T) {
	clearEnv(t)
	fifo := filepath.Join(t.TempDir(), "siaga112.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := configs.Load(configs.LoadOptions{File: fifo, Search: []string{}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, configs.ErrFile) || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("got %v, want ErrFile naming a named pipe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked on a FIFO")
	}
}
