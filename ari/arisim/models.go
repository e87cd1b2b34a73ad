package arisim

import "time"

// The structs in this file mirror the JSON models of Asterisk 22's ARI description
// (channels.json, playbacks.json, recordings.json, bridges.json, asterisk.json,
// applications.json, events.json). They are the sim's own types rather than the ARI
// library's so that the wire format follows Asterisk, not a client's reading of it.
// Optional fields use omitempty exactly where Asterisk leaves them out.

// dateFormat is the timestamp layout Asterisk uses in ARI bodies, e.g.
// "2026-11-27T10:00:00.123+0000".
const dateFormat = "2006-01-02T15:04:05.000-0700"

// asteriskVersion is the version the sim reports in asterisk/info and the Server header.
const asteriskVersion = "22.10.1"

func fmtTime(t time.Time) string { return t.Format(dateFormat) }

type callerIDJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	ProtocolID   string       `json:"protocol_id"`
	Caller       callerIDJSON `json:"caller"`
	Connected    callerIDJSON `json:"connected"`
	AccountCode  string       `json:"accountcode"`
	Dialplan     dialplanJSON `json:"dialplan"`
	CreationTime string       `json:"creationtime"`
	Language     string       `json:"language"`
	// ChannelVars is present only when Options.ChannelVars names variables,
	// as with ari.conf's channelvars.
	ChannelVars map[string]string `json:"channelvars,omitempty"`
}

type playbackJSON struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language,omitempty"`
	State        string `json:"state"`
}

type liveRecordingJSON struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        *int   `json:"duration,omitempty"`
	TalkingDuration *int   `json:"talking_duration,omitempty"`
	SilenceDuration *int   `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type bridgeJSON struct {
	ID            string   `json:"id"`
	Technology    string   `json:"technology"`
	BridgeType    string   `json:"bridge_type"`
	BridgeClass   string   `json:"bridge_class"`
	Creator       string   `json:"creator"`
	Name          string   `json:"name"`
	Channels      []string `json:"channels"`
	VideoMode     string   `json:"video_mode,omitempty"`
	VideoSourceID *string  `json:"video_source_id,omitempty"`
	CreationTime  string   `json:"creationtime"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type buildInfoJSON struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

type systemInfoJSON struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

type setIDJSON struct {
	User  string `json:"user"`
	Group string `json:"group"`
}

type configInfoJSON struct {
	Name            string    `json:"name"`
	DefaultLanguage string    `json:"default_language"`
	MaxChannels     int       `json:"max_channels,omitempty"`
	MaxOpenFiles    int       `json:"max_open_files,omitempty"`
	MaxLoad         float64   `json:"max_load,omitempty"`
	SetID           setIDJSON `json:"setid"`
}

type statusInfoJSON struct {
	StartupTime    string `json:"startup_time"`
	LastReloadTime string `json:"last_reload_time"`
}

type asteriskInfoJSON struct {
	Build  *buildInfoJSON  `json:"build,omitempty"`
	System *systemInfoJSON `json:"system,omitempty"`
	Config *configInfoJSON `json:"config,omitempty"`
	Status *statusInfoJSON `json:"status,omitempty"`
}

type asteriskPingJSON struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
}

type variableJSON struct {
	Value string `json:"value"`
}

type errorJSON struct {
	Message string `json:"message"`
}

// eventBase carries the fields every ARI event has (Message + Event in events.json).
type eventBase struct {
	Type        string `json:"type"`
	Timestamp   string `json:"timestamp"`
	Application string `json:"application"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
}

type channelEvent struct {
	eventBase
	Channel channelJSON `json:"channel"`
}

type stasisStartEvent struct {
	eventBase
	Args    []string    `json:"args"`
	Channel channelJSON `json:"channel"`
}

type channelDtmfEvent struct {
	eventBase
	Digit      string      `json:"digit"`
	DurationMS int         `json:"duration_ms"`
	Channel    channelJSON `json:"channel"`
}

type channelVarsetEvent struct {
	eventBase
	Variable string      `json:"variable"`
	Value    string      `json:"value"`
	Channel  channelJSON `json:"channel"`
}

type channelTalkingFinishedEvent struct {
	eventBase
	Duration int         `json:"duration"`
	Channel  channelJSON `json:"channel"`
}

type channelHangupRequestEvent struct {
	eventBase
	Cause   int         `json:"cause"`
	Soft    bool        `json:"soft,omitempty"`
	Channel channelJSON `json:"channel"`
}

type channelBridgeEvent struct {
	eventBase
	Bridge  bridgeJSON  `json:"bridge"`
	Channel channelJSON `json:"channel"`
}

type bridgeEvent struct {
	eventBase
	Bridge bridgeJSON `json:"bridge"`
}

type playbackEvent struct {
	eventBase
	Playback playbackJSON `json:"playback"`
}

type recordingEvent struct {
	eventBase
	Recording liveRecordingJSON `json:"recording"`
}

type applicationMoveFailedEvent struct {
	eventBase
	Channel     channelJSON `json:"channel"`
	Destination string      `json:"destination"`
	Args        []string    `json:"args"`
}

type channelDestroyedEvent struct {
	eventBase
	Cause    int         `json:"cause"`
	CauseTxt string      `json:"cause_txt"`
	Channel  channelJSON `json:"channel"`
}

// dialEvent is Dial. Asterisk always sends dialstring and forward (empty when
// unknown, e.g. dialstring in a queue's CANCEL); caller is absent when the
// dialled channel has no caller channel (POST /channels/{id}/dial).
type dialEvent struct {
	eventBase
	Caller     *channelJSON `json:"caller,omitempty"`
	Peer       channelJSON  `json:"peer"`
	Dialstring string       `json:"dialstring"`
	Dialstatus string       `json:"dialstatus"`
	Forward    string       `json:"forward"`
}

type deviceStateJSON struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type deviceStateChangedEvent struct {
	eventBase
	DeviceState deviceStateJSON `json:"device_state"`
}

// causeTexts are ast_cause2str's texts for the causes the sim produces.
var causeTexts = map[int]string{
	0:   "Not Defined",
	1:   "Unallocated (unassigned) number",
	16:  "Normal Clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "User alerting, no answer",
	21:  "Call Rejected",
	26:  "Answered elsewhere",
	27:  "Destination out of order",
	28:  "Invalid number format",
	31:  "Normal, unspecified",
	34:  "Circuit/channel congestion",
	58:  "Bearer capability not available",
	127: "Interworking, unspecified",
}

// causeText is ChannelDestroyed's cause_txt for a Q.850 cause.
func causeText(cause int) string {
	if t, ok := causeTexts[cause]; ok {
		return t
	}
	return "Unknown"
}
