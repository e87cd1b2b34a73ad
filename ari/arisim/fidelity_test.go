package arisim_test

// Behaviour the sim takes from captures of a real Asterisk 22.10.1 driven through
// the same scenarios: caller and app hangups, continue, unplayable media.

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
)

// TestHangupEvents checks what the app hears when a call ends: ChannelHangupRequest
// (cause 16 from the caller; cause 32 and soft from DELETE /channels, whatever the
// reason), the prompt failed, StasisEnd, and no ChannelDestroyed.
func TestHangupEvents(t *testing.T) {
	tests := []struct {
		name      string
		reason    string // DELETE /channels reason; "" when the caller hangs up
		playing   bool   // a prompt is playing when the call ends
		wantCause int    // ChannelHangupRequest.cause
		wantSoft  bool
		wantQ850  int // CallerView.Cause
		wantBy    string
	}{
		{name: "caller hangs up", wantCause: 16, wantQ850: 16, wantBy: arisim.HungUpByCaller},
		{name: "caller hangs up during a prompt", playing: true, wantCause: 16, wantQ850: 16, wantBy: arisim.HungUpByCaller},
		{name: "app hangs up", reason: "normal", wantCause: 32, wantSoft: true, wantQ850: 16, wantBy: arisim.HungUpByApp},
		{name: "app hangs up busy", reason: "busy", wantCause: 32, wantSoft: true, wantQ850: 17, wantBy: arisim.HungUpByApp},
		{name: "app hangs up during a prompt", reason: "normal", playing: true, wantCause: 32, wantSoft: true, wantQ850: 16, wantBy: arisim.HungUpByApp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
				if err := h.Answer(); err != nil {
					t.Errorf("answer: %v", err)
					return
				}
				if tc.playing {
					// A tone plays until stopped, so it is still playing at the hangup.
					if _, err := h.Play("pb-"+st.Channel.ID, "tone:ring"); err != nil {
						t.Errorf("play: %v", err)
						return
					}
				}
				if tc.reason != "" {
					if err := cl.Channel().Hangup(h.Key(), tc.reason); err != nil {
						t.Errorf("hangup: %v", err)
					}
				}
			})
			script := []arisim.Step{arisim.WaitForAnswer()}
			if tc.playing {
				script = append(script, arisim.WaitForPrompt("tone:ring"))
			}
			if tc.reason == "" {
				script = append(script, arisim.Hangup())
			}
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: script})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			view := waitDone(t, call)
			rec.wait(t, "StasisEnd", ofType("StasisEnd"))
			rec.drained(t, sim)

			hr := rec.wait(t, "ChannelHangupRequest", ofType("ChannelHangupRequest")).(*ariv6.ChannelHangupRequest)
			if hr.Cause != tc.wantCause || hr.Soft != tc.wantSoft {
				t.Errorf("ChannelHangupRequest cause %d soft %v, want %d %v", hr.Cause, hr.Soft, tc.wantCause, tc.wantSoft)
			}
			if view.Cause != tc.wantQ850 || view.HungUpBy != tc.wantBy {
				t.Errorf("caller's view: cause %d by %q, want %d %q", view.Cause, view.HungUpBy, tc.wantQ850, tc.wantBy)
			}
			want := []string{"StasisStart", "ChannelStateChange", "ChannelHangupRequest", "StasisEnd"}
			if tc.playing {
				want = []string{"StasisStart", "ChannelStateChange", "PlaybackStarted", "ChannelHangupRequest", "PlaybackFinished", "StasisEnd"}
			}
			if got := rec.types(call.ID()); !slices.Equal(got, want) {
				t.Errorf("events = %v, want %v (no ChannelDestroyed after StasisEnd)", got, want)
			}
			if tc.playing {
				pf := rec.wait(t, "PlaybackFinished", ofType("PlaybackFinished")).(*ariv6.PlaybackFinished)
				if pf.Playback.State != "failed" {
					t.Errorf("prompt cut by the hangup finished %q, want failed", pf.Playback.State)
				}
			}
		})
	}
}

