package incident

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

func TestNewChecksTheRequest(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	i, err := New("  Kebakaran Pasar Rawa Indah ", "sound:siaga112/incident-example", 0, "siti", now)
	if err != nil {
		t.Fatal(err)
	}
	if i.Title != "Kebakaran Pasar Rawa Indah" || i.Expires != now.Add(DefaultFor) || !i.Active(now) || i.Active(now.Add(DefaultFor)) {
		t.Errorf("incident %+v", i)
	}
	for _, tc := range []struct {
		title, media string
		length       time.Duration
		want         error
	}{
		{"ab", "sound:siaga112/x", time.Hour, ErrBadTitle},
		{"two\nlines", "sound:siaga112/x", time.Hour, ErrBadTitle},
		// 100 characters, but 400 bytes: more than the incident events may carry.
		{strings.Repeat("🔥", 100), "sound:siaga112/x", time.Hour, ErrBadTitle},
		{"Fire", "file:///etc/passwd", time.Hour, ErrBadMedia},
		{"Fire", "sound:../../etc/passwd", time.Hour, ErrBadMedia},
		{"Fire", "recording:a/b/c", time.Hour, ErrBadMedia},
		{"Fire", "sound:siaga112/x", 30 * time.Second, ErrBadFor},
		{"Fire", "sound:siaga112/x", 25 * time.Hour, ErrBadFor},
	} {
		if _, err := New(tc.title, tc.media, tc.length, "siti", now); !errors.Is(err, tc.want) {
			t.Errorf("New(%q, %q, %s) = %v, want %v", tc.title, tc.media, tc.length, err, tc.want)
		}
	}
	for _, ok := range []string{"sound:siaga112/incident-example", "recording:siaga112-incident-1", "recording:siaga112/inc.1"} {
		if err := CheckMedia(ok); err != nil {
			t.Errorf("CheckMedia(%q) = %v", ok, err)
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	got []events.Envelope
}

func (r *recorder) Publish(_ context.Context, e events.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
	return nil
}

func (r *recorder) types() []events.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []events.Type
	for _, e := range r.got {
		out = append(out, e.Type)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every IVR's watch sees a start and a stop within a second; a watch that
// starts while an announcement plays (an IVR restart) picks it up at once.
func TestStoreAndWatches(t *testing.T) {
	srv, err := events.StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, err := events.Connect(ctx, configs.NATS{}, srv.ClientURL(), t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := OpenBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	pub := &recorder{}
	st := NewStore(kv, pub, nil)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	startWatch := func() *Watch {
		w := NewWatch(js, 1, nil)
		wg.Go(func() { _ = w.Run(ctx) })
		select {
		case <-w.Ready():
		case <-time.After(5 * time.Second):
			t.Fatal("watch not ready")
		}
		return w
	}
	a, b := startWatch(), startWatch()
	if _, ok := a.Active(time.Now()); ok {
		t.Fatal("an announcement plays before any was started")
	}
	if _, err := st.Stop(ctx, "siti"); !errors.Is(err, ErrNone) {
		t.Errorf("Stop with none: %v, want ErrNone", err)
	}

	started := time.Now()
	inc, err := st.Start(ctx, "Kebakaran Pasar Rawa Indah", "sound:siaga112/incident-example", time.Hour, "siti")
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*Watch{"a": a, "b": b} {
		eventually(t, "watch "+name+" sees the start", func() bool {
			got, ok := w.Active(time.Now())
			return ok && got.ID == inc.ID
		})
	}
	if d := time.Since(started); d > time.Second {
		t.Errorf("watches saw the start after %s, want within 1 s", d)
	}
	ann, ok := a.Announcement(time.Now())
	if !ok || ann.Media != "sound:siaga112/incident-example" || ann.ID != inc.ID {
		t.Errorf("announcement %+v %v", ann, ok)
	}
	c := startWatch() // an IVR restarted during the incident
	if got, ok := c.Active(time.Now()); !ok || got.ID != inc.ID {
		t.Errorf("a new watch does not see the running announcement: %+v %v", got, ok)
	}
	if _, ok := a.Active(inc.Expires); ok {
		t.Error("the announcement plays past its expiry")
	}

	if _, err := st.Stop(ctx, "siti"); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*Watch{"a": a, "b": b, "c": c} {
		eventually(t, "watch "+name+" sees the stop", func() bool { _, ok := w.Active(time.Now()); return !ok })
	}
	if got := pub.types(); len(got) != 2 || got[0] != events.TypeIncidentStarted || got[1] != events.TypeIncidentEnded {
		t.Errorf("events %v, want started then ended", got)
	}

	// A record the IVR cannot play safely (written to the bucket by hand)
	// replaces the good one and is not played: callers get the menu.
	if _, err := st.Start(ctx, "Banjir", "sound:siaga112/incident-example", time.Hour, "siti"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "watch a sees the second start", func() bool { _, ok := a.Active(time.Now()); return ok })
	if _, err := kv.Put(ctx, activeKey, []byte(`{"id":"x","media":"file:///etc/passwd","started":"2020-01-01T00:00:00Z","expires":"2099-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bad record is not played", func() bool { _, ok := a.Active(time.Now()); return !ok })
}
