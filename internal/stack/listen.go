package stack

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"github.com/siaga112/siaga112/configs"
)

// The HTTP listener serves a centre's LAN, and nothing sent to it may slow
// the calls. Before these bounds only ReadHeaderTimeout was set: a client
// that sent half a body, or kept a connection idle, held it for ever, and
// enough of them used up the process's file descriptors — after which the
// HTTP server and the embedded NATS both failed with "too many open files",
// and so would the IVR's next connection to Asterisk. Now every request must
// be read within http.read_timeout and answered within http.write_timeout (the
// board's stream extends its own deadline per message), an idle keep-alive
// connection closes after http.idle_timeout, and at most http.max_connections
// are open: one more waits in the kernel's accept queue instead of costing
// a descriptor.

// readHeaderTimeout guards the listener against clients that send their
// headers slowly; it is shorter than any read timeout an operator sets.
const readHeaderTimeout = 5 * time.Second

// NewHTTPServer is an http.Server for h with the bounds of cfg: header, read,
// write and idle timeouts, the Host check and Secure cookies (guard.go).
// Every HTTP listener of the process is built here.
func NewHTTPServer(cfg configs.HTTP, h http.Handler, log *slog.Logger) *http.Server {
	rh := min(readHeaderTimeout, cfg.ReadTimeout)
	return &http.Server{
		Handler:           guard(cfg, h),
		ReadHeaderTimeout: rh,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// LimitListener caps ln at n open connections (n <= 0: no cap). Accept
// waits while n are open, so a connection beyond the cap waits in the
// kernel's queue and costs no file descriptor of this process.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return netutil.LimitListener(ln, n)
}

// fdReserve is what the process needs besides the HTTP and embedded NATS
// clients: the standard streams, the JetStream store's files, the spool,
// the NATS connection, the accounts file, the listeners, and the ARI
// connections (counted apart, per node).
const fdReserve = 64

// fdBudget fits the HTTP and embedded NATS connection caps into limit, the
// process's file-descriptor limit (RLIMIT_NOFILE). Go raises the soft limit
// to the hard one at start, so limit is what `ulimit -Hn` allows. When the
// caps do not fit they are shrunk in proportion, never below minConns each,
// and warn says so; the process then refuses connections in its own time
// rather than failing with "too many open files" wherever it happens to open
// a file next (an ARI request, a JetStream block, the spool).
func fdBudget(httpCap, natsCap, ariConns int, limit uint64) (h, n int, warn string) {
	const minConns = 8
	need := uint64(httpCap + natsCap + ariConns + fdReserve)
	if limit == 0 || limit >= need {
		return httpCap, natsCap, ""
	}
	room := int(limit) - ariConns - fdReserve
	if room < 2*minConns {
		room = 2 * minConns
	}
	total := httpCap + natsCap
	h = max(minConns, httpCap*room/total)
	n = max(minConns, room-h)
	if natsCap == 0 {
		h, n = max(minConns, room), 0
	}
	return h, n, fmt.Sprintf("the file-descriptor limit (%d) is below the %d the configured caps need "+
		"(http.max_connections %d + nats.embedded.max_connections %d + ARI %d + %d for files); "+
		"serving with http.max_connections %d and nats.embedded.max_connections %d: raise ulimit -n (LimitNOFILE) to %d",
		limit, need, httpCap, natsCap, ariConns, fdReserve, h, n, need)
}

// fdLimit is the process's file-descriptor limit, 0 when unknown.
func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// fitFDs shrinks cfg's HTTP and embedded NATS connection caps to limit,
// the process's file-descriptor limit (see fdBudget), logging a warning
// when it does.
func fitFDs(cfg *configs.Config, roles Roles, limit uint64, log *slog.Logger) {
	httpCap, natsCap := 0, 0
	if roles.HTTP {
		httpCap = cfg.HTTP.MaxConnections
	}
	if cfg.NATS.URL == "" {
		natsCap = cfg.NATS.Embedded.MaxConnections
	}
	ari := 0
	if roles.IVR {
		// Each node: its REST connections and the events WebSocket.
		ari = len(cfg.ARI.Nodes) * (cfg.ARI.MaxConnections + 1)
	}
	h, n, warn := fdBudget(httpCap, natsCap, ari, limit)
	if warn == "" {
		return
	}
	log.Warn(warn)
	if roles.HTTP {
		cfg.HTTP.MaxConnections = h
		cfg.HTTP.StreamMaxClients = min(cfg.HTTP.StreamMaxClients, max(1, h/2))
	}
	if natsCap > 0 {
		cfg.NATS.Embedded.MaxConnections = n
	}
}
