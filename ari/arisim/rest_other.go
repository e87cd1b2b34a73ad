package arisim

import (
	"net/http"
	"runtime"
	"slices"
	"sort"
	"time"
)

// ---- asterisk ----

func (s *Server) getInfo(_ *http.Request, p *params) reply {
	only := p.strs("only")
	want := func(part string) bool { return len(only) == 0 || slices.Contains(only, part) }
	s.mu.RLock()
	started, reloaded := s.started, s.reloaded
	s.mu.RUnlock()
	var info asteriskInfoJSON
	if want("build") {
		info.Build = &buildInfoJSON{OS: "Linux", Kernel: "6.1.0-sim", Options: "BUILD_NATIVE, OPTIONAL_API",
			Machine: runtime.GOARCH, Date: "2025-01-01 00:00:00 UTC", User: "root"}
	}
	if want("system") {
		info.System = &systemInfoJSON{Version: asteriskVersion, EntityID: s.opts.EntityID}
	}
	if want("config") {
		info.Config = &configInfoJSON{Name: "arisim", DefaultLanguage: "en", SetID: setIDJSON{User: "asterisk", Group: "asterisk"}}
	}
	if want("status") {
		info.Status = &statusInfoJSON{StartupTime: fmtTime(started), LastReloadTime: fmtTime(reloaded)}
	}
	return okReply(info)
}

func (s *Server) ping(_ *http.Request, _ *params) reply {
	return okReply(asteriskPingJSON{AsteriskID: s.opts.AsteriskID, Ping: "pong", Timestamp: fmtTime(time.Now())})
}

func (s *Server) getGlobalVar(_ *http.Request, p *params) reply {
	name := p.str("variable")
	if name == "" {
		return errReply(400, "Variable name is required")
	}
	s.mu.RLock()
	v := s.globals[name]
	s.mu.RUnlock()
	return okReply(variableJSON{Value: v})
}

func (s *Server) setGlobalVar(_ *http.Request, p *params) reply {
	name := p.str("variable")
	if name == "" {
		return errReply(400, "Variable name is required")
	}
	s.mu.Lock()
	s.globals[name] = p.str("value")
	s.mu.Unlock()
	return noContent()
}

// ---- applications ----

func (s *Server) appJSON(name string) applicationJSON {
	a := applicationJSON{Name: name, ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{},
		DeviceNames: []string{}, EventsAllowed: []any{}, EventsDisallowed: []any{}}
	for _, ch := range s.channels.values() {
		ch.mu.Lock()
		if ch.inStasis && ch.app == name || slices.Contains(ch.subs, name) {
			a.ChannelIDs = append(a.ChannelIDs, ch.id)
		}
		ch.mu.Unlock()
	}
	a.DeviceNames = s.qe.subscribedDevices(name)
	s.bridgeMu.Lock()
	for id, b := range s.bridges {
		if slices.Contains(b.apps, name) {
			a.BridgeIDs = append(a.BridgeIDs, id)
		}
	}
	s.bridgeMu.Unlock()
	sort.Strings(a.ChannelIDs)
	sort.Strings(a.BridgeIDs)
	return a
}

func (s *Server) appNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.apps))
	for n := range s.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Server) listApplications(_ *http.Request, _ *params) reply {
	names := s.appNames()
	out := make([]applicationJSON, 0, len(names))
	for _, n := range names {
		out = append(out, s.appJSON(n))
	}
	return okReply(out)
}

func (s *Server) getApplication(_ *http.Request, p *params) reply {
	name := p.path("applicationName")
	if !slices.Contains(s.appNames(), name) {
		return errReply(404, "Application not found")
	}
	return okReply(s.appJSON(name))
}

// ---- playbacks ----

// withPlayback runs fn on the playback named in the path, locked, or answers
// 404 as Asterisk does for an unknown or finished one.
func (s *Server) withPlayback(p *params, fn func(pb *playback) reply) reply {
	pb, ok := s.playbacks.get(p.path("playbackId"))
	if !ok {
		return errReply(404, "Playback not found")
	}
	pb.lock()
	defer pb.unlock()
	if pb.state == pbDone || pb.state == pbFailed {
		return errReply(404, "Playback not found")
	}
	return fn(pb)
}

func (s *Server) getPlayback(_ *http.Request, p *params) reply {
	return s.withPlayback(p, func(pb *playback) reply { return okReply(pb.jsonLocked()) })
}

func (s *Server) stopPlayback(_ *http.Request, p *params) reply {
	return s.withPlayback(p, func(pb *playback) reply {
		pb.stopLocked()
		return noContent()
	})
}

func (s *Server) controlPlayback(_ *http.Request, p *params) reply {
	op, ok := p.oneOf("operation", "", "restart", "pause", "unpause", "reverse", "forward")
	if !ok {
		return errReply(400, "Invalid operation "+op)
	}
	return s.withPlayback(p, func(pb *playback) reply { return pb.controlLocked(op) })
}

// ---- recordings ----

