// Package configs holds siaga112's one typed configuration: the Config
// struct, its defaults, loading (viper: file, SIAGA112_* env vars, flags)
// and validation. No other package reads viper or the environment; each gets
// its section of Config as a value.
package configs

import "time"

// Config is the whole configuration of siaga112. configs/siaga112.yaml
// documents every key and holds the same values as Default.
type Config struct {
	// ARI is how siaga112 reaches Asterisk.
	ARI ARI `mapstructure:"ari" yaml:"ari"`
	// NATS is the event bus (JetStream) and the embedded server.
	NATS NATS `mapstructure:"nats" yaml:"nats"`
	// IVR is the call flow: timings, digits, prompts and destinations.
	IVR IVR `mapstructure:"ivr" yaml:"ivr"`
	// Blocklist is the automatic blocking policy.
	Blocklist Blocklist `mapstructure:"blocklist" yaml:"blocklist"`
	// Reports configures the reporting worker.
	Reports Reports `mapstructure:"reports" yaml:"reports"`
	// HTTP is the dashboard, API and metrics listener.
	HTTP HTTP `mapstructure:"http" yaml:"http"`
	// Callback calls back callers who asked for help and dropped.
	Callback Callback `mapstructure:"callback" yaml:"callback"`
	// Health sets the bounds /healthz judges the components by.
	Health Health `mapstructure:"health" yaml:"health"`
	// Log configures log/slog output.
	Log Log `mapstructure:"log" yaml:"log"`
}

// ARI configures the connection to one or more Asterisk nodes.
type ARI struct {
	// Application is the Stasis application name used in the dialplan.
	Application string `mapstructure:"application" yaml:"application"`
	// Nodes lists the Asterisk servers to serve; each gets its own connection.
	Nodes []ARINode `mapstructure:"nodes" yaml:"nodes"`
	// RequestTimeout bounds every ARI REST request so a hung Asterisk cannot hang a call.
	RequestTimeout time.Duration `mapstructure:"request_timeout" yaml:"request_timeout"`
	// MaxConnections caps the REST connections open to one node at a time,
	// below Asterisk's http.conf sessionlimit (default 100), which also has
	// to hold the events WebSocket and any other HTTP client; a request
	// beyond the cap waits for a free connection within its request_timeout.
	MaxConnections int `mapstructure:"max_connections" yaml:"max_connections"`
	// ReconnectMin is the first delay before reconnecting to a lost node.
	ReconnectMin time.Duration `mapstructure:"reconnect_min" yaml:"reconnect_min"`
	// ReconnectMax caps the reconnect backoff.
	ReconnectMax time.Duration `mapstructure:"reconnect_max" yaml:"reconnect_max"`
	// Origin is the Origin header sent on the events WebSocket; it must be in
	// Asterisk's http.conf/ari.conf allowed_origins.
	Origin string `mapstructure:"origin" yaml:"origin"`
}

// ARINode is one Asterisk server.
type ARINode struct {
	// Name identifies the node in events, logs and /healthz.
	Name string `mapstructure:"name" yaml:"name"`
	// URL is the ARI REST base, e.g. http://127.0.0.1:8088/ari.
	URL string `mapstructure:"url" yaml:"url"`
	// WSURL is the ARI events WebSocket base, e.g. ws://127.0.0.1:8088/ari/events.
	WSURL string `mapstructure:"ws_url" yaml:"ws_url"`
	// Username is the ari.conf user.
	Username string `mapstructure:"username" yaml:"username"`
	// Password is the ari.conf password (secret).
	Password string `mapstructure:"password" yaml:"password"`
}

// NATS configures the event bus.
type NATS struct {
	// URL of an external NATS server or cluster (comma separated). Empty
	// starts the embedded server.
	URL string `mapstructure:"url" yaml:"url"`
	// Creds is a path to a NATS credentials file.
	Creds string `mapstructure:"creds" yaml:"creds"`
	// NKey is a path to an nkey seed file.
	NKey string `mapstructure:"nkey" yaml:"nkey"`
	// TLS configures TLS to an external server.
	TLS TLS `mapstructure:"tls" yaml:"tls"`
	// Stream configures the SIAGA112_CALLS stream.
	Stream Stream `mapstructure:"stream" yaml:"stream"`
	// Publish configures the publisher.
	Publish Publish `mapstructure:"publish" yaml:"publish"`
	// Spool is the on-disk buffer used while NATS is unreachable.
	Spool Spool `mapstructure:"spool" yaml:"spool"`
	// Embedded is the in-process server used when URL is empty.
	Embedded Embedded `mapstructure:"embedded" yaml:"embedded"`
	// Consumer configures the workers' durable consumers.
	Consumer Consumer `mapstructure:"consumer" yaml:"consumer"`
}

