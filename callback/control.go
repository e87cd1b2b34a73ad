package callback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
)

// Control is the supervisors' side of the call-backs (the console): cancel
// one, switch them off and on for the centre.
type Control struct {
	b book
	// def is callback.enabled: the switch before anyone set it.
	def bool
}

// NewControl builds a Control over the bucket; events it publishes
// (callback.done of a cancel) name node.
func NewControl(store Store, pub Publisher, defaultOn bool, node string, log *slog.Logger) *Control {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Control{b: book{store: store, pub: pub, node: node, log: log}, def: defaultOn}
}

// MaxNote bounds a cancel's reason.
const MaxNote = 200

// Cancel ends the open call-back of number that callID belongs to, as
// supervisor by did with note as the reason. A number with no open
// call-back for that call is ErrNoCallback.
func (c *Control) Cancel(ctx context.Context, callID, number, by, note string) error {
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return errors.New("callback: a cancel needs a reason")
	case len(note) > MaxNote:
		return fmt.Errorf("callback: the reason is %d characters (at most %d)", len(note), MaxNote)
	}
	k, ok := Key(number)
	if !ok {
		return fmt.Errorf("callback: %w (number %q is not E.164)", ErrNoCallback, number)
	}
	found := false
	err := c.b.change(ctx, k, func(cur *Record) (*Record, []emit) {
		if cur == nil || !cur.Open() || !cur.Has(callID) {
			return nil, nil
		}
		found = true
		return cur, []emit{finish(cur, time.Now(), events.CallbackDone{Reason: events.DoneCancelled, By: by, Note: note})}
	})
	if err != nil {
		return err
	}
	if !found {
		return ErrNoCallback
	}
	return nil
}

// SetEnabled switches automatic call-backs on or off for the centre.
func (c *Control) SetEnabled(ctx context.Context, on bool, by string) error {
	b, err := json.Marshal(events.CallbackSwitch{Enabled: on, By: by, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	for range maxTries {
		ent, err := c.b.store.Get(ctx, SwitchKey)
		switch {
		case errors.Is(err, events.ErrNoRecord):
			_, err = c.b.store.Create(ctx, SwitchKey, b)
		case err != nil:
			return err
		default:
			_, err = c.b.store.Update(ctx, SwitchKey, b, ent.Revision)
		}
		if errors.Is(err, events.ErrRevision) {
			continue
		}
		return err
	}
	return fmt.Errorf("callback: the switch kept changing")
}

// Enabled reports the centre's switch: as a supervisor last set it, else
// callback.enabled.
func (c *Control) Enabled(ctx context.Context) (bool, error) {
	sw, err := c.Switch(ctx)
	if err != nil {
		return c.def, err
	}
	return sw.Enabled, nil
}

// Switch returns the switch with who set it and when (By empty: never set,
// the configured default).
func (c *Control) Switch(ctx context.Context) (events.CallbackSwitch, error) {
	ent, err := c.b.store.Get(ctx, SwitchKey)
	if errors.Is(err, events.ErrNoRecord) {
		return events.CallbackSwitch{Enabled: c.def}, nil
	}
	if err != nil {
		return events.CallbackSwitch{Enabled: c.def}, err
	}
	var sw events.CallbackSwitch
	if err := json.Unmarshal(ent.Value, &sw); err != nil {
		return events.CallbackSwitch{Enabled: c.def}, fmt.Errorf("callback: switch: %w", err)
	}
	return sw, nil
}
