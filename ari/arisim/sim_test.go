package arisim_test

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
	"github.com/CyCoreSystems/ari/v6/client/native"

	"github.com/siaga112/siaga112/ari/arisim"
)

// fast runs media and script time 50x faster than real time.
const fast = 0.02

// measured is the clock scale for tests that check media durations: timer jitter on
// a busy machine is multiplied by 1/scale, so these run only 10x faster.
const measured = 0.1

func TestConnectAndInfo(t *testing.T) {
	sim := startSim(t, arisim.Options{EntityID: "0a:0b:0c:0d:0e:0f", ClockScale: fast})
	cl := connect(t, sim, testApp)

	info, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.SystemInfo.EntityID != "0a:0b:0c:0d:0e:0f" || info.SystemInfo.Version != "22.10.1" {
		t.Errorf("system info = %+v", info.SystemInfo)
	}
	if time.Since(time.Time(info.StatusInfo.StartupTime)) > time.Minute {
		t.Errorf("startup time %v is not recent", info.StatusInfo.StartupTime)
	}
	data, err := cl.Application().Data(ariv6.NewKey(ariv6.ApplicationKey, testApp))
	if err != nil || data.Name != testApp {
		t.Errorf("application data = %+v, %v", data, err)
	}
}

func TestBadCredentials(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"wrong password", testUser, "nope", http.StatusUnauthorized},
		{"wrong user", "root", testPass, http.StatusUnauthorized},
		{"right", testUser, testPass, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := native.New(&native.Options{Application: testApp, URL: sim.URL(), WebsocketURL: sim.WSURL(), Username: tc.user, Password: tc.pass})
			_, err := cl.Asterisk().Info(nil)
			if got := code(err); got != tc.want {
				t.Fatalf("status = %d (err %v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestAnswerPlayHangup(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	finished := make(chan *ariv6.PlaybackFinished, 1)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		pf, err := playAndWait(h, "pb-"+st.Channel.ID, "sound:siaga112/greeting")
		if err != nil {
			t.Errorf("%v", err)
			return
		}
		finished <- pf
		if err := h.Hangup(); err != nil {
			t.Errorf("hangup: %v", err)
		}
	})

	call, err := sim.Call(context.Background(), arisim.Caller{Number: "+6281234567890", Name: "Budi", Dialed: "112",
		Script: []arisim.Step{arisim.WaitForPrompt("greeting")}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	view := waitDone(t, call)

	st := rec.wait(t, "StasisStart", ofType("StasisStart")).(*ariv6.StasisStart)
	if st.Channel.Caller.Number != "+6281234567890" || st.Channel.Caller.Name != "Budi" {
		t.Errorf("caller = %+v", st.Channel.Caller)
	}
	if st.Channel.Dialplan.Context != "from-sip" || st.Channel.Dialplan.Exten != "112" || st.Channel.Dialplan.Priority != 1 {
		t.Errorf("dialplan = %+v", st.Channel.Dialplan)
	}
	if st.Channel.State != "Ring" || st.Args == nil || len(st.Args) != 0 {
		t.Errorf("state %q args %#v", st.Channel.State, st.Args)
	}
	if st.GetApplication() != testApp || st.GetNode() == "" {
		t.Errorf("application %q node %q", st.GetApplication(), st.GetNode())
	}
	pf := <-finished
	if pf.Playback.State != "done" || pf.Playback.MediaURI != "sound:siaga112/greeting" || pf.Playback.TargetURI != "channel:"+call.ID() {
		t.Errorf("playback finished = %+v", pf.Playback)
	}
	if !view.Answered || view.HungUpBy != arisim.HungUpByApp || !slices.Equal(view.Prompts, []string{"siaga112/greeting"}) {
		t.Errorf("view = %+v", view)
	}
	if len(view.PromptLog) != 1 || view.PromptLog[0].State != "done" {
		t.Errorf("prompt log = %+v", view.PromptLog)
	}
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	rec.drained(t, sim)
	// No ChannelDestroyed: the app is unsubscribed from the channel as it leaves Stasis.
	want := []string{"StasisStart", "ChannelStateChange", "PlaybackStarted", "PlaybackFinished",
		"ChannelHangupRequest", "StasisEnd"}
	if got := rec.types(call.ID()); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}

	// After hangup Asterisk answers 404 for the channel.
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))
	if _, err := h.Data(); code(err) != http.StatusNotFound {
		t.Errorf("data after hangup: status %d (%v), want 404", code(err), err)
	}
	if err := h.Answer(); code(err) != http.StatusNotFound {
		t.Errorf("answer after hangup: status %d (%v), want 404", code(err), err)
	}
	if sim.ActiveChannels() != 0 {
		t.Errorf("active channels = %d", sim.ActiveChannels())
	}
}

