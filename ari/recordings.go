package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/siaga112/siaga112/configs"
)

// ErrNoRecording is returned when no node has the stored recording. It
// says so by its NotFound method too, so that code which must not import
// this package (the web side) can tell it from a failure.
var ErrNoRecording error = &recordingError{msg: "ari: no such stored recording", notFound: true}

// ErrBadRecordingName is returned for a name that is not one siaga112
// makes; its BadName method says so.
var ErrBadRecordingName error = &recordingError{msg: "ari: not a recording name siaga112 makes", badName: true}

// recordingError is an error of Fetch that tells its kind by method.
type recordingError struct {
	msg               string
	notFound, badName bool
}

func (e *recordingError) Error() string { return e.msg }

// NotFound reports whether no node has the recording asked for.
func (e *recordingError) NotFound() bool { return e.notFound }

// BadName reports whether the name asked for is not a recording name.
func (e *recordingError) BadName() bool { return e.badName }

// recordingNameRE accepts the names siaga112 gives recordings: the
// location recording (siaga112-<call id>-location) and the dialplan's
// whole-call recording (<prefix><unique id>, one folder deep). Anything
// else — dots alone, "..", more folders — is refused before a request.
var recordingNameRE = regexp.MustCompile(`^(?:[A-Za-z0-9_-]+/)?[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// maxRecordingBytes bounds one download: an hour of 8 kHz 16-bit audio.
const maxRecordingBytes = 60 * 60 * 8000 * 2

// Recordings fetches stored recordings from the Asterisk nodes over ARI
// (GET /recordings/stored/{name}/file), so the console can play them to a
// signed-in person without exposing ARI to browsers.
type Recordings struct {
	nodes  []configs.ARINode
	client *http.Client
}

// NewRecordings returns a fetcher over the configured nodes.
func NewRecordings(cfg configs.ARI) *Recordings {
	return &Recordings{nodes: cfg.Nodes, client: &http.Client{Timeout: cfg.RequestTimeout * 20}}
}

// CheckRecordingName validates a recording name.
func CheckRecordingName(name string) error {
	if !recordingNameRE.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q", ErrBadRecordingName, name)
	}
	return nil
}

// Fetch opens the recording's file on node (or, when node is empty or not
// configured, on the first node that has it). The caller closes the body.
func (r *Recordings) Fetch(ctx context.Context, node, name string) (io.ReadCloser, string, error) {
	if err := CheckRecordingName(name); err != nil {
		return nil, "", err
	}
	nodes := r.nodes
	for _, n := range r.nodes {
		if n.Name == node {
			nodes = []configs.ARINode{n}
		}
	}
	var errs []error
	for _, n := range nodes {
		body, ctype, err := r.fetchFrom(ctx, n, name)
		if err == nil {
			return body, ctype, nil
		}
		errs = append(errs, err)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrNoRecording) {
			return nil, "", errors.Join(errs...)
		}
	}
	return nil, "", fmt.Errorf("%w: %s", ErrNoRecording, name)
}

func (r *Recordings) fetchFrom(ctx context.Context, n configs.ARINode, name string) (io.ReadCloser, string, error) {
	u := strings.TrimSuffix(n.URL, "/") + "/recordings/stored/" + url.PathEscape(name) + "/file"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.SetBasicAuth(n.Username, n.Password)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("ari: node %s: %w", n.Name, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		ctype := resp.Header.Get("Content-Type")
		if ctype == "" {
			ctype = "audio/wav"
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxRecordingBytes), resp.Body}, ctype, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, "", fmt.Errorf("%w on node %s", ErrNoRecording, n.Name)
	default:
		resp.Body.Close()
		return nil, "", fmt.Errorf("ari: node %s: stored recording %s: status %d", n.Name, name, resp.StatusCode)
	}
}

// storedJSON is one item of GET /recordings/stored.
type storedJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// List returns the names of the stored recordings starting with prefix
// that every answering node holds (sorted). A recording lives on the node
// that made it, and an announcement must play on every node: Asterisk 22
// never finishes a playback of a missing recording. A node that does not
// answer (and so takes no calls) is skipped; an error is returned only when
// none answered.
func (r *Recordings) List(ctx context.Context, prefix string) ([]string, error) {
	count := map[string]int{}
	var errs []error
	answered := 0
	for _, n := range r.nodes {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(n.URL, "/")+"/recordings/stored", nil)
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(n.Username, n.Password)
		resp, err := r.client.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("ari: node %s: %w", n.Name, err))
			continue
		}
		var items []storedJSON
		derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&items)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || derr != nil {
			errs = append(errs, fmt.Errorf("ari: node %s: list stored recordings: status %d %v", n.Name, resp.StatusCode, derr))
			continue
		}
		answered++
		mine := map[string]bool{}
		for _, it := range items {
			if strings.HasPrefix(it.Name, prefix) && CheckRecordingName(it.Name) == nil && !mine[it.Name] {
				mine[it.Name] = true
				count[it.Name]++
			}
		}
	}
	if answered == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := make([]string, 0, len(count))
	for n, c := range count {
		if c == answered {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
