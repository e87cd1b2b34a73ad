package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/configs"
)

// Target places calls into an IVR.
type Target interface {
	// Name is "sim" or "ari", for the summary.
	Name() string
	// Place starts the caller's call; it returns once the call exists.
	Place(ctx context.Context, c Caller) (Call, error)
}

// Call is one placed call.
type Call interface {
	// ID is the channel id, which is the call id in events.
	ID() string
	// Done is closed when the call is over from the caller's side.
	Done() <-chan struct{}
	// Answer is StasisStart -> answer as the caller saw it, when the
	// target can tell (ok false otherwise).
	Answer() (d time.Duration, ok bool)
	// AnsweredAt is when the caller's line was answered, as the caller
	// saw it, when the target can tell (ok false otherwise).
	AnsweredAt() (t time.Time, ok bool)
	// Hangup makes the caller hang up if the call is not over. The runner
	// calls it after Options.Drain: a caller the drain put through to
	// operators is out of the IVR, and its talk with an operator is not
	// part of the run.
	Hangup()
}

// SimTarget places calls on simulated Asterisks, round-robin. The sim emits
// StasisStart inside Call, so the answer latency is measured from just
// before it to the moment the sim handled the answer request.
type SimTarget struct {
	sims []*arisim.Server
	next atomic.Uint64
	// tag makes channel ids unique across targets: two sims started in the
	// same second would otherwise both number their channels
	// <start time>.1, .2, ...
	tag uint32

	// DropRecordings makes Forget delete a call's stored recordings (its
	// whole-call recording and any the IVR made) from its sim, once the
	// runner has counted the call. A real Asterisk keeps them as files on
	// disk, which a retention job removes; the sim keeps them in this
	// process's memory, where a soak would count them against the IVR.
	// The demo keeps them, as its console plays them.
	DropRecordings bool
	// ClockScale is the sims' ClockScale (StartSim sets it; 0 means 1):
	// a caller's patience in the operators' queue is in callers' time.
	ClockScale float64
	// user, pass and mixMonitor are the sims' credentials and whole-call
	// recording prefix (StartSim sets them); Forget needs them.
	user, pass, mixMonitor string
	// callback and country are the IVR's call-back section and
	// blocklist.default_country (StartSim sets them): a dropped caller's
	// phone is the endpoint the IVR dials to call them back.
	callback configs.Callback
	country  string
}

// NewSimTarget places calls on the given sims in turn.
func NewSimTarget(sims ...*arisim.Server) *SimTarget {
	return &SimTarget{sims: sims, tag: rand.Uint32()}
}

// Name implements Target.
func (t *SimTarget) Name() string { return "sim" }

// Place implements Target.
func (t *SimTarget) Place(ctx context.Context, c Caller) (Call, error) {
	n := t.next.Add(1) - 1
	sim := t.sims[int(n%uint64(len(t.sims)))]
	id := fmt.Sprintf("sim-%08x.%d", t.tag, n)
	if endpoint, ok := t.calleeEndpoint(c); ok {
		// Every sim: the IVR places a call-back from whichever node it
		// picks, not necessarily the one the caller came in on.
		for _, s := range t.sims {
			s.SetCallee(endpoint, dropperCallee(c))
		}
	}
	placed := time.Now()
	h, err := sim.Call(ctx, arisim.Caller{ID: id, Number: c.Number, Dialed: "112", Script: c.SimScript()})
	if err != nil {
		return nil, err
	}
	if c.Patience > 0 {
		go hangUpUnanswered(h, scaled(c.Patience, t.ClockScale))
	}
	return &simCall{h: h, sim: sim, placed: placed}, nil
}

// calleeEndpoint is the endpoint the IVR dials to call c back, and whether
// c's phone answers it: a dropper's, and that of a caller who may give up
// in the queue, since both are called back and both still need help when
// their phone rings. None while call-backs are off.
func (t *SimTarget) calleeEndpoint(c Caller) (string, bool) {
	if !t.callback.On() || (c.Kind != KindDropper && !c.Impatient()) {
		return "", false
	}
	return t.callback.Dial(c.Number, t.country), true
}