// TLS holds client TLS files.
type TLS struct {
	// CA is a PEM file of CAs to trust.
	CA string `mapstructure:"ca" yaml:"ca"`
	// Cert is the client certificate (PEM).
	Cert string `mapstructure:"cert" yaml:"cert"`
	// Key is the client key (PEM, secret).
	Key string `mapstructure:"key" yaml:"key"`
}

// Stream configures the JetStream stream.
type Stream struct {
	// MaxAge is how long events are kept.
	MaxAge time.Duration `mapstructure:"max_age" yaml:"max_age"`
	// MaxBytes bounds the stream's size on disk (per replica); when it is
	// full the oldest events are dropped (discard-old), and /healthz is
	// degraded from 80 % on, so nothing published can fill the disk.
	MaxBytes int64 `mapstructure:"max_bytes" yaml:"max_bytes"`
	// Replicas is the JetStream replica count (1 for a single server, 3 for a cluster).
	Replicas int `mapstructure:"replicas" yaml:"replicas"`
	// Duplicates is the window in which a re-sent event id is stored once.
	Duplicates time.Duration `mapstructure:"duplicates" yaml:"duplicates"`
}

// Publish configures how events are published.
type Publish struct {
	// MaxBlock is the longest Publish waits for a JetStream ack before the
	// event goes to the spool; the IVR never blocks longer than this.
	MaxBlock time.Duration `mapstructure:"max_block" yaml:"max_block"`
	// AckTimeout bounds one JetStream publish (used by the spool replay).
	AckTimeout time.Duration `mapstructure:"ack_timeout" yaml:"ack_timeout"`
}

// Spool configures the on-disk event spool.
type Spool struct {
	// Dir holds the spool file.
	Dir string `mapstructure:"dir" yaml:"dir"`
	// MaxBytes bounds the spool; when full, new events are dropped with an error log.
	MaxBytes int64 `mapstructure:"max_bytes" yaml:"max_bytes"`
}

// Embedded configures the in-process NATS server.
type Embedded struct {
	// Listen is host:port; loopback by default so only this host connects.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// DataDir is the JetStream store directory. The server's credentials
	// file (events.CredentialsFile) is kept in it too.
	DataDir string `mapstructure:"data_dir" yaml:"data_dir"`
	// Auth makes the server require the users of its credentials file.
	// Default sets it and no config key or variable can clear it; only
	// code that builds an Embedded by hand (tests of other packages) runs
	// a server without authentication.
	Auth bool `mapstructure:"-" yaml:"-"`
	// MaxConnections caps the server's client connections (every role's
	// connection, the CLI's and any external worker's).
	MaxConnections int `mapstructure:"max_connections" yaml:"max_connections"`
}

// Consumer configures the workers' durable pull consumers.
type Consumer struct {
	// MaxAckPending bounds in-flight messages per consumer.
	MaxAckPending int `mapstructure:"max_ack_pending" yaml:"max_ack_pending"`
	// AckWait is how long a message may stay unacked before redelivery.
	AckWait time.Duration `mapstructure:"ack_wait" yaml:"ack_wait"`
}

