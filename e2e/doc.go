// Package e2e holds whole-system tests of siaga112: every role wired in one
// process the way `siaga112 serve` runs them — an embedded NATS with the
// event stream, the IVR (ari with the real flows, the blocklist cache and
// the event publisher) against the simulated Asterisk of ari/arisim, the
// blocklist worker, the reports worker and the HTTP API — driven by
// scripted callers and checked from the outside: what the caller heard,
// where the call went, and the events on the stream.
//
// The package has no code of its own besides this comment; its tests are
// the product. Run them with
//
//	go test -race -count=1 ./e2e/
//
// and set E2E_LOG=1 to see every component's logs.
package e2e
