package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/flows"
)

// newIVRCmd is `siaga112 ivr`: serve the emergency IVR on every configured
// Asterisk node until SIGINT/SIGTERM, then drain the calls in progress.
func newIVRCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "ivr",
		Short: "Serve the emergency IVR on the configured Asterisk nodes",
		Long: `ivr connects to every Asterisk node in ari.nodes, answers the calls that reach
the Stasis application ari.application and publishes their events to NATS
(the embedded server when nats.url is empty). On SIGINT/SIGTERM it stops taking
calls and gives the calls in progress ivr.drain_timeout to finish; the rest are
put through to operators.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := a.load(cmd)
			if err != nil {
				return err
			}
			return runIVR(cmd.Context(), cfg, log)
		},
	}
}

// ivrStreamTimeout bounds the stream check at start-up; NATS being down is
// not a reason to refuse calls (events are spooled).
const ivrStreamTimeout = 5 * time.Second

// runIVR wires NATS, the publisher, the blocklist cache, the flow and the
// ARI side, and runs until ctx ends.
func runIVR(ctx context.Context, cfg configs.Config, log *slog.Logger) error {
	url := cfg.NATS.URL
	if url == "" {
		emb, err := events.StartEmbedded(cfg.NATS.Embedded, log)
		if err != nil {
			return err
		}
		defer emb.Shutdown()
		url = emb.ClientURL()
	}
	nc, err := events.Connect(ctx, cfg.NATS, url, "siaga112-ivr", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("ivr: jetstream: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, ivrStreamTimeout)
	if _, err := events.EnsureStream(sctx, js, cfg.NATS.Stream); err != nil {
		log.Warn("event stream not checked; events are spooled until NATS answers", "error", err)
	}
	cancel()
	pub, err := events.NewPublisher(js, cfg.NATS, log)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.NATS.Publish.AckTimeout+time.Second)
		defer cancel()
		if err := pub.Close(cctx); err != nil {
			log.Warn("publisher closed with events left in the spool", "error", err)
		}
	}()

	cache := blocklist.NewCache(js, cfg.NATS.Stream.Replicas, cfg.Blocklist.DefaultCountry, log)
	cacheCtx, stopCache := context.WithCancel(context.WithoutCancel(ctx))
	cacheDone := make(chan struct{})
	go func() {
		defer close(cacheDone)
		if err := cache.Run(cacheCtx); err != nil && cacheCtx.Err() == nil {
			log.Error("blocklist cache stopped", "error", err)
		}
	}()
	defer func() { stopCache(); <-cacheDone }()

	flow, err := flows.New(cfg.IVR, nil, log)
	if err != nil {
		return err
	}
	ivr, err := ari.New(ari.Options{
		ARI: cfg.ARI, IVR: cfg.IVR, Flow: flow, Blocklist: cache, Publisher: pub, Logger: log,
	})
	if err != nil {
		return err
	}
	return ivr.Run(ctx)
}
