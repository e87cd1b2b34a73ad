package loadtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/ari"
	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/internal/stack"
)

// freePorts returns n loopback ports that were free a moment ago (route
// ports must be known before the servers start, so port -1 will not do).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	ports := make([]int, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// startCluster starts a three-node nats-server cluster with JetStream in
// this process, on loopback, and waits until JetStream has a meta leader.
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var srvs []*server.Server
	for i, p := range ports {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
			Cluster: server.ClusterOpts{Name: "siaga112-test", Host: "127.0.0.1", Port: p},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(waitMax) {
			t.Fatalf("server n%d not ready", i+1)
		}
		srvs = append(srvs, s)
	}
	// A meta leader alone is not enough: a stream with replicas 3 is placed
	// only on peers the leader knows to be online with current stats, and
	// placing it earlier fails with "no suitable peers for placement".
	eventually(t, "JetStream meta leader seeing all peers online", func() bool {
		for _, s := range srvs {
			if s.JetStreamIsLeader() {
				return len(s.JetStreamClusterPeers()) == len(srvs)
			}
		}
		return false
	})
	return srvs
}

func clientURLs(srvs []*server.Server) string {
	var urls []string
	for _, s := range srvs {
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

// clusterConfig points siaga112 at url with replicas 3, and gives each
// instance its own spool.
func clusterConfig(t *testing.T, url string) configs.Config {
	cfg := testConfig(t)
	cfg.NATS.URL = url
	cfg.NATS.Stream.Replicas = 3
	return cfg
}

// streamLeader returns the server that leads the stream's replicas.
func streamLeader(t *testing.T, js jetstream.JetStream, srvs []*server.Server) *server.Server {
	t.Helper()
	var leader *server.Server
	eventually(t, "stream leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, events.StreamName)
		if err != nil {
			return false
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		for _, s := range srvs {
			if s.Name() == info.Cluster.Leader {
				leader = s
				return true
			}
		}
		return false
	})
	return leader
}

// TestClusterNodeLoss runs the workers and two IVR instances (each with its
// own simulated Asterisk) against a three-node cluster with replicas 3,
// stops the node leading the event stream in the middle of the load, and
// checks that every call ended as scripted, no event was lost, the
// pranksters were blocked and a block is still served afterwards.
func TestClusterNodeLoss(t *testing.T) {
	srvs := startCluster(t)
	url := clientURLs(srvs)
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()

	workers, err := stack.New(ctx, stack.Options{
		Config: clusterConfig(t, url), Log: testLogger(t), Name: "workers",
		Roles: stack.Roles{Blocklist: true, Reports: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorkers := context.WithCancel(context.Background())
	workersDone := make(chan error, 1)
	go func() { workersDone <- workers.Run(wctx) }()
	t.Cleanup(func() {
		stopWorkers()
		if err := <-workersDone; err != nil {
			t.Errorf("workers: %v", err)
		}
	})

	probe := NewProbe()
	var ivrs []*SimEnv
	for i := range 2 {
		e, err := StartSim(ctx, SimOptions{
			Config: clusterConfig(t, url), Roles: stack.Roles{IVR: true}, ClockScale: testScale,
			SoundsDir: soundsDir(t), Log: testLogger(t), Name: fmt.Sprintf("ivr-%d", i+1), Probe: probe,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := e.Stop(); err != nil {
				t.Errorf("ivr %d: %v", i+1, err)
			}
		})
		ivrs = append(ivrs, e)
	}

	leader := streamLeader(t, workers.Bus().JS, srvs)
	// Stop the stream's leader once a third of the calls are classified.
	const calls = 60
	lost := make(chan string, 1)
	go func() {
		for probe.Counts().Classified < calls/3 {
			time.Sleep(5 * time.Millisecond)
		}
		name := leader.Name()
		leader.Shutdown()
		lost <- name
	}()

	o := Options{
		Target: scaledTarget(ivrs[0].Sim, ivrs[1].Sim), Probe: probe, Bus: workers.Bus(),
		Mix: Mix{KindFire: 2, KindMedical: 2, KindOperator: 1, KindVoice: 1, KindSilentHelp: 1,
			KindSilent: 1, KindChild: 2, KindInvalid: 1, KindPrankster: 5},
		Calls: calls, Concurrency: 20, Rate: 15, PranksterPool: 2,
		CallTimeout: waitMax, SettleTimeout: waitMax, ClockScale: testScale,
		IVRStats: func() ari.Stats {
			a, b := ivrs[0].Stack.IVR().Stats(), ivrs[1].Stack.IVR().Stats()
			a.ActiveCalls += b.ActiveCalls
			a.Events.InboxFull += b.Events.InboxFull
			a.Events.Unrouted += b.Events.Unrouted
			a.Events.Undecodable += b.Events.Undecodable
			return a
		},
		PublisherStats: func() events.PublisherStats {
			a, b := ivrs[0].Stack.Publisher().Stats(), ivrs[1].Stack.Publisher().Stats()
			a.Spooled += b.Spooled
			a.Dropped += b.Dropped
			return a
		},
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	select {
	case name = <-lost:
	case <-time.After(waitMax):
		t.Fatal("the stream leader was never stopped")
	}
	t.Logf("stopped %s mid-load; %d calls, %d events (%d spooled), outcomes %v", name, s.Finished, s.Events, s.Spooled, s.Outcomes)
	if s.Errors != 0 {
		t.Fatalf("%d errors: %v", s.Errors, s.ErrorSamples)
	}
	if s.Finished != calls || s.Lost != 0 || s.Dropped != 0 || s.Stored != s.Events || s.Events < calls*4 {
		t.Fatalf("finished %d, events published %d stored %d lost %d dropped %d", s.Finished, s.Events, s.Stored, s.Lost, s.Dropped)
	}

	// The blocks were made (and survived the node loss), both IVRs' caches
	// hold them, and a blocked prankster calling now is warned and let go.
	for i := range 2 {
		eventually(t, "prankster blocked in the store", func() bool {
			r, err := workers.Store().Get(ctx, PranksterNumber(i))
			return err == nil && r.Blocked(time.Now())
		})
		for _, e := range ivrs {
			eventually(t, "IVR cache sees the block", func() bool {
				_, b := e.Stack.Cache().Check(PranksterNumber(i), time.Now())
				return b
			})
		}
	}
	after, err := Run(context.Background(), Options{
		Target: scaledTarget(ivrs[1].Sim), Probe: probe, Bus: workers.Bus(),
		Mix: Mix{KindPrankster: 1}, Calls: 1, Rate: 10, PranksterPool: 2, RunID: 1,
		CallTimeout: waitMax, SettleTimeout: waitMax,
	})
	if err != nil {
		t.Fatal(err)
	}
	if after.Errors != 0 || after.Outcomes[events.OutcomeBlockedOverride] != 1 {
		t.Fatalf("blocked prankster after the node loss: outcomes %v, errors %v", after.Outcomes, after.ErrorSamples)
	}
}

// TestNATSRestart stops the only NATS server in the middle of the load and
// starts it again on the same store: the IVR keeps taking calls, spools
// their events, and replays them; none is lost.
func TestNATSRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePorts(t, 1)[0]
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	emb, err := events.StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	restarted := make(chan *events.Embedded, 1)
	t.Cleanup(func() {
		select {
		case e := <-restarted:
			e.Shutdown()
		default:
			emb.Shutdown()
		}
	})
	cfg := testConfig(t)
	cfg.NATS.URL = "nats://" + listen
	cfg.NATS.Embedded = configs.Embedded{}
	e := startSim(t, cfg)

	const calls = 40
	go func() {
		for e.Probe.Counts().Classified < calls/4 {
			time.Sleep(5 * time.Millisecond)
		}
		emb.Shutdown()
		// Calls go on while NATS is away; their events wait in the spool.
		time.Sleep(500 * time.Millisecond)
		again, err := events.StartEmbedded(configs.Embedded{Listen: listen, DataDir: dir}, testLogger(t))
		if err != nil {
			t.Errorf("restart nats: %v", err)
			return
		}
		restarted <- again
	}()
	o := e.Options()
	o.Mix = Mix{KindFire: 2, KindOperator: 1, KindVoice: 1, KindSilent: 1, KindChild: 2, KindInvalid: 1}
	o.Calls, o.Concurrency, o.Rate = calls, 20, 20
	o.CallTimeout, o.SettleTimeout = waitMax, waitMax
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case again := <-restarted:
		restarted <- again
	case <-time.After(waitMax):
		t.Fatal("NATS was not restarted")
	}
	t.Logf("%d calls, %d events, %d spooled, outcomes %v", s.Finished, s.Events, s.Spooled, s.Outcomes)
	if s.Errors != 0 {
		t.Fatalf("%d errors: %v", s.Errors, s.ErrorSamples)
	}
	if s.Finished != calls || s.Lost != 0 || s.Dropped != 0 || s.Stored != s.Events || s.Spooled == 0 {
		t.Fatalf("finished %d, events published %d stored %d lost %d dropped %d spooled %d",
			s.Finished, s.Events, s.Stored, s.Lost, s.Dropped, s.Spooled)
	}
}

// scaledTarget places calls on sims running at testScale, whose callers'
// patience in the operators' queue is in the callers' time too.
func scaledTarget(sims ...*arisim.Server) *SimTarget {
	t := NewSimTarget(sims...)
	t.ClockScale = testScale
	return t
}