// IVR configures the call flow.
type IVR struct {
	// Language selects the prompt folder (id or en).
	Language string `mapstructure:"language" yaml:"language"`
	// SoundPrefix is prepended to prompt names to make a media URI; it must
	// use the "sound:" scheme, e.g. "sound:siaga112/".
	SoundPrefix string `mapstructure:"sound_prefix" yaml:"sound_prefix"`
	// Prompts names the sound file for each message.
	Prompts Prompts `mapstructure:"prompts" yaml:"prompts"`
	// Menu is the list of choices; order is the order they are read out.
	Menu []MenuEntry `mapstructure:"menu" yaml:"menu"`
	// MenuAttempts is how many times the menu is offered.
	MenuAttempts int `mapstructure:"menu_attempts" yaml:"menu_attempts"`
	// FirstDigitTimeout is how long to wait for a key after the menu prompt.
	FirstDigitTimeout time.Duration `mapstructure:"first_digit_timeout" yaml:"first_digit_timeout"`
	// InterDigitTimeout is the longest gap between the digits of a two-digit code (55).
	InterDigitTimeout time.Duration `mapstructure:"inter_digit_timeout" yaml:"inter_digit_timeout"`
	// TalkDetect enables talk detection from answer on: greeting, warnings,
	// menu and the silent-help prompt. A caller who talks is put through.
	TalkDetect bool `mapstructure:"talk_detect" yaml:"talk_detect"`
	// TalkMinDuration is how long a caller must talk to count as speaking.
	TalkMinDuration time.Duration `mapstructure:"talk_min_duration" yaml:"talk_min_duration"`
	// CallRecordingPrefix names the whole-call recording the dialplan makes
	// (MixMonitor before Stasis): the stored recording is this prefix plus
	// the channel's unique id, which is its ARI channel id. Empty: the
	// dialplan records nothing and no recording is named in the events.
	CallRecordingPrefix string `mapstructure:"call_recording_prefix" yaml:"call_recording_prefix"`
	// SilentHelpDigits is the code a silent caller presses to be put through.
	SilentHelpDigits string `mapstructure:"silent_help_digits" yaml:"silent_help_digits"`
	// SilentHelpTimeout is how long to wait for the silent-help code.
	SilentHelpTimeout time.Duration `mapstructure:"silent_help_timeout" yaml:"silent_help_timeout"`
	// BlockedOverrideDigit is the key a blocked caller presses to be put through.
	BlockedOverrideDigit string `mapstructure:"blocked_override_digit" yaml:"blocked_override_digit"`
	// IncidentPrompts are prepared incident announcements (sound names,
	// like the prompts) a supervisor can start from the console.
	IncidentPrompts []string `mapstructure:"incident_prompts" yaml:"incident_prompts"`
	// IncidentDigit is the key a caller presses, after an incident
	// announcement, to say they are calling about that incident.
	IncidentDigit string `mapstructure:"incident_digit" yaml:"incident_digit"`
	// BlockedOverrideTimeout is how long a blocked caller has to press it.
	BlockedOverrideTimeout time.Duration `mapstructure:"blocked_override_timeout" yaml:"blocked_override_timeout"`
	// Location configures the optional location recording.
	Location Location `mapstructure:"location" yaml:"location"`
	// OperatorContext is the dialplan context calls are continued into.
	OperatorContext string `mapstructure:"operator_context" yaml:"operator_context"`
	// FailoverExtension is the extension used when the IVR itself fails.
	FailoverExtension string `mapstructure:"failover_extension" yaml:"failover_extension"`
	// MaxPrompt is the longest one prompt may play before the IVR stops
	// waiting for Asterisk's PlaybackFinished and puts the caller through;
	// it only matters when that event is lost, since Asterisk reports no
	// prompt length up front.
	MaxPrompt time.Duration `mapstructure:"max_prompt" yaml:"max_prompt"`
	// DrainTimeout bounds how long shutdown waits for calls in progress.
	DrainTimeout time.Duration `mapstructure:"drain_timeout" yaml:"drain_timeout"`
}

// Prompts names the sound for each message (without prefix or extension).
type Prompts struct {
	Greeting   string `mapstructure:"greeting" yaml:"greeting"`
	Blocked    string `mapstructure:"blocked" yaml:"blocked"`
	Menu       string `mapstructure:"menu" yaml:"menu"`
	Invalid    string `mapstructure:"invalid" yaml:"invalid"`
	NoInput    string `mapstructure:"no_input" yaml:"no_input"`
	SilentHelp string `mapstructure:"silent_help" yaml:"silent_help"`
	Location   string `mapstructure:"location" yaml:"location"`
	Connecting string `mapstructure:"connecting" yaml:"connecting"`
	Goodbye    string `mapstructure:"goodbye" yaml:"goodbye"`
	// IncidentOffer follows an incident announcement: "if you are calling
	// about this, press 8; otherwise stay on the line".
	IncidentOffer string `mapstructure:"incident_offer" yaml:"incident_offer"`
	// IncidentAck thanks a caller who pressed the incident key before the
	// call ends.
	IncidentAck string `mapstructure:"incident_ack" yaml:"incident_ack"`
	// IncidentRecord, IncidentRecordConfirm and IncidentRecordSaved guide
	// a supervisor who records an announcement by phone: how to record,
	// then (after the play-back) keep, again or discard, then saved.
	IncidentRecord        string `mapstructure:"incident_record" yaml:"incident_record"`
	IncidentRecordConfirm string `mapstructure:"incident_record_confirm" yaml:"incident_record_confirm"`
	IncidentRecordSaved   string `mapstructure:"incident_record_saved" yaml:"incident_record_saved"`
	// Callback opens a call-back: "Siaga 112 calling you back: your call
	// was cut off. If you still need help, press 1 or speak now."
	Callback string `mapstructure:"callback" yaml:"callback"`
}