// withLive runs fn on the live recording named in the path with its channel
// locked, or answers 404 for an unknown or finished one.
func (s *Server) withLive(p *params, fn func(rec *liveRecording) reply) reply {
	rec, ok := s.liveRecs.get(p.path("recordingName"))
	if !ok {
		return errReply(404, "Recording not found")
	}
	rec.ch.mu.Lock()
	defer rec.ch.mu.Unlock()
	switch rec.state {
	case recDone, recFailed, recCanceled:
		return errReply(404, "Recording not found")
	}
	return fn(rec)
}

func (s *Server) getLive(_ *http.Request, p *params) reply {
	return s.withLive(p, func(rec *liveRecording) reply { return okReply(rec.jsonLocked()) })
}

func (rec *liveRecording) dequeueLocked() bool {
	for i, j := range rec.ch.jobs {
		if j.rec == rec {
			rec.ch.jobs = append(rec.ch.jobs[:i], rec.ch.jobs[i+1:]...)
			return true
		}
	}
	return false
}

// endLive is DELETE /recordings/live/{name} (state recCanceled: the file is
// dropped) and POST .../stop (recDone: the file is kept).
func (s *Server) endLive(state string) handlerFunc {
	return func(_ *http.Request, p *params) reply {
		return s.withLive(p, func(rec *liveRecording) reply {
			rec.dequeueLocked()
			rec.finishLocked(state, "")
			return noContent()
		})
	}
}

// inSessionLocked is the 409 Asterisk gives for pausing or muting a recording
// that has not started (or has ended).
func (rec *liveRecording) inSessionLocked() (reply, bool) {
	if rec.state != recRecording && rec.state != recPaused {
		return errReply(409, "Recording not in session"), false
	}
	return reply{}, true
}

func (s *Server) pauseLive(pause bool) handlerFunc {
	return func(_ *http.Request, p *params) reply {
		return s.withLive(p, func(rec *liveRecording) reply {
			if rep, ok := rec.inSessionLocked(); !ok {
				return rep
			}
			rec.pauseLocked(pause)
			return noContent()
		})
	}
}

func (s *Server) muteLive(mute bool) handlerFunc {
	return func(_ *http.Request, p *params) reply {
		return s.withLive(p, func(rec *liveRecording) reply {
			if rep, ok := rec.inSessionLocked(); !ok {
				return rep
			}
			rec.muted = mute
			rec.audioChangedLocked()
			return noContent()
		})
	}
}

func (s *Server) listStored(_ *http.Request, _ *params) reply {
	s.storedMu.RLock()
	out := make([]storedRecordingJSON, 0, len(s.stored))
	for _, r := range s.stored {
		out = append(out, storedRecordingJSON{Name: r.name, Format: r.format})
	}
	s.storedMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return okReply(out)
}

func (s *Server) getStored(_ *http.Request, p *params) reply {
	r, ok := s.storedRecording(p.path("recordingName"))
	if !ok {
		return errReply(404, "Recording not found")
	}
	return okReply(storedRecordingJSON{Name: r.name, Format: r.format})
}

func (s *Server) deleteStored(_ *http.Request, p *params) reply {
	name := p.path("recordingName")
	s.storedMu.Lock()
	_, ok := s.stored[name]
	delete(s.stored, name)
	s.storedMu.Unlock()
	if !ok {
		return errReply(404, "Recording not found")
	}
	return noContent()
}

func (s *Server) getStoredFile(_ *http.Request, p *params) reply {
	r, ok := s.storedRecording(p.path("recordingName"))
	if !ok {
		return errReply(404, "Recording not found")
	}
	return reply{status: http.StatusOK, raw: encodeAudio(r.segs, r.format), ctype: formatMIME(r.format)}
}

func (s *Server) copyStored(_ *http.Request, p *params) reply {
	dest := p.str("destinationRecordingName")
	if dest == "" {
		return missingParam("destinationRecordingName")
	}
	s.storedMu.Lock()
	defer s.storedMu.Unlock()
	r := s.stored[p.path("recordingName")]
	if r == nil {
		return errReply(404, "Recording not found")
	}
	if _, exists := s.stored[dest]; exists {
		return errReply(409, "A recording with the same name already exists on the system")
	}
	s.stored[dest] = &storedRecording{name: dest, format: r.format, segs: slices.Clone(r.segs)}
	return okReply(storedRecordingJSON{Name: dest, Format: r.format})
}

// ---- bridges ----

