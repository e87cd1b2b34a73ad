// Package web is every HTTP endpoint siaga112 serves on its one listener:
// the wall board and its live stream, the supervisors' console (sign-in,
// sessions, actions, number histories, incident and call-back controls),
// the JSON and CSV API (stats, calls, the blocklist, verdicts, histories,
// recordings), /metrics, /healthz and /livez.
//
// The domain packages do the work and know nothing of HTTP: reports
// aggregates the figures, blocklist keeps the blocks, incident and callback
// keep their state, health holds the health document. This package asks
// them through small interfaces defined where they are used (Admin,
// Records, Incidents, Callbacks, Recordings, EventReader), so its tests
// fake each with a few lines and internal/stack wires the real ones.
package web
