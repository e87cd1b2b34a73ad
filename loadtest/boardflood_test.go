package loadtest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/stack"
)

// BenchmarkBoardFlood measures a caller's answer → queue with the board
// quiet and then while hostile clients hold board streams of a three-month
// range open (floodStreams of them, from six loopback addresses, each
// reading everything sent and coming back a second after a refusal) and
// others hammer the sign-in with wrong passwords and long names from
// signInAddresses loopback addresses (signInWorkers at once), in one
// process with the IVR, the workers and the HTTP listener, as serve runs
// them. It also reports what the sign-in flood added to the calls stream. It is a measurement, not a test: it reports the medians side
// by side and asserts nothing about them. The board holds 90 days of
// history (historyPerDay calls a day), as a centre's does.
//
//	go test ./loadtest -run '^$' -bench BoardFlood -benchtime 1x
func BenchmarkBoardFlood(b *testing.B) {
	cfg := testConfig(b)
	cfg.HTTP.AccountsFile = supervisorAccount(b)
	// No simulated operators: a caller put through hangs up at once, so
	// each phase measures the IVR's answer → queue, not the operators'
	// pace.
	for i := range cfg.IVR.Menu {
		cfg.IVR.Menu[i].Members = nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	e, err := StartSim(ctx, SimOptions{Config: cfg, ClockScale: 1, SoundsDir: soundsDir(b), Log: testLogger(b), Listener: ln,
		Roles: stack.Roles{IVR: true, Blocklist: true, Reports: true, HTTP: true}})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := e.Stop(); err != nil {
			b.Errorf("stop: %v", err)
		}
	})
	fillHistory(b, e)
	addr := e.Stack.HTTPAddr()
	phase := func(id uint32) (map[Kind]QueueTime, float64) {
		o := e.Options()
		o.Mix = Mix{KindFire: 1, KindGreetingKey: 1}
		o.Calls, o.Concurrency, o.Rate, o.RunID = floodCalls, floodCalls, 4, id
		o.CallTimeout, o.SettleTimeout = waitMax, waitMax
		cpu0, t0 := processCPU(b), time.Now()
		hz := startHealthPoll(addr)
		defer hz.stop(b, id)
		s, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if s.Errors != 0 {
			b.Fatalf("%d errors: %v", s.Errors, s.ErrorSamples)
		}
		return s.TimeToQueue, (processCPU(b) - cpu0) / time.Since(t0).Seconds()
	}
	b.ResetTimer()
	for range b.N {
		quiet, quietCPU := phase(1)
		msgs0, bytes0 := streamSize(b, e)
		f := startFlood(addr, floodStreams)
		si := startSignInFlood(addr, signInWorkers, signInAddresses)
		time.Sleep(2 * time.Second)
		flooded, floodCPU := phase(2)
		served, refused, bytes := f.stop()
		attempts, codes := si.stop()
		msgs1, bytes1 := streamSize(b, e)
		b.Logf("sign-in flood: %d attempts from %d addresses, answered %v; calls stream +%d messages, +%.1f KB (the calls themselves included)",
			attempts, signInAddresses, codes, msgs1-msgs0, float64(bytes1-bytes0)/1e3)
		b.Logf("answer → queue p50 / p95 / max (ms), quiet | flooded by %d streams (%d served, %d refused with 503, %.0f MB sent):",
			floodStreams, served, refused, float64(bytes)/1e6)
		for _, k := range []Kind{KindGreetingKey, KindFire} {
			q, fl := quiet[k], flooded[k]
			b.Logf("  %-13s %6.0f / %6.0f / %6.0f | %6.0f / %6.0f / %6.0f", k, q.P50, q.P95, q.Max, fl.P50, fl.P95, fl.Max)
		}
		b.Logf("  process CPU   %.2f | %.2f cores", quietCPU, floodCPU)
		b.ReportMetric(quiet[KindGreetingKey].P50, "quiet-p50-ms")
		b.ReportMetric(flooded[KindGreetingKey].P50, "flooded-p50-ms")
		b.ReportMetric(floodCPU, "flooded-cores")
	}
}

// The flood's size and the calls measured in each phase.
const (
	floodStreams    = 150
	floodCalls      = 40
	signInWorkers   = 24
	signInAddresses = 48
)

