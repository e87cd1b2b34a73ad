package arisim_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"
	"github.com/CyCoreSystems/ari/v6/client/native"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/internal/testkit"
)

const (
	testUser = "siaga"
	testPass = "secret"
	testApp  = "siaga112"
	waitMax  = 15 * time.Second
)

// startSim starts a sim on a loopback port and closes it when the test ends.
func startSim(t testing.TB, opts arisim.Options) *arisim.Server {
	t.Helper()
	if opts.Username == "" {
		opts.Username, opts.Password = testUser, testPass
	}
	if opts.Application == "" {
		opts.Application = testApp
	}
	sim := arisim.New(opts)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close sim: %v", err)
		}
	})
	return sim
}

// connect opens the real ARI client against the sim.
func connect(t testing.TB, sim *arisim.Server, app string) ariv6.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := native.ConnectWithContext(ctx, &native.Options{
		Application:  app,
		URL:          sim.URL(),
		WebsocketURL: sim.WSURL(),
		Username:     testUser,
		Password:     testPass,
	})
	if err != nil {
		cancel()
		t.Fatalf("connect: %v", err)
	}
	// Cancelling the context stops the client's listen loop. Client.Close is not
	// called: it writes the client's connected flag without synchronisation while the
	// listen goroutine writes it too, which the race detector reports.
	t.Cleanup(cancel)
	// The client reports "connected" before Asterisk has registered the app; wait
	// until the sim sees the application, as a real deployment waits for StasisStart.
	eventually(t, "application registered", func() bool {
		apps, err := cl.Application().List(nil)
		if err != nil {
			return false
		}
		for _, k := range apps {
			if k.ID == app {
				return true
			}
		}
		return false
	})
	return cl
}

// eventually polls cond until it holds or the generous deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, waitMax, what, cond)
}

// recorder keeps every event the client receives.
type recorder struct {
	mu  sync.Mutex
	evs []ariv6.Event
}

func record(t testing.TB, cl ariv6.Client) *recorder {
	t.Helper()
	r := &recorder{}
	sub := cl.Bus().Subscribe(nil, ariv6.Events.All)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range sub.Events() {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		sub.Cancel()
		<-done
	})
	return r
}

// wait returns the first event matching pred, waiting for it if needed.
func (r *recorder) wait(t testing.TB, what string, pred func(ariv6.Event) bool) ariv6.Event {
	t.Helper()
	var found ariv6.Event
	eventually(t, what, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.evs {
			if pred(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// drained waits until the client has received every event the sim has queued,
// so that a check for an event that must not come does not race its delivery.
// The recorder must have been started before the sim sent its first event.
func (r *recorder) drained(t testing.TB, sim *arisim.Server) {
	t.Helper()
	eventually(t, "every queued event delivered", func() bool {
		r.mu.Lock()
		n := int64(len(r.evs))
		r.mu.Unlock()
		return n == sim.Stats().EventsSent
	})
}

// types lists the event types seen for a channel, in order.
func (r *recorder) types(channelID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		// Media events carry only their own key; their target names the channel.
		target := ""
		switch m := e.(type) {
		case *ariv6.PlaybackStarted:
			target = m.Playback.TargetURI
		case *ariv6.PlaybackContinuing:
			target = m.Playback.TargetURI
		case *ariv6.PlaybackFinished:
			target = m.Playback.TargetURI
		case *ariv6.RecordingStarted:
			target = m.Recording.TargetURI
		case *ariv6.RecordingFinished:
			target = m.Recording.TargetURI
		case *ariv6.RecordingFailed:
			target = m.Recording.TargetURI
		}
		if target == "channel:"+channelID {
			out = append(out, e.GetType())
			continue
		}
		for _, k := range e.Keys() {
			if k.Kind == ariv6.ChannelKey && k.ID == channelID {
				out = append(out, e.GetType())
				break
			}
		}
	}
	return out
}

func ofType(typ string) func(ariv6.Event) bool {
	return func(e ariv6.Event) bool { return e.GetType() == typ }
}

// serveApp runs handler for every StasisStart, each in its own goroutine.
func serveApp(t testing.TB, cl ariv6.Client, handler func(h *ariv6.ChannelHandle, st *ariv6.StasisStart)) {
	t.Helper()
	sub := cl.Bus().Subscribe(nil, ariv6.Events.StasisStart)
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range sub.Events() {
			st, ok := e.(*ariv6.StasisStart)
			if !ok {
				continue
			}
			h := cl.Channel().Get(st.Key(ariv6.ChannelKey, st.Channel.ID))
			wg.Add(1)
			go func() {
				defer wg.Done()
				handler(h, st)
			}()
		}
	}()
	t.Cleanup(func() {
		sub.Cancel()
		<-done
		wg.Wait()
	})
}

// code extracts the HTTP status from a native client error.
func code(err error) int {
	var re native.RequestError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.As(e, &re) {
			return re.Code()
		}
		if c, ok := e.(interface{ Cause() error }); ok && c.Cause() != nil {
			if n := code(c.Cause()); n != 0 {
				return n
			}
		}
	}
	return 0
}

// waitDone waits for a scripted call to end and returns the caller's view.
func waitDone(t testing.TB, h *arisim.CallHandle) arisim.CallerView {
	t.Helper()
	select {
	case <-h.Done():
		return h.Result()
	case <-time.After(waitMax):
		t.Fatalf("call %s did not end; view so far: %+v", h.ID(), h.Result())
		return arisim.CallerView{}
	}
}

// playAndWait plays media on h and waits for its PlaybackFinished.
func playAndWait(h *ariv6.ChannelHandle, id, media string) (*ariv6.PlaybackFinished, error) {
	// PlaybackFinished carries only the playback's key, so subscribe on the playback
	// handle before the play request is sent, as the library's ext/play does.
	pb, err := h.StagePlay(id, media)
	if err != nil {
		return nil, fmt.Errorf("stage play %s: %w", media, err)
	}
	sub := pb.Subscribe(ariv6.Events.PlaybackFinished)
	defer sub.Cancel()
	if err := pb.Exec(); err != nil {
		return nil, fmt.Errorf("play %s: %w", media, err)
	}
	timeout := time.After(waitMax)
	for {
		select {
		case e := <-sub.Events():
			if pf, ok := e.(*ariv6.PlaybackFinished); ok && pf.Playback.ID == id {
				return pf, nil
			}
		case <-timeout:
			return nil, fmt.Errorf("no PlaybackFinished for %s", id)
		}
	}
}
