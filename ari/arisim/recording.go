package arisim

import (
	"time"
)

// Live recording states as Asterisk reports them.
const (
	recQueued    = "queued"
	recRecording = "recording"
	recPaused    = "paused"
	recDone      = "done"
	recFailed    = "failed"
	recCanceled  = "canceled"
)

// silenceKept is how much trailing silence Asterisk leaves in a recording that ended
// on maxSilenceSeconds (it rewinds the file by the silence minus 200 ms).
const silenceKept = 200 * time.Millisecond

// liveRecording is one ARI LiveRecording on a channel; guarded by ch.mu.
type liveRecording struct {
	s           *Server
	ch          *channel
	name        string
	format      string
	target      string
	maxDur      time.Duration // media time, 0 = none
	maxSilence  time.Duration // media time, 0 = none
	ifExists    string
	terminateOn string
	state       string
	muted       bool
	cause       string

	segs       []segment
	segStart   time.Time // wall time the current segment began
	segTalk    bool
	maxTimer   *time.Timer
	silTimer   *time.Timer
	gen        uint64
	endedBySil bool

	duration, talking, silence *int
}

// storedRecording is a finished recording: its format and its audio as segments.
type storedRecording struct {
	name   string
	format string
	segs   []segment
}

func (rec *liveRecording) jsonLocked() liveRecordingJSON {
	return liveRecordingJSON{
		Name: rec.name, Format: rec.format, TargetURI: rec.target, State: rec.state,
		Duration: rec.duration, TalkingDuration: rec.talking, SilenceDuration: rec.silence, Cause: rec.cause,
	}
}

func (rec *liveRecording) emitLocked(typ string) {
	if rec.ch.inStasis {
		rec.s.emit(rec.ch.app, recordingEvent{eventBase: rec.s.base(typ, rec.ch.app), Recording: rec.jsonLocked()})
	}
}

// hearsTalkLocked reports whether the recorder currently gets voice.
func (rec *liveRecording) hearsTalkLocked() bool { return rec.ch.talking && !rec.muted }

func (rec *liveRecording) beginLocked() {
	rec.state = recRecording
	rec.segStart = time.Now()
	rec.segTalk = rec.hearsTalkLocked()
	rec.emitLocked("RecordingStarted")
	if rec.maxDur > 0 {
		gen := rec.gen
		rec.maxTimer = time.AfterFunc(rec.s.scaled(rec.maxDur), func() { rec.timeUp(gen, false) })
	}
	rec.armSilenceLocked()
}

// armSilenceLocked (re)starts the silence timer while nobody talks.
func (rec *liveRecording) armSilenceLocked() {
	if rec.silTimer != nil {
		rec.silTimer.Stop()
		rec.silTimer = nil
	}
	if rec.maxSilence <= 0 || rec.state != recRecording || rec.hearsTalkLocked() {
		return
	}
	gen := rec.gen
	rec.silTimer = time.AfterFunc(rec.s.scaled(rec.maxSilence), func() { rec.timeUp(gen, true) })
}

func (rec *liveRecording) stopTimers() {
	if rec.maxTimer != nil {
		rec.maxTimer.Stop()
	}
	if rec.silTimer != nil {
		rec.silTimer.Stop()
	}
}

func (rec *liveRecording) timeUp(gen uint64, silence bool) {
	rec.ch.mu.Lock()
	defer rec.ch.mu.Unlock()
	if rec.gen != gen || rec.state != recRecording || rec.ch.gone {
		return
	}
	if silence {
		// The silence timer may race a talk spurt that started just now.
		if rec.hearsTalkLocked() {
			return
		}
		rec.endedBySil = true
	}
	rec.finishLocked(recDone, "")
}

// closeSegmentLocked appends the audio since segStart.
func (rec *liveRecording) closeSegmentLocked(now time.Time) {
	d := rec.s.media(now.Sub(rec.segStart))
	if d > 0 {
		if n := len(rec.segs); n > 0 && rec.segs[n-1].talk == rec.segTalk {
			rec.segs[n-1].dur += d
		} else {
			rec.segs = append(rec.segs, segment{talk: rec.segTalk, dur: d})
		}
	}
	rec.segStart = now
}

