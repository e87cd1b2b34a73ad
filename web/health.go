package web

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// The board says in words what is wrong, because the failure it must not
// repeat is a dead IVR that looks like a quiet night: zeros under a green
// "live" while Asterisk was unreachable and /healthz answered 503.
//
// It reads two sources. The server's composed health (BoardConfig.Health)
// is the same value /healthz serves; reports cannot import the package that
// composes it (that package builds the reports server), so the board reads
// it through its JSON form — the contract monitoring already relies on — and
// the board and /healthz cannot disagree. The reports worker's own state
// (Ready, Lag) says whether the figures themselves are fresh.

// Health levels, written into the page's data-health attribute.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthDown     = "down"
)

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
func (h boardHealth) Live() bool { return h.Fresh && h.Level == HealthOK }

// healthDoc is the part of /healthz's JSON the board reads. A check's
// status (ok, degraded, down) is its own judgement and sets the board's
// level; a check that has only ok (an older server) counts as degraded when
// not ok. The board writes its own words from the catalogue rather than the
// check's reason, which is English.
type healthDoc struct {
	OK     bool                 `json:"ok"`
	Checks map[string]healthChk `json:"checks"`
}

type healthChk struct {
	OK     bool            `json:"ok"`
	Status string          `json:"status"`
	Detail json.RawMessage `json:"detail"`
}

// level is the check's level: its status when it gives one.
func (c healthChk) level() string {
	switch c.Status {
	case HealthOK, HealthDegraded, HealthDown:
		return c.Status
	}
	if c.OK {
		return HealthOK
	}
	return HealthDegraded
}

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
		add(HealthDegraded, "health.loading")
	}
	if s.cfg.Lag != nil && !loading {
		lag, err := s.cfg.Lag(ctx)
		switch {
		case err != nil:
			// Calls are not harmed, the figures are: degraded, as /healthz
			// grades what costs only bookkeeping.
			fresh = false
			add(HealthDegraded, "health.stream")
		case lag > lagWarn:
			fresh = false
			add(HealthDegraded, "health.lagging", int64(lag))
		}
	}
	h := boardHealth{Level: HealthOK, Fresh: fresh, Loading: loading, Problems: ps}
	for _, p := range ps {
		if p.Level == HealthDown {
			h.Level = HealthDown
		} else if h.Level == HealthOK {
			h.Level = HealthDegraded
		}
	}
	// The worst first: a supervisor reads the top line.
	slices.SortStableFunc(h.Problems, func(a, b problem) int {
		if a.Level == b.Level {
			return 0
		}
		if a.Level == HealthDown {
			return -1
		}
		return 1
	})
	return h
}

// systemProblems reads the composed health and reports what is wrong. It
// returns true when the figures cannot follow the stream (NATS or
// JetStream unreachable).
func (s *Board) systemProblems(ctx context.Context, add func(level, key string, args ...any)) bool {
	raw, err := json.Marshal(s.cfg.Health(ctx))
	var doc healthDoc
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil {
		s.cfg.Log.Warn("board health unreadable", "err", err)
		add(HealthDegraded, "health.check", "healthz")
		return false
	}
	stale := false
	names := make([]string, 0, len(doc.Checks))
	for name := range doc.Checks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := doc.Checks[name]
		lv := c.level()
		switch name {
		case "nats":
			if lv != HealthOK {
				stale = true
				add(lv, "health.nats")
			}
		case "jetstream":
			if lv != HealthOK {
				stale = true
				add(lv, "health.jetstream")
			}
		case "ari":
			// Named nodes even when the check's own level is ok, which an
			// older server's check was whenever it could not tell.
			var d struct {
				Nodes []struct {
					Name      string `json:"name"`
					Connected bool   `json:"connected"`
				} `json:"nodes"`
			}
			_ = json.Unmarshal(c.Detail, &d)
			var lost []string
			for _, n := range d.Nodes {
				if !n.Connected {
					lost = append(lost, n.Name)
				}
			}
			// A node that takes no calls harms its callers: down.
			if len(lost) > 0 {
				lv = HealthDown
			}
			switch {
			case len(d.Nodes) > 0 && len(lost) == len(d.Nodes), len(d.Nodes) == 0 && lv != HealthOK:
				add(lv, "health.ari_all")
			}
			for _, n := range lost {
				add(lv, "health.ari_node", n)
			}
		case "publisher":
			var d struct {
				Dropped    uint64 `json:"dropped"`
				SpoolBytes int64  `json:"spool_bytes"`
				Spooling   bool   `json:"spooling"`
				SpoolFull  bool   `json:"spool_full"`
			}
			_ = json.Unmarshal(c.Detail, &d)
			// A server that judges its publisher (status given) decides
			// whether spooling has gone on too long and whether a drop is
			// recent; an older one is taken at its figures.
			if c.Status == "" {
				if d.SpoolBytes > 0 || d.Dropped > 0 {
					lv = HealthDegraded
				}
			}
			if lv == HealthOK {
				break
			}
			n := 0
			if d.SpoolFull {
				add(lv, "health.spool_full")
				n++
			}
			if d.Dropped > 0 {
				add(lv, "health.dropped", int64(d.Dropped))
				n++
			}
			if d.Spooling || d.SpoolBytes > 0 {
				add(lv, "health.spooling")
				n++
			}
			if n == 0 {
				add(lv, "health.check", name)
			}
		case "blocklist_cache":
			if lv != HealthOK {
				add(lv, "health.blocklist_cache")
			}
		case "blocklist_worker":
			if lv != HealthOK {
				add(lv, "health.blocklist_worker")
			}
		case "roles":
			if lv != HealthOK {
				add(lv, "health.roles")
			}
		case "reports":
			// The worker's own Ready and Lag say this in more detail.
		default:
			if lv != HealthOK {
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
