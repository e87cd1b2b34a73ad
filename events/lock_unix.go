//go:build unix

package events

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on path (created if
// needed). The lock lasts until the returned file is closed, and the kernel
// drops it if the process dies, so a crash never leaves a stale lock.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events: spool: open lock %q: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("events: spool: %q: %w", path, ErrSpoolInUse)
		}
		return nil, fmt.Errorf("events: spool: lock %q: %w", path, err)
	}
	return f, nil
}