// TestStasisEndAfterContinue checks that StasisEnd still shows the Stasis() line
// and that only later snapshots show where continue sent the channel.
func TestStasisEndAfterContinue(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast, Language: "id"})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, _ *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			t.Errorf("answer: %v", err)
		}
		if err := h.Continue("siaga112-operators", "fire", 1); err != nil {
			t.Errorf("continue: %v", err)
		}
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForEnd(), arisim.Wait(time.Hour), // with an operator until the test hangs up
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	defer call.Hangup()
	se := rec.wait(t, "StasisEnd", ofType("StasisEnd")).(*ariv6.StasisEnd)
	if dp := se.Channel.Dialplan; dp == nil || dp.Context != "from-sip" || dp.Exten != "112" || dp.Priority != 1 ||
		dp.AppName != "Stasis" || dp.AppData != testApp {
		t.Errorf("StasisEnd dialplan = %+v, want the Stasis() line from-sip/112/1 Stasis(%s)", dp, testApp)
	}
	if se.Channel.Language != "id" {
		t.Errorf("channel language = %q, want id (Options.Language)", se.Channel.Language)
	}
	d, err := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID())).Data()
	if err != nil {
		t.Fatalf("channel after continue: %v", err)
	}
	if dp := d.Dialplan; dp == nil || dp.Context != "siaga112-operators" || dp.Exten != "fire" || dp.Priority != 1 {
		t.Errorf("dialplan after continue = %+v, want siaga112-operators/fire/1", d.Dialplan)
	}
}

// TestUnplayableMedia checks each way a media item can fail. A missing sound file
// fails the stream (PlaybackFinished "failed", or "continuing" to the next item);
// an unsupported scheme, a recording that is not stored or a number: that is not a
// number is skipped with no event, and when it is the last item the playback never
// finishes and is forgotten, while the channel's next command runs.
func TestUnplayableMedia(t *testing.T) {
	dir := soundsDir(t, "siaga112/menu")
	tests := []struct {
		name         string
		media        []string
		wantEvents   []string // for this playback, in order
		wantFinished string   // PlaybackFinished state; "" for none
	}{
		{"missing sound", []string{"sound:siaga112/nope"},
			[]string{"PlaybackStarted", "PlaybackFinished"}, "failed"},
		{"unknown scheme", []string{"bogus:foo"},
			[]string{"PlaybackStarted"}, ""},
		{"missing recording", []string{"recording:nope"},
			[]string{"PlaybackStarted"}, ""},
		{"number that is not a number", []string{"number:abc"},
			[]string{"PlaybackStarted"}, ""},
		{"unknown scheme then sound", []string{"bogus:foo", "sound:siaga112/menu"},
			[]string{"PlaybackStarted", "PlaybackStarted", "PlaybackFinished"}, "done"},
		{"missing sound then sound", []string{"sound:siaga112/nope", "sound:siaga112/menu"},
			[]string{"PlaybackStarted", "PlaybackContinuing", "PlaybackStarted", "PlaybackFinished"}, "done"},
		{"sound then missing sound", []string{"sound:siaga112/menu", "sound:siaga112/nope"},
			[]string{"PlaybackStarted", "PlaybackContinuing", "PlaybackStarted", "PlaybackFinished"}, "failed"},
		{"sound then unknown scheme", []string{"sound:siaga112/menu", "bogus:bar"},
			[]string{"PlaybackStarted", "PlaybackContinuing", "PlaybackStarted"}, ""},
		{"empty digits", []string{"digits:"},
			[]string{"PlaybackStarted", "PlaybackFinished"}, "done"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: fast, SoundsDir: dir})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			type outcome struct {
				getStatus, stopStatus int
				next                  *ariv6.PlaybackFinished
			}
			results := make(chan outcome, 1)
			serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
				if err := h.Answer(); err != nil {
					t.Errorf("answer: %v", err)
					return
				}
				id := "pb-" + st.Channel.ID
				pb, err := h.Play(id, tc.media...)
				if err != nil {
					t.Errorf("play: %v", err)
					return
				}
				// The next prompt is queued behind the first; it plays once the
				// first is finished or forgotten.
				next, err := playAndWait(h, "next-"+st.Channel.ID, "sound:siaga112/menu")
				if err != nil {
					t.Errorf("%v", err)
					return
				}
				var o outcome
				o.next = next
				_, err = pb.Data()
				o.getStatus = code(err)
				o.stopStatus = code(pb.Stop())
				results <- o
				_ = h.Hangup()
			})
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			view := waitDone(t, call)
			var o outcome
			select {
			case o = <-results:
			case <-time.After(waitMax):
				t.Fatal("the app did not get through its playbacks")
			}
			if o.next.Playback.State != "done" {
				t.Errorf("next prompt finished %q, want done", o.next.Playback.State)
			}
			// The playback is gone either way: finished, or forgotten by Asterisk.
			if o.getStatus != http.StatusNotFound || o.stopStatus != http.StatusNotFound {
				t.Errorf("GET/DELETE of the playback afterwards: %d/%d, want 404/404", o.getStatus, o.stopStatus)
			}
			rec.wait(t, "StasisEnd", ofType("StasisEnd"))
			rec.drained(t, sim)

			id := "pb-" + call.ID()
			var got []string
			finished := ""
			rec.mu.Lock()
			for _, e := range rec.evs {
				switch ev := e.(type) {
				case *ariv6.PlaybackStarted:
					if ev.Playback.ID == id {
						got = append(got, ev.GetType())
					}
				case *ariv6.PlaybackContinuing:
					if ev.Playback.ID == id {
						got = append(got, ev.GetType())
					}
				case *ariv6.PlaybackFinished:
					if ev.Playback.ID == id {
						got = append(got, ev.GetType())
						finished = ev.Playback.State
					}
				}
			}
			rec.mu.Unlock()
			if !slices.Equal(got, tc.wantEvents) || finished != tc.wantFinished {
				t.Errorf("events %v finished %q, want %v %q", got, finished, tc.wantEvents, tc.wantFinished)
			}
			// Every item the caller was offered is in the prompt log; only the
			// next prompt is played to the end after an unplayable last item.
			if n := len(view.PromptLog); n != len(tc.media)+1 {
				t.Errorf("prompt log has %d entries, want %d: %+v", n, len(tc.media)+1, view.PromptLog)
			}
		})
	}
}

