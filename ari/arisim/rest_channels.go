package arisim

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// errFunction is returned when a dialplan function cannot be written or read.
var errFunction = errors.New("arisim: dialplan function failed")

func (s *Server) listChannels(_ *http.Request, _ *params) reply {
	chans := s.channels.values()
	out := make([]channelJSON, 0, len(chans))
	for _, ch := range chans {
		ch.mu.Lock()
		if !ch.gone {
			out = append(out, ch.snapLocked())
		}
		ch.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationTime+out[i].ID < out[j].CreationTime+out[j].ID })
	return okReply(out)
}

func (s *Server) getChannel(_ *http.Request, p *params) reply {
	ch, ok := s.lockChannel(p.path("channelId"))
	if !ok {
		return errReply(404, "Channel not found")
	}
	defer ch.mu.Unlock()
	return okReply(ch.snapLocked())
}

// withChannel runs fn on the channel named in the path, locked, once control
// has found it in Stasis (and, with checkState, in a state that takes
// commands); otherwise it answers control's 404, 409 or 412.
func (s *Server) withChannel(p *params, checkState bool, fn func(ch *channel) reply) reply {
	ch, rep, ok := s.control(p.path("channelId"), checkState)
	if !ok {
		return rep
	}
	defer ch.mu.Unlock()
	return fn(ch)
}

// parseCallerID splits `"Name" <number>` or `Name <number>` or a bare number.
func parseCallerID(s string) callerIDJSON {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		name := strings.Trim(strings.TrimSpace(s[:i]), `"`)
		return callerIDJSON{Name: name, Number: s[i+1 : len(s)-1]}
	}
	return callerIDJSON{Number: s}
}

// splitEndpoint checks an endpoint parameter ("PJSIP/1000") as Asterisk
// does and splits it into technology and resource.
func splitEndpoint(endpoint string) (tech, resource string, rep reply, ok bool) {
	if endpoint == "" {
		return "", "", errReply(400, "Endpoint must be specified"), false
	}
	tech, resource, ok = strings.Cut(endpoint, "/")
	if !ok || tech == "" || resource == "" {
		return "", "", errReply(400, "Endpoint parameter must be in the format tech/resource"), false
	}
	return tech, resource, reply{}, true
}

// addRESTChannel makes the Down channel that POST /channels and
// /channels/create start with, carrying the request's variables, and
// registers it under id (or a new unique id). A taken id is a 409.
func (s *Server) addRESTChannel(p *params, id, tech, resource string, caller callerIDJSON) (*channel, reply, bool) {
	if id == "" {
		id = s.newUniqueID()
	}
	ch := s.newChannel(id, tech, resource, caller, dialplanJSON{Context: "default", Exten: "s", Priority: 1}, stateDown)
	for k, v := range p.variables() {
		ch.vars[k] = v
		ch.view.Variables[k] = v
	}
	if !s.channels.add(id, ch) {
		return nil, errReply(409, "Channel with given unique ID already exists"), false
	}
	return ch, reply{}, true
}

func splitArgs(a string) []string {
	if a == "" {
		return []string{}
	}
	return strings.Split(a, ",")
}

