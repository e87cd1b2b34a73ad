package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siaga112/siaga112/health"
)

// ErrRunTwice is returned by Run when it is called a second time.
var ErrRunTwice = errors.New("stack: Run called twice")

// catchUpPoll is how often the shutdown checks the workers' lag.
const catchUpPoll = 20 * time.Millisecond

// Run runs every role until ctx ends or the IVR or the HTTP listener fails,
// then shuts down in order (see the package comment) and releases
// everything. The workers and the blocklist cache never end a Run: they are
// restarted when they fail (see supervise). It returns nil after a clean
// stop, else the roles' errors joined.
func (s *Stack) Run(ctx context.Context) error {
	s.closeMu.Lock()
	if s.ran || s.closed {
		s.closeMu.Unlock()
		return ErrRunTwice
	}
	s.ran = true
	s.closeMu.Unlock()
	defer s.release()
	s.running.Store(true)
	defer s.running.Store(false)

	// runCtx ends with ctx or when the IVR or the HTTP listener fails; the
	// IVR drains on it.
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var (
		errMu sync.Mutex
		errs  []error
	)
	report := func(role string, err error) {
		if err == nil {
			return
		}
		err = fmt.Errorf("%s: %w", role, err)
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
		s.log.Error("role stopped; shutting down", "role", role, "error", err)
		fail(err)
	}

	// The workers and the cache outlive runCtx on purpose: they must see the
	// events of the calls being drained. They are supervised: a role that
	// fails is restarted with backoff and shows as degraded in /healthz, and
	// never stops the IVR (see supervise).
	base := context.WithoutCancel(ctx)
	workerCtx, stopWorkers := context.WithCancel(base)
	defer stopWorkers()
	var workers sync.WaitGroup
	if s.roles.Blocklist {
		workers.Go(func() { s.supervise(workerCtx, RoleBlocklistWorker, s.runBlocklist) })
	}
	if s.roles.Reports {
		workers.Go(func() { s.supervise(workerCtx, RoleReports, s.runReports) })
	}
	if s.cbScheduler != nil {
		workers.Go(func() { s.supervise(workerCtx, RoleCallbackScheduler, s.runCallbackScheduler) })
		workers.Go(func() { s.supervise(workerCtx, RoleCallbackPlacer, s.cbPlacer.Run) })
	}
	cacheCtx, stopCache := context.WithCancel(base)
	defer stopCache()
	var cacheDone sync.WaitGroup
	if s.cache != nil {
		cacheDone.Go(func() { s.supervise(cacheCtx, RoleBlocklistCache, s.cache.Run) })
	}
	if s.incidents != nil {
		cacheDone.Go(func() { s.supervise(cacheCtx, RoleIncidentWatch, s.incidents.Run) })
	}
	httpDone := make(chan struct{})
	if s.hs != nil {
		go func() {
			defer close(httpDone)
			if err := s.hs.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				report("http", err)
			}
		}()
		s.log.Info("http listening", "addr", s.ln.Addr().String())
	} else {
		close(httpDone)
	}

	if s.ivr != nil {
		// Run returns once the calls in progress were finished or put
		// through and each of their events handed to the publisher.
		report("ivr", s.ivr.Run(runCtx))
		// An IVR stopped by IVR.Stop has drained while ctx is still live:
		// the other roles keep serving until ctx ends, so the events of
		// the drained calls reach the workers and the dashboard (the demo
		// stops its callers this way).
	}
	<-runCtx.Done()
	s.log.Info("shutting down")

	if s.pub != nil {
		s.closePublisher(ctx)
	}
	s.waitCatchUp(base)
	stopWorkers()
	workers.Wait()

	if s.hs != nil {
		hctx, cancel := context.WithTimeout(base, httpShutdownTimeout)
		if err := s.hs.Shutdown(hctx); err != nil {
			report("http shutdown", err)
		}
		cancel()
	}
	<-httpDone
	stopCache()
	cacheDone.Wait()
	s.log.Info("stopped")
	errMu.Lock()
	defer errMu.Unlock()
	return errors.Join(errs...)
}

// errWorkerStopped reports a worker whose Run returned nil before it was
// asked to stop.
var errWorkerStopped = errors.New("stopped unexpectedly")

func orStopped(err error) error {
	if err == nil {
		return errWorkerStopped
	}
	return err
}

// Names of the supervised roles, as RoleStates and /healthz show them.
const (
	RoleBlocklistWorker = "blocklist_worker"
	RoleReports         = "reports"
	RoleBlocklistCache  = "blocklist_cache"
	RoleIncidentWatch   = "incident_watch"
	// RoleCallbackScheduler plans call-backs from the call events.
	RoleCallbackScheduler = "callback_scheduler"
	// RoleCallbackPlacer places this IVR instance's share of them.
	RoleCallbackPlacer = "callback_placer"
)

