package configs

import "time"

// Default values; configs/siaga112.yaml repeats them with comments.
const (
	DefaultApplication     = "siaga112"
	DefaultNodeName        = "asterisk-1"
	DefaultARIURL          = "http://127.0.0.1:8088/ari"
	DefaultARIWSURL        = "ws://127.0.0.1:8088/ari/events"
	DefaultARIUser         = "siaga112"
	DefaultARIPassword     = "change-me"
	DefaultOrigin          = "http://127.0.0.1:8088"
	DefaultOperatorContext = "siaga112-operators"
	DefaultHTTPListen      = "127.0.0.1:8112"
	DefaultEmbeddedListen  = "127.0.0.1:4222"
	DefaultDataDir         = "/var/lib/siaga112/nats"
	DefaultSpoolDir        = "/var/lib/siaga112/spool"
	// DefaultMaxConnections is ari.max_connections: well below Asterisk's
	// default http.conf sessionlimit of 100, leaving room for the events
	// WebSocket, a second siaga112 during a restart and the CLI.
	DefaultMaxConnections = 64
	// MaxARIConnections is the largest ari.max_connections accepted.
	MaxARIConnections = 1000
	// DefaultHTTPMaxConnections is http.max_connections: far more than a
	// centre's wall boards, desks and monitors, far fewer than the file
	// descriptors a default ulimit -n of 1024 allows.
	DefaultHTTPMaxConnections = 256
	// DefaultEmbeddedMaxConnections is nats.embedded.max_connections: the
	// roles of one process use a few, the CLI and external workers a few more.
	DefaultEmbeddedMaxConnections = 64
	// DefaultStreamMaxBytes is nats.stream.max_bytes: 10 GiB holds years of
	// a centre's calls (about 2 KB of events a call) and still fits a
	// small server's disk.
	DefaultStreamMaxBytes int64 = 10 << 30
	// MinStreamMaxBytes is the smallest nats.stream.max_bytes accepted.
	MinStreamMaxBytes int64 = 1 << 20
)

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		ARI: ARI{
			Application: DefaultApplication,
			Nodes: []ARINode{{
				Name: DefaultNodeName, URL: DefaultARIURL, WSURL: DefaultARIWSURL,
				Username: DefaultARIUser, Password: DefaultARIPassword,
			}},
			RequestTimeout: 2 * time.Second,
			MaxConnections: DefaultMaxConnections,
			ReconnectMin:   250 * time.Millisecond,
			ReconnectMax:   10 * time.Second,
			Origin:         DefaultOrigin,
		},
		NATS: NATS{
			Stream:   Stream{MaxAge: 90 * 24 * time.Hour, MaxBytes: DefaultStreamMaxBytes, Replicas: 1, Duplicates: 2 * time.Minute},
			Publish:  Publish{MaxBlock: 5 * time.Millisecond, AckTimeout: 2 * time.Second},
			Spool:    Spool{Dir: DefaultSpoolDir, MaxBytes: 256 << 20},
			Embedded: Embedded{Listen: DefaultEmbeddedListen, DataDir: DefaultDataDir, Auth: true, MaxConnections: DefaultEmbeddedMaxConnections},
			Consumer: Consumer{MaxAckPending: 256, AckWait: 30 * time.Second},
		},
		IVR: IVR{
			Language:    "id",
			SoundPrefix: "sound:siaga112/",
			Prompts: Prompts{
				Greeting: "greeting", Blocked: "blocked", Menu: "menu", Invalid: "invalid",
				NoInput: "no-input", SilentHelp: "silent-help", Location: "location",
				Connecting: "", Goodbye: "goodbye",
				IncidentOffer: "incident-offer", IncidentAck: "incident-ack",
				IncidentRecord: "incident-record", IncidentRecordConfirm: "incident-record-confirm", IncidentRecordSaved: "incident-record-saved",
				Callback: "callback",
			},
			Menu: []MenuEntry{
				{Digit: "1", Type: "fire", Prompt: "menu-fire", Extension: "fire", Queue: "siaga112-fire", Members: []string{"PJSIP/op201"}},
				{Digit: "2", Type: "medical", Prompt: "menu-medical", Extension: "medical", Queue: "siaga112-medical", Members: []string{"PJSIP/op202"}},
				{Digit: "3", Type: "police", Prompt: "menu-police", Extension: "police", Queue: "siaga112-police", Members: []string{"PJSIP/op201"}},
				{Digit: "4", Type: "disaster", Prompt: "menu-disaster", Extension: "disaster", Queue: "siaga112-disaster", Members: []string{"PJSIP/op202"}},
				{Digit: "0", Type: "operator", Prompt: "menu-operator", Extension: "operator", Queue: "siaga112-operator", Members: []string{"PJSIP/op201", "PJSIP/op202"}},
			},
			MenuAttempts:           3,
			FirstDigitTimeout:      5 * time.Second,
			InterDigitTimeout:      3 * time.Second,
			TalkDetect:             true,
			TalkMinDuration:        1 * time.Second,
			CallRecordingPrefix:    "siaga112/",
			SilentHelpDigits:       "55",
			SilentHelpTimeout:      8 * time.Second,
			BlockedOverrideDigit:   "9",
			IncidentDigit:          "8",
			IncidentPrompts:        []string{"incident-example"},
			BlockedOverrideTimeout: 5 * time.Second,
			Location:               Location{When: LocationBusy, MaxDuration: 20 * time.Second, MaxSilence: 3 * time.Second},
			OperatorContext:        DefaultOperatorContext,
			FailoverExtension:      "operator",
			MaxPrompt:              time.Minute,
			DrainTimeout:           30 * time.Second,
		},
		Blocklist: Blocklist{
			DefaultCountry:  "62",
			Window:          24 * time.Hour,
			Threshold:       3,
			Strikes:         Strikes{NoInput: 1, Abandoned: 1, Invalid: 1, VerdictPrank: 3},
			AbandonedWithin: 5 * time.Second,
			Ladder:          []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour},
		},
		Reports: Reports{
			RecentCalls: 1000, TopCallers: 10, Refresh: 10 * time.Second,
			TimeZone: "Asia/Makassar", Language: "id", Retention: 90 * 24 * time.Hour, Durable: "reports",
			Thresholds: Thresholds{WaitingSeconds: DefaultWaitingSeconds, WaitingCalls: DefaultWaitingCalls},
		},
		HTTP: HTTP{Listen: DefaultHTTPListen, AccountsFile: "/etc/siaga112/accounts.yaml", SessionTTL: 8 * time.Hour,
			ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second,
			MaxConnections: DefaultHTTPMaxConnections, StreamMaxClients: 32, StreamMaxPerAddress: 4,
			AllowedHosts: []string{"localhost"}},
		Callback: DefaultCallback(),
		Health:   Health{MaxWorkerLag: 1000, MaxSpooling: 30 * time.Second, StreamProbe: 5 * time.Second},
		Log:      Log{Level: "info", Format: "text"},
	}
}

// The board's default alarm levels: a caller waiting longer than the
// longest answered-within target (20 s), or more callers waiting at once
// than a small centre's shift of operators can take (3).
const (
	DefaultWaitingSeconds = 20
	DefaultWaitingCalls   = 3
)