// originate is POST /channels and POST /channels/{channelId}: the far end rings for
// Options.AnswerDelay, answers, and the channel enters the app (app=) or runs the
// dialplan (extension/context/priority).
func (s *Server) originate(_ *http.Request, p *params) reply {
	tech, resource, rep, ok := splitEndpoint(p.str("endpoint"))
	if !ok {
		return rep
	}
	app, ext := p.str("app"), p.str("extension")
	if app == "" && ext == "" {
		return errReply(400, "Application or extension must be specified")
	}
	timeout, err := p.integer("timeout", 30)
	if err != nil {
		return errReply(400, err.Error())
	}
	prio, err := p.integer("priority", 0)
	if err != nil {
		return errReply(400, err.Error())
	}
	target := dialplanJSON{Context: p.str("context"), Exten: ext, Priority: int64(prio)}
	if target.Context == "" {
		target.Context = "default"
	}
	if target.Priority <= 0 {
		target.Priority = 1
	}
	ch, rep, ok := s.addRESTChannel(p, p.id("channelId"), tech, resource, parseCallerID(p.str("callerId")))
	if !ok {
		return rep
	}
	args := splitArgs(p.str("appArgs"))
	o := Originate{Endpoint: p.str("endpoint"), CallerID: p.str("callerId"), Formats: p.str("formats"),
		App: app, AppArgs: p.str("appArgs"), Extension: ext, Context: p.str("context"), Timeout: timeout,
		ChannelID: ch.id, Variables: p.variables(), At: time.Now()}
	if c, scripted := s.callee(o.Endpoint); scripted {
		ch.prepareCallee(c, app)
		ch.mu.Lock()
		snap := ch.snapLocked()
		ch.mu.Unlock()
		o.Call = s.dialCallee(ch, c, app, args, target, timeout)
		s.logOriginate(o)
		return okReply(snap)
	}
	s.logOriginate(o)
	ch.mu.Lock()
	snap := ch.snapLocked()
	ch.mu.Unlock()
	if timeout > 0 && s.opts.AnswerDelay > time.Duration(timeout)*time.Second {
		time.AfterFunc(s.scaled(time.Duration(timeout)*time.Second), func() { ch.hangup(19, false, HungUpBySystem) })
		return okReply(snap)
	}
	time.AfterFunc(s.scaled(s.opts.AnswerDelay), func() { s.farEndAnswered(ch, app, args, target) })
	return okReply(snap)
}

func (s *Server) farEndAnswered(ch *channel, app string, args []string, target dialplanJSON) {
	ch.mu.Lock()
	if ch.gone {
		ch.mu.Unlock()
		return
	}
	ch.state = stateUp
	ch.view.Answered = true
	ch.view.AnsweredAt = time.Now()
	ok := ch.afterAnswerLocked(app, args, target)
	ch.mu.Unlock()
	if !ok {
		ch.hangup(causeNormal, false, HungUpBySystem)
	}
}

// afterAnswerLocked is what the originate's thread does once the far end
// answered: Stasis(app,args) when app is set, otherwise the dialplan at
// target. It reports false when Stasis fails because no WebSocket holds the
// application; the caller then hangs the channel up.
func (ch *channel) afterAnswerLocked(app string, args []string, target dialplanJSON) bool {
	if app == "" {
		ch.dp = target
		ch.broadcastLocked()
		return true
	}
	if !ch.s.appRegistered(app) {
		return false
	}
	ch.enterStasisLocked(app, args)
	return true
}

