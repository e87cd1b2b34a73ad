package ari

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
)

// Why we do not use the library's event bus.
//
// native.Client reads the WebSocket in one goroutine and hands every event
// to stdbus.Send, which walks every subscription (one or more per live call
// when ext/play or ext/record are used: O(calls) work per event) and drops
// the event without trace when a subscription's 100-slot buffer is full.
// The buffer size is an unexported package variable and the bus is created
// inside Connect, so neither can be changed from here. Even a single
// ari.Events.All subscription drained by one goroutine would lose events
// silently whenever that goroutine falls 100 events behind, and nothing
// would count them. The client also reconnects on its own fixed one-second
// loop without telling anyone, which we need to know to recover orphaned
// calls, and its Connected flag is read and written without synchronisation.
//
// So each node reads the ARI events WebSocket itself (the same
// golang.org/x/net/websocket package and ariv6.DecodeEvent decoder the
// library uses), and routes each decoded event here: one map lookup by
// channel id under a read lock, then a non-blocking send into that call's
// bounded inbox. A full inbox, an event for an unknown channel, or an event
// we could not decode is counted and logged (rate-limited); nothing is
// dropped silently. The library's native client is still used for REST,
// over our own transport (see rest.go), except for the channel listing of
// the orphan sweep, whose reply the library cuts down to ids.

// inboxSize bounds one call's queue of unprocessed events. A call reads its
// inbox while it waits for anything (REST replies, playbacks, digits), so
// the queue only fills if the session is stuck, and then the event is
// counted as dropped.
const inboxSize = 256

// endedMemory is how many recently ended channel ids are remembered so that
// events that reach us after StasisEnd are counted as late rather than
// reported as unknown. Asterisk 22 sends the app nothing for a channel after
// its StasisEnd unless the app subscribed to it explicitly (then, e.g.,
// ChannelDestroyed and varsets), which this IVR does not do.
const endedMemory = 4096

// RouterStats counts what happened to ARI events on one node.
type RouterStats struct {
	// Routed events reached a call's inbox.
	Routed uint64 `json:"routed"`
	// Ignored events are types no call acts on (varsets, dialplan moves).
	Ignored uint64 `json:"ignored"`
	// Late events are for channels whose session already ended.
	Late uint64 `json:"late"`
	// Unrouted events are for channels this node has no session for.
	Unrouted uint64 `json:"unrouted"`
	// InboxFull events were dropped because the call's inbox was full.
	InboxFull uint64 `json:"inbox_full"`
	// Undecodable messages could not be decoded as ARI events.
	Undecodable uint64 `json:"undecodable"`
}

// router owns the map from channel id to session for one node.
type router struct {
	log *slog.Logger

	mu sync.RWMutex
	// sessions, follows and the ended ring are guarded by mu.
	sessions map[string]*session
	// follows holds the sessions of calls handed to the operators that
	// the IVR still follows (follow.go): their channels left Stasis but
	// their events still come, through the application's subscription.
	// They are not IVR calls: the drain and the health's active calls do
	// not count them.
	follows map[string]*session
	// pending are the call-backs this node originated that have no
	// session yet (callback.go): their ringing and destruction come here.
	pending   map[string]*pendingOriginate
	ended     map[string]struct{}
	endedRing []string
	endedPos  int

	routed, ignored, late, unrouted, inboxFull, undecodable atomic.Uint64

	unroutedLog, fullLog, decodeLog rateLog
}

func newRouter(log *slog.Logger) *router {
	return &router{
		log:       log,
		sessions:  make(map[string]*session),
		follows:   make(map[string]*session),
		pending:   make(map[string]*pendingOriginate),
		ended:     make(map[string]struct{}, endedMemory),
		endedRing: make([]string, endedMemory),
	}
}

// add registers a session; it is called by the WebSocket reader on
// StasisStart before the session goroutine starts, so that the channel's
// next events (an early key press or hangup) already find it. The new
// session always takes the channel's events.
//
// A channel that re-enters the app (the dialplan sent it back to Stasis)
// may do so before its old session has finished. Normally the old one has
// seen StasisEnd by then and only waits to publish call.ended. If it has
// not, its StasisEnd was lost: Asterisk sends StasisStart only to a channel
// entering the app, so the old stay is over whatever the old session
// believes. That session is returned as displaced, for the caller to end;
// refusing the new stay instead would leave the caller in the app with
// nobody serving it and nothing to find it (the sweep skips a channel
// that has a session).
func (r *router) add(s *session) (displaced *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.sessions[s.id]
	r.sessions[s.id] = s
	if old != nil && !old.ended.Load() {
		return old
	}
	return nil
}

