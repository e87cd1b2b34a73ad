package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/reports"
)

// Options configure everything the listener serves. Each part is served
// only when what it needs is given, so one process can run all of them
// (`siaga112 serve`) or only the board or only the blocklist API.
type Options struct {
	// AdminToken is http.admin_token: "Authorization: Bearer <token>"
	// shows whole numbers and allows the blocklist API's writes. Empty:
	// no request carries it.
	AdminToken string
	// Language is the pages' language when a request names none (id or
	// en; default id).
	Language string
	// Log receives request errors; nil discards them.
	Log *slog.Logger

	// Aggregator, when set, serves the board, /api/stats, /api/calls,
	// /api/calls.csv, /api/stream and /metrics from its figures, as Board
	// configures them (its Language and Log are these).
	Aggregator *reports.Aggregator
	Board      BoardConfig
	// Console, when set, serves the console: sign-in, its pages and
	// actions, number histories and recordings (its Language and Log are
	// these). The board then shows who is signed in, and the
	// console's call-back control as the board's switch.
	Console *ConsoleOptions
	// Blocklist and Records, when Blocklist is set, serve the blocklist API
	// and verdicts. Records that implement Readiness answer 503 while the
	// blocklist cannot be reached yet.
	Blocklist Admin
	Records   Records
	// Location is the clock the verdict API's effect words say times in
	// (reports.time_zone); nil: the console's, else the aggregator's,
	// else the host's.
	Location *time.Location

	// Health, when set, serves /healthz: the checks as JSON, 503 when one
	// is down (no call can be served), else 200.
	Health func(ctx context.Context) health.Health
	// Live, when set, serves /livez: 200 while it reports true, else 503.
	Live func() bool
}

// Server is everything the listener serves, behind one auth check.
type Server struct {
	auth    *auth
	board   *Board
	console *Console
	api     *API
	health  func(ctx context.Context) health.Health
	live    func() bool
}

// New builds the parts o asks for over one auth check: a console session
// is seen by the board and the API as by the console itself.
func New(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{auth: newAuth(o.AdminToken), health: o.Health, live: o.Live}
	if o.Console != nil {
		co := *o.Console
		co.Language, co.Log = o.Language, o.Log
		if co.CallNumber == nil && o.Aggregator != nil {
			co.CallNumber = callNumber(o.Aggregator)
		}
		s.console = newConsole(co, s.auth)
		if o.Board.Callbacks == nil && co.Callbacks != nil {
			o.Board.Callbacks = co.Callbacks
		}
	}
	if o.Aggregator != nil {
		bc := o.Board
		bc.Language, bc.Log = o.Language, o.Log
		if bc.Blocks == nil && o.Records != nil {
			bc.Blocks = o.Records
		}
		b, err := newBoard(o.Aggregator, bc, s.auth)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("web: %w", err)
		}
		s.board = b
	}
	if o.Blocklist != nil {
		if o.Records == nil {
			s.Close()
			return nil, errors.New("web: the blocklist API needs Records as well as Blocklist")
		}
		s.api = newAPI(o.Blocklist, o.Records, s.auth, o.Log)
		// A dry run names the call's number as the console's question
		// does: from the call index, else from the reports' memory.
		var known func(string) (string, bool)
		switch {
		case s.console != nil && s.console.o.CallNumber != nil:
			known = s.console.o.CallNumber
		case o.Aggregator != nil:
			known = callNumber(o.Aggregator)
		}
		s.api.number = callNumbers(o.Blocklist, known)
		switch {
		case o.Location != nil:
			s.api.loc = o.Location
		case s.console != nil:
			s.api.loc = s.console.o.Location
		case o.Aggregator != nil:
			s.api.loc = o.Aggregator.Location()
		}
	}
	return s, nil
}

// Register adds every route of the parts built to mux.
func (s *Server) Register(mux *http.ServeMux) {
	if s.board != nil {
		s.board.Register(mux)
	}
	if s.api != nil {
		s.api.Register(mux)
	}
	if s.console != nil {
		s.console.Register(mux)
	}
	if s.health != nil {
		mux.Handle("GET /healthz", HealthzHandler(s.health))
	}
	if s.live != nil {
		mux.Handle("GET /livez", livezHandler(s.live))
	}
}

// Close stops the console's background work (audit flushes, the accounts
// file's watch) and publishes the failed sign-ins counted so far.
func (s *Server) Close() {
	if s.console != nil {
		s.console.Close()
	}
}

// callNumber looks a call's caller up in the aggregator's memory, which
// holds every call the board can show a verdict button for.
func callNumber(agg *reports.Aggregator) func(string) (string, bool) {
	return func(callID string) (string, bool) {
		for _, r := range agg.Calls(reports.CallFilter{Unmasked: true}) {
			if r.CallID == callID {
				return r.Number, r.Number != ""
			}
		}
		return "", false
	}
}
