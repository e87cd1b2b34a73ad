package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/health"
	"github.com/siaga112/siaga112/reports"
)

// readEvent reads one server-sent event and returns its name and data.
func readEvent(t *testing.T, br *bufio.Reader) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && (name != "" || data != ""):
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// TestStream: the stream sends the board in the asked language with the
// health level, sends again when a call arrives, refuses a bad range, and
// ends when its server shuts down, so a board left open does not hold up an
// orderly shutdown.
func TestStream(t *testing.T) {
	agg, now := boardAggregator(t)
	healthOf := func(context.Context) health.Health {
		return health.Compose(map[string]health.Check{
			"nats":      health.OK(nil),
			"ari":       {Status: health.LevelDegraded, Nodes: []health.Node{{Name: "a1", Connected: true}, {Name: "a2"}}},
			"publisher": {Status: health.LevelDegraded, Spool: &health.Spool{Dropped: 1200, Bytes: 10}},
		})
	}
	srv, err := newBoard(agg, BoardConfig{Refresh: time.Hour, Health: healthOf, Now: func() time.Time { return now }}, newAuth(""))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	base := "http://" + ln.Addr().String()

	// The timeout covers reading the stream: a missing message fails the
	// test instead of hanging it.
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Get(base + "/api/stream?range=year")
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad range: %v %v", res, err)
	}
	res.Body.Close()

	res, err = client.Get(base + "/api/stream?lang=id")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(res.Body)
	name, data := readEvent(t, br)
	if name != "board" {
		t.Fatalf("first event %q, want board", name)
	}
	var msg streamMessage
	if err := json.Unmarshal([]byte(data), &msg); err != nil {
		t.Fatal(err)
	}
	// One of two nodes lost: its callers never reach the menu, so down.
	if msg.Health != health.LevelDown || msg.Live {
		t.Errorf("health %q live %v, want down and not live", msg.Health, msg.Live)
	}
	day := agg.BucketStart(now, reports.Day)
	calls := mustStats(t, agg, day, day.Add(24*time.Hour), reports.Day).Totals.Calls
	for _, want := range []string{"Node Asterisk a2 terputus", "1.200 peristiwa hilang", "ditampung di disk", fmt.Sprintf(`data-testid="total-calls">%d<`, calls)} {
		if !strings.Contains(msg.Board, want) {
			t.Errorf("board lacks %q", want)
		}
	}
	if !strings.Contains(msg.Now, "WITA") || !strings.Contains(msg.More, `data-testid="recent-calls"`) {
		t.Errorf("now %q / more lack the zone or the recent calls", msg.Now)
	}

	// A new call: the next message counts it, long before Refresh (1 h).
	applyAll(t, agg, callEvents(t, callSpec{id: "new", number: "+6281200002222", at: now.Add(-time.Minute), outcome: "emergency", typ: "fire", ttc: 2, transfer: true}))
	_, data = readEvent(t, br)
	if err := json.Unmarshal([]byte(data), &msg); err != nil || !strings.Contains(msg.Board, fmt.Sprintf(`data-testid="total-calls">%d<`, calls+1)) {
		t.Fatalf("second message does not count the new call (%v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v after %v", err, time.Since(start))
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("serve: %v", err)
	}
}

// TestHealthLevels: the board's level and words from the composed health
// and the worker's own state.
func TestHealthLevels(t *testing.T) {
	agg := reports.NewAggregator(reports.Options{})
	tests := []struct {
		name  string
		cfg   BoardConfig
		level string
		fresh bool
		keys  []string
	}{
		{"nothing known", BoardConfig{}, health.LevelOK, true, nil},
		{"all ok", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{OK: true, Checks: map[string]health.Check{"nats": {OK: true}, "ari": {OK: true, Nodes: []health.Node{{Name: "a1", Connected: true}}}}}
		}}, health.LevelOK, true, nil},
		{"only node down", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{Checks: map[string]health.Check{"ari": {Nodes: []health.Node{{Name: "a1"}}}}}
		}}, health.LevelDown, true, []string{"health.ari_all", "health.ari_node"}},
		{"nats down", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{Checks: map[string]health.Check{"nats": {Status: "nats: connection closed"}}}
		}}, health.LevelDegraded, false, []string{"health.nats"}},
		{"graded checks", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{Status: health.LevelDegraded, Checks: map[string]health.Check{
				"nats":      health.OK(nil),
				"jetstream": health.Degraded(nil, "stream gone"),
				"publisher": {Status: health.LevelDegraded, Spool: &health.Spool{Full: true, Dropped: 3, Spooling: true}},
				"roles":     {Status: health.LevelDegraded},
			}}
		}}, health.LevelDegraded, false, []string{"health.jetstream", "health.spool_full", "health.dropped", "health.spooling", "health.roles"}},
		{"publisher judged ok despite a short spool", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{Checks: map[string]health.Check{"publisher": {OK: true, Status: health.LevelOK, Spool: &health.Spool{Spooling: true, Bytes: 100, Dropped: 2}}}}
		}}, health.LevelOK, true, nil},
		{"replaying", BoardConfig{Ready: func(context.Context) bool { return false }}, health.LevelDegraded, false, []string{"health.loading"}},
		{"lagging", BoardConfig{Lag: func(context.Context) (uint64, error) { return lagWarn + 1, nil }}, health.LevelDegraded, false, []string{"health.lagging"}},
		{"stream lost", BoardConfig{Lag: func(context.Context) (uint64, error) { return 0, reports.ErrNotRunning }}, health.LevelDegraded, false, []string{"health.stream"}},
		{"unknown check failing", BoardConfig{Health: func(context.Context) health.Health {
			return health.Health{Checks: map[string]health.Check{"blocklist_cache": {}, "other": {}}}
		}}, health.LevelDegraded, true, []string{"health.blocklist_cache", "health.check"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newBoard(agg, tc.cfg, newAuth(""))
			if err != nil {
				t.Fatal(err)
			}
			h := s.health(context.Background())
			var keys []string
			for _, p := range h.Problems {
				keys = append(keys, p.Key)
			}
			if h.Level != tc.level || h.Fresh != tc.fresh || strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
				t.Errorf("level %s fresh %v problems %v, want %s %v %v", h.Level, h.Fresh, keys, tc.level, tc.fresh, tc.keys)
			}
			if h.Live() && h.Level != health.LevelOK {
				t.Error("live while not ok")
			}
		})
	}
}
