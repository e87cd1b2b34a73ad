package arisim

import (
	"slices"
	"strings"
	"time"
)

// bridge is an ARI bridge; all its fields are guarded by Server.bridgeMu.
type bridge struct {
	s        *Server
	id       string
	name     string
	typ      string // "mixing" or "holding"
	tech     string
	created  time.Time
	channels []*channel
	apps     []string // applications subscribed to the bridge (their channels joined it)
	jobs     []*playback
	curPB    *playback
}

func (b *bridge) jsonLocked() bridgeJSON {
	ids := make([]string, 0, len(b.channels))
	for _, c := range b.channels {
		ids = append(ids, c.id)
	}
	j := bridgeJSON{
		ID: b.id, Technology: b.tech, BridgeType: b.typ, BridgeClass: "stasis", Creator: "Stasis",
		Name: b.name, Channels: ids, CreationTime: fmtTime(b.created), VideoMode: "none",
	}
	if b.typ == "mixing" {
		empty := ""
		j.VideoMode = "talker"
		j.VideoSourceID = &empty
	}
	return j
}

func (b *bridge) appsLocked() []string { return b.apps }

func (b *bridge) subscribeLocked(app string) {
	if app != "" && !slices.Contains(b.apps, app) {
		b.apps = append(b.apps, app)
	}
}

// addLocked puts ch (locked by the caller) into the bridge.
func (b *bridge) addLocked(ch *channel) {
	if ch.bridge == b {
		return
	}
	if ch.bridge != nil {
		ch.bridge.removeLocked(ch, true)
	}
	ch.bridge = b
	b.channels = append(b.channels, ch)
	b.subscribeLocked(ch.app)
	if ch.inStasis {
		ch.s.emit(ch.app, channelBridgeEvent{eventBase: ch.s.base("ChannelEnteredBridge", ch.app), Bridge: b.jsonLocked(), Channel: ch.snapLocked()})
	}
}

// removeLocked takes ch (locked by the caller) out of the bridge.
func (b *bridge) removeLocked(ch *channel, events bool) {
	i := slices.Index(b.channels, ch)
	if i < 0 {
		return
	}
	b.channels = slices.Delete(b.channels, i, i+1)
	ch.bridge = nil
	if events && ch.inStasis {
		ch.s.emit(ch.app, channelBridgeEvent{eventBase: ch.s.base("ChannelLeftBridge", ch.app), Bridge: b.jsonLocked(), Channel: ch.snapLocked()})
	}
}

func (b *bridge) runLocked() {
	for b.curPB == nil && len(b.jobs) > 0 {
		pb := b.jobs[0]
		b.jobs = b.jobs[1:]
		b.curPB = pb
		pb.beginLocked()
	}
}

func (b *bridge) dequeueLocked(pb *playback) {
	if i := slices.Index(b.jobs, pb); i >= 0 {
		b.jobs = slices.Delete(b.jobs, i, i+1)
	}
}

func bridgeTech(typ string) (string, string, bool) {
	kind := "mixing"
	for _, t := range strings.Split(typ, ",") {
		switch strings.TrimSpace(t) {
		case "", "mixing", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label":
		case "holding":
			kind = "holding"
		default:
			return "", "", false
		}
	}
	if kind == "holding" {
		return kind, "holding_bridge", true
	}
	return kind, "simple_bridge", true
}