func (s *Server) listBridges(_ *http.Request, _ *params) reply {
	s.bridgeMu.Lock()
	defer s.bridgeMu.Unlock()
	out := make([]bridgeJSON, 0, len(s.bridges))
	for _, b := range s.bridges {
		out = append(out, b.jsonLocked())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return okReply(out)
}

func (s *Server) createBridge(_ *http.Request, p *params) reply {
	id := p.id("bridgeId")
	if id == "" {
		id = randomUUID()
	}
	typ, tech, ok := bridgeTech(p.str("type"))
	if !ok {
		return errReply(400, "Invalid bridge type")
	}
	s.bridgeMu.Lock()
	defer s.bridgeMu.Unlock()
	if _, exists := s.bridges[id]; exists {
		return errReply(409, "Bridge with id '"+id+"' already exists")
	}
	b := &bridge{s: s, id: id, name: p.str("name"), typ: typ, tech: tech, created: time.Now()}
	s.bridges[id] = b
	return okReply(b.jsonLocked())
}

// withBridge runs fn under bridgeMu on the bridge named in the path, or
// answers 404.
func (s *Server) withBridge(p *params, fn func(b *bridge) reply) reply {
	s.bridgeMu.Lock()
	defer s.bridgeMu.Unlock()
	b := s.bridges[p.path("bridgeId")]
	if b == nil {
		return errReply(404, "Bridge not found")
	}
	return fn(b)
}

func (s *Server) getBridge(_ *http.Request, p *params) reply {
	return s.withBridge(p, func(b *bridge) reply { return okReply(b.jsonLocked()) })
}

func (s *Server) destroyBridge(_ *http.Request, p *params) reply {
	return s.withBridge(p, func(b *bridge) reply {
		for _, ch := range slices.Clone(b.channels) {
			ch.mu.Lock()
			b.removeLocked(ch, true)
			ch.mu.Unlock()
		}
		for _, pb := range b.jobs {
			s.playbacks.delIf(pb.id, func(x *playback) bool { return x == pb })
		}
		b.jobs = nil
		if b.curPB != nil {
			b.curPB.finishLocked(pbDone, promptStopped)
		}
		for _, app := range b.apps {
			s.emit(app, bridgeEvent{eventBase: s.base("BridgeDestroyed", app), Bridge: b.jsonLocked()})
		}
		delete(s.bridges, b.id)
		return noContent()
	})
}

// withBridgeChannels is what addChannel and removeChannel share: the channel
// list is required (400), the bridge must exist (404) and, as in Asterisk,
// every listed channel must exist (400) before fn touches any of them. fn
// runs under bridgeMu.
func (s *Server) withBridgeChannels(p *params, fn func(b *bridge, chans []*channel) reply) reply {
	ids := p.strs("channel")
	if len(ids) == 0 {
		return missingParam("channel")
	}
	return s.withBridge(p, func(b *bridge) reply {
		chans := make([]*channel, 0, len(ids))
		for _, id := range ids {
			ch, ok := s.channels.get(id)
			if !ok {
				return errReply(400, "Channel not found")
			}
			chans = append(chans, ch)
		}
		return fn(b, chans)
	})
}

func (s *Server) addChannel(_ *http.Request, p *params) reply {
	return s.withBridgeChannels(p, func(b *bridge, chans []*channel) reply {
		for _, ch := range chans {
			ch.mu.Lock()
			rep, ok := reply{}, true
			switch {
			case ch.gone:
				rep, ok = errReply(400, "Channel not found"), false
			case !ch.inStasis:
				rep, ok = errReply(422, "Channel not in Stasis application"), false
			case ch.curRec != nil:
				rep, ok = errReply(409, "Channel currently recording"), false
			default:
				b.addLocked(ch)
			}
			ch.mu.Unlock()
			if !ok {
				return rep
			}
		}
		return noContent()
	})
}

func (s *Server) removeChannel(_ *http.Request, p *params) reply {
	return s.withBridgeChannels(p, func(b *bridge, chans []*channel) reply {
		for _, ch := range chans {
			ch.mu.Lock()
			if ch.bridge != b {
				ch.mu.Unlock()
				return errReply(422, "Channel not in this bridge")
			}
			b.removeLocked(ch, true)
			ch.mu.Unlock()
		}
		return noContent()
	})
}

func (s *Server) playOnBridge(_ *http.Request, p *params) reply {
	media := p.strs("media")
	if len(media) == 0 {
		return missingParam("media")
	}
	lang := p.str("lang")
	if lang == "" {
		lang = "en"
	}
	return s.withBridge(p, func(b *bridge) reply {
		pb := s.newPlayback(p, &playback{br: b, target: "bridge:" + b.id, media: media, lang: lang, skip: 3 * time.Second})
		created := createdReply(pb.jsonLocked(), "/playbacks/"+pb.id) // as queued, before it may start
		b.jobs = append(b.jobs, pb)
		b.runLocked()
		return created
	})
}

// newPlayback completes pb, which names its target, media, language and skip,
// as a queued playback with the id the request gives (path, then query or
// body) or a new one, and registers it. The caller holds the target's lock.
func (s *Server) newPlayback(p *params, pb *playback) *playback {
	pb.s = s
	pb.id = p.id("playbackId")
	if pb.id == "" {
		pb.id = randomUUID()
	}
	pb.state = pbQueued
	pb.prompt = -1 // no PromptLog entry yet
	s.playbacks.set(pb.id, pb)
	return pb
}