func TestDTMF(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, _ *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			t.Errorf("answer: %v", err)
		}
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForAnswer(), arisim.Press("12#"), arisim.Wait(time.Second), arisim.Hangup(),
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	view := waitDone(t, call)
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	var digits string
	rec.mu.Lock()
	for _, e := range rec.evs {
		if d, ok := e.(*ariv6.ChannelDtmfReceived); ok {
			digits += d.Digit
			if d.DurationMs != 100 {
				t.Errorf("duration_ms = %d", d.DurationMs)
			}
		}
	}
	rec.mu.Unlock()
	if digits != "12#" || view.DTMFSent != "12#" || view.HungUpBy != arisim.HungUpByCaller {
		t.Errorf("digits %q view %+v", digits, view)
	}
	hr := rec.wait(t, "ChannelHangupRequest", ofType("ChannelHangupRequest")).(*ariv6.ChannelHangupRequest)
	if hr.Cause != 16 || hr.Soft {
		t.Errorf("hangup request = %+v", hr)
	}
	if view.Cause != 16 {
		t.Errorf("caller's hangup cause = %d, want 16", view.Cause)
	}
}

func TestDigitsBeforeAnswerAreLost(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.Press("9"), arisim.Hangup(),
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	view := waitDone(t, call)
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	if got := rec.types(call.ID()); slices.Contains(got, "ChannelDtmfReceived") {
		t.Errorf("unanswered channel reported DTMF: %v", got)
	}
	if view.DTMFSent != "9" || view.Answered {
		t.Errorf("view = %+v", view)
	}
}

func TestTalkDetect(t *testing.T) {
	tests := []struct {
		name      string
		setDetect bool
	}{
		{"with TALK_DETECT", true},
		{"without TALK_DETECT", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: measured})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
				if err := h.Answer(); err != nil {
					t.Errorf("answer: %v", err)
				}
				if tc.setDetect {
					if err := h.SetVariable("TALK_DETECT(set)", "500"); err != nil {
						t.Errorf("set talk detect: %v", err)
					}
				}
				if _, err := playAndWait(h, "ready-"+st.Channel.ID, "sound:ready"); err != nil {
					t.Errorf("%v", err)
				}
			})
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
				arisim.WaitForPrompt("ready"), arisim.Talk(1500 * time.Millisecond), arisim.Wait(2 * time.Second), arisim.Hangup(),
			}})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			waitDone(t, call)
			rec.wait(t, "StasisEnd", ofType("StasisEnd"))
			rec.drained(t, sim)
			got := rec.types(call.ID())
			if !tc.setDetect {
				if slices.Contains(got, "ChannelTalkingStarted") || slices.Contains(got, "ChannelTalkingFinished") {
					t.Errorf("talk events without TALK_DETECT: %v", got)
				}
				return
			}
			tf := rec.wait(t, "ChannelTalkingFinished", ofType("ChannelTalkingFinished")).(*ariv6.ChannelTalkingFinished)
			if tf.Duration < 1400 || tf.Duration > 4000 {
				t.Errorf("talking duration = %d ms, want about 1500", tf.Duration)
			}
			if i, j := slices.Index(got, "ChannelTalkingStarted"), slices.Index(got, "ChannelTalkingFinished"); i < 0 || j < i {
				t.Errorf("talk events out of order: %v", got)
			}
		})
	}
}