// createChannel is POST /channels/create: a Down channel placed straight into the app.
func (s *Server) createChannel(_ *http.Request, p *params) reply {
	tech, resource, rep, ok := splitEndpoint(p.str("endpoint"))
	if !ok {
		return rep
	}
	app := p.str("app")
	if app == "" {
		return errReply(400, "Application must be specified")
	}
	ch, rep, ok := s.addRESTChannel(p, p.str("channelId"), tech, resource, callerIDJSON{})
	if !ok {
		return rep
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	snap := ch.snapLocked()
	ch.enterStasisLocked(app, splitArgs(p.str("appArgs")))
	return okReply(snap)
}

// dial is POST /channels/{id}/dial for a channel made with /channels/create.
func (s *Server) dial(_ *http.Request, p *params) reply {
	return s.withChannel(p, false, func(ch *channel) reply {
		if ch.state != stateDown {
			return errReply(409, "Channel cannot be dialed")
		}
		dialstring := ch.resource
		ch.emitAllLocked(func(app string) any {
			return dialEvent{eventBase: s.base("Dial", app), Peer: ch.snapLocked(), Dialstring: dialstring}
		})
		ch.setStateLocked(stateRinging)
		time.AfterFunc(s.scaled(s.opts.AnswerDelay), func() {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			if ch.gone || ch.state != stateRinging {
				return
			}
			ch.emitAllLocked(func(app string) any {
				return dialEvent{eventBase: s.base("Dial", app), Peer: ch.snapLocked(), Dialstring: dialstring, Dialstatus: "ANSWER"}
			})
			ch.setStateLocked(stateUp)
		})
		return noContent()
	})
}

func (s *Server) hangup(_ *http.Request, p *params) reply {
	ch, ok := s.channels.get(p.path("channelId"))
	if !ok {
		return errReply(404, "Channel not found")
	}
	cause := causeNormal
	if rc := p.str("reason_code"); rc != "" {
		n, err := strconv.Atoi(rc)
		if err != nil {
			return errReply(400, "Invalid reason for hangup provided")
		}
		cause = n
	} else if reason := p.str("reason"); reason != "" {
		c, ok := hangupReasons[reason]
		if !ok {
			return errReply(400, "Invalid reason for hangup provided")
		}
		cause = c
	}
	if !ch.hangup(cause, true, HungUpByApp) {
		return errReply(404, "Channel not found")
	}
	return noContent()
}

func (s *Server) continueInDialplan(_ *http.Request, p *params) reply {
	prio, err := p.integer("priority", 0)
	if err != nil {
		return errReply(400, err.Error())
	}
	return s.withChannel(p, true, func(ch *channel) reply {
		t := DialplanTarget{Context: p.str("context"), Extension: p.str("extension"), Priority: prio}
		moved := t.Context != "" && t.Context != ch.dp.Context || t.Extension != "" && t.Extension != ch.dp.Exten
		if t.Context == "" {
			t.Context = ch.dp.Context
		}
		if t.Extension == "" {
			t.Extension = ch.dp.Exten
		}
		if t.Priority <= 0 {
			// Without a priority Asterisk starts a new extension at 1 and otherwise
			// resumes after the Stasis() line.
			if moved || p.str("label") != "" {
				t.Priority = 1
			} else {
				t.Priority = int(ch.dp.Priority) + 1
			}
		}
		ch.enqueueLocked(job{cont: &t})
		return noContent()
	})
}

func (s *Server) move(_ *http.Request, p *params) reply {
	app := p.str("app")
	if app == "" {
		return errReply(400, "App is required")
	}
	return s.withChannel(p, false, func(ch *channel) reply {
		args := splitArgs(p.str("appArgs"))
		if !s.appRegistered(app) {
			s.emit(ch.app, applicationMoveFailedEvent{eventBase: s.base("ApplicationMoveFailed", ch.app), Channel: ch.snapLocked(), Destination: app, Args: args})
			return noContent()
		}
		ch.emitStasisEndLocked()
		ch.enterStasisLocked(app, args)
		return noContent()
	})
}

func (s *Server) redirect(_ *http.Request, p *params) reply {
	endpoint := p.str("endpoint")
	if endpoint == "" {
		return errReply(400, "Endpoint parameter not provided")
	}
	ch, rep, ok := s.control(p.path("channelId"), true)
	if !ok {
		return rep
	}
	tech, _, _ := strings.Cut(endpoint, "/")
	if !strings.EqualFold(tech, ch.tech) {
		ch.mu.Unlock()
		return errReply(422, "Endpoint technology does not match channel")
	}
	ch.view.RedirectTo = endpoint
	ch.mu.Unlock()
	ch.hangup(causeNormal, false, HungUpByApp)
	return noContent()
}

func (s *Server) answer(_ *http.Request, p *params) reply {
	return s.withChannel(p, true, func(ch *channel) reply {
		ch.setStateLocked(stateUp)
		return noContent()
	})
}

type simpleOpKind int

const (
	opRing simpleOpKind = iota
	opRingStop
	opProgress
	opMute
	opUnmute
	opHold
	opUnhold
	opMOH
	opMOHStop
	opSilence
	opSilenceStop
)

// simpleOp handles the channel operations that only change what the caller hears.
func (s *Server) simpleOp(op simpleOpKind) handlerFunc {
	return func(_ *http.Request, p *params) reply {
		if op == opMute || op == opUnmute {
			if _, ok := p.oneOf("direction", "both", "both", "in", "out"); !ok {
				return errReply(400, "Invalid direction specified")
			}
		}
		return s.withChannel(p, true, func(ch *channel) reply {
			switch op {
			case opProgress:
				ch.early = true
			case opMute:
				ch.muted = true
			case opUnmute:
				ch.muted = false
			case opHold:
				ch.held = true
			case opUnhold:
				ch.held = false
			case opMOH:
				ch.moh = true
			case opMOHStop:
				ch.moh = false
			case opSilence:
				ch.silenced = true
			case opSilenceStop:
				ch.silenced = false
			}
			return noContent()
		})
	}
}

func (s *Server) sendDTMF(_ *http.Request, p *params) reply {
	digits := p.str("dtmf")
	if digits == "" {
		return errReply(400, "DTMF is required")
	}
	return s.withChannel(p, true, func(ch *channel) reply {
		ch.view.DTMFHeard += digits
		return noContent()
	})
}

func (s *Server) playOnChannel(_ *http.Request, p *params) reply {
	media := p.strs("media")
	if len(media) == 0 {
		return missingParam("media")
	}
	skip, err := p.integer("skipms", 3000)
	if err != nil {
		return errReply(400, err.Error())
	}
	return s.withChannel(p, true, func(ch *channel) reply {
		lang := p.str("lang")
		if lang == "" {
			lang = ch.language
		}
		pb := s.newPlayback(p, &playback{ch: ch, target: "channel:" + ch.id, media: media, lang: lang,
			skip: time.Duration(skip) * time.Millisecond})
		created := createdReply(pb.jsonLocked(), "/playbacks/"+pb.id) // as queued, before it may start
		ch.enqueueLocked(job{pb: pb})
		return created
	})
}

func (s *Server) recordChannel(_ *http.Request, p *params) reply {
	name, format := p.str("name"), p.str("format")
	if name == "" {
		return missingParam("name")
	}
	if format == "" {
		return missingParam("format")
	}
	maxDur, err := p.integer("maxDurationSeconds", 0)
	if err != nil || maxDur < 0 {
		return errReply(400, "maxDurationSeconds cannot be negative")
	}
	maxSil, err := p.integer("maxSilenceSeconds", 0)
	if err != nil || maxSil < 0 {
		return errReply(400, "maxSilenceSeconds cannot be negative")
	}
	ifExists, ok := p.oneOf("ifExists", "fail", "fail", "overwrite", "append")
	if !ok {
		return errReply(400, "ifExists invalid")
	}
	term, ok := p.oneOf("terminateOn", "none", "none", "any", "*", "#")
	if !ok {
		return errReply(400, "terminateOn invalid")
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return errReply(400, "Recording name invalid")
	}
	if _, ok := recordFormats[format]; !ok {
		return errReply(422, "specified format is unknown on this system")
	}
	return s.withChannel(p, false, func(ch *channel) reply {
		if ch.bridge != nil {
			return errReply(409, "Channel is currently bridged with other channels")
		}
		if _, exists := s.storedRecording(name); exists && ifExists == "fail" {
			return errReply(409, "Recording '"+name+"' already exists and can not be overwritten")
		}
		rec := &liveRecording{s: s, ch: ch, name: name, format: format, target: "channel:" + ch.id,
			maxDur: time.Duration(maxDur) * time.Second, maxSilence: time.Duration(maxSil) * time.Second,
			ifExists: ifExists, terminateOn: term, state: recQueued}
		if !s.liveRecs.add(name, rec) {
			return errReply(409, "Recording '"+name+"' already exists and can not be overwritten")
		}
		created := createdReply(rec.jsonLocked(), "/recordings/live/"+name) // as queued, before it may start
		ch.enqueueLocked(job{rec: rec})
		return created
	})
}

func (s *Server) getChannelVar(_ *http.Request, p *params) reply {
	name := p.str("variable")
	if name == "" {
		return errReply(400, "Variable name is required")
	}
	return s.withChannel(p, false, func(ch *channel) reply {
		v, found := ch.getVarLocked(name)
		if !found {
			return errReply(404, "Provided variable was not found")
		}
		return okReply(variableJSON{Value: v})
	})
}

func (s *Server) setChannelVar(_ *http.Request, p *params) reply {
	name := p.str("variable")
	if name == "" {
		return errReply(400, "Variable name is required")
	}
	return s.withChannel(p, false, func(ch *channel) reply {
		if err := ch.setVarLocked(name, p.str("value")); err != nil {
			return errReply(400, "Failed to execute function")
		}
		return noContent()
	})
}
