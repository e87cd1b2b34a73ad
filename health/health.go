// Package health is the model of siaga112's health: the checks, their
// levels, and the document /healthz serves. internal/stack fills it (it
// knows the components), web/ renders it (the /healthz JSON, the board's
// banner); neither parses the other's output. It imports only the
// standard library, so any package can use it without pulling in another.
//
// The levels, and why /healthz answers what it does:
//
//   - ok: the component does its job.
//   - degraded: it does not, or only late, but calls are not harmed — they
//     are answered and put through, and what is lost is bookkeeping
//     (events late or dropped, blocks late, figures stale). /healthz
//     answers 200, with the reason, so a monitor that restarts on 503 does
//     not restart an IVR in the middle of calls over a problem a restart
//     cannot mend.
//   - down: no call can be served — the IVR reaches no Asterisk node at
//     all. /healthz answers 503.
//
// The JSON field names (ok, status, reason, checks.<name>.ok, .status,
// .reason, .detail) are read by monitoring scripts and documented in the
// README; they do not change.
package health

import (
	"fmt"
	"slices"
	"strings"
)

// Levels of a check, in the order of their gravity.
const (
	LevelOK       = "ok"
	LevelDegraded = "degraded"
	LevelDown     = "down"
)

// Check is one component's state.
type Check struct {
	// OK is true when Status is ok. It is kept for readers of the earlier
	// shape of /healthz, which had only ok.
	OK bool `json:"ok"`
	// Status is the level: LevelOK, LevelDegraded or LevelDown.
	Status string `json:"status"`
	// Reason says in words what is wrong and what it means; empty when ok.
	Reason string `json:"reason,omitempty"`
	// Detail carries the component's figures (nodes, counters, lag) for
	// people and scripts reading the JSON.
	Detail any `json:"detail,omitempty"`

	// Nodes are the Asterisk nodes of the ari check (nil for the others),
	// and Spool is the publisher check's spool: the facts of Detail that a
	// reader in the process words for people (the board names the lost
	// nodes). Detail holds them too, with more, in the JSON.
	Nodes []Node `json:"-"`
	Spool *Spool `json:"-"`
}

// Node is one Asterisk node as the ari check found it.
type Node struct {
	Name      string
	Connected bool
}

// Spool is the IVR's event spool as the publisher check found it.
type Spool struct {
	// Dropped counts the events lost since the start.
	Dropped uint64
	// Bytes is what waits in the spool now.
	Bytes int64
	// Spooling is true while events go to the spool instead of JetStream.
	Spooling bool
	// Full is true when the spool takes no more events.
	Full bool
}

// Level is the check's level: its Status when that is a level, else ok
// when OK and degraded when not (a check must not pass for healthy because
// it named its state in words of its own).
func (c Check) Level() string {
	switch c.Status {
	case LevelOK, LevelDegraded, LevelDown:
		return c.Status
	}
	if c.OK {
		return LevelOK
	}
	return LevelDegraded
}

// OK is a check at level ok.
func OK(detail any) Check { return Check{OK: true, Status: LevelOK, Detail: detail} }

// Degraded is a check at level degraded, the reason formatted as by
// fmt.Sprintf.
func Degraded(detail any, format string, args ...any) Check {
	return Check{Status: LevelDegraded, Reason: fmt.Sprintf(format, args...), Detail: detail}
}

// Down is a check at level down, the reason formatted as by fmt.Sprintf.
func Down(detail any, format string, args ...any) Check {
	return Check{Status: LevelDown, Reason: fmt.Sprintf(format, args...), Detail: detail}
}

// Gravity orders levels: ok 0, degraded 1, down (and anything unknown) 2.
func Gravity(level string) int {
	switch level {
	case LevelOK:
		return 0
	case LevelDegraded:
		return 1
	default:
		return 2
	}
}

// Health is the composed state of every component: /healthz's document.
type Health struct {
	// OK is true when every check is ok.
	OK bool `json:"ok"`
	// Status is the gravest check's level: /healthz answers 503 when it
	// is down, else 200.
	Status string `json:"status"`
	// Reason lists the reasons of the checks that are not ok, the gravest
	// first, each prefixed with its check's name.
	Reason string `json:"reason,omitempty"`
	// Checks are keyed by component: nats, jetstream, ari, publisher,
	// blocklist_cache, blocklist_worker, reports, roles.
	Checks map[string]Check `json:"checks"`
}

// Compose is the health of checks: the gravest level, and the reasons of
// the checks that are not ok, the gravest first and then by name.
func Compose(checks map[string]Check) Health {
	h := Health{Status: LevelOK, Checks: checks}
	if h.Checks == nil {
		h.Checks = map[string]Check{}
	}
	names := make([]string, 0, len(h.Checks))
	for name, c := range h.Checks {
		if Gravity(c.Status) > Gravity(h.Status) {
			h.Status = c.Status
		}
		if c.Status != LevelOK {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := Gravity(h.Checks[b].Status) - Gravity(h.Checks[a].Status); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	reasons := make([]string, len(names))
	for i, name := range names {
		reasons[i] = name + ": " + h.Checks[name].Reason
	}
	h.Reason = strings.Join(reasons, "; ")
	h.OK = h.Status == LevelOK
	return h
}
