package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Recording an incident announcement by phone: a supervisor dials the
// recording extension from an operator phone (asterisk-conf: *112 in
// [from-sip], Stasis(siaga112,record-incident)), hears how, speaks the
// announcement, hears it played back and keeps it, records it again or
// throws it away. A kept recording is a stored recording on that Asterisk
// that the console offers as an announcement (recording:<name>).

// RecordingPrefix starts the name of every announcement recorded by phone;
// the console lists the stored recordings with it.
const RecordingPrefix = "siaga112-incident-"

// Announcement recording limits.
const (
	announcementMax     = 60 * time.Second
	announcementSilence = 5 * time.Second
	announcementChoice  = 10 * time.Second
	announcementTries   = 3
)

// Keys of the play-back choice.
const (
	keepKey    = "1"
	againKey   = "2"
	discardKey = "3"
)

// Discarder is a Call that can delete a stored recording it made; a
// recording thrown away by the supervisor is deleted when the Call can.
type Discarder interface {
	DiscardRecording(ctx context.Context, name string) error
}

// ErrNotKept is returned by RecordAnnouncement when nothing was kept.
var ErrNotKept = errors.New("flows: announcement not kept")

// RecordAnnouncement runs the recording call and returns the kept
// recording's name. The call is hung up at the end either way.
func (f *Flow) RecordAnnouncement(ctx context.Context, call Call, now time.Time) (string, error) {
	ts := now.UTC()
	name := fmt.Sprintf("%s%s-%03d", RecordingPrefix, ts.Format("20060102-150405"), ts.Nanosecond()/1e6)
	p := f.cfg.Prompts
	intro, confirm, saved := f.sounds(p.IncidentRecord), f.sounds(p.IncidentRecordConfirm), f.sounds(p.IncidentRecordSaved)
	kept, err := func() (bool, error) {
		if err := call.Answer(ctx); err != nil {
			return false, err
		}
		for try := 1; try <= announcementTries; try++ {
			if _, err := call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(intro)}); err != nil {
				return false, err
			}
			got, err := call.Record(ctx, RecordSpec{Name: name, MaxDuration: announcementMax, MaxSilence: announcementSilence})
			if err != nil {
				return false, err
			}
			if got == "" {
				continue // nothing was recorded: explain again
			}
			res, err := call.Prompt(ctx, PromptSpec{
				Sounds: slices.Concat([]string{"recording:" + got}, confirm), MaxDigits: 1, FirstDigitTimeout: announcementChoice,
			})
			if err != nil {
				return false, err
			}
			switch res.Digits {
			case keepKey:
				if _, err := call.Prompt(ctx, PromptSpec{Sounds: slices.Clone(saved)}); err != nil && !errors.Is(err, ErrHangup) {
					f.log.Warn("announcement kept; its confirmation did not play", "recording", got, "err", err)
				}
				return true, nil
			case againKey:
				continue
			default:
				return false, nil
			}
		}
		return false, nil
	}()
	if !kept {
		if d, ok := call.(Discarder); ok {
			if derr := d.DiscardRecording(context.WithoutCancel(ctx), name); derr != nil && !errors.Is(derr, ErrHangup) {
				f.log.Warn("discarded announcement not deleted", "recording", name, "err", derr)
			}
		}
	}
	hctx, cancel := handoffContext(ctx)
	defer cancel()
	if herr := call.Hangup(hctx); herr != nil && !errors.Is(herr, ErrHangup) {
		f.log.Warn("could not hang up the recording call", "err", herr)
	}
	switch {
	case err != nil && errors.Is(err, ErrHangup) && !kept:
		return "", fmt.Errorf("%w: the caller hung up", ErrNotKept)
	case err != nil && !kept:
		return "", err
	case !kept:
		return "", ErrNotKept
	}
	return name, nil
}
