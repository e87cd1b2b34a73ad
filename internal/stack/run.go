package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ErrRunTwice is returned by Run when it is called a second time.
var ErrRunTwice = errors.New("stack: Run called twice")

// catchUpPoll is how often the shutdown checks the workers' lag.
const catchUpPoll = 20 * time.Millisecond

// Run runs every role until ctx ends or a role fails for good, then shuts
// down in order (see the package comment) and releases everything. It
// returns nil after a clean stop, else the roles' errors joined.
func (s *Stack) Run(ctx context.Context) error {
	s.closeMu.Lock()
	if s.ran || s.closed {
		s.closeMu.Unlock()
		return ErrRunTwice
	}
	s.ran = true
	s.closeMu.Unlock()
	defer s.release()

	// runCtx ends with ctx or when any role fails; the IVR drains on it.
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
	// events of the calls being drained.
	base := context.WithoutCancel(ctx)
	workerCtx, stopWorkers := context.WithCancel(base)
	defer stopWorkers()
	var workers sync.WaitGroup
	if s.blWorker != nil {
		workers.Go(func() {
			if err := s.blWorker.Run(workerCtx); workerCtx.Err() == nil {
				report("blocklist worker", orStopped(err))
			}
		})
	}
	if s.rWorker != nil {
		workers.Go(func() {
			if err := s.rWorker.Run(workerCtx); workerCtx.Err() == nil {
				report("reports worker", orStopped(err))
			}
		})
	}
	cacheCtx, stopCache := context.WithCancel(base)
	defer stopCache()
	var cacheDone sync.WaitGroup
	if s.cache != nil {
		cacheDone.Go(func() {
			if err := s.cache.Run(cacheCtx); err != nil && cacheCtx.Err() == nil {
				report("blocklist cache", err)
			}
		})
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

// waitCatchUp waits, at most catchUpTimeout, until the workers have nothing
// pending, so the last calls are counted and their strikes applied before
// the workers stop.
func (s *Stack) waitCatchUp(ctx context.Context) {
	type lagger interface {
		Lag(ctx context.Context) (uint64, error)
	}
	var ls []lagger
	if s.blWorker != nil {
		ls = append(ls, s.blWorker)
	}
	if s.rWorker != nil {
		ls = append(ls, s.rWorker)
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
