package web

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/siaga112/siaga112/health"
)

// The board says in words what is wrong, because the failure it must not
// repeat is a dead IVR that looks like a quiet night: zeros under a green
// "live" while Asterisk was unreachable and /healthz answered 503.
//
// It reads two sources. The server's composed health (BoardConfig.Health)
// is the same value /healthz serves, in package health's model, so the
// board and /healthz cannot disagree. The reports worker's own state
// (Ready, Lag) says whether the figures themselves are fresh.

// The board's levels are package health's: ok, degraded and down, written
// into the page's data-health attribute.

// healthCacheFor bounds how often health is computed: every open board's
// stream asks each second, and the worker's lag is a NATS request.
const healthCacheFor = time.Second

// healthTimeout bounds the checks behind one health computation.
const healthTimeout = 2 * time.Second

// lagWarn is how many events the reports worker may be behind the stream
// before the board says its figures are late.
const lagWarn = 500

// problem is one thing the banner says, as a catalogue key and arguments.
type problem struct {
	Level string
	Key   string
	// Args are strings or int64 counts; the locale formats the counts.
	Args []any
}

// boardHealth is what the board shows about the system.
type boardHealth struct {
	// Level is ok, degraded or down.
	Level string
	// Fresh is true when the figures follow the event stream now: the
	// worker has caught up, is connected and is not lagging.
	Fresh bool
	// Loading is true while the worker replays history.
	Loading  bool
	Problems []problem
}

// Live tells whether the board may call itself live.
func (h boardHealth) Live() bool { return h.Fresh && h.Level == health.LevelOK }

// healthCache keeps the last computed health for healthCacheFor.
type healthCache struct {
	mu sync.Mutex
	at time.Time   // guarded by mu
	h  boardHealth // guarded by mu
}

// health returns the board's health, computed at most once a second.
func (s *Board) health(ctx context.Context) boardHealth {
	s.hc.mu.Lock()
	defer s.hc.mu.Unlock()
	now := time.Now()
	if !s.hc.at.IsZero() && now.Sub(s.hc.at) < healthCacheFor {
		return s.hc.h
	}
	s.hc.h, s.hc.at = s.computeHealth(ctx), now
	return s.hc.h
}

func (s *Board) computeHealth(ctx context.Context) boardHealth {
	// Shared by every board for a second: not bound to the request that
	// happened to compute it, which may end before the checks do.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	var ps []problem
	add := func(level, key string, args ...any) { ps = append(ps, problem{level, key, args}) }
	fresh := true
	if s.cfg.Health != nil {
		stale := s.systemProblems(ctx, add)
		fresh = fresh && !stale
	}
	loading := s.cfg.Ready != nil && !s.cfg.Ready(ctx)
	if loading {
		fresh = false
		add(health.LevelDegraded, "health.loading")
	}
	if s.cfg.Lag != nil && !loading {
		lag, err := s.cfg.Lag(ctx)
		switch {
		case err != nil:
			// Calls are not harmed, the figures are: degraded, as /healthz
			// grades what costs only bookkeeping.
			fresh = false
			add(health.LevelDegraded, "health.stream")
		case lag > lagWarn:
			fresh = false
			add(health.LevelDegraded, "health.lagging", int64(lag))
		}
	}
	h := boardHealth{Level: health.LevelOK, Fresh: fresh, Loading: loading, Problems: ps}
	for _, p := range ps {
		if p.Level == health.LevelDown {
			h.Level = health.LevelDown
		} else if h.Level == health.LevelOK {
			h.Level = health.LevelDegraded
		}
	}
	// The worst first: a supervisor reads the top line.
	slices.SortStableFunc(h.Problems, func(a, b problem) int {
		if a.Level == b.Level {
			return 0
		}
		if a.Level == health.LevelDown {
			return -1
		}
		return 1
	})
	return h
}

// systemProblems reads the composed health and reports what is wrong, in
// the catalogue's words rather than the checks' reasons, which are
// English. It returns true when the figures cannot follow the stream (NATS
// or JetStream unreachable).
func (s *Board) systemProblems(ctx context.Context, add func(level, key string, args ...any)) bool {
	doc := s.cfg.Health(ctx)
	stale := false
	names := make([]string, 0, len(doc.Checks))
	for name := range doc.Checks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := doc.Checks[name]
		lv := c.Level()
		switch name {
		case "nats":
			if lv != health.LevelOK {
				stale = true
				add(lv, "health.nats")
			}
		case "jetstream":
			if lv != health.LevelOK {
				stale = true
				add(lv, "health.jetstream")
			}
		case "ari":
			// Named nodes even when the check's own level is ok.
			var lost []string
			for _, n := range c.Nodes {
				if !n.Connected {
					lost = append(lost, n.Name)
				}
			}
			// A node that takes no calls harms its callers: down.
			if len(lost) > 0 {
				lv = health.LevelDown
			}
			switch {
			case len(c.Nodes) > 0 && len(lost) == len(c.Nodes), len(c.Nodes) == 0 && lv != health.LevelOK:
				add(lv, "health.ari_all")
			}
			for _, n := range lost {
				add(lv, "health.ari_node", n)
			}
		case "publisher":
			// The check judges whether spooling has gone on too long and
			// whether a drop is recent; the board words its judgement.
			if lv == health.LevelOK {
				break
			}
			sp := c.Spool
			if sp == nil {
				sp = &health.Spool{}
			}
			n := 0
			if sp.Full {
				add(lv, "health.spool_full")
				n++
			}
			if sp.Dropped > 0 {
				add(lv, "health.dropped", int64(sp.Dropped))
				n++
			}
			if sp.Spooling || sp.Bytes > 0 {
				add(lv, "health.spooling")
				n++
			}
			if n == 0 {
				add(lv, "health.check", name)
			}
		case "blocklist_cache":
			if lv != health.LevelOK {
				add(lv, "health.blocklist_cache")
			}
		case "blocklist_worker":
			if lv != health.LevelOK {
				add(lv, "health.blocklist_worker")
			}
		case "roles":
			if lv != health.LevelOK {
				add(lv, "health.roles")
			}
		case "reports":
			// The worker's own Ready and Lag say this in more detail.
		default:
			if lv != health.LevelOK {
				add(lv, "health.check", name)
			}
		}
	}
	return stale
}

// Problem says p in l's words.
func (l *locale) Problem(p problem) string {
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		if n, ok := a.(int64); ok {
			a = l.Int(n)
		}
		args[i] = a
	}
	return l.T(p.Key, args...)
}
