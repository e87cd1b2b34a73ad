package blocklist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// runCache starts a cache on js and stops it at the end of the test.
func runCache(t testing.TB, js jetstream.JetStream) *Cache {
	t.Helper()
	c := NewCache(js, 1, "62", testLog(t))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Run(ctx); err != nil {
			t.Errorf("cache Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("cache not ready")
	}
	return c
}

func TestCacheFollowsStore(t *testing.T) {
	url := startNATS(t)
	_, js := connect(t, url)
	s := newTestStore(t, js, testPolicy(t))
	ctx := ctxT(t)

	// A block that exists before the cache starts is in it once Ready.
	if _, _, err := s.Add(ctx, "+12025550143", time.Hour, "", "budi"); err != nil {
		t.Fatal(err)
	}
	c := runCache(t, js)
	if _, ok := c.Check("+12025550143", time.Now()); !ok {
		t.Fatal("existing block missing after Ready")
	}

	r, _, err := s.Add(ctx, "081234567890", time.Hour, "", "budi")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cache sees the new block", func() bool {
		_, ok := c.Check(testNumber, time.Now())
		return ok
	})

	t.Run("lookup forms", func(t *testing.T) {
		tests := []struct {
			raw  string
			want bool
		}{
			{"+6281234567890", true},
			{"081234567890", true},
			{"0812-3456-7890", true},
			{"6281234567890", true},
			{"+6281234567891", false},
			{"anonymous", false},
			{"", false},
			{"garbage", false},
		}
		for _, tc := range tests {
			t.Run(tc.raw, func(t *testing.T) {
				until, ok := c.Check(tc.raw, time.Now())
				if ok != tc.want || (ok && !until.Equal(r.Until)) {
					t.Fatalf("Check(%q) = %v, %v", tc.raw, until, ok)
				}
			})
		}
	})

	t.Run("expiry without an update", func(t *testing.T) {
		if _, ok := c.Check(testNumber, r.Until.Add(-time.Nanosecond)); !ok {
			t.Fatal("not blocked just before until")
		}
		if _, ok := c.Check(testNumber, r.Until); ok {
			t.Fatal("still blocked exactly at until")
		}
	})

	if _, _, err := s.Remove(ctx, testNumber, "budi"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cache sees the lift", func() bool {
		_, ok := c.Check(testNumber, time.Now())
		return !ok
	})

	// A deleted key (e.g. `nats kv del`) is not blocked either.
	kv, err := OpenBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "p12025550143"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cache sees the delete", func() bool {
		_, ok := c.Check("+12025550143", time.Now())
		return !ok
	})
	if st := c.Stats(); st.Watches < 1 || st.Updates < 4 {
		t.Fatalf("stats %+v", st)
	}
}

// The cache keeps its blocks while NATS is down and follows again after.
func TestCacheSurvivesOutage(t *testing.T) {
	dir := t.TempDir()
	start := func(listen string) *events.Embedded {
		e, err := events.StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("StartEmbedded: %v", err)
		}
		return e
	}
	srv := start("127.0.0.1:0")
	t.Cleanup(func() { srv.Shutdown() })
	u, err := url.Parse(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc, js := connect(t, srv.ClientURL())
	s := newTestStore(t, js, testPolicy(t))
	ctx := ctxT(t)
	c := runCache(t, js)
	if _, _, err := s.Add(ctx, testNumber, time.Hour, "", "budi"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cache sees the block", func() bool {
		_, ok := c.Check(testNumber, time.Now())
		return ok
	})

	srv.Shutdown()
	// Once the client has seen the server go, the block must still apply:
	// the cache answers from its last state while NATS is away.
	eventually(t, 10*time.Second, "the client sees the outage", func() bool { return nc.Status() != nats.CONNECTED })
	if _, ok := c.Check(testNumber, time.Now()); !ok {
		t.Fatal("block lost during the outage")
	}

	srv = start(u.Host)
	if _, _, err := s.Add(ctx, "+12025550143", time.Hour, "", "budi"); err != nil {
		t.Fatalf("Add after restart: %v", err)
	}
	eventually(t, 30*time.Second, "cache follows after the outage", func() bool {
		_, ok := c.Check("+12025550143", time.Now())
		return ok
	})
	if _, ok := c.Check(testNumber, time.Now()); !ok {
		t.Fatal("old block lost after the outage")
	}
}