// MenuEntry is one choice of the emergency menu.
type MenuEntry struct {
	// Digit is the key that selects this entry.
	Digit string `mapstructure:"digit" yaml:"digit"`
	// Type is the emergency type (fire, medical, police, disaster, operator).
	Type string `mapstructure:"type" yaml:"type"`
	// Prompt is the sound read out for this entry ("for fire, press 1").
	Prompt string `mapstructure:"prompt" yaml:"prompt"`
	// Extension is the extension in OperatorContext the call continues to.
	Extension string `mapstructure:"extension" yaml:"extension"`
	// Queue is the Asterisk queue behind Extension; the IVR reads
	// QUEUE_MEMBER(<queue>,free) to know whether an operator is free
	// (ivr.location.when busy). Empty: not known, so the location is asked.
	Queue string `mapstructure:"queue" yaml:"queue"`
	// Members are the devices of Queue's members, as queues.conf lists
	// them (PJSIP/op201). The IVR follows their device states and
	// publishes them as operator.state. Empty: none followed.
	Members []string `mapstructure:"members" yaml:"members"`
}

// When the location question is asked.
const (
	// LocationBusy asks only when no operator of the chosen queue is free:
	// the caller would wait anyway, and the operator gets the place first.
	LocationBusy = "busy"
	// LocationAlways asks every caller who chose a type.
	LocationAlways = "always"
	// LocationNever never asks.
	LocationNever = "never"
)

// Location configures the short recording of where the caller is.
type Location struct {
	// When is busy, always or never (see LocationBusy).
	When string `mapstructure:"when" yaml:"when"`
	// MaxDuration bounds the recording.
	MaxDuration time.Duration `mapstructure:"max_duration" yaml:"max_duration"`
	// MaxSilence ends the recording after this much silence.
	MaxSilence time.Duration `mapstructure:"max_silence" yaml:"max_silence"`
}

// Blocklist configures the automatic blocking policy.
type Blocklist struct {
	// DefaultCountry is the country calling code used to normalise national numbers (62 = Indonesia):
	// in the blocklist, in admin input and in the caller number of the IVR's events.
	DefaultCountry string `mapstructure:"default_country" yaml:"default_country"`
	// Window is the rolling window strikes count in.
	Window time.Duration `mapstructure:"window" yaml:"window"`
	// Threshold is the strike count that blocks a number.
	Threshold int `mapstructure:"threshold" yaml:"threshold"`
	// Strikes gives the strikes per outcome and verdict.
	Strikes Strikes `mapstructure:"strikes" yaml:"strikes"`
	// AbandonedWithin: an abandoned call counts only if it ended this soon after answer.
	AbandonedWithin time.Duration `mapstructure:"abandoned_within" yaml:"abandoned_within"`
	// Ladder is the escalating block length: first block, second, ... (the last repeats).
	Ladder []time.Duration `mapstructure:"ladder" yaml:"ladder"`
	// Allowlist numbers are never blocked.
	Allowlist []string `mapstructure:"allowlist" yaml:"allowlist"`
}

// Strikes gives the strikes each outcome or verdict adds.
type Strikes struct {
	NoInput      int `mapstructure:"no_input" yaml:"no_input"`
	Abandoned    int `mapstructure:"abandoned" yaml:"abandoned"`
	Invalid      int `mapstructure:"invalid" yaml:"invalid"`
	VerdictPrank int `mapstructure:"verdict_prank" yaml:"verdict_prank"`
}

// Reports configures the reporting worker.
type Reports struct {
	// RecentCalls is how many recent calls the dashboard and API keep in memory.
	RecentCalls int `mapstructure:"recent_calls" yaml:"recent_calls"`
	// TopCallers is how many repeat callers are listed.
	TopCallers int `mapstructure:"top_callers" yaml:"top_callers"`
	// Refresh is the dashboard's auto-refresh interval.
	Refresh time.Duration `mapstructure:"refresh" yaml:"refresh"`
	// TimeZone is the IANA zone (e.g. Asia/Makassar) whose local hours and
	// days the statistics are bucketed in; "Local" uses the host's zone.
	TimeZone string `mapstructure:"time_zone" yaml:"time_zone"`
	// Language is the dashboard's language when a browser asks for none it
	// has: "id" (Bahasa Indonesia) or "en". A screen can still choose with
	// ?lang= or its Accept-Language.
	Language string `mapstructure:"language" yaml:"language"`
	// Retention is how long hourly statistics are kept in memory; older hours
	// are dropped. It should not exceed nats.stream.max_age, since the worker
	// rebuilds its state from the stream on start.
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
	// Thresholds turn the board's figures red where a supervisor must act.
	Thresholds Thresholds `mapstructure:"thresholds" yaml:"thresholds"`
	// Durable is the JetStream durable consumer name of this reports worker.
	// Each reports worker instance needs its own name: every instance builds
	// its full state from the whole stream.
	Durable string `mapstructure:"durable" yaml:"durable"`
}