// audioChangedLocked is called when the caller starts or stops talking, or mute changes.
func (rec *liveRecording) audioChangedLocked() {
	if rec.state != recRecording {
		return
	}
	talk := rec.hearsTalkLocked()
	if talk == rec.segTalk {
		return
	}
	rec.closeSegmentLocked(time.Now())
	rec.segTalk = talk
	rec.armSilenceLocked()
}

func (rec *liveRecording) pauseLocked(pause bool) {
	switch {
	case pause && rec.state == recRecording:
		rec.closeSegmentLocked(time.Now())
		rec.state = recPaused
		rec.armSilenceLocked()
	case !pause && rec.state == recPaused:
		rec.state = recRecording
		rec.segStart = time.Now()
		rec.segTalk = rec.hearsTalkLocked()
		// Asterisk publishes the "recording" state again, which clients see as RecordingStarted.
		rec.emitLocked("RecordingStarted")
		rec.armSilenceLocked()
	}
}

// finishLocked ends the recording with state done or canceled, stores it (unless
// cancelled) and starts the channel's next queued command.
func (rec *liveRecording) finishLocked(state, cause string) {
	rec.gen++
	rec.stopTimers()
	if rec.state == recRecording {
		rec.closeSegmentLocked(time.Now())
	}
	if rec.endedBySil {
		rec.segs = trimTail(rec.segs, rec.maxSilence-silenceKept)
	}
	total := segmentsDuration(rec.segs)
	dur := int(total / time.Second)
	rec.duration = &dur
	if rec.maxSilence > 0 {
		var talk time.Duration
		for _, sg := range rec.segs {
			if sg.talk {
				talk += sg.dur
			}
		}
		t := int(talk / time.Second)
		sil := dur - t
		rec.talking, rec.silence = &t, &sil
	}
	rec.state = state
	rec.cause = cause
	if state == recDone {
		rec.s.storeRecording(rec.name, rec.format, rec.segs, rec.ifExists)
		rec.ch.view.Recordings = append(rec.ch.view.Recordings, rec.name)
	}
	if state == recFailed {
		rec.emitLocked("RecordingFailed")
	} else {
		rec.emitLocked("RecordingFinished")
	}
	rec.s.liveRecs.delIf(rec.name, func(r *liveRecording) bool { return r == rec })
	if rec.ch.curRec == rec {
		rec.ch.curRec = nil
	}
	rec.ch.broadcastLocked()
	rec.ch.runJobsLocked()
}

func (s *Server) storeRecording(name, format string, segs []segment, ifExists string) {
	s.storedMu.Lock()
	defer s.storedMu.Unlock()
	if old := s.stored[name]; old != nil && ifExists == "append" && old.format == format {
		old.segs = append(append([]segment(nil), old.segs...), segs...)
		return
	}
	s.stored[name] = &storedRecording{name: name, format: format, segs: append([]segment(nil), segs...)}
}

// storedRecording returns a copy of the stored recording called name, taken
// under storedMu. The copy stays valid after the lock is released because
// storeRecording never changes segments in place: appending makes a new slice.
func (s *Server) storedRecording(name string) (storedRecording, bool) {
	s.storedMu.RLock()
	defer s.storedMu.RUnlock()
	rec := s.stored[name]
	if rec == nil {
		return storedRecording{}, false
	}
	return *rec, true
}

// StoredRecordingWAV returns a stored recording's file as served by
// GET /recordings/stored/{name}/file, for assertions in tests.
func (s *Server) StoredRecordingWAV(name string) ([]byte, bool) {
	rec, ok := s.storedRecording(name)
	if !ok {
		return nil, false
	}
	return encodeAudio(rec.segs, rec.format), true
}

// StoreRecording stores a recording called name holding length of talk, as
// if a caller had recorded it: for tests that play one (recording:name).
func (s *Server) StoreRecording(name string, length time.Duration) {
	s.storeRecording(name, "wav", []segment{{talk: true, dur: length}}, "overwrite")
}
