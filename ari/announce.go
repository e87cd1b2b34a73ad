package ari

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Asterisk 22 never finishes the playback of a recording: URI whose stored
// recording is missing (res_stasis_playback.c skips it without a
// PlaybackFinished), so a caller sent to a deleted incident announcement
// would wait ivr.max_prompt and then be failed over. Before a caller hears
// a recorded announcement the node therefore checks that Asterisk holds it,
// and a caller of a node without it goes straight on to the menu.

// recordingRecheck is how long a node trusts what it last learnt of the
// announcement's recording. A recording deleted meanwhile still costs the
// callers of that moment max_prompt, as before; every caller after the
// next check skips it.
const recordingRecheck = 5 * time.Second

// recordingCheckMax bounds the check on the call's path: a node that
// cannot say within it is taken to hold the recording (the flow's own
// max_prompt bound still puts the caller through).
const recordingCheckMax = time.Second

// recordingCheck is a node's knowledge of one stored recording.
type recordingCheck struct {
	mu      sync.Mutex
	name    string    // guarded by mu
	present bool      // guarded by mu
	checked time.Time // guarded by mu; zero: never checked
}

// announcementPlayable reports whether the node can play media to its
// callers: sound: files ship with the prompts and are always taken to be
// there; a recording: is checked against the node's stored recordings, at
// most once per recordingRecheck (one caller checks, the others meanwhile
// use the last answer).
func (n *node) announcementPlayable(ctx context.Context, media string) bool {
	name, ok := strings.CutPrefix(media, "recording:")
	if !ok {
		return true
	}
	c := &n.recCheck
	c.mu.Lock()
	if c.name == name && time.Since(c.checked) < recordingRecheck {
		present := c.present
		c.mu.Unlock()
		return present
	}
	was, known := c.present, c.name == name && !c.checked.IsZero()
	// Claim the check so that concurrent callers use the last answer.
	c.name, c.checked = name, time.Now()
	if !known {
		c.present = true
	}
	c.mu.Unlock()

	present, err := n.storedRecordingPresent(ctx, name)
	if err != nil {
		// Asterisk did not say: keep what was known (or assume it is
		// there), and ask again at the next caller.
		n.log.Debug("incident recording check failed", "recording", name, "err", err)
		c.mu.Lock()
		c.checked = time.Time{}
		present = c.present
		c.mu.Unlock()
		return present
	}
	c.mu.Lock()
	c.present = present
	c.mu.Unlock()
	if !present && (was || !known) {
		n.log.Warn("incident announcement's recording is not on this node; its callers skip it and go on to the menu", "recording", name)
	}
	if present && known && !was {
		n.log.Info("incident announcement's recording is back on this node", "recording", name)
	}
	return present
}

// storedRecordingPresent asks Asterisk for the stored recording's details
// (GET /recordings/stored/{name}, the name escaped as one path segment):
// 200 means it is there, 404 that it is missing.
func (n *node) storedRecordingPresent(ctx context.Context, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, min(n.ari.RequestTimeout, recordingCheckMax))
	defer cancel()
	u := strings.TrimSuffix(n.cfg.URL, "/") + "/recordings/stored/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.SetBasicAuth(n.cfg.Username, n.cfg.Password)
	resp, err := n.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("ari: stored recording %s: %w", name, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, restMaxBody))
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("ari: stored recording %s: status %d", name, resp.StatusCode)
}