func TestRecordAndStoredFile(t *testing.T) {
	tests := []struct {
		name    string
		script  []arisim.Step
		opts    ariv6.RecordingOptions
		minDur  time.Duration
		maxDur  time.Duration
		talking bool
	}{
		{
			name:   "ends on silence",
			script: []arisim.Step{arisim.WaitForAnswer(), arisim.Wait(200 * time.Millisecond), arisim.Talk(3 * time.Second), arisim.Wait(6 * time.Second)},
			opts:   ariv6.RecordingOptions{Format: "wav", MaxSilence: 2 * time.Second, MaxDuration: 20 * time.Second},
			minDur: 3 * time.Second, maxDur: 5 * time.Second, talking: true,
		},
		{
			name:   "ends on max duration",
			script: []arisim.Step{arisim.WaitForAnswer(), arisim.Talk(8 * time.Second)},
			opts:   ariv6.RecordingOptions{Format: "wav", MaxDuration: 3 * time.Second},
			minDur: 3 * time.Second, maxDur: 5 * time.Second,
		},
		{
			name:   "ends on hash",
			script: []arisim.Step{arisim.WaitForAnswer(), arisim.Talk(2 * time.Second), arisim.Press("#"), arisim.Wait(5 * time.Second)},
			opts:   ariv6.RecordingOptions{Format: "wav", Terminate: "#", MaxDuration: 20 * time.Second},
			minDur: 2 * time.Second, maxDur: 4 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, arisim.Options{ClockScale: measured})
			cl := connect(t, sim, testApp)
			rec := record(t, cl)
			serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
				if err := h.Answer(); err != nil {
					t.Errorf("answer: %v", err)
				}
				opts := tc.opts
				if _, err := h.Record("loc-"+st.Channel.ID, &opts); err != nil {
					t.Errorf("record: %v", err)
				}
			})
			call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: tc.script})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			name := "loc-" + call.ID()
			rf := rec.wait(t, "RecordingFinished", ofType("RecordingFinished")).(*ariv6.RecordingFinished)
			if rf.Recording.Name != name || rf.Recording.State != "done" || rf.Recording.Format != "wav" {
				t.Errorf("recording = %+v", rf.Recording)
			}
			if d := time.Duration(rf.Recording.Duration); d < tc.minDur || d > tc.maxDur {
				t.Errorf("duration = %v, want %v..%v", d, tc.minDur, tc.maxDur)
			}
			if tc.talking && time.Duration(rf.Recording.Talking) < 2*time.Second {
				t.Errorf("talking duration = %v", time.Duration(rf.Recording.Talking))
			}
			keys, err := cl.StoredRecording().List(nil)
			if err != nil || len(keys) != 1 || keys[0].ID != name {
				t.Fatalf("stored list = %v, %v", keys, err)
			}
			data, err := cl.StoredRecording().Data(keys[0])
			if err != nil || data.Format != "wav" {
				t.Fatalf("stored data = %+v, %v", data, err)
			}
			wav := fetchStoredFile(t, sim, name)
			if string(wav[0:4]) != "RIFF" || string(wav[8:12]) != "WAVE" || binary.LittleEndian.Uint32(wav[24:28]) != 8000 {
				t.Fatalf("not an 8 kHz WAV: % x", wav[:min(len(wav), 44)])
			}
			secs := float64(binary.LittleEndian.Uint32(wav[40:44])) / 16000
			if secs < tc.minDur.Seconds() || secs > tc.maxDur.Seconds()+1 {
				t.Errorf("wav holds %.2fs of audio", secs)
			}
			if tc.talking && !hasTone(wav[44:]) {
				t.Errorf("recording of a talking caller is all silence")
			}
			call.Hangup()
			view := waitDone(t, call)
			if !slices.Equal(view.Recordings, []string{name}) {
				t.Errorf("recordings = %v", view.Recordings)
			}
			if _, err := cl.LiveRecording().Data(ariv6.NewKey(ariv6.LiveRecordingKey, name)); code(err) != http.StatusNotFound {
				t.Errorf("live recording after finish: %d (%v), want 404", code(err), err)
			}
		})
	}
}

func fetchStoredFile(t *testing.T, sim *arisim.Server, name string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sim.URL()+"/recordings/stored/"+name+"/file", nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("get file: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("file: status %d type %q err %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	if len(body) < 44 {
		t.Fatalf("file too short: %d bytes", len(body))
	}
	return body
}

func hasTone(pcm []byte) bool {
	for i := 0; i+1 < len(pcm); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(pcm[i:])); v > 1000 || v < -1000 {
			return true
		}
	}
	return false
}

