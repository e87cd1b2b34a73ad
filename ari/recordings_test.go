package ari

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/siaga112/siaga112/ari/arisim"
)

// The console plays the dialplan's whole-call recording through the
// server: Recordings fetches it over ARI from the node that made it.
func TestRecordingsFetch(t *testing.T) {
	e := startEnv(t, envOptions{mixMonitor: "siaga112/"})
	v := e.call(arisim.Caller{Number: "+6281100000001", Script: []arisim.Step{arisim.WaitForPrompt("menu"), arisim.Press("0")}})
	if v.Continued == nil {
		t.Fatalf("call not put through: %+v", v)
	}
	recs := NewRecordings(e.cfg.ARI)
	ctx := context.Background()
	body, ctype, err := recs.Fetch(ctx, e.cfg.ARI.Nodes[0].Name, "siaga112/"+v.ChannelID)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	b, err := io.ReadAll(body)
	body.Close()
	if err != nil || len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" || ctype != "audio/wav" {
		t.Fatalf("got %d bytes %q (%s), %v; want a WAV file", len(b), b[:min(len(b), 12)], ctype, err)
	}
	// Any node when the node is not given.
	if body, _, err := recs.Fetch(ctx, "", "siaga112/"+v.ChannelID); err != nil {
		t.Fatalf("fetch without node: %v", err)
	} else {
		body.Close()
	}
	// The web side tells the two apart by their methods, without
	// importing this package.
	type notFound interface {
		error
		NotFound() bool
	}
	type badName interface {
		error
		BadName() bool
	}
	if _, _, err := recs.Fetch(ctx, "", "siaga112/no-such-call"); !errors.Is(err, ErrNoRecording) {
		t.Errorf("unknown recording: %v, want ErrNoRecording", err)
	} else if e, ok := errors.AsType[notFound](err); !ok || !e.NotFound() {
		t.Errorf("unknown recording: %v does not say NotFound", err)
	}
	for _, bad := range []string{"../etc/passwd", "siaga112/../../x", "a/b/c", "", "x y", "/abs"} {
		_, _, err := recs.Fetch(ctx, "", bad)
		if !errors.Is(err, ErrBadRecordingName) {
			t.Errorf("name %q: %v, want ErrBadRecordingName", bad, err)
		}
		if e, ok := errors.AsType[badName](err); !ok || !e.BadName() {
			t.Errorf("name %q: %v does not say BadName", bad, err)
		}
		if e, ok := errors.AsType[notFound](err); ok && e.NotFound() {
			t.Errorf("name %q: %v says NotFound", bad, err)
		}
	}
}
