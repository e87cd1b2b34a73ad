//go:build !unix

package events

import (
	"fmt"
	"os"
)

// lockFile opens the lock file without locking it: siaga112 runs next to
// Asterisk on unix systems, where lock_unix.go takes a real flock.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events: spool: open lock %q: %w", path, err)
	}
	return f, nil
}