// dropperCallee is a dropped caller's phone (or that of a caller who hung
// up in the queue) when the IVR calls back: it
// answers after 2 s; the caller listens a second into the call-back
// prompt, presses 1, waits for an operator and talks with them for Talk,
// as they would have on their own call. Each dropper has a number of its
// own (callers.next), so the callee set for it is theirs alone: one
// call-back per number. The sim keeps every callee set for the rest of
// its life, one small entry per dropped caller.
func dropperCallee(c Caller) arisim.Callee {
	return arisim.Callee{After: 2 * time.Second, Script: []arisim.Step{
		arisim.WaitForPrompt("callback"), arisim.Wait(time.Second), arisim.Press("1"),
		arisim.WaitForOperator(), arisim.Talk(c.Talk), arisim.Hangup(),
	}}
}

// scaled turns callers' time into the sim's wall time.
func scaled(d time.Duration, scale float64) time.Duration {
	if scale <= 0 {
		return d
	}
	return time.Duration(float64(d) * scale)
}

// queuedPoll is how often, at most, hangUpUnanswered looks whether its
// caller has joined a queue yet: the sim tells a caller's state only when
// asked, with a copy of its view. It looks every twentieth of the patience
// when that is longer, so the patience errs by at most 5 % and a load test
// does not spend its CPU asking.
const queuedPoll = 20 * time.Millisecond

// hangUpUnanswered makes the caller hang up once it has waited patience
// (wall time) in the operators' queue with no operator answering; it
// returns when the call is over or an operator answered. Each call with a
// patience has one, which ends with the call.
func hangUpUnanswered(h *arisim.CallHandle, patience time.Duration) {
	poll := time.NewTicker(max(queuedPoll, patience/20))
	defer poll.Stop()
	var queued time.Time
	for queued.IsZero() {
		select {
		case <-h.Done():
			return
		case <-poll.C:
		}
		queued = h.Result().QueuedAt
	}
	wait := time.NewTimer(time.Until(queued.Add(patience)))
	defer wait.Stop()
	select {
	case <-h.Done():
		return
	case <-wait.C:
	}
	if h.Result().Operator == "" {
		h.Hangup()
	}
}

// Forget deletes the call's stored recordings from its sim when
// DropRecordings is set; the runner calls it once the call is counted in
// a run with Options.Forget. The REST API is called in process (no
// connection), and a recording that is not there is no error.
func (t *SimTarget) Forget(c Call) {
	sc, ok := c.(*simCall)
	if !t.DropRecordings || !ok {
		return
	}
	names := sc.h.Result().Recordings
	if t.mixMonitor != "" {
		names = append(names, t.mixMonitor+sc.ID())
	}
	for _, name := range names {
		_ = simREST(sc.sim, http.MethodDelete, "/ari/recordings/stored/"+url.PathEscape(name), t.user, t.pass)
	}
}

// StoredRecordings counts the recordings the sims store, -1 when one
// cannot be listed.
func (t *SimTarget) StoredRecordings() int {
	n := 0
	for _, sim := range t.sims {
		rec := simREST(sim, http.MethodGet, "/ari/recordings/stored", t.user, t.pass)
		var list []json.RawMessage
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &list) != nil {
			return -1
		}
		n += len(list)
	}
	return n
}

// simREST calls the sim's REST API in process.
func simREST(sim *arisim.Server, method, path, user, pass string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.SetBasicAuth(user, pass)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec
}

type simCall struct {
	h      *arisim.CallHandle
	sim    *arisim.Server
	placed time.Time
}

func (c *simCall) ID() string            { return c.h.ID() }
func (c *simCall) Done() <-chan struct{} { return c.h.Done() }
func (c *simCall) Hangup()               { c.h.Hangup() }
func (c *simCall) Answer() (time.Duration, bool) {
	v := c.h.Result()
	if !v.Answered {
		return 0, false
	}
	return v.AnsweredAt.Sub(c.placed), true
}