// displace ends a session whose channel re-entered the app while it still
// thought the channel was in its stay (see add): the stay is over, and
// neither the caller nor a hangup ended it, so the session ends as the
// system's doing (no strike for the caller) and makes no further request
// on the channel, which a new session now serves.
func (s *session) displace() {
	if !s.hangupRequested.Load() {
		s.systemHangup.Store(true)
	}
	s.markEnded()
}

// follow moves a session from the IVR's calls to the followed ones.
func (r *router) follow(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.id] == s {
		delete(r.sessions, s.id)
	}
	if old := r.follows[s.id]; old == nil || old == s {
		r.follows[s.id] = s
	}
}

// adopt registers a session that follows a call this process did not
// hand over (found in the operators' context after a restart); it
// reports false when the channel already has a session.
func (r *router) adopt(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.id] != nil || r.follows[s.id] != nil {
		return false
	}
	r.follows[s.id] = s
	return true
}

// followed returns a snapshot of the followed sessions.
func (r *router) followed() []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Collect(maps.Values(r.follows))
}

// followCount returns the number of followed calls.
func (r *router) followCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.follows)
}

// remove unregisters a session and remembers its id as ended.
func (r *router) remove(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.id] == s {
		delete(r.sessions, s.id)
	}
	if r.follows[s.id] == s {
		delete(r.follows, s.id)
	}
	if old := r.endedRing[r.endedPos]; old != "" {
		delete(r.ended, old)
	}
	r.endedRing[r.endedPos] = s.id
	r.ended[s.id] = struct{}{}
	r.endedPos = (r.endedPos + 1) % len(r.endedRing)
}

// expect registers a call-back about to be originated with channel id.
func (r *router) expect(id string, po *pendingOriginate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[id] = po
}

// unexpect forgets a call-back once its attempt ended.
func (r *router) unexpect(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, id)
}

// expected returns the pending call-back of a channel, or nil.
func (r *router) expected(id string) *pendingOriginate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pending[id]
}

// get returns the live session of a channel in the IVR.
func (r *router) get(id string) *session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sessions[id]
}

// known reports whether a channel has a session, in the IVR or followed.
func (r *router) known(id string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sessions[id] != nil || r.follows[id] != nil
}

// count returns the number of live sessions.
func (r *router) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.sessions)
}

// all returns a snapshot of the live sessions.
func (r *router) all() []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Collect(maps.Values(r.sessions))
}

// route delivers one event (other than StasisStart, which the node handles)
// to its session. It never blocks.
func (r *router) route(e ariv6.Event) {
	id, interesting := channelOf(e)
	if id == "" {
		r.ignored.Add(1)
		return
	}
	r.mu.RLock()
	s := r.sessions[id]
	if s == nil {
		s = r.follows[id]
	}
	_, wasEnded := r.ended[id]
	po := r.pending[id]
	r.mu.RUnlock()
	if s == nil && po != nil {
		// A call-back still ringing: its state changes and its end go to
		// the attempt waiting for it. A full queue loses a state change
		// only: the end is also found by asking Asterisk.
		select {
		case po.events <- e:
			r.routed.Add(1)
		default:
			r.inboxFull.Add(1)
		}
		return
	}
	if s == nil {
		if wasEnded {
			r.late.Add(1)
			return
		}
		if isCallbackLocalHalf(id) {
			// The far half of a call-back dialled through a Local
			// channel (a test or a dialplan-routed endpoint): Asterisk
			// names it after ours with ";2" and tells the application
			// of it too (seen on 22.10.1). Nothing here acts on it.
			r.ignored.Add(1)
			return
		}
		if !interesting {
			r.ignored.Add(1)
			return
		}
		r.unrouted.Add(1)
		r.unroutedLog.log(r.log, slog.LevelWarn, "ARI event for a channel without a session",
			"event", e.GetType(), "channel_id", id)
		return
	}
	// Hangup and end of Stasis are also signalled out of band, so that
	// they are never lost to a full inbox and wake a session that is not
	// reading its inbox right now.
	switch ev := e.(type) {
	case *ariv6.StasisEnd:
		s.markStasisEnd()
		s.markEnded()
	case *ariv6.ChannelDestroyed:
		s.markEnded()
		s.markDestroyed()
	case *ariv6.ChannelHangupRequest:
		s.markHangupRequest(ev.Soft)
	}
	if !interesting {
		r.ignored.Add(1)
		return
	}
	select {
	case s.inbox <- e:
		r.routed.Add(1)
	default:
		r.inboxFull.Add(1)
		r.fullLog.log(r.log, slog.LevelError, "call inbox full, ARI event dropped; putting the call through to operators",
			"event", e.GetType(), "channel_id", id, "inbox", inboxSize)
		// A call that lost an event (a key, a playback end) cannot be
		// trusted to go on; its flow fails it over to operators.
		s.cancel(ErrEventsDropped)
	}
}

