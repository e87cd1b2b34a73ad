package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

// Embedded-server modes for OpenOptions.
const (
	// EmbeddedStart starts the in-process server when nats.url is empty.
	EmbeddedStart = iota
	// EmbeddedAttach connects to the embedded server of a siaga112 that is
	// already running (nats.embedded.listen) when nats.url is empty; admin
	// commands use it so that they never start a second server on the store.
	EmbeddedAttach
)

// OpenOptions tunes Open.
type OpenOptions struct {
	// Name identifies the connection in the server's monitoring and logs.
	Name string
	// Embedded is EmbeddedStart or EmbeddedAttach.
	Embedded int
	// StreamTimeout bounds the stream check at start; 0 means 5 s. A NATS
	// that does not answer in time is logged, not fatal: publishers spool.
	StreamTimeout time.Duration
	// RequireStream makes a failed stream check an error (workers need it).
	RequireStream bool
	// SkipStream leaves the stream alone. Admin commands set it: they work
	// on the stream the running system made and must not create it or
	// change its limits to match their own (possibly different) config.
	SkipStream bool
	// User is the embedded server's user to log in as (UserIVR, ...; see
	// auth.go). Empty means UserServer with EmbeddedStart and UserAdmin
	// with EmbeddedAttach. It is used for this host's embedded server only:
	// with an external nats.url, cfg's credentials apply.
	User string
	// Durables are the consumer names the roles' users may work on the
	// embedded server this Open starts; zero means DefaultDurables.
	Durables Durables
}

// Bus is one siaga112 role's link to NATS: the connection, its JetStream
// context and, when this process runs it, the embedded server. It keeps the
// NATS wiring in this package so commands never import NATS themselves.
type Bus struct {
	// Conn is the NATS connection.
	Conn *nats.Conn
	// JS is the JetStream API on Conn.
	JS jetstream.JetStream
	// URL is the server URL the connection was given.
	URL string

	embedded *Embedded
}

// Open connects a role to NATS as cfg says: the external server(s) in
// cfg.URL, or else the embedded server (started here or attached to, per
// opts.Embedded), and makes sure the SIAGA112_CALLS stream exists (unless
// opts.SkipStream).
func Open(ctx context.Context, cfg configs.NATS, opts OpenOptions, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{URL: cfg.URL}
	user := opts.User
	if user == "" {
		user = UserServer
		if opts.Embedded == EmbeddedAttach {
			user = UserAdmin
		}
	}
	var login ConnectOption
	if b.URL == "" {
		switch opts.Embedded {
		case EmbeddedStart:
			durables := opts.Durables
			if durables == (Durables{}) {
				durables = DefaultDurables()
			}
			emb, err := StartEmbeddedFor(cfg.Embedded, durables, log)
			if err != nil {
				return nil, err
			}
			b.embedded = emb
			b.URL = emb.ClientURL()
			login = emb.Login(user)
		case EmbeddedAttach:
			b.URL = "nats://" + cfg.Embedded.Listen
		default:
			return nil, fmt.Errorf("events: open: unknown embedded mode %d", opts.Embedded)
		}
	}
	if b.embedded == nil {
		// Another process's embedded server on this host: log in with
		// the credentials file it made in the data directory.
		var err error
		if login, err = embeddedLogin(cfg, b.URL, user); err != nil {
			return nil, err
		}
	}
	nc, err := Connect(ctx, cfg, b.URL, opts.Name, log, login)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Conn = nc
	js, err := jetstream.New(nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	b.JS = js
	if opts.SkipStream {
		return b, nil
	}
	timeout := opts.StreamTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.ensureStream(sctx, cfg, log); err != nil {
		if opts.RequireStream {
			b.Close()
			return nil, err
		}
		log.Warn("event stream not checked; events are spooled until NATS answers", "error", err)
	}
	return b, nil
}

// ensureStream makes sure the stream exists. The process that started the
// embedded server owns the stream: it applies cfg.Stream as admin, on a
// connection of its own that it closes at once, so that the roles' users
// never need the right to change the stream's limits. Any other process
// finds the stream (or creates it when missing) and logs the settings that
// differ from its config.
func (b *Bus) ensureStream(ctx context.Context, cfg configs.NATS, log *slog.Logger) error {
	if b.embedded != nil && b.embedded.creds != nil {
		nc, err := Connect(ctx, cfg, b.URL, "siaga112-stream-owner", log, b.embedded.Login(UserAdmin))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("events: jetstream: %w", err)
		}
		_, err = ApplyStream(ctx, js, cfg.Stream)
		return err
	}
	if b.embedded != nil {
		// An embedded server without users: this connection may do all.
		_, err := ApplyStream(ctx, b.JS, cfg.Stream)
		return err
	}
	s, err := EnsureStream(ctx, b.JS, cfg.Stream)
	if err != nil {
		return err
	}
	if d := StreamDrift(s.CachedInfo().Config, cfg.Stream); len(d) > 0 {
		log.Warn("event stream limits differ from this config; the process running the embedded server applies them at its start, or an administrator of the NATS server",
			"stream", StreamName, "differences", d)
	}
	return nil
}

// ErrNotConnected is returned by Health while the connection is down.
var ErrNotConnected = errors.New("nats not connected")

// Health reports whether the connection is up, for /healthz.
func (b *Bus) Health(context.Context) error {
	if b == nil || b.Conn == nil {
		return ErrNotConnected
	}
	if s := b.Conn.Status(); s != nats.CONNECTED {
		return fmt.Errorf("%w (%s)", ErrNotConnected, s)
	}
	return nil
}

// Close drains nothing: it closes the connection and then stops the
// embedded server, if this Bus started one. Close publishers and consumers
// first.
func (b *Bus) Close() {
	if b == nil {
		return
	}
	if b.Conn != nil {
		b.Conn.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
	}
}
