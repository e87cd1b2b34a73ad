package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

// StreamConfig returns the JetStream configuration of the SIAGA112_CALLS
// stream for cfg. It is exported so tools can show or compare it.
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
		Replicas:    replicas,
		Duplicates:  cfg.Duplicates,
	}
}

// EnsureStream creates the SIAGA112_CALLS stream, or updates it to match
// cfg when it already exists. Calling it again with the same cfg changes
// nothing, so every role calls it at start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg configs.Stream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, StreamConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("events: ensure stream %s: %w", StreamName, err)
	}
	return s, nil
}