func TestContinueVariablesAndConflict(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, _ *ariv6.StasisStart) {
		if err := h.Answer(); err != nil {
			t.Errorf("answer: %v", err)
		}
		if _, err := h.GetVariable("SIAGA112_TYPE"); code(err) != http.StatusNotFound {
			t.Errorf("unset variable: %d (%v), want 404", code(err), err)
		}
		for k, v := range map[string]string{"SIAGA112_TYPE": "fire", "SIAGA112_CALL_ID": "c1"} {
			if err := h.SetVariable(k, v); err != nil {
				t.Errorf("set %s: %v", k, err)
			}
		}
		if v, err := h.GetVariable("SIAGA112_TYPE"); err != nil || v != "fire" {
			t.Errorf("get variable = %q, %v", v, err)
		}
		if err := h.Continue("siaga112-operators", "fire", 1); err != nil {
			t.Errorf("continue: %v", err)
		}
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForEnd(), arisim.Talk(time.Second), arisim.Hangup(),
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	// The channel lives on in the dialplan, out of Stasis: 409 for Stasis operations.
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))
	if err := h.Answer(); code(err) != http.StatusConflict && code(err) != http.StatusNotFound {
		t.Errorf("answer after continue: %d (%v), want 409", code(err), err)
	}
	view := waitDone(t, call)
	want := arisim.DialplanTarget{Context: "siaga112-operators", Extension: "fire", Priority: 1}
	if view.Continued == nil || *view.Continued != want {
		t.Errorf("continued = %+v", view.Continued)
	}
	if view.Variables["SIAGA112_TYPE"] != "fire" || view.Variables["SIAGA112_CALL_ID"] != "c1" {
		t.Errorf("variables = %v", view.Variables)
	}
	var varsets int
	rec.mu.Lock()
	for _, e := range rec.evs {
		if v, ok := e.(*ariv6.ChannelVarset); ok && strings.HasPrefix(v.Variable, "SIAGA112_") {
			varsets++
		}
	}
	rec.mu.Unlock()
	if varsets != 2 {
		t.Errorf("ChannelVarset events = %d, want 2", varsets)
	}
	if got := rec.types(call.ID()); slices.Contains(got, "ChannelDestroyed") {
		t.Errorf("app got events after StasisEnd: %v", got)
	}
}

func TestContinueWaitsForPlayback(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		_ = h.Answer()
		if _, err := h.Play("p-"+st.Channel.ID, "sound:bye"); err != nil {
			t.Errorf("play: %v", err)
		}
		if err := h.Continue("siaga112-operators", "0", 1); err != nil {
			t.Errorf("continue: %v", err)
		}
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	waitDone(t, call)
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	got := rec.types(call.ID())
	if slices.Index(got, "PlaybackFinished") > slices.Index(got, "StasisEnd") || !slices.Contains(got, "PlaybackFinished") {
		t.Errorf("continue did not wait for the playback: %v", got)
	}
}

func TestPlaybackLengthFromWAVAndMissingSound(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "siaga112"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeWAV(t, filepath.Join(dir, "siaga112", "greeting.wav"), 400*time.Millisecond)
	sim := startSim(t, arisim.Options{ClockScale: 1, SoundsDir: dir})
	cl := connect(t, sim, testApp)

	type result struct {
		state   string
		elapsed time.Duration
	}
	results := make(chan result, 2)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		_ = h.Answer()
		for i, media := range []string{"sound:siaga112/greeting", "sound:siaga112/no-such-prompt"} {
			start := time.Now()
			pf, err := playAndWait(h, st.Channel.ID+"-"+string(rune('a'+i)), media)
			if err != nil {
				t.Errorf("%v", err)
				return
			}
			results <- result{pf.Playback.State, time.Since(start)}
		}
		_ = h.Hangup()
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	view := waitDone(t, call)
	ok := <-results
	if ok.state != "done" || ok.elapsed < 350*time.Millisecond {
		t.Errorf("existing prompt: %+v, want done after ≥400ms", ok)
	}
	missing := <-results
	if missing.state != "failed" {
		t.Errorf("missing prompt state = %q, want failed", missing.state)
	}
	if len(view.PromptLog) != 2 || view.PromptLog[1].State != "failed" {
		t.Errorf("prompt log = %+v", view.PromptLog)
	}
}

func writeWAV(t *testing.T, path string, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 8000)
	buf := make([]byte, 44+2*n)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+2*n))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], 1)
	binary.LittleEndian.PutUint16(buf[22:], 1)
	binary.LittleEndian.PutUint32(buf[24:], 8000)
	binary.LittleEndian.PutUint32(buf[28:], 16000)
	binary.LittleEndian.PutUint16(buf[32:], 2)
	binary.LittleEndian.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(2*n))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBargeInStopsPlayback(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	serveApp(t, cl, func(h *ariv6.ChannelHandle, st *ariv6.StasisStart) {
		_ = h.Answer()
		dtmf := h.Subscribe(ariv6.Events.ChannelDtmfReceived)
		defer dtmf.Cancel()
		pb, err := h.Play("menu-"+st.Channel.ID, "tone:ring")
		if err != nil {
			t.Errorf("play: %v", err)
			return
		}
		select {
		case <-dtmf.Events():
			if err := pb.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		case <-time.After(waitMax):
			t.Errorf("no DTMF")
		}
		if err := h.Hangup(); err != nil {
			t.Errorf("hangup: %v", err)
		}
	})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForPrompt("tone:ring"), arisim.Press("1"),
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	view := waitDone(t, call)
	pf := rec.wait(t, "PlaybackFinished", ofType("PlaybackFinished")).(*ariv6.PlaybackFinished)
	if pf.Playback.State != "done" {
		t.Errorf("stopped playback state = %q, want done", pf.Playback.State)
	}
	if len(view.PromptLog) != 1 || view.PromptLog[0].State != "stopped" {
		t.Errorf("prompt log = %+v", view.PromptLog)
	}
}