// AnsweredAt is when the sim handled the answer request: from then on the
// caller hears the IVR.
func (c *simCall) AnsweredAt() (time.Time, bool) {
	v := c.h.Result()
	return v.AnsweredAt, v.Answered
}

// ARITarget originates Local channels on a real Asterisk into the
// siaga112-loadtest context of asterisk-conf/extensions.conf: the ;1 half
// dials 112 and enters Stasis like a caller, the ;2 half plays the script.
// A call is done when its call.ended event is in the stream (the probe):
// for a caller put through, once the channel is gone from Asterisk, after
// the operators' queue and the script's LT_HOLD (or an operator's answer
// and the conversation, when a queue member answers).
type ARITarget struct {
	node   configs.ARINode
	probe  *Probe
	client *http.Client
	runID  uint32
	// Vars are extra originate variables (LT_DELAY, LT_HOLD, ...).
	Vars map[string]string
	// Formats is the originate's formats parameter (default ulaw, the
	// codec of a telephone line). Without it Asterisk gives the Local
	// channel its native slin192 and resamples every frame of media: 7 to
	// 15 times the Asterisk CPU of the same calls (measured on 22.10.1:
	// five silent callers 414 ms/s of CPU without it, 56 ms/s with ulaw),
	// so the load tool would measure the resampler, not the IVR.
	Formats string
	// late counts originates whose answer did not come in time but whose
	// call arrived all the same (LateOriginates).
	late atomic.Int64
	// grace is originateGrace (shorter in tests).
	grace time.Duration
	// conns holds a token per originate in progress: at most
	// OriginateConns at once.
	conns chan struct{}
}

// OriginateConns is the most originates (and so HTTP connections to the
// node) the load tool has in progress at once. Asterisk's http.conf
// sessionlimit (100 by default) counts every HTTP client's connections:
// the IVR's own (ari.max_connections, 64 by default), its events
// WebSocket and these. Placing calls concurrently without this cap, the
// tool opened so many that Asterisk 22.10.1 dropped connections ("HTTP
// session count exceeded 100 sessions"), the IVR's among them, and calls
// failed over to operators because the tool, not the IVR, had used up the
// sessions.
const OriginateConns = 16

// originateGrace is how long Place waits, after an originate whose answer
// did not come, for the call to reach the IVR anyway.
const originateGrace = 10 * time.Second

// LateOriginates is how many originates got no answer in time (the
// client's timeout, ari.request_timeout) and yet made their call, which
// the run then followed like any other. Seen on Asterisk 22.10.1 at 100
// concurrent callers on a saturated 2-core host: the POST /channels timed
// out after 2 s while Asterisk went on and created the channels, whose
// calls ran their whole course in the IVR and the dialplan.
func (t *ARITarget) LateOriginates() int { return int(t.late.Load()) }

// ARIContext is the dialplan context of the load test scripts.
const ARIContext = "siaga112-loadtest"

// NewARITarget originates on node; probe tells when calls end.
func NewARITarget(node configs.ARINode, probe *Probe, timeout time.Duration, runID uint32) *ARITarget {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = OriginateConns+1, OriginateConns+1 // and CallsInAsterisk's
	return &ARITarget{
		node: node, probe: probe, client: &http.Client{Timeout: timeout, Transport: tr}, runID: runID,
		grace: originateGrace, conns: make(chan struct{}, OriginateConns),
	}
}

// Name implements Target.
func (t *ARITarget) Name() string { return "ari" }

// PlacesConcurrently implements concurrentPlacer: an originate waits on
// Asterisk, which answers more slowly the busier it is.
func (t *ARITarget) PlacesConcurrently() bool { return true }

// ErrOriginate is returned (wrapped) when Asterisk refuses an originate.
var ErrOriginate = errors.New("originate refused")

