// Package arisim is a simulated Asterisk 22 ARI server, a test double for the IVR's
// tests, the demo and the load tool (Debian 12 has no Asterisk and CI has no Docker).
//
// It serves ARI REST under /ari and the events WebSocket at /ari/events with
// Asterisk's paths, parameters, status codes and JSON models (see
// ../shared/asterisk-ari-22), so the real github.com/CyCoreSystems/ari/v6 native
// client cannot tell it from Asterisk. Scripted callers (Server.Call) place calls
// into the application and report what they heard; fault injection drops the
// WebSocket, delays or fails REST requests, or restarts the "process".
//
// Behaviour modelled on Asterisk that a client may notice:
//   - play, record and continue commands run one after another per channel, as on the
//     channel's Stasis thread: a recording or a continue issued during a playback
//     starts when the playback ends; hangup and DELETE /playbacks interrupt at once;
//   - a stopped playback finishes with state "done", a missing sound with "failed",
//     a playback cut by hangup with "failed"; an unknown media scheme, a missing
//     recording: or a bad number: gets PlaybackStarted and never PlaybackFinished;
//   - a hangup ends with ChannelHangupRequest (cause 32 and soft when the app hung
//     up, the Q.850 cause from the caller) and StasisEnd, with no ChannelDestroyed,
//     and StasisEnd after a continue still shows the Stasis() dialplan line;
//   - ChannelTalkingFinished comes after the detector's silence threshold (2500 ms
//     default, or TALK_DETECT(set)=<ms>) with the talking time as duration;
//   - DTMF and talking before the call is answered (or progress indicated) are lost;
//   - operations on a channel out of Stasis answer 409, on a gone channel 404, and on
//     a Down/Ringing channel 412 where Asterisk checks the state;
//   - events raised while an application has no WebSocket are lost;
//   - after a continue an application hears the channel only if it subscribed to it
//     (POST /applications/{app}/subscription), and then until ChannelDestroyed;
//   - a continue into the operators' context joins a simulated queue (SetQueue) that
//     rings its members as Asterisk's app_queue does with asterisk-conf's queues.conf
//     (ringall, ringinuse=no, joinempty/leavewhenempty, timeout and overflow), with
//     Dial events, ChannelVarset and device states (GET /deviceStates,
//     DeviceStateChanged).
//
// Scripted callees (Server.SetCallee) play the far end of an originate:
// the originating application is subscribed to the new channel and hears
// it ring (Dial, ChannelStateChange), then StasisStart with the appArgs when
// it answers, or ChannelDestroyed with cause 19 when the originate's timeout
// runs out, 17 when busy, or the given cause when the call fails; see
// callee.go for the Asterisk code paths this follows.
//
// Known differences: synchronous commands (answer, variables) do not wait for a
// running playback as Asterisk's command queue may make them; bridges do not mix
// audio; there are no endpoints, mailboxes, sounds or snoop/external media
// resources.
package arisim