// soundsDir makes a sounds folder holding 100 ms WAV files for the given names.
func soundsDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n)+".wav")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeWAV(t, p, 100*time.Millisecond)
	}
	return dir
}

// TestRESTEncoding checks details of the HTTP exchange: a 204 carries no
// Content-Type; a repeated parameter counts once, its last occurrence (so
// media=a&media=b plays only b; several media go comma separated); a JSON body
// field wins over the query.
func TestRESTEncoding(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	defer call.Hangup()
	rec.wait(t, "StasisStart", ofType("StasisStart"))

	do := func(method, path string, jsonBody ...string) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if len(jsonBody) > 0 {
			rd = strings.NewReader(jsonBody[0])
		}
		req, err := http.NewRequest(method, sim.URL()+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.SetBasicAuth(testUser, testPass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close() //nolint:errcheck // test
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := do(http.MethodPost, "/channels/"+call.ID()+"/answer")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Content-Type") != "" {
		t.Errorf("answer: %d with Content-Type %q, want 204 with none", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body := do(http.MethodPost, "/channels/"+call.ID()+"/play/p1?media=sound:first&media=sound:second")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"media_uri":"sound:second"`) || strings.Contains(body, "next_media_uri") {
		t.Errorf("play with media twice: %d %s, want only sound:second", resp.StatusCode, body)
	}
	resp, body = do(http.MethodPost, "/channels/"+call.ID()+"/play/p2?media=sound:first,sound:second")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"next_media_uri":"sound:second"`) {
		t.Errorf("play with two media: %d %s", resp.StatusCode, body)
	}
	// A JSON body field replaces the query's (Asterisk parses the body last).
	resp, body = do(http.MethodPost, "/channels/"+call.ID()+"/play/p3?media=sound:query", `{"media":"sound:body"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"media_uri":"sound:body"`) {
		t.Errorf("play with media in query and body: %d %s, want sound:body", resp.StatusCode, body)
	}
}
