package web

import (
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// The accounts file is followed with fsnotify, so `siaga112 user rm` or
// `user passwd` ends that person's sessions within a second, not at the
// next sign-in of anybody. The directory is watched, not the file: `user`
// saves by writing a temporary file and renaming it over the old one,
// which ends a watch on the old file. Where the directory cannot be
// watched (it does not exist yet, or inotify is out of watches), the file
// is looked at every pollEvery instead.

// Timing of the accounts file's watch.
const (
	// settle gathers the burst of events one save makes (create, write,
	// chmod, rename) into one read.
	settle = 100 * time.Millisecond
	// pollEvery is how often the file is looked at without a watch.
	pollEvery = 500 * time.Millisecond
)

// accountsWatch tells the loop when the accounts file may have changed.
type accountsWatch struct {
	file string
	w    *fsnotify.Watcher
	poll *time.Ticker
	out  chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	// force: a watch's event means a change even within the same
	// modification time; a poll looks at the time.
	force bool
}

// watchAccounts starts following the accounts file (nothing without one).
func (c *Console) watchAccounts() *accountsWatch {
	a := &accountsWatch{out: make(chan struct{}, 1), done: make(chan struct{})}
	if c.o.AccountsFile == "" {
		return a
	}
	a.file = filepath.Clean(c.o.AccountsFile)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(a.file)); err != nil {
			_ = w.Close()
		}
	}
	if err != nil {
		c.log.Warn("accounts file not watched; looking at it every half second instead", "file", a.file, "err", err)
		a.poll = time.NewTicker(pollEvery)
		a.wg.Go(a.polling)
		return a
	}
	a.w, a.force = w, true
	a.wg.Go(func() { a.watching(c) })
	return a
}

// changed delivers a tick after the file may have changed.
func (a *accountsWatch) changed() <-chan struct{} { return a.out }

func (a *accountsWatch) signal() {
	select {
	case a.out <- struct{}{}:
	default:
	}
}

func (a *accountsWatch) polling() {
	for {
		select {
		case <-a.done:
			return
		case <-a.poll.C:
			a.signal()
		}
	}
}

func (a *accountsWatch) watching(c *Console) {
	var settled <-chan time.Time
	for {
		select {
		case <-a.done:
			return
		case ev, ok := <-a.w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) == a.file {
				settled = time.After(settle)
			}
		case err, ok := <-a.w.Errors:
			if !ok {
				return
			}
			// An overflow may have lost the file's event: read it anyway.
			c.log.Warn("accounts file watch", "err", err)
			settled = time.After(settle)
		case <-settled:
			settled = nil
			a.signal()
		}
	}
}

// close stops the watch and waits for its goroutine.
func (a *accountsWatch) close() {
	close(a.done)
	a.wg.Wait()
	if a.w != nil {
		_ = a.w.Close()
	}
	if a.poll != nil {
		a.poll.Stop()
	}
}