func TestOriginateIntoApp(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	h, err := cl.Channel().Originate(nil, ariv6.OriginateRequest{Endpoint: "PJSIP/operator1", App: testApp, AppArgs: "callback,42", CallerID: `"Siaga" <112>`})
	if err != nil {
		t.Fatalf("originate: %v", err)
	}
	st := rec.wait(t, "StasisStart of originated channel", func(e ariv6.Event) bool {
		s, ok := e.(*ariv6.StasisStart)
		return ok && s.Channel.ID == h.ID()
	}).(*ariv6.StasisStart)
	if st.Channel.State != "Up" || !slices.Equal(st.Args, []string{"callback", "42"}) || st.Channel.Caller.Number != "112" {
		t.Errorf("originated StasisStart = %+v", st)
	}
	if err := h.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if _, err := cl.Channel().Originate(nil, ariv6.OriginateRequest{Endpoint: "PJSIP/x", App: testApp, ChannelID: h.ID() + "-dup"}); err != nil {
		t.Fatalf("second originate: %v", err)
	}
	if _, err := cl.Channel().Originate(nil, ariv6.OriginateRequest{Endpoint: "PJSIP/x", App: testApp, ChannelID: h.ID() + "-dup"}); code(err) != http.StatusConflict {
		t.Errorf("duplicate channel id: %d (%v), want 409", code(err), err)
	}
}

func TestBridge(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	rec.wait(t, "StasisStart", ofType("StasisStart"))
	br, err := cl.Bridge().Create(ariv6.NewKey(ariv6.BridgeKey, "b1"), "mixing", "conf")
	if err != nil {
		t.Fatalf("create bridge: %v", err)
	}
	if err := br.AddChannel(call.ID()); err != nil {
		t.Fatalf("add channel: %v", err)
	}
	rec.wait(t, "ChannelEnteredBridge", ofType("ChannelEnteredBridge"))
	data, err := br.Data()
	if err != nil || !slices.Equal(data.ChannelIDs, []string{call.ID()}) {
		t.Errorf("bridge data = %+v, %v", data, err)
	}
	// A list naming an unknown channel is refused whole, as by Asterisk: 400,
	// and the known channel stays in the bridge.
	req, err := http.NewRequest(http.MethodPost, sim.URL()+"/bridges/b1/removeChannel?channel="+call.ID()+",no-such-channel", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testUser, testPass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("remove with unknown channel: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("remove with unknown channel: %d, want 400", res.StatusCode)
	}
	if data, err := br.Data(); err != nil || !slices.Equal(data.ChannelIDs, []string{call.ID()}) {
		t.Errorf("bridge after refused remove = %+v, %v; want the channel still in it", data, err)
	}
	if err := br.RemoveChannel(call.ID()); err != nil {
		t.Fatalf("remove channel: %v", err)
	}
	rec.wait(t, "ChannelLeftBridge", ofType("ChannelLeftBridge"))
	if err := br.RemoveChannel(call.ID()); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("remove twice: %d (%v), want 422", code(err), err)
	}
	if err := br.Delete(); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := br.Data(); code(err) != http.StatusNotFound {
		t.Errorf("bridge after destroy: %d, want 404", code(err))
	}
	call.Hangup()
	waitDone(t, call)
}

func TestDropWebSockets(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	rec.wait(t, "StasisStart", ofType("StasisStart"))

	sim.DropWebSockets()
	// The client notices the drop and dials again; the channel stayed in Stasis.
	eventually(t, "client reconnect", func() bool { return sim.Stats().WebSockets == 1 })
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))
	eventually(t, "answer after reconnect", func() bool { return h.Answer() == nil })
	rec.wait(t, "ChannelStateChange after reconnect", ofType("ChannelStateChange"))
	if err := h.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if view := waitDone(t, call); view.HungUpBy != arisim.HungUpByApp {
		t.Errorf("view = %+v", view)
	}
}

