package ari

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/flows"
)

// ArgRecordIncident is the Stasis argument of the recording extension
// (asterisk-conf: exten => *112,1,Stasis(siaga112,record-incident) in
// [from-sip], which only the centre's own phones reach). Such a channel is
// not a 112 caller: it records an incident announcement and publishes no
// call events.
const ArgRecordIncident = "record-incident"

// AnnouncementRecorder records an incident announcement over a Call
// (*flows.Flow).
type AnnouncementRecorder interface {
	RecordAnnouncement(ctx context.Context, call flows.Call, now time.Time) (string, error)
}

// recordsIncident reports whether a StasisStart is the recording
// extension's.
func recordsIncident(ev *ariv6.StasisStart) bool {
	return len(ev.Args) > 0 && ev.Args[0] == ArgRecordIncident
}

// runRecorder is the session goroutine of a recording call. It shares the
// session's bookkeeping (router, drain) with run, but is not a 112 call:
// any failure simply hangs up.
func (s *session) runRecorder(v *IVR) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("recording session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
		s.cancel(nil)
		s.node.router.remove(s)
		v.sessions.Done()
	}()
	c := &call{s: s, client: s.node.client, key: ariv6.NewKey(ariv6.ChannelKey, s.id),
		timeout: v.ari.RequestTimeout, maxPlayback: v.ivr.MaxPrompt, log: s.log}
	rec, ok := v.flow.(AnnouncementRecorder)
	if !ok || v.draining.Load() {
		s.log.Warn("incident announcement recording not available here; hanging up", "draining", v.draining.Load())
		if err := c.Hangup(s.ctx); err != nil && !errors.Is(err, flows.ErrHangup) {
			s.log.Warn("could not hang up the recording call", "error", err)
		}
		return
	}
	s.log.Info("recording an incident announcement by phone")
	name, err := rec.RecordAnnouncement(s.ctx, c, time.Now())
	if err != nil {
		s.log.Info("incident announcement not kept", "reason", err)
		return
	}
	s.log.Info("incident announcement recorded", "recording", name, "node", s.node.cfg.Name)
}

// DiscardRecording implements flows.Discarder: a recording the supervisor
// threw away is deleted from Asterisk's stored recordings.
//
// It runs whether or not the channel is still there (the supervisor may
// have hung up instead of choosing), so it does not go through the
// channel's request path; the node's transport bounds it by the request
// timeout.
func (c *call) DiscardRecording(_ context.Context, name string) error {
	err := classify("delete recording", c.client.StoredRecording().Delete(ariv6.NewKey(ariv6.StoredRecordingKey, name)))
	if errors.Is(err, ErrChannelGone) {
		// 404: nothing was stored under that name.
		return nil
	}
	return err
}