// Place implements Target.
func (t *ARITarget) Place(ctx context.Context, c Caller) (Call, error) {
	script := c.ARIScript()
	id := fmt.Sprintf("lt-%08x-%d", t.runID, c.Seq)
	q := url.Values{}
	q.Set("endpoint", "Local/"+script+"@"+ARIContext)
	q.Set("context", ARIContext)
	q.Set("extension", "112")
	q.Set("priority", "1")
	q.Set("callerId", fmt.Sprintf("\"loadtest %d\" <%s>", c.Seq, c.Number))
	q.Set("channelId", id)
	q.Set("otherChannelId", id+"-script")
	formats := t.Formats
	if formats == "" {
		formats = "ulaw"
	}
	q.Set("formats", formats)
	body, err := json.Marshal(map[string]any{"variables": t.Vars})
	if err != nil {
		return nil, err
	}
	// The wait for a connection is not part of the request's timeout.
	select {
	case t.conns <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-t.conns }()
	// Register before the call exists, so the end cannot be missed.
	ended := t.probe.Ended(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(t.node.URL, "/")+"/channels?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(t.node.Username, t.node.Password)
	resp, err := t.client.Do(req)
	if err != nil {
		// The request may have reached Asterisk, which then carries it
		// out whether or not its answer arrives: a call counted as not
		// placed would run untracked, outside the concurrency cap.
		if t.arrived(ctx, id, ended) {
			t.late.Add(1)
			return &ariCall{id: id, ended: ended, probe: t.probe}, nil
		}
		return nil, fmt.Errorf("%w: %w (and the call did not reach the IVR within %s)", ErrOriginate, err, t.grace)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: %s", ErrOriginate, resp.Status, strings.TrimSpace(string(msg)))
	}
	return &ariCall{id: id, ended: ended, probe: t.probe}, nil
}

// arrived waits up to t.grace for the call id to reach the IVR.
func (t *ARITarget) arrived(ctx context.Context, id string, ended <-chan struct{}) bool {
	grace := time.NewTimer(t.grace)
	defer grace.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		if t.probe.Started(id) {
			return true
		}
		select {
		case <-ended:
			return true
		case <-grace.C:
			return t.probe.Started(id)
		case <-ctx.Done():
			return false
		case <-poll.C:
		}
	}
}

// CallsInAsterisk counts this run's callers that still have a channel on
// the node: the ;1 halves of its Local channels (ids lt-<run>-<seq>),
// whether the IVR still holds them or has handed them to the dialplan's
// operators' queue. The IVR follows a caller put through until its
// channel is destroyed, so the calls the load tool counts as live are
// those Asterisk carries, give or take the callers whose call.ended is on
// its way (and those the IVR let go as it stopped).
func (t *ARITarget) CallsInAsterisk(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.node.URL, "/")+"/channels", nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(t.node.Username, t.node.Password)
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /channels: %s", resp.Status)
	}
	var chans []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		return 0, fmt.Errorf("GET /channels: %w", err)
	}
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ID
	}
	return countRunCallers(ids, fmt.Sprintf("lt-%08x-", t.runID)), nil
}

// countRunCallers counts the channel ids of the run's callers' ;1 halves
// (prefix then the sequence number, no -script suffix).
func countRunCallers(ids []string, prefix string) int {
	n := 0
	for _, id := range ids {
		if rest, ok := strings.CutPrefix(id, prefix); ok && rest != "" && !strings.Contains(rest, "-") {
			n++
		}
	}
	return n
}

type ariCall struct {
	id    string
	ended <-chan struct{}
	probe *Probe
}

func (c *ariCall) ID() string            { return c.id }
func (c *ariCall) Done() <-chan struct{} { return c.ended }

// Answer has no caller-side view on a real Asterisk; the runner falls back
// to the probe's (flow start -> Answer returned).
func (c *ariCall) Answer() (time.Duration, bool) { return 0, false }

// AnsweredAt has no caller-side view either; the runner uses the probe's.
func (c *ariCall) AnsweredAt() (time.Time, bool) { return time.Time{}, false }

// Hangup does nothing: the script's half of the Local channel hangs up
// after its LT_HOLD, and the load tool has no other hold on a channel that
// belongs to the dialplan's operators' queue by then.
func (c *ariCall) Hangup() {}
