package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

func TestCountRunCallers(t *testing.T) {
	const prefix = "lt-0000abcd-"
	tests := []struct {
		name string
		ids  []string
		want int
	}{
		{"none", nil, 0},
		{"callers and their scripts", []string{"lt-0000abcd-1", "lt-0000abcd-1-script", "lt-0000abcd-22", "lt-0000abcd-22-script"}, 2},
		{"caller left in the queue, script side gone", []string{"lt-0000abcd-7"}, 1},
		{"another run's and other channels", []string{"lt-0000ffff-1", "1764662400.12", "PJSIP/op201-00000001", "lt-0000abcd-"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countRunCallers(tt.ids, prefix); got != tt.want {
				t.Fatalf("countRunCallers = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCallsInAsterisk counts a run's callers from Asterisk's channel list
// as GET /ari/channels gives it.
func TestCallsInAsterisk(t *testing.T) {
	body := `[{"id":"lt-00000007-1","name":"Local/fire@siaga112-loadtest-00000001;1","state":"Up"},
	 {"id":"lt-00000007-1-script","name":"Local/fire@siaga112-loadtest-00000001;2","state":"Up"},
	 {"id":"lt-00000007-2","name":"Local/talk@siaga112-loadtest-00000002;1","state":"Up"},
	 {"id":"lt-00000008-1","name":"Local/fire@siaga112-loadtest-00000003;1","state":"Up"}]`
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "siaga112" || p != "secret" || r.URL.Path != "/ari/channels" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	node := configs.ARINode{URL: srv.URL + "/ari/", Username: "siaga112", Password: "secret"}
	target := NewARITarget(node, NewProbe(), 5*time.Second, 7)
	n, err := target.CallsInAsterisk(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("CallsInAsterisk = %d, %v; want 2", n, err)
	}
	status = http.StatusServiceUnavailable
	if n, err := target.CallsInAsterisk(context.Background()); err == nil {
		t.Fatalf("CallsInAsterisk on a 503 = %d, nil; want an error", n)
	}
}

// TestLateOriginate: an originate whose answer comes after the client's
// timeout is a placed call when the call reaches the IVR (as Asterisk
// 22.10.1 did under load), and a failure when it does not.
func TestLateOriginate(t *testing.T) {
	probe := NewProbe()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("channelId")
		if strings.HasSuffix(id, "-1") {
			// The call arrives in the IVR while the answer is late.
			probe.mu.Lock()
			probe.get(id).flowStart = time.Now()
			probe.mu.Unlock()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	target := NewARITarget(configs.ARINode{URL: srv.URL + "/ari"}, probe, 100*time.Millisecond, 9)
	target.grace = 300 * time.Millisecond

	call, err := target.Place(context.Background(), Caller{Seq: 1, Kind: KindFire, Number: "+6281200000001"})
	if err != nil || call.ID() != "lt-00000009-1" || target.LateOriginates() != 1 {
		t.Fatalf("Place of a call that arrived = %v, %v; late %d", call, err, target.LateOriginates())
	}
	if _, err := target.Place(context.Background(), Caller{Seq: 2, Kind: KindFire, Number: "+6281200000002"}); !errors.Is(err, ErrOriginate) {
		t.Fatalf("Place of a call that never arrived: %v, want ErrOriginate", err)
	}
	if target.LateOriginates() != 1 {
		t.Fatalf("late originates %d, want 1", target.LateOriginates())
	}
}

// slowTarget's Place takes a while, as a busy Asterisk's originate does;
// its calls are over at once.
type slowTarget struct {
	delay      time.Duration
	concurrent bool
	n          atomic.Int64
}

func (t *slowTarget) Name() string             { return "ari" }
func (t *slowTarget) PlacesConcurrently() bool { return t.concurrent }
func (t *slowTarget) Place(ctx context.Context, c Caller) (Call, error) {
	time.Sleep(t.delay)
	return doneCall(fmt.Sprintf("slow-%d", t.n.Add(1))), nil
}

type doneCall string

func (c doneCall) ID() string { return string(c) }
func (c doneCall) Done() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
func (c doneCall) Answer() (time.Duration, bool) { return 0, false }
func (c doneCall) AnsweredAt() (time.Time, bool) { return time.Time{}, false }
func (c doneCall) Hangup()                       {}

// TestSlowPlace: calls of a target whose Place waits (originates over
// ARI) are placed at the rate asked for, not one Place after the other.
func TestSlowPlace(t *testing.T) {
	const calls, delay = 20, 150 * time.Millisecond
	for _, concurrent := range []bool{true, false} {
		t.Run(fmt.Sprintf("concurrent %v", concurrent), func(t *testing.T) {
			o := Options{
				Target: &slowTarget{delay: delay, concurrent: concurrent}, Probe: NewProbe(),
				Mix: Mix{KindFire: 1}, Calls: calls, Concurrency: calls, Rate: 50,
				// No IVR publishes these calls' events: each is an error
				// once this short settle is over, which is not the point.
				SettleTimeout: time.Millisecond,
			}
			s, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			serial := time.Duration(calls) * delay
			if s.Placed != calls || s.Finished != calls {
				t.Fatalf("placed %d finished %d, want %d", s.Placed, s.Finished, calls)
			}
			placing := time.Duration(s.Placing * float64(time.Second))
			if concurrent && placing > serial/2 {
				t.Fatalf("placing took %s with concurrent places, one after the other takes %s", placing, serial)
			}
			if !concurrent && placing < serial {
				t.Fatalf("placing took %s one after the other, want at least %s", placing, serial)
			}
		})
	}
}

// TestOriginateConns: however many calls are placed at once, the tool
// keeps at most OriginateConns originates (connections) open to the node,
// as Asterisk's HTTP session limit is shared with the IVR.
func TestOriginateConns(t *testing.T) {
	var now, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}))
	t.Cleanup(srv.Close)
	target := NewARITarget(configs.ARINode{URL: srv.URL + "/ari"}, NewProbe(), 5*time.Second, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 3*OriginateConns)
	for i := range 3 * OriginateConns {
		wg.Go(func() {
			if _, err := target.Place(context.Background(), Caller{Seq: i, Kind: KindFire, Number: "+6281200000001"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := most.Load(); m > OriginateConns || m < 2 {
		t.Fatalf("at most %d originates at once, want 2 to %d", m, OriginateConns)
	}
}
