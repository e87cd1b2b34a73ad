// Package e2e holds whole-system tests of siaga112 over the real stack:
// every role built and run by internal/stack (stack.New with stack.All,
// then Run), exactly as `siaga112 serve` runs them — the embedded NATS
// with the event stream in a temporary directory, the IVR (the ari
// package with the real flows, the blocklist cache and the event
// publisher) against the simulated Asterisk of ari/arisim over the ARI
// library's HTTP and WebSocket client, the blocklist and reports workers,
// and the one HTTP listener with the dashboard, the APIs and /healthz.
// Nothing is wired by hand: the tests drive scripted callers and check
// from the outside what the caller heard, where the call went, the events
// on the stream (read over an admin connection of their own, as the
// command line opens one) and what the HTTP API answers. Each test ends
// with Run's own shutdown, which must return cleanly, and the package
// fails when a goroutine is left behind.
//
// The package has no code of its own besides this comment; its tests are
// the product. Run them with
//
//	go test -race -count=1 ./e2e/
//
// and set E2E_LOG=1 to see every component's logs.
package e2e
