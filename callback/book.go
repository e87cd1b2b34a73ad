package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Store is the call-backs bucket; *events.CallbackStore implements it.
type Store interface {
	Get(ctx context.Context, key string) (events.KVEntry, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
}

// Publisher publishes events; *events.Publisher implements it (it spools
// what JetStream does not take at once).
type Publisher interface {
	Publish(ctx context.Context, e events.Envelope) error
}

// Blocklist tells whether a number is blocked now; the IVR's blocklist
// cache implements it.
type Blocklist interface {
	Check(number string, now time.Time) (until time.Time, blocked bool)
}

// ErrNoCallback: the number has no open call-back for that call.
var ErrNoCallback = errors.New("no open call-back for that call")

// maxTries bounds the compare-and-swap retries of one change: each retry
// means another writer changed the record in between, which happens a
// few times at most (the scheduler, one placer and a supervisor).
const maxTries = 8

// book writes records with compare-and-swap and publishes what each change
// says, once the change landed.
type book struct {
	store Store
	pub   Publisher
	node  string
	log   *slog.Logger
}

// emit is an event to publish once a change is stored.
type emit struct {
	t    events.Type
	data any
}

// change reads a record, lets fn decide, and writes what fn returns with
// the revision read; on a conflict it reads again. fn gets nil when the
// key holds no (usable) record and returns nil to change nothing.
func (b *book) change(ctx context.Context, key string, fn func(cur *Record) (*Record, []emit)) error {
	for range maxTries {
		var cur *Record
		var rev uint64
		ent, err := b.store.Get(ctx, key)
		switch {
		case errors.Is(err, events.ErrNoRecord):
		case err != nil:
			return err
		default:
			rev = ent.Revision
			if r, derr := decode(ent.Value); derr == nil {
				cur = &r
			} else {
				b.log.Warn("call-back record unreadable; replaced", "key", key, "error", derr)
			}
		}
		next, out := fn(cur)
		if next == nil {
			return nil
		}
		if rev == 0 {
			_, err = b.store.Create(ctx, key, encode(*next))
		} else {
			_, err = b.store.Update(ctx, key, encode(*next), rev)
		}
		if errors.Is(err, events.ErrRevision) {
			continue
		}
		if err != nil {
			return err
		}
		b.publish(ctx, *next, out)
		return nil
	}
	return fmt.Errorf("callback: %s kept changing under %d tries", key, maxTries)
}

// publish sends the events of one stored change, on the record's call id
// and caller.
func (b *book) publish(ctx context.Context, r Record, out []emit) {
	for _, o := range out {
		env, err := events.New(o.t, r.CallID, b.node, r.Caller, o.data)
		if err != nil {
			b.log.Error("call-back event not built", "type", o.t, "error", err)
			continue
		}
		if err := b.pub.Publish(context.WithoutCancel(ctx), env); err != nil {
			b.log.Error("call-back event not published", "type", o.t, "call_id", r.CallID, "error", err)
		}
	}
}

// finish closes a record: StateDone with why, and the callback.done event.
func finish(r *Record, now time.Time, d events.CallbackDone) emit {
	d.Attempts = r.placed()
	r.State, r.Done, r.DoneAt = StateDone, &d, now
	r.Placer, r.LeaseUntil = "", time.Time{}
	return emit{events.TypeCallbackDone, d}
}