func TestRestart(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	before, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatal(err)
	}
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	rec.wait(t, "StasisStart", ofType("StasisStart"))
	time.Sleep(5 * time.Millisecond) // a distinct startup time
	sim.Restart()
	view := waitDone(t, call)
	if view.HungUpBy != arisim.HungUpByRestart || sim.ActiveChannels() != 0 {
		t.Errorf("view %+v active %d", view, sim.ActiveChannels())
	}
	if got := rec.types(call.ID()); slices.Contains(got, "StasisEnd") || slices.Contains(got, "ChannelDestroyed") {
		t.Errorf("a crashed Asterisk sent %v", got)
	}
	eventually(t, "client reconnect", func() bool { return sim.Stats().WebSockets == 1 })
	after, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !time.Time(after.StatusInfo.StartupTime).After(time.Time(before.StatusInfo.StartupTime)) {
		t.Errorf("startup time did not change: %v -> %v", before.StatusInfo.StartupTime, after.StatusInfo.StartupTime)
	}
	if _, err := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID())).Data(); code(err) != http.StatusNotFound {
		t.Errorf("channel after restart: %d, want 404", code(err))
	}
	// New calls work once the app is back.
	eventually(t, "app registered again", func() bool {
		apps, err := cl.Application().List(nil)
		return err == nil && len(apps) == 1
	})
	call2, err := sim.Call(context.Background(), arisim.Caller{Number: "0812", Dialed: "112", Script: []arisim.Step{arisim.Hangup()}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, call2)
	rec.wait(t, "StasisStart after restart", func(e ariv6.Event) bool {
		s, ok := e.(*ariv6.StasisStart)
		return ok && s.Channel.ID == call2.ID()
	})
}

func TestRESTFaults(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112"})
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "StasisStart", ofType("StasisStart"))
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))

	sim.FailNextREST(http.MethodPost, "/channels/*/answer", http.StatusInternalServerError)
	if err := h.Answer(); code(err) != http.StatusInternalServerError {
		t.Errorf("injected failure: %d (%v), want 500", code(err), err)
	}
	if v := call.Result(); v.Answered {
		t.Errorf("failed request took effect")
	}
	sim.SetRESTDelay(100 * time.Millisecond)
	start := time.Now()
	if err := h.Answer(); err != nil {
		t.Errorf("answer after injected failure: %v", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Errorf("REST delay not applied")
	}
	sim.SetRESTDelay(0)
	if err := h.Answer(); err != nil {
		t.Errorf("answer of an answered channel: %v", err)
	}
	call.Hangup()
	waitDone(t, call)
}

func TestCallWithoutApplicationIsHungUp(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.WaitForAnswer()}})
	if err != nil {
		t.Fatal(err)
	}
	if view := waitDone(t, call); view.HungUpBy != arisim.HungUpBySystem || view.Answered {
		t.Errorf("view = %+v", view)
	}
}

func TestCallerContextCancelHangsUp(t *testing.T) {
	sim := startSim(t, arisim.Options{ClockScale: fast})
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	ctx, cancel := context.WithCancel(context.Background())
	call, err := sim.Call(ctx, arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Wait(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "StasisStart", ofType("StasisStart"))
	cancel()
	if view := waitDone(t, call); view.HungUpBy != arisim.HungUpByCaller {
		t.Errorf("view = %+v", view)
	}
	st := sim.Stats()
	if st.CallsStarted != 1 || st.CallsEnded != 1 || st.ActiveChannels != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestMountedAsHandler(t *testing.T) {
	sim := arisim.New(arisim.Options{Username: testUser, Password: testPass, Application: testApp, ClockScale: fast})
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		// The sim first: it owns the hijacked WebSocket connections.
		if err := sim.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		ts.Close()
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cl, err := native.ConnectWithContext(ctx, &native.Options{Application: testApp, URL: ts.URL + "/ari",
		WebsocketURL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/ari/events", Username: testUser, Password: testPass})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	rec := record(t, cl)
	eventually(t, "app registered", func() bool { return sim.Stats().WebSockets == 1 })
	call, err := sim.Call(context.Background(), arisim.Caller{Number: "0811", Dialed: "112", Script: []arisim.Step{arisim.Hangup()}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, call)
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
}