// A watch that ends and cannot be set up again is reported as not live,
// with its reason and since when, while the last blocks still apply; once
// a watch is live again Stats says so (keeping the last reason).
func TestCacheWatchState(t *testing.T) {
	url := startNATS(t)
	nc1, js1 := connect(t, url)
	_, js2 := connect(t, url)
	s := newTestStore(t, js2, testPolicy(t))
	ctx := ctxT(t)
	if _, _, err := s.Add(ctx, testNumber, time.Hour, "", "budi"); err != nil {
		t.Fatal(err)
	}
	errUnreachable := errors.New("test: bucket unreachable")
	var (
		mu  sync.Mutex
		use jetstream.JetStream = js1
	)
	c := newCache(func(ctx context.Context) (jetstream.KeyValue, error) {
		mu.Lock()
		js := use
		mu.Unlock()
		if js == nil {
			return nil, errUnreachable
		}
		return OpenBucket(ctx, js, 1)
	}, "62", testLog(t))
	if st := c.Stats(); st.Watching || !st.WatchDownSince.IsZero() || st.WatchError != "" {
		t.Fatalf("stats before Run: %+v", st)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	eventually(t, 10*time.Second, "the watch live", func() bool { return c.Stats().Watching })
	if st := c.Stats(); !st.WatchDownSince.IsZero() || st.WatchError != "" || st.Blocked != 1 {
		t.Fatalf("stats while live: %+v", st)
	}

	mu.Lock()
	use = nil
	mu.Unlock()
	before := time.Now()
	nc1.Close() // ends the watch; setting it up again fails
	eventually(t, 10*time.Second, "the watch reported down", func() bool {
		st := c.Stats()
		return !st.Watching && !st.WatchDownSince.IsZero()
	})
	st := c.Stats()
	if st.WatchDownSince.Before(before) || st.WatchError == "" || st.Blocked != 1 {
		t.Fatalf("stats while down: %+v", st)
	}
	if _, ok := c.Check(testNumber, time.Now()); !ok {
		t.Fatal("the last known block no longer applies while the watch is down")
	}
	eventually(t, 10*time.Second, "the retry's error recorded", func() bool {
		return strings.Contains(c.Stats().WatchError, errUnreachable.Error())
	})

	mu.Lock()
	use = js2
	mu.Unlock()
	eventually(t, 10*time.Second, "the watch live again", func() bool { return c.Stats().Watching })
	if st := c.Stats(); !st.WatchDownSince.IsZero() || st.WatchError == "" {
		t.Fatalf("stats after recovery: %+v", st)
	}
}

func TestCloneLiveDropsEnded(t *testing.T) {
	now := time.Now()
	m := blocks{"+1": now.Add(-time.Second), "+2": now, "+3": now.Add(time.Second)}
	got := cloneLive(m, now)
	if len(got) != 1 || !got["+3"].Equal(now.Add(time.Second)) || len(m) != 3 {
		t.Fatalf("cloneLive = %v (input %v)", got, m)
	}
}

func BenchmarkCacheCheck(b *testing.B) {
	c := newCache(nil, "62", nil)
	m := blocks{}
	until := time.Now().Add(time.Hour)
	for i := range 10000 {
		m[fmt.Sprintf("+62813%08d", i)] = until
	}
	m[testNumber] = until
	c.current.Store(&m)
	now := time.Now()
	b.Run("e164 blocked", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Check(testNumber, now); !ok {
				b.Fatal("not blocked")
			}
		}
	})
	b.Run("e164 not blocked", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Check("+6281299999999", now); ok {
				b.Fatal("blocked")
			}
		}
	})
	b.Run("national form", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Check("081234567890", now); !ok {
				b.Fatal("not blocked")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Check(testNumber, now)
			}
		})
	})
}
