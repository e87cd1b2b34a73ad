package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/siaga112/siaga112/configs"
)

// ErrNoURL is returned by Connect when neither the url argument nor
// cfg.URL names a server.
var ErrNoURL = errors.New("no NATS url")

// Reconnect timing: short waits, because every second without NATS is a
// second of events going to the spool instead of to the workers.
const (
	reconnectWait   = 250 * time.Millisecond
	reconnectJitter = 250 * time.Millisecond
	dialTimeout     = 2 * time.Second
)

// ConnectOption adds to what Connect takes from the config.
type ConnectOption func(*connectOptions)

type connectOptions struct {
	user, password string
	// key, when set, logs user in by signing the server's nonce (see
	// auth.go: the admin's login), instead of a password.
	key nkeys.KeyPair
	pub string
	// reread, when set, gives the password again at each (re)connect:
	// the embedded server's credentials file may have been written anew.
	reread func() (string, bool)
}

// withUserFromFile is WithUser whose password is read again from the
// embedded server's credentials in dataDir at every reconnect, so a role
// attached to a serve that was restarted with new credentials logs in
// with them instead of failing with the old ones for good.
func withUserFromFile(user, password, dataDir string) ConnectOption {
	return func(o *connectOptions) {
		o.user, o.password = user, password
		o.reread = func() (string, bool) {
			c, err := ReadCredentials(dataDir)
			if err != nil || c.Users[user] == "" {
				return "", false
			}
			return c.Users[user], true
		}
	}
}

// WithNKey logs in as user (UserAdmin) with its NKey from c: the server's
// nonce is signed, and neither the seed nor a password is sent.
func WithNKey(user string, c Credentials) (ConnectOption, error) {
	kp, pub, err := c.adminKey()
	if err != nil {
		return nil, err
	}
	return func(o *connectOptions) { o.user, o.key, o.pub = user, kp, pub }, nil
}

// WithUser logs in as user with password, with the inbox prefix that user
// is allowed (InboxPrefix): how a role reaches the embedded server, whose
// users Embedded.Login and the credentials file give.
func WithUser(user, password string) ConnectOption {
	return func(o *connectOptions) { o.user, o.password = user, password }
}

// Connect opens a NATS connection for one siaga112 role. url overrides
// cfg.URL (it is the embedded server's ClientURL when cfg.URL is empty).
// Credentials, nkey and TLS files come from cfg; a user and password from
// opts. The connection never gives up: it retries the first connect and
// every reconnect forever, and logs each disconnect and reconnect once. A
// server that is down at start is therefore not an error; publishers spool
// until it is up. A server that refuses the login is logged ("nats async
// error: authorization violation"); the client library closes the
// connection when the server refuses the same login twice in a row.
func Connect(ctx context.Context, cfg configs.NATS, url string, name string, log *slog.Logger, opts ...ConnectOption) (*nats.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("events: connect: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if url == "" {
		url = cfg.URL
	}
	if url == "" {
		return nil, fmt.Errorf("events: connect: %w (nats.url is empty and no embedded server)", ErrNoURL)
	}
	log = log.With("component", "nats", "name", name)

	timeout := dialTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left > 0 && left < timeout {
			timeout = left
		}
	}
	var co connectOptions
	for _, o := range opts {
		if o != nil {
			o(&co)
		}
	}
	nopts := []nats.Option{
		nats.Name(name),
		nats.Timeout(timeout),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		// By default the library closes the connection for good when a
		// server refuses the login twice in a row: a role would then never
		// come back once its credentials are fixed. Keep trying.
		nats.IgnoreAuthErrorAbort(),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitter),
		nats.ConnectHandler(func(nc *nats.Conn) {
			// Called once, when the first connection is up (at once or after retries).
			log.Info("nats connected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
				return
			}
			log.Info("nats disconnected")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			log.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("nats async error", "subject", sub.Subject, "err", err)
				return
			}
			log.Error("nats async error", "err", err)
		}),
	}
	switch {
	case co.key != nil:
		nopts = append(nopts, nats.Nkey(co.pub, co.key.Sign), nats.CustomInboxPrefix(InboxPrefix(co.user)))
	case co.user != "" && co.reread != nil:
		user, last := co.user, co.password
		var mu sync.Mutex
		nopts = append(nopts, nats.UserInfoHandler(func() (string, string) {
			mu.Lock()
			defer mu.Unlock()
			if pw, ok := co.reread(); ok {
				last = pw
			}
			return user, last
		}), nats.CustomInboxPrefix(InboxPrefix(co.user)))
	case co.user != "":
		nopts = append(nopts, nats.UserInfo(co.user, co.password), nats.CustomInboxPrefix(InboxPrefix(co.user)))
	}
	if cfg.Creds != "" {
		nopts = append(nopts, nats.UserCredentials(cfg.Creds))
	}
	if cfg.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(cfg.NKey)
		if err != nil {
			return nil, fmt.Errorf("events: connect: nats.nkey %q: %w", cfg.NKey, err)
		}
		nopts = append(nopts, opt)
	}
	if cfg.TLS.CA != "" {
		nopts = append(nopts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.Cert != "" || cfg.TLS.Key != "" {
		if cfg.TLS.Cert == "" || cfg.TLS.Key == "" {
			return nil, errors.New("events: connect: nats.tls.cert and nats.tls.key must be set together")
		}
		nopts = append(nopts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("events: connect %s: %w", redactURL(url), err)
	}
	if !nc.IsConnected() {
		log.Warn("nats not reachable yet, retrying in the background", "url", redactURL(url))
	}
	return nc, nil
}

// redactURL hides user info (a password or token) in a comma separated list
// of NATS urls before it is logged.
func redactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		at := strings.LastIndex(u, "@")
		if at < 0 {
			continue
		}
		start := strings.Index(u, "://")
		if start < 0 || start > at {
			start = 0
		} else {
			start += len("://")
		}
		parts[i] = u[:start] + "***" + u[at:]
	}
	return strings.Join(parts, ",")
}
