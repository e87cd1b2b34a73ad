package arisim

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Playback states as Asterisk reports them. A stopped or cancelled playback reports
// "done" (stasis_playback.c maps STOPPED, COMPLETE and CANCELED to "done").
const (
	pbQueued     = "queued"
	pbPlaying    = "playing"
	pbPaused     = "paused"
	pbContinuing = "continuing"
	pbDone       = "done"
	pbFailed     = "failed"
)

// How a prompt ended, as seen by the caller (PromptRecord.State).
const (
	promptPlaying = "playing"
	promptDone    = "done"    // played to the end
	promptStopped = "stopped" // the app stopped it (barge-in)
	promptFailed  = "failed"  // missing file or unsupported media
	promptHangup  = "hangup"  // the call ended while it played
)

// playback is one ARI Playback on a channel or a bridge. Its fields are guarded by
// the owner's lock: ch.mu for channel playbacks, s.bridgeMu for bridge playbacks.
type playback struct {
	s      *Server
	id     string
	ch     *channel
	br     *bridge
	media  []string
	idx    int
	lang   string
	target string
	state  string

	timer     *time.Timer
	gen       uint64
	deadline  time.Time     // wall time the current media ends
	remaining time.Duration // wall time left while paused
	length    time.Duration // wall length of the current media
	skip      time.Duration // skipms for forward/reverse, media time
	prompt    int           // index in the channel's PromptLog, -1 when none
}

func (pb *playback) jsonLocked() playbackJSON {
	j := playbackJSON{ID: pb.id, MediaURI: pb.media[pb.idx], TargetURI: pb.target, Language: pb.lang, State: pb.state}
	if pb.idx+1 < len(pb.media) {
		j.NextMediaURI = pb.media[pb.idx+1]
	}
	return j
}

func (pb *playback) lock() {
	if pb.ch != nil {
		pb.ch.mu.Lock()
	} else {
		pb.s.bridgeMu.Lock()
	}
}

func (pb *playback) unlock() {
	if pb.ch != nil {
		pb.ch.mu.Unlock()
	} else {
		pb.s.bridgeMu.Unlock()
	}
}

// emitLocked sends a playback event to the application(s) watching the target.
func (pb *playback) emitLocked(typ string) {
	j := pb.jsonLocked()
	if pb.ch != nil {
		if pb.ch.inStasis {
			pb.s.emit(pb.ch.app, playbackEvent{eventBase: pb.s.base(typ, pb.ch.app), Playback: j})
		}
		return
	}
	for _, app := range pb.br.appsLocked() {
		pb.s.emit(app, playbackEvent{eventBase: pb.s.base(typ, app), Playback: j})
	}
}

// beginLocked starts playing the current media item, as one turn of
// play_on_channel's loop in res_stasis_playback.c: PlaybackStarted, then the
// media plays, fails or is skipped.
func (pb *playback) beginLocked() {
	pb.state = pbPlaying
	pb.emitLocked("PlaybackStarted")
	uri := pb.media[pb.idx]
	pb.prompt = -1
	if ch := pb.ch; ch != nil {
		ch.view.Prompts = append(ch.view.Prompts, soundName(uri))
		ch.view.PromptLog = append(ch.view.PromptLog, PromptRecord{Sound: soundName(uri), Media: uri, PlaybackID: pb.id, State: promptPlaying, StartedAt: time.Now()})
		pb.prompt = len(ch.view.PromptLog) - 1
		ch.broadcastLocked()
	}
	d, outcome := pb.s.mediaLength(uri, pb.lang)
	switch outcome {
	case mediaFails:
		// The stream failed (a missing sound file): "failed" on the last item,
		// otherwise Asterisk reports "continuing" and goes on with the next one.
		pb.markPromptLocked(promptFailed)
		if pb.idx+1 < len(pb.media) {
			pb.nextLocked()
			return
		}
		pb.finishLocked(pbFailed, promptFailed)
		return
	case mediaSkipped:
		// Asterisk only logs an error and moves to the next item without any
		// event. After the last item the play command returns with no final
		// update, so the application never gets PlaybackFinished; the
		// playback is forgotten (GET and DELETE answer 404) and the channel's
		// next command runs.
		pb.markPromptLocked(promptFailed)
		if pb.idx+1 < len(pb.media) {
			pb.idx++
			pb.beginLocked()
			return
		}
		pb.abandonLocked()
		return
	}
	pb.length = pb.s.scaled(d)
	pb.armLocked(pb.length)
}

