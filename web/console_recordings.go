package web

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// Recordings fetches a stored recording from Asterisk (ari.Recordings).
// Fetch's error says what went wrong by its methods, as net.Error does: one
// with NotFound() true answers 404 (no node has the recording), one with
// BadName() true answers 400 (not a name siaga112 gives recordings), any
// other 502. The web side does not import the ARI client for two errors.
type Recordings interface {
	Fetch(ctx context.Context, node, name string) (io.ReadCloser, string, error)
	// List names the stored recordings starting with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
}

// missingRecording and badRecordingName are the kinds of Recordings errors
// the recordings endpoint answers apart (see Recordings).
type (
	missingRecording interface {
		error
		NotFound() bool
	}
	badRecordingName interface {
		error
		BadName() bool
	}
)

// recording streams a stored recording to a signed-in person (or a
// machine with the token), fetched from Asterisk by the server.
func (c *Console) recording(w http.ResponseWriter, r *http.Request) {
	q := c.auth.who(r)
	s, signed := q.session, q.signed
	if !q.known() {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in or send the admin token (Authorization: Bearer ...)"})
		return
	}
	if c.o.Recordings == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "recordings are not available here (no Asterisk node configured)"})
		return
	}
	name := r.PathValue("name")
	body, ctype, err := c.o.Recordings.Fetch(r.Context(), r.URL.Query().Get("node"), name)
	if err != nil {
		status := http.StatusBadGateway
		switch {
		case recordingErrorIs(err, func(e badRecordingName) bool { return e.BadName() }):
			status = http.StatusBadRequest
		case recordingErrorIs(err, func(e missingRecording) bool { return e.NotFound() }):
			status = http.StatusNotFound
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	defer body.Close()
	if signed {
		c.audit(r, s, "recording", name, "ok")
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := io.Copy(w, body); err != nil {
		c.log.Warn("recording not streamed to the end", "recording", name, "err", err)
	}
}

// recordingErrorIs reports whether err, or an error it wraps, is of kind K
// and says yes.
func recordingErrorIs[K error](err error, yes func(K) bool) bool {
	k, ok := errors.AsType[K](err)
	return ok && yes(k)
}
