package events

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/siaga112/siaga112/configs"
)

// ErrNotLoopback is returned by StartEmbedded when the listen address is not
// a loopback address: the embedded server is for the roles and the command
// line of this host; other hosts use an external NATS server (nats.url),
// with TLS and accounts of its own.
var ErrNotLoopback = errors.New("embedded nats must listen on a loopback address")

// embeddedReadyTimeout bounds how long StartEmbedded waits for the server to
// accept connections (JetStream recovery of a large store is the slow part).
const embeddedReadyTimeout = 30 * time.Second

// Embedded is a NATS server with JetStream running inside this process. It is
// used when no external NATS URL is configured; other siaga112 processes on the
// same host can connect to ClientURL, with a user of its credentials file.
type Embedded struct {
	srv *server.Server
	// creds are the users the server requires; nil without cfg.Auth.
	creds *Credentials
}

// CheckEmbedded checks the settings StartEmbedded needs before anything is
// started: a loopback listen address and a data directory. `config check`
// runs it, so a setting it passes is one the server accepts.
func CheckEmbedded(cfg configs.Embedded) error {
	if _, _, err := splitListen(cfg.Listen); err != nil {
		return err
	}
	if cfg.DataDir == "" {
		return errors.New("events: embedded nats: nats.embedded.data_dir is empty")
	}
	return nil
}

// StartEmbedded starts nats-server in process with JetStream storing in
// cfg.DataDir, listening on cfg.Listen. The host must be a loopback address
// ("localhost", 127.0.0.1, ::1; empty means 127.0.0.1); port 0 picks a free
// port. With cfg.Auth (configs.Default sets it) the server requires the
// users of the credentials file in cfg.DataDir (CredentialsFile), which is
// made on first start. It returns once the server accepts connections.
func StartEmbedded(cfg configs.Embedded, log *slog.Logger) (*Embedded, error) {
	return StartEmbeddedFor(cfg, DefaultDurables(), log)
}

// StartEmbeddedFor is StartEmbedded with the durable consumer names the
// roles' users may work (see Durables); Open passes the running config's.
func StartEmbeddedFor(cfg configs.Embedded, durables Durables, log *slog.Logger) (*Embedded, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := CheckEmbedded(cfg); err != nil {
		return nil, err
	}
	host, port, _ := splitListen(cfg.Listen)
	// Create the directory ourselves so a permission problem is reported with
	// the path and key, rather than as a JetStream start-up failure.
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("events: embedded nats: cannot create nats.embedded.data_dir %q: %w", cfg.DataDir, err)
	}
	var creds *Credentials
	if cfg.Auth {
		c, err := loadOrCreateCredentials(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("events: embedded nats: %w", err)
		}
		creds = &c
	}
	opts := &server.Options{
		ServerName: "siaga112-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		// The process owns signal handling (signal.NotifyContext in cmd/).
		NoSigs: true,
		// A bound on clients, so a local flood of connections cannot use
		// up the file descriptors the calls' own connections need.
		MaxConn: cfg.MaxConnections,
	}
	if creds != nil {
		opts.Users = serverUsers(*creds, durables)
		nk, err := serverNKeys(*creds, durables)
		if err != nil {
			return nil, fmt.Errorf("events: embedded nats: %w", err)
		}
		opts.Nkeys = nk
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("events: embedded nats: %w", err)
	}
	srv.SetLoggerV2(serverLogger{log: log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(embeddedReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("events: embedded nats on %s (store %q) not ready within %s", cfg.Listen, cfg.DataDir, embeddedReadyTimeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("events: embedded nats: JetStream did not start (store %q)", cfg.DataDir)
	}
	if creds != nil {
		log.Info("embedded nats started", "url", srv.ClientURL(), "store", cfg.DataDir,
			"credentials", filepath.Join(cfg.DataDir, CredentialsFile))
	} else {
		log.Warn("embedded nats started WITHOUT authentication", "url", srv.ClientURL(), "store", cfg.DataDir)
	}
	return &Embedded{srv: srv, creds: creds}, nil
}

// Login is how to connect to this server as user (UserIVR, ...), for
// Connect; nil when the server runs without authentication.
func (e *Embedded) Login(user string) ConnectOption {
	if e.creds == nil {
		return nil
	}
	if user == UserAdmin {
		// The credentials were checked at start: the key is there.
		o, _ := WithNKey(user, *e.creds)
		return o
	}
	return WithUser(user, e.creds.Users[user])
}

// splitListen turns "host:port" into server options, insisting on loopback.
func splitListen(listen string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("events: embedded nats: nats.embedded.listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("events: embedded nats: nats.embedded.listen %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	switch host {
	case "":
		host = "127.0.0.1"
	case "localhost":
	default:
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", 0, fmt.Errorf("events: nats.embedded.listen %q: %w", listen, ErrNotLoopback)
		}
	}
	return host, port, nil
}

// ClientURL is the nats:// URL clients use to reach the server.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits until it has stopped, so the store
// directory can be reopened right after.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// serverLogger forwards nats-server's printf-style log calls to slog.
type serverLogger struct{ log *slog.Logger }

// Noticef is logged at debug level: the server's notices are its start-up
// banner and routine connection news; StartEmbedded logs the one line an
// operator needs.
func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// plaintextWarning is the server's warning about passwords given to it in
// plain text. They are: hashing them (bcrypt) would cost every connect tens
// of milliseconds and protect nothing, since the plain passwords are in the
// credentials file next to the store anyway, readable only by the user the
// server runs as.
const plaintextWarning = "Plaintext passwords detected"

func (l serverLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, plaintextWarning) {
		l.log.Debug(msg)
		return
	}
	l.log.Warn(msg)
}
func (l serverLogger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf is logged as an error: the server decides itself whether to stop,
// and exiting the process is not the logger's job.
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...), "fatal", true)
}