// nextLocked reports the current item done ("continuing") and starts the next.
func (pb *playback) nextLocked() {
	pb.state = pbContinuing
	pb.emitLocked("PlaybackContinuing")
	pb.idx++
	pb.beginLocked()
}

func (pb *playback) armLocked(wall time.Duration) {
	pb.gen++
	gen := pb.gen
	pb.deadline = time.Now().Add(wall)
	pb.timer = time.AfterFunc(wall, func() { pb.mediaEnded(gen) })
}

func (pb *playback) stopTimer() {
	if pb.timer != nil {
		pb.timer.Stop()
	}
}

func (pb *playback) mediaEnded(gen uint64) {
	pb.lock()
	defer pb.unlock()
	if pb.gen != gen || pb.state != pbPlaying {
		return
	}
	if pb.ch != nil && pb.ch.gone {
		return
	}
	pb.markPromptLocked(promptDone)
	if pb.idx+1 < len(pb.media) {
		pb.nextLocked()
		return
	}
	pb.finishLocked(pbDone, promptDone)
}

func (pb *playback) markPromptLocked(state string) {
	if pb.ch == nil || pb.prompt < 0 || pb.prompt >= len(pb.ch.view.PromptLog) {
		return
	}
	rec := &pb.ch.view.PromptLog[pb.prompt]
	if rec.State == promptPlaying {
		rec.State = state
		rec.EndedAt = time.Now()
	}
	pb.prompt = -1
}

// finishLocked ends the playback with state (done or failed) and starts whatever the
// target has queued next.
func (pb *playback) finishLocked(state, promptState string) {
	pb.gen++
	pb.stopTimer()
	pb.markPromptLocked(promptState)
	pb.state = state
	pb.emitLocked("PlaybackFinished")
	pb.releaseLocked()
}

// abandonLocked ends a playback whose last item Asterisk skipped: no event, the
// state stays "playing" as last published.
func (pb *playback) abandonLocked() {
	pb.gen++
	pb.stopTimer()
	pb.releaseLocked()
}

// releaseLocked forgets the playback and lets the target run its next command.
func (pb *playback) releaseLocked() {
	pb.s.playbacks.delIf(pb.id, func(p *playback) bool { return p == pb })
	if ch := pb.ch; ch != nil {
		if ch.curPB == pb {
			ch.curPB = nil
		}
		ch.broadcastLocked()
		ch.runJobsLocked()
	} else if pb.br != nil && pb.br.curPB == pb {
		pb.br.curPB = nil
		pb.br.runLocked()
	}
}

// stopLocked is DELETE /playbacks/{id}.
func (pb *playback) stopLocked() {
	switch pb.state {
	case pbQueued:
		// Asterisk reports a cancelled playback as finished ("done") at once.
		if ch := pb.ch; ch != nil {
			for i, j := range ch.jobs {
				if j.pb == pb {
					ch.jobs = append(ch.jobs[:i], ch.jobs[i+1:]...)
					break
				}
			}
		} else if pb.br != nil {
			pb.br.dequeueLocked(pb)
		}
		pb.state = pbDone
		pb.emitLocked("PlaybackFinished")
		pb.s.playbacks.delIf(pb.id, func(p *playback) bool { return p == pb })
	default:
		pb.finishLocked(pbDone, promptStopped)
	}
}