// isCallbackLocalHalf reports whether id is the second half of a Local
// channel that a call-back originated (callback.go names its channels
// "cb-...").
func isCallbackLocalHalf(id string) bool {
	return strings.HasPrefix(id, callbackIDPrefix) && strings.HasSuffix(id, ";2")
}

// undecodable counts a WebSocket message that was not an ARI event.
func (r *router) undecodableMessage(err error) {
	r.undecodable.Add(1)
	r.decodeLog.log(r.log, slog.LevelWarn, "ARI event could not be decoded", "error", err)
}

// stats returns the counters.
func (r *router) stats() RouterStats {
	return RouterStats{
		Routed:      r.routed.Load(),
		Ignored:     r.ignored.Load(),
		Late:        r.late.Load(),
		Unrouted:    r.unrouted.Load(),
		InboxFull:   r.inboxFull.Load(),
		Undecodable: r.undecodable.Load(),
	}
}

// channelOf returns the channel an event belongs to and whether a call
// acts on that type. Playback and recording events carry their channel in
// target_uri ("channel:<id>").
func channelOf(e ariv6.Event) (id string, interesting bool) {
	switch ev := e.(type) {
	case *ariv6.ChannelDtmfReceived:
		return ev.Channel.ID, true
	case *ariv6.ChannelTalkingStarted:
		return ev.Channel.ID, true
	case *ariv6.ChannelTalkingFinished:
		return ev.Channel.ID, true
	case *ariv6.StasisEnd:
		return ev.Channel.ID, true
	case *ariv6.ChannelDestroyed:
		return ev.Channel.ID, true
	case *ariv6.ChannelHangupRequest:
		return ev.Channel.ID, true
	case *ariv6.PlaybackStarted:
		return targetChannel(ev.Playback.TargetURI), false
	case *ariv6.PlaybackFinished:
		return targetChannel(ev.Playback.TargetURI), true
	case *ariv6.RecordingStarted:
		return targetChannel(ev.Recording.TargetURI), false
	case *ariv6.RecordingFinished:
		return targetChannel(ev.Recording.TargetURI), true
	case *ariv6.RecordingFailed:
		return targetChannel(ev.Recording.TargetURI), true
	case *ariv6.Dial:
		// Queue ringing an operator for a followed caller: the caller is
		// ours, the peer is the operator's channel. A Dial with no
		// caller is the dial of a channel we originated (a call-back):
		// the peer is ours.
		if ev.Caller.ID == "" {
			return ev.Peer.ID, true
		}
		return ev.Caller.ID, true
	case *ariv6.ChannelVarset:
		return ev.Channel.ID, false
	case *ariv6.ChannelStateChange:
		return ev.Channel.ID, false
	case *ariv6.ChannelDialplan:
		return ev.Channel.ID, false
	case *ariv6.ChannelCallerID:
		return ev.Channel.ID, false
	case *ariv6.ChannelConnectedLine:
		return ev.Channel.ID, false
	}
	return "", false
}

// targetChannel extracts the channel id from a target_uri.
func targetChannel(uri string) string {
	id, ok := strings.CutPrefix(uri, "channel:")
	if !ok {
		return ""
	}
	return id
}

// rateLog logs a recurring condition at most once per interval, reporting
// how many occurrences were not logged in between.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time // guarded by mu
	suppressed int       // guarded by mu
}

const rateLogInterval = 10 * time.Second

func (l *rateLog) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < rateLogInterval {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed_since_last_log", suppressed)
	}
	log.Log(context.Background(), level, msg, args...)
}