// Thresholds are the board's alarm levels: above one, its figure turns red
// (with a ▲ for readers who do not see red). 0 turns that alarm off.
type Thresholds struct {
	// WaitingSeconds is the longest wait in the operators' queue, in
	// seconds, above which the queue tile is red; the default is the
	// board's longest answered-within target (20 s).
	WaitingSeconds int `mapstructure:"waiting_seconds" yaml:"waiting_seconds"`
	// WaitingCalls is how many callers may wait in the queue at once
	// before the count turns red.
	WaitingCalls int `mapstructure:"waiting_calls" yaml:"waiting_calls"`
}

// HTTP configures the one HTTP listener.
type HTTP struct {
	// Listen is host:port; loopback by default.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// AdminToken guards write endpoints and unmasked numbers (secret). Empty disables writes.
	AdminToken string `mapstructure:"admin_token" yaml:"admin_token"`
	// AccountsFile holds the console's accounts (names, roles, bcrypt
	// hashes), written by `siaga112 user add|passwd|rm`; mode 0600.
	AccountsFile string `mapstructure:"accounts_file" yaml:"accounts_file"`
	// SessionTTL is how long a console sign-in lasts.
	SessionTTL time.Duration `mapstructure:"session_ttl" yaml:"session_ttl"`
	// ReadTimeout bounds reading one request, body included: a client that
	// sends half a body and stops is cut off after it.
	ReadTimeout time.Duration `mapstructure:"read_timeout" yaml:"read_timeout"`
	// WriteTimeout bounds writing one answer. The board's stream extends
	// it for each message it sends, so an open board is not cut.
	WriteTimeout time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
	// IdleTimeout closes a keep-alive connection that sends no request.
	IdleTimeout time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	// MaxConnections caps the listener's open connections; a connection
	// beyond it waits in the kernel's queue until one closes.
	MaxConnections int `mapstructure:"max_connections" yaml:"max_connections"`
	// StreamMaxClients caps the open board streams (/api/stream); one more
	// is refused with 503 and Retry-After.
	StreamMaxClients int `mapstructure:"stream_max_clients" yaml:"stream_max_clients"`
	// StreamMaxPerAddress caps the open board streams of one client address.
	StreamMaxPerAddress int `mapstructure:"stream_max_per_address" yaml:"stream_max_per_address"`
	// AllowedHosts are the host names a request's Host may carry; any IP
	// literal is accepted too. Other names are refused (421), so a web page
	// whose name was rebound to this address cannot read the board.
	AllowedHosts []string `mapstructure:"allowed_hosts" yaml:"allowed_hosts"`
	// SecureCookies marks every cookie this listener sets Secure, for a
	// deployment behind a TLS proxy (the proxy speaks HTTP to us).
	SecureCookies bool `mapstructure:"secure_cookies" yaml:"secure_cookies"`
}

// Health sets the bounds beyond which /healthz calls a component degraded.
// Degraded answers 200 with the reason: the calls are not harmed, but an
// engineer should look. Only a state that harms calls answers 503.
type Health struct {
	// MaxWorkerLag is how many events a worker (blocklist or reports) may
	// have waiting in its consumer before it is degraded: new blocks come
	// late, or the dashboard's figures are behind.
	MaxWorkerLag int `mapstructure:"max_worker_lag" yaml:"max_worker_lag"`
	// MaxSpooling is how long the IVR's publisher may keep events in its
	// disk spool (JetStream slow or away) before it is degraded. Short
	// spells are the spool doing its job under a slow ack.
	MaxSpooling time.Duration `mapstructure:"max_spooling" yaml:"max_spooling"`
	// StreamProbe is how often the event stream is asked whether it can
	// take writes; /healthz in between repeats the last answer, so a busy
	// dashboard or monitor does not turn into JetStream API load.
	StreamProbe time.Duration `mapstructure:"stream_probe" yaml:"stream_probe"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level" yaml:"level"`
	// Format is text or json.
	Format string `mapstructure:"format" yaml:"format"`
}
