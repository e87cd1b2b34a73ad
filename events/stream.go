package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

// Who sets the stream's limits.
//
// Every role used to create or update the stream to match its own config at
// start. That let any role's password change the limits: an `ivr` login
// set max_msgs to 1 and wiped the stream. Now the roles only find the
// stream, or create it when it is missing (JetStream refuses to create a
// stream that exists with another configuration, so creating changes
// nothing); changing the limits (ApplyStream) is the admin's, and the
// process that starts the embedded server does it as admin at start, so
// nats.stream.* set for serve still applies at its next start. With an
// external NATS, a role finding limits other than its config logs them;
// an administrator of that server applies them.

// StreamConfig returns the JetStream configuration of the SIAGA112_CALLS
// stream for cfg. It is exported so tools can show or compare it.
//
// The stream is bounded in bytes as well as in age: whatever a role or the
// console publishes (an audit event per failed sign-in, say) cannot fill
// the disk, and with DiscardOld the oldest events make room, so the calls
// of today are never refused for want of space.
func StreamConfig(cfg configs.Stream) jetstream.StreamConfig {
	replicas := cfg.Replicas
	if replicas < 1 {
		replicas = 1
	}
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "siaga112 call, blocklist, console and incident events",
		Subjects:    []string{SubjectAllCalls, SubjectAllBlocklist, SubjectAllConsole, SubjectAllIncidents, SubjectAllOperators},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Replicas:    replicas,
		Duplicates:  cfg.Duplicates,
		// A number's history is fetched message by message (the
		// blocklist's history index): direct gets are answered by any
		// replica, not only the leader, and skip the API's JSON.
		AllowDirect: true,
	}
}

// EnsureStream finds the SIAGA112_CALLS stream, creating it from cfg when
// it does not exist; an existing stream is left as it is (StreamDrift tells
// how it differs from cfg). Every role calls it at start; it needs only the
// stream's INFO and CREATE permissions.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg configs.Stream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, StreamConfig(cfg))
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another role created it between our two calls.
			s, err = js.Stream(ctx, StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("events: ensure stream %s: %w", StreamName, storageHint(err, cfg))
	}
	return s, nil
}

// ApplyStream creates the SIAGA112_CALLS stream, or updates it to match cfg
// when it exists. It takes the stream's UPDATE permission, which only the
// admin has: Open calls it as admin when it starts the embedded server.
func ApplyStream(ctx context.Context, js jetstream.JetStream, cfg configs.Stream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, StreamConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("events: apply stream %s: %w", StreamName, storageHint(err, cfg))
	}
	return s, nil
}

// storageHint explains JetStream's refusal to reserve max_bytes on a disk
// that cannot hold them: the server reserves a stream's max_bytes when it
// is created, up to 75 % of the free disk space.
func storageHint(err error, cfg configs.Stream) error {
	if err != nil && strings.Contains(err.Error(), "insufficient storage") {
		return fmt.Errorf("%w (nats.stream.max_bytes %d is more than the server can reserve on its disk: lower it)", err, cfg.MaxBytes)
	}
	return err
}

// StreamDrift lists, as "key: have → want" lines, the settings in which the
// stream's configuration differs from cfg; nil when it matches.
func StreamDrift(have jetstream.StreamConfig, cfg configs.Stream) []string {
	want := StreamConfig(cfg)
	var d []string
	if have.MaxAge != want.MaxAge {
		d = append(d, fmt.Sprintf("nats.stream.max_age: %s → %s", have.MaxAge, want.MaxAge))
	}
	if have.MaxBytes != want.MaxBytes {
		d = append(d, fmt.Sprintf("nats.stream.max_bytes: %d → %d", have.MaxBytes, want.MaxBytes))
	}
	if have.Duplicates != want.Duplicates {
		d = append(d, fmt.Sprintf("nats.stream.duplicates: %s → %s", have.Duplicates, want.Duplicates))
	}
	if have.Replicas != want.Replicas {
		d = append(d, fmt.Sprintf("nats.stream.replicas: %d → %d", have.Replicas, want.Replicas))
	}
	if have.AllowDirect != want.AllowDirect {
		d = append(d, fmt.Sprintf("allow_direct: %t → %t", have.AllowDirect, want.AllowDirect))
	}
	if have.Discard != want.Discard || !slices.Equal(have.Subjects, want.Subjects) {
		d = append(d, fmt.Sprintf("discard/subjects: %v %v → %v %v", have.Discard, have.Subjects, want.Discard, want.Subjects))
	}
	return d
}

// StreamFullWarn is the share of max_bytes above which StreamUsage reports
// the stream as nearly full: with discard-old the oldest events are dropped
// once it is full, so the board warns while there is time to act.
const StreamFullWarn = 0.8

// ErrStreamNearlyFull is wrapped by StreamUsage when the stream holds more
// than StreamFullWarn of its max_bytes.
var ErrStreamNearlyFull = errors.New("event stream nearly full")

// StreamUsage reads the stream's stored bytes and its max_bytes, and
// returns CheckStreamUsage's verdict on them.
func StreamUsage(ctx context.Context, js jetstream.JetStream) (stored, limit uint64, err error) {
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return 0, 0, fmt.Errorf("events: stream usage: %w", err)
	}
	// Stream has just read the info; CachedInfo is that answer.
	info := s.CachedInfo()
	stored = info.State.Bytes
	if info.Config.MaxBytes > 0 {
		limit = uint64(info.Config.MaxBytes)
	}
	return stored, limit, CheckStreamUsage(stored, info.Config.MaxBytes)
}

// CheckStreamUsage returns ErrStreamNearlyFull (wrapped, with the figures
// and what to do) when stored is above StreamFullWarn of maxBytes. A stream
// without a byte limit (maxBytes ≤ 0) is never nearly full.
func CheckStreamUsage(stored uint64, maxBytes int64) error {
	if maxBytes <= 0 || float64(stored) <= StreamFullWarn*float64(maxBytes) {
		return nil
	}
	return fmt.Errorf("%w: %d of %d bytes (%.0f %%); the oldest events are dropped when it is full: raise nats.stream.max_bytes or lower nats.stream.max_age",
		ErrStreamNearlyFull, stored, maxBytes, 100*float64(stored)/float64(maxBytes))
}
