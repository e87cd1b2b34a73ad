// Package web is every HTTP endpoint siaga112 serves on its one listener:
// the wall board and its live stream, the supervisors' console (sign-in,
// sessions, actions, number histories, incident and call-back controls),
// the JSON and CSV API (stats, calls, the blocklist, verdicts, histories,
// recordings), /metrics, /healthz and /livez. New builds the parts a
// process runs; internal/stack wires it, and puts the listener's own
// bounds (Host check, Secure cookies, connection cap) around it.
//
// One place per concern:
//
//   - auth.go: who sent a request — a console session (cookie, role
//     operator or supervisor) or the admin token, compared in constant time.
//   - lang.go: the one language negotiator (?lang=, then Accept-Language
//     by q-value, then the configured default) and the locale formatters;
//     catalogue_id.go and catalogue_en.go hold every word a person reads.
//   - json.go and csv.go: every JSON answer, and every CSV cell through
//     the one formula guard (internal/csvsafe).
//   - phone.go: every phone-number rule the web side applies.
//   - assets/: the pages' templates, style and script, embedded.
//
// The rest is split by noun: board*.go and stream*.go (the wall board),
// console_*.go (the console), api_*.go (the JSON/CSV API), health.go
// (/healthz and /livez, rendering package health's model) and server.go
// (New).
//
// The domain packages do the work and know nothing of HTTP: reports
// aggregates the figures, blocklist keeps the blocks, incident and callback
// keep their state, health holds the health model, console keeps the
// accounts file. This package asks them through small interfaces defined
// where they are used (Admin, Records, Incidents, Callbacks, Recordings,
// EventReader, PlayingIncident, CallbackSwitch), so its tests fake each
// with a few lines.
package web