// controlLocked implements POST /playbacks/{id}/control.
func (pb *playback) controlLocked(op string) reply {
	if pb.state != pbPlaying && pb.state != pbPaused {
		return errReply(409, "Playback not in a state to be controlled")
	}
	switch op {
	case "pause":
		if pb.state == pbPlaying {
			pb.gen++
			pb.stopTimer()
			pb.remaining = time.Until(pb.deadline)
			pb.state = pbPaused
		}
	case "unpause":
		if pb.state == pbPaused {
			pb.state = pbPlaying
			pb.armLocked(pb.remaining)
		}
	case "restart":
		pb.stopTimer()
		if pb.state == pbPaused {
			pb.remaining = pb.length
		} else {
			pb.armLocked(pb.length)
		}
	case "forward", "reverse":
		step := pb.s.scaled(pb.skip)
		if op == "reverse" {
			step = -step
		}
		left := time.Until(pb.deadline)
		if pb.state == pbPaused {
			left = pb.remaining
		}
		left = min(max(left-step, 0), pb.length)
		if pb.state == pbPaused {
			pb.remaining = left
		} else {
			pb.stopTimer()
			pb.armLocked(left)
		}
	default:
		return errReply(400, "Invalid operation "+op)
	}
	return noContent()
}

// soundName turns "sound:siaga112/greeting" into "siaga112/greeting"; other media
// URIs are kept whole.
func soundName(uri string) string {
	if rest, ok := strings.CutPrefix(uri, "sound:"); ok {
		return rest
	}
	return uri
}

// mediaOutcome is what Asterisk does with one media URI of a playback.
type mediaOutcome int

const (
	mediaPlays   mediaOutcome = iota // streams for the reported length
	mediaFails                       // the stream fails at once (missing sound file)
	mediaSkipped                     // logged and skipped without an event (see beginLocked)
)

// mediaLength reports how long a media URI plays, in media time, and what
// Asterisk does with it. res_stasis_playback.c skips an unsupported scheme, a
// recording: that is not stored and a number: that is not a number; a sound:
// whose file is missing fails.
func (s *Server) mediaLength(uri, lang string) (time.Duration, mediaOutcome) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return 0, mediaSkipped
	}
	switch scheme {
	case "sound":
		d, ok := s.soundLength(rest, lang)
		if !ok {
			return 0, mediaFails
		}
		return d, mediaPlays
	case "recording":
		rec, ok := s.storedRecording(rest)
		if !ok {
			return 0, mediaSkipped
		}
		return segmentsDuration(rec.segs), mediaPlays
	case "digits", "characters":
		// Nothing to say is said at once.
		return time.Duration(len(rest)) * 600 * time.Millisecond, mediaPlays
	case "number":
		// sscanf("%d"): a leading integer, after optional blanks and a sign.
		num := strings.TrimLeft(rest, " \t\n")
		if num != "" && (num[0] == '+' || num[0] == '-') {
			num = num[1:]
		}
		if num == "" || num[0] < '0' || num[0] > '9' {
			return 0, mediaSkipped
		}
		return s.opts.DefaultPlayback, mediaPlays
	case "tone":
		// A tone plays until it is stopped.
		return 24 * time.Hour, mediaPlays
	}
	return 0, mediaSkipped
}

func (s *Server) soundLength(name, lang string) (time.Duration, bool) {
	if s.opts.SoundsDir == "" {
		return s.opts.DefaultPlayback, true
	}
	if lang == "" {
		lang = "en"
	}
	rel := filepath.FromSlash(name)
	candidates := []string{
		filepath.Join(s.opts.SoundsDir, rel+".wav"),
		filepath.Join(s.opts.SoundsDir, lang, rel+".wav"),
		filepath.Join(s.opts.SoundsDir, filepath.Base(rel)+".wav"),
	}
	for _, p := range candidates {
		if v, ok := s.soundCache.Load(p); ok {
			d := v.(time.Duration)
			if d >= 0 {
				return d, true
			}
			continue
		}
		if _, err := os.Stat(p); err != nil {
			s.soundCache.Store(p, time.Duration(-1))
			continue
		}
		d, err := wavDuration(p)
		if err != nil {
			s.log.Warn("unreadable sound file", "path", p, "error", err)
			s.soundCache.Store(p, time.Duration(-1))
			continue
		}
		s.soundCache.Store(p, d)
		return d, true
	}
	return 0, false
}
