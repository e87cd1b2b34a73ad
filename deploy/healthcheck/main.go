// Command siaga112-healthcheck asks a siaga112 liveness endpoint (/livez)
// whether the process can serve and exits 0 if it answers 200, 1 otherwise.
//
// It exists for container healthchecks: the siaga112 image is distroless,
// with no shell, curl or wget, so Docker's HEALTHCHECK needs a static binary
// of its own to run.
//
// It asks /livez, not /healthz: /healthz answers 503 when no Asterisk node
// is connected, which a restart of this process does not mend, and a probe
// that restarts on it would cut the calls of a node that comes back. Point
// alerting, not restarts, at /healthz.
//
//	siaga112-healthcheck [URL]    (default http://127.0.0.1:8112/livez)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// defaultURL is /livez on siaga112's default HTTP listen address.
const defaultURL = "http://127.0.0.1:8112/livez"

// timeout bounds the whole check; Docker kills a healthcheck that outlives
// its own timeout, which reports less than a clear error line does.
const timeout = 3 * time.Second

// ErrUnhealthy is returned when the endpoint answers with a status other than 200.
var ErrUnhealthy = errors.New("unhealthy")

func main() {
	url := defaultURL
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := check(ctx, http.DefaultClient, url)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "siaga112-healthcheck:", err)
		os.Exit(1)
	}
}

// check GETs url and returns nil on 200, an error wrapping ErrUnhealthy with
// the start of the body on any other status, or the transport error.
func check(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	// Keep a little of the answer for `docker inspect`.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %w: %s: %s", url, ErrUnhealthy, resp.Status, body)
	}
	return nil
}