// supervisorAccount writes an accounts file with one supervisor, so the
// sign-in the flood hammers is the real one.
func supervisorAccount(tb testing.TB) string {
	tb.Helper()
	hash, err := console.HashPassword("the-right-password")
	if err != nil {
		tb.Fatal(err)
	}
	accs := &console.Accounts{}
	if err := accs.Set(console.Account{Name: "supervisor", Role: console.RoleSupervisor, Hash: hash}); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "accounts.yaml")
	if err := accs.Save(path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// streamSize is the calls stream's messages and bytes now.
func streamSize(tb testing.TB, e *SimEnv) (msgs, bytes uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	st, err := e.Stack.Bus().JS.Stream(ctx, events.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs, info.State.Bytes
}

// signInFlood posts wrong passwords for long, changing names (and now and
// then the supervisor's own name) from many loopback addresses, as fast as
// the answers come.
type signInFlood struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	attempts atomic.Int64
	mu       sync.Mutex
	codes    map[int]int // guarded by mu
}

func startSignInFlood(addr string, workers, addresses int) *signInFlood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &signInFlood{cancel: cancel, codes: map[int]int{}}
	for i := range workers {
		f.wg.Go(func() {
			n := i
			for ctx.Err() == nil {
				ip := net.IPv4(127, 0, 1, byte(1+n%addresses))
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
				client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				name := strings.Repeat("n", 200) + strconv.Itoa(n)
				if n%5 == 0 {
					name = "supervisor"
				}
				form := url.Values{"name": {name}, "password": {"wrong-" + strconv.Itoa(n)}}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "http://"+addr)
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
					f.attempts.Add(1)
					f.mu.Lock()
					f.codes[res.StatusCode]++
					f.mu.Unlock()
				}
				client.CloseIdleConnections()
				n += workers
			}
		})
	}
	return f
}

func (f *signInFlood) stop() (attempts int64, codes map[int]int) {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts.Load(), maps.Clone(f.codes)
}

// flood is a set of hostile board clients.
type flood struct {
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
	served, refused, nbytes atomic.Int64
}

func startFlood(addr string, n int) *flood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{cancel: cancel}
	from := time.Now().AddDate(0, 0, -92).Format(time.DateOnly)
	url := "http://" + addr + "/api/stream?from=" + from + "&to=" + time.Now().Format(time.DateOnly)
	for i := range n {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%6))}}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		f.wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				res, err := client.Do(req)
				if err == nil {
					if res.StatusCode == http.StatusOK {
						f.served.Add(1)
					} else {
						f.refused.Add(1)
					}
					k, _ := io.Copy(io.Discard, res.Body)
					f.nbytes.Add(k)
					_ = res.Body.Close()
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	return f
}

func (f *flood) stop() (served, refused, nbytes int64) {
	f.cancel()
	f.wg.Wait()
	return f.served.Load(), f.refused.Load(), f.nbytes.Load()
}

// processCPU is this process's user and system CPU time in seconds.
func processCPU(tb testing.TB) float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// historyPerDay is how many past calls a day fillHistory gives the board.
const historyPerDay = 60

// fillHistory applies 90 days of past calls to the reports' aggregator:
// put through, by type, every 23 minutes from midnight.
func fillHistory(tb testing.TB, e *SimEnv) {
	tb.Helper()
	agg := e.Stack.Aggregator()
	today := time.Now().Truncate(24 * time.Hour)
	types := []string{"fire", "medical", "police", "disaster"}
	n := 0
	for d := 90; d >= 1; d-- {
		for i := range historyPerDay {
			at := today.AddDate(0, 0, -d).Add(time.Duration(i) * 23 * time.Minute)
			id := fmt.Sprintf("hist-%d-%d", d, i)
			caller := events.Caller{Number: fmt.Sprintf("+62812%08d", n%5000), Presentation: events.PresentationAllowed}
			typ := types[n%len(types)]
			n++
			steps := []struct {
				t    events.Type
				off  time.Duration
				data any
			}{
				{events.TypeStarted, 0, events.Started{Dialed: "112", Channel: "PJSIP/h-" + id}},
				{events.TypeAnswered, 300 * time.Millisecond, events.Answered{}},
				{events.TypeClassified, 4 * time.Second, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: typ, Attempts: 1, SecondsToClassify: 3.7}},
				{events.TypeTransferred, 5 * time.Second, events.Transferred{EmergencyType: typ}},
				{events.TypeEnded, 60 * time.Second, events.Ended{Outcome: events.OutcomeEmergency, DurationS: 60, HangupBy: events.HangupBySystem}},
			}
			for _, st := range steps {
				env, err := events.New(st.t, id, "sim-1", caller, st.data)
				if err != nil {
					tb.Fatal(err)
				}
				env.Time = at.Add(st.off)
				if _, err := agg.Apply(env, 0); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
}

// healthPoll asks /healthz every half second and keeps how long each
// answer took.
type healthPoll struct {
	cancel context.CancelFunc
	done   chan []time.Duration
}

func startHealthPoll(addr string) *healthPoll {
	ctx, cancel := context.WithCancel(context.Background())
	p := &healthPoll{cancel: cancel, done: make(chan []time.Duration, 1)}
	go func() {
		var ds []time.Duration
		defer func() { p.done <- ds }()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			start := time.Now()
			res, err := http.Get("http://" + addr + "/healthz")
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			ds = append(ds, time.Since(start))
		}
	}()
	return p
}

// stop ends the poll and logs the median and longest /healthz answer.
func (p *healthPoll) stop(tb testing.TB, phase uint32) {
	p.cancel()
	ds := <-p.done
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	tb.Logf("  phase %d: /healthz p50 %s, max %s (%d answers)", phase, ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), len(ds))
}