// Restart backoff of a supervised role: it doubles from the minimum up to
// the maximum while the role keeps failing, and starts again from the
// minimum once the role ran for roleHealthyAfter. A role that failed less
// than roleHealthyAfter ago shows as degraded even while it runs again, so
// a role that fails at every start is not reported healthy between tries.
const (
	roleBackoffMin   = 500 * time.Millisecond
	roleBackoffMax   = 30 * time.Second
	roleHealthyAfter = time.Minute
	// maxRoleError bounds the error a role state keeps for /healthz.
	maxRoleError = 300
)

// RoleState is what a supervised role is doing, for /healthz.
type RoleState struct {
	// Running is false while the role waits to be restarted.
	Running bool `json:"running"`
	// Restarts counts restarts after a failure.
	Restarts int `json:"restarts"`
	// LastError is the latest failure (cut short), "" if none.
	LastError string `json:"last_error,omitempty"`
	// RetryAt is when a role that is not running is started again.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// LastFailure is when the role last failed.
	LastFailure time.Time `json:"last_failure,omitzero"`
}

// supervise runs a worker role until ctx ends, restarting it with
// exponential backoff whenever it returns early. Before, a worker's failure
// cancelled the whole run: one deleted consumer ("messages iterator
// closed") or one poison event that broke a worker stopped the IVR too, and
// calls in progress were failed over. The IVR does not depend on the
// workers — its events wait in the JetStream stream or the spool — so a
// failing worker is restarted and reported as degraded instead.
func (s *Stack) supervise(ctx context.Context, role string, run func(context.Context) error) {
	backoff := s.backoffMin
	for {
		s.setRole(role, func(st *RoleState) { st.Running, st.RetryAt = true, time.Time{} })
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		err = orStopped(err)
		if time.Since(start) >= s.healthyAfter {
			backoff = s.backoffMin
		}
		msg := err.Error()
		if len(msg) > maxRoleError {
			msg = strings.ToValidUTF8(msg[:maxRoleError], "") + "…"
		}
		s.setRole(role, func(st *RoleState) {
			now := time.Now()
			st.Running, st.Restarts, st.LastError, st.RetryAt, st.LastFailure = false, st.Restarts+1, msg, now.Add(backoff), now
		})
		s.log.Error("role failed; restarting it", "role", role, "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, s.backoffMax)
	}
}

func (s *Stack) setRole(role string, fn func(*RoleState)) {
	s.roleMu.Lock()
	defer s.roleMu.Unlock()
	if s.roleStates == nil {
		s.roleStates = make(map[string]RoleState)
	}
	st := s.roleStates[role]
	fn(&st)
	s.roleStates[role] = st
}

// RoleStates returns the state of every supervised role that has started.
func (s *Stack) RoleStates() map[string]RoleState {
	s.roleMu.Lock()
	defer s.roleMu.Unlock()
	out := make(map[string]RoleState, len(s.roleStates))
	for k, v := range s.roleStates {
		out[k] = v
	}
	return out
}

// rolesCheck is the /healthz check of the supervised roles: degraded while
// any of them waits to be restarted or failed less than healthyAfter ago.
func (s *Stack) rolesCheck() health.Check {
	states := s.RoleStates()
	var down []string
	for name, st := range states {
		if !st.Running || (!st.LastFailure.IsZero() && time.Since(st.LastFailure) < s.healthyAfter) {
			down = append(down, name)
		}
	}
	if len(down) == 0 {
		return health.OK(states)
	}
	slices.Sort(down)
	return health.Degraded(states, "%s failed recently", strings.Join(down, ", "))
}

// waitCatchUp waits, at most catchUpTimeout, until the workers have nothing
// pending, so the last calls are counted and their strikes applied before
// the workers stop.
func (s *Stack) waitCatchUp(ctx context.Context) {
	type lagger interface {
		Lag(ctx context.Context) (uint64, error)
	}
	var ls []lagger
	if w := s.blocklistWorker(); w != nil {
		ls = append(ls, w)
	}
	if w := s.reportsWorker(); w != nil {
		ls = append(ls, w)
	}
	if len(ls) == 0 {
		return
	}
	deadline := time.Now().Add(catchUpTimeout)
	for _, l := range ls {
		for time.Now().Before(deadline) {
			lctx, cancel := context.WithTimeout(ctx, time.Second)
			lag, err := l.Lag(lctx)
			cancel()
			if err != nil || lag == 0 {
				break
			}
			time.Sleep(catchUpPoll)
		}
	}
}
