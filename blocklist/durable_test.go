package blocklist

import (
	"testing"

	"github.com/siaga112/siaga112/events"
)

// TestDurableMatchesPermissions: the embedded server lets the blocklist
// user work only the consumer events names for it (events cannot import
// this package); the two names must be the same.
func TestDurableMatchesPermissions(t *testing.T) {
	if got := events.DefaultDurables().Blocklist; got != Durable {
		t.Fatalf("events permits the blocklist user consumer %q, the worker uses %q", got, Durable)
	}
}
