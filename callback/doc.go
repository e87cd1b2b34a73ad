// Package callback calls back the callers who gave a sign of a person (a
// menu key, talk, 5 5, a blocked caller's override) and ended before an
// operator answered, until a person is reached.
//
// It has three parts, all over small interfaces:
//
//   - the Scheduler reads the call events (a durable consumer of the calls
//     stream shared by every IVR instance) and keeps one record per number
//     in the call-backs bucket: it plans a call-back for a call.ended with
//     callback: true, holds it while the number is on another call, and
//     ends it when the number reaches an operator, is given a prank
//     verdict, or the dropped call is ticked as handled;
//   - the Placer, one per IVR instance, watches the records and places each
//     attempt that is due, only while an operator of its queue is free and
//     at most callback.max_concurrent at once; it claims the attempt by a
//     compare-and-swap on the record's revision, so that of several IVR
//     instances exactly one places it, and a claim whose instance died runs
//     out (its lease) and is taken over;
//   - Control is what the console uses: cancel one call-back, switch them
//     off and on for the centre.
//
// The decisions (who is called back, when the next attempt is due, what a
// hang-up cause means) are pure functions in policy.go; the ari package
// places the call (Dialer) and the events package stores the records.
package callback
