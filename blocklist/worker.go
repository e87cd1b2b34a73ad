package blocklist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// Durable is the name of the worker's consumer; every worker instance uses
// it, so instances share the events between them.
const Durable = "blocklist"

// CallIndexBucket maps a call id to its caller's number for one window, so
// that a verdict published without the number (by the CLI or the HTTP API,
// which only know the call id) still reaches the right record. Its bound
// is time, not count: one key per call with a caller number, expiring
// after blocklist.window (the bucket's TTL), so it holds rate × window
// keys, each costing the NATS server roughly 200 bytes of memory for its
// subject index (as measured by loadtest --soak) and some on disk: at a
// sustained 10 calls/s and the default 24 h, 864,000 keys and about
// 170 MB of server memory.
const CallIndexBucket = "SIAGA112_CALLINDEX"

// Publisher publishes an event; *events.Publisher and JSPublisher are both one.
type Publisher interface {
	Publish(ctx context.Context, e events.Envelope) error
}

// JSPublisher publishes straight to JetStream and waits for the ack, with the
// event id as Nats-Msg-Id. It suits short-lived tools (the CLI) that have no
// spool; long-running roles use *events.Publisher.
type JSPublisher struct {
	JS jetstream.JetStream
}

// Publish sends e and waits for JetStream to store it.
func (p JSPublisher) Publish(ctx context.Context, e events.Envelope) error {
	data, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("blocklist: encode %s: %w", e.Type, err)
	}
	if _, err := p.JS.Publish(ctx, e.Subject(), data, jetstream.WithMsgID(e.ID)); err != nil {
		return fmt.Errorf("blocklist: publish %s: %w", e.Type, err)
	}
	return nil
}

// WorkerStats counts what a worker did.
type WorkerStats struct {
	// Strikes counts records changed by a strike (including those that blocked).
	Strikes uint64 `json:"strikes"`
	// Blocks counts blocks set or extended.
	Blocks uint64 `json:"blocks"`
	// Lifts counts blocks lifted by a genuine verdict.
	Lifts uint64 `json:"lifts"`
	// Ignored counts events that changed nothing in the blocklist (no
	// points, anonymous, allowlisted, already applied, unknown call, and
	// the events the policy does not count, such as call.answered, which
	// the worker reads only for the numbers' histories).
	Ignored uint64 `json:"ignored"`
	// Forgotten counts records deleted by the sweeps (Store.Prune).
	Forgotten uint64 `json:"forgotten"`
	// Consumer is the consumer's own counters.
	Consumer events.ConsumerStats `json:"consumer"`
}

// Worker turns call events into strikes and blocks: it consumes
// call.started (to index call ids), call.classified, call.ended and
// call.verdict, updates the store and announces block changes as
// blocklist.changed. Redelivered events change nothing twice: each record
// remembers the event ids applied to it. It also records every call event
// and block change in its number's history (history.go).
type Worker struct {
	store *Store
	index jetstream.KeyValue
	pub   Publisher
	log   *slog.Logger
	cons  *events.Consumer
	// bucket is the blocklist bucket's stream, which the sweep purges.
	bucket Purger
	// pruneEvery is the period of the sweep (see pruneInterval).
	pruneEvery time.Duration
	// history is the number -> event sequences index the console reads
	// histories from (history.go); owner names this worker in its state.
	history *HistoryIndex
	owner   string

	strikes, blocks, lifts, ignored, forgotten atomic.Uint64
}

// pruneInterval is how often a worker sweeps forgettable records: a quarter
// of the window, between a minute and an hour. A record is forgotten at
// most that long after it became forgettable; with several workers each
// sweeps, and a record purged twice is purged once.
func pruneInterval(window time.Duration) time.Duration {
	return min(max(window/4, time.Minute), time.Hour)
}

// NewWorker opens the buckets and creates (or updates) the durable consumer
// on the SIAGA112_CALLS stream, which must exist (events.EnsureStream).
func NewWorker(ctx context.Context, js jetstream.JetStream, store *Store, pub Publisher, cfg configs.NATS, log *slog.Logger) (*Worker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	index, err := openCallIndex(ctx, js, cfg.Stream.Replicas, store.policy.Window)
	if err != nil {
		return nil, err
	}
	bucket, err := js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return nil, fmt.Errorf("blocklist: worker: bucket stream: %w", err)
	}
	history, err := OpenHistoryIndex(ctx, js, cfg.Stream.Replicas, cfg.Stream.MaxAge)
	if err != nil {
		return nil, err
	}
	w := &Worker{store: store, index: index, pub: pub, log: log.With("component", "blocklist-worker"),
		bucket: bucket, pruneEvery: pruneInterval(store.policy.Window), history: history, owner: workerName()}
	spec := events.ConsumerSpec{
		Durable: Durable,
		// Every call event and block change, not only those the policy
		// counts: the worker also indexes each number's events for its
		// history. Widening the filter of an existing consumer keeps its
		// position, so the events before it are indexed by the rebuild.
		Subjects:      historySubjects(),
		MaxAckPending: cfg.Consumer.MaxAckPending,
		AckWait:       cfg.Consumer.AckWait,
	}
	w.cons, err = events.NewConsumer(ctx, js, spec, w.Handle, log)
	if err != nil {
		return nil, fmt.Errorf("blocklist: worker: %w", err)
	}
	return w, nil
}

// openCallIndex opens or creates the call index; entries expire after ttl.
func openCallIndex(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, CallIndexBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      CallIndexBucket,
			Description: "siaga112: call id -> caller number, for verdicts",
			History:     1,
			TTL:         ttl,
			Storage:     jetstream.FileStorage,
			Replicas:    max(replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, CallIndexBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blocklist: open bucket %s: %w", CallIndexBucket, err)
	}
	return kv, nil
}

// Run consumes events until ctx ends, sweeps forgettable records every
// pruneEvery meanwhile, and, when the history index has not been built
// yet, builds it from the stored events beside the consumer (so blocks
// never wait for it).
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.sweep(ctx) })
	wg.Go(func() { w.rebuildHistory(ctx) })
	err := w.cons.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

// sweep runs Prune every pruneEvery until ctx ends. A failed sweep is
// logged and tried again at the next tick: it loses nothing, the records
// just stay a while longer.
func (w *Worker) sweep(ctx context.Context) {
	t := time.NewTicker(w.pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A built history index's state is rewritten now and then so
		// that the bucket's max_age never expires it.
		if err := w.history.touchState(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("history index state not refreshed", "err", err)
		}
		st, err := w.Prune(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			w.log.Warn("blocklist sweep failed; records stay until the next", "err", err, "forgotten", st.Forgotten)
		case st.Forgotten > 0:
			w.log.Info("blocklist sweep", "records", st.Records, "forgotten", st.Forgotten)
		}
	}
}

// Prune deletes the records that hold nothing that still matters (see
// Store.Prune) and counts them.
func (w *Worker) Prune(ctx context.Context) (PruneStats, error) {
	st, err := w.store.Prune(ctx, w.bucket)
	w.forgotten.Add(uint64(st.Forgotten))
	return st, err
}

// Stats returns the worker's counters.
func (w *Worker) Stats() WorkerStats {
	return WorkerStats{
		Strikes: w.strikes.Load(), Blocks: w.blocks.Load(), Lifts: w.lifts.Load(),
		Ignored: w.ignored.Load(), Forgotten: w.forgotten.Load(), Consumer: w.cons.Stats(),
	}
}

// Lag is how many events wait for the worker.
func (w *Worker) Lag(ctx context.Context) (uint64, error) { return w.cons.Lag(ctx) }

// Handle applies one event. It is the consumer's handler: an error means the
// event is delivered again, which is safe because applying is idempotent.
// Every event first goes into its number's history (when it has one and
// m says where it is in the stream).
func (w *Worker) Handle(ctx context.Context, e events.Envelope, m events.Meta) error {
	if err := w.recordHistory(ctx, e, m.StreamSeq); err != nil {
		return err
	}
	switch e.Type {
	case events.TypeStarted:
		return w.indexCall(ctx, e)
	case events.TypeClassified:
		var c events.Classified
		if err := e.DecodeData(&c); err != nil {
			return err
		}
		return w.outcome(ctx, e, c.Outcome, seconds(c.SecondsToClassify), c.HangupBy)
	case events.TypeEnded:
		// call.ended repeats the outcome of call.classified; the policy
		// counts one outcome per call, so this only matters when the
		// classified event never came. The call's duration is at least its
		// time since answer, so an abandoned call that counts by duration
		// would also count by time since answer. Its hangup_by agrees with
		// classified's for an abandoned call (system when Asterisk ended
		// it), so neither event strikes such a call.
		var c events.Ended
		if err := e.DecodeData(&c); err != nil {
			return err
		}
		return w.outcome(ctx, e, c.Outcome, seconds(c.DurationS), c.HangupBy)
	case events.TypeVerdict:
		var v events.Verdict
		if err := e.DecodeData(&v); err != nil {
			return err
		}
		return w.verdict(ctx, e, v)
	}
	w.ignored.Add(1)
	return nil
}

func seconds(s float64) time.Duration {
	if s < 0 {
		return -1
	}
	return time.Duration(s * float64(time.Second))
}

// number returns the caller's E.164 number, or "" for callers that are
// never blocked (withheld, anonymous, unusable numbers).
func (w *Worker) number(c events.Caller) string {
	if c.Presentation == events.PresentationRestricted {
		// DESIGN: withheld numbers are never blocked, even when the network
		// told us the number.
		return ""
	}
	n, err := w.store.policy.Normalize(c.Number)
	if err != nil || n.IsAnonymous() {
		return ""
	}
	return n.E164
}

// maxHexCallID is the longest call id stored in the index as hex. Asterisk
// ids (about 20 bytes) fit easily; a longer id is hashed, so no call id,
// however long or odd, can make a key NATS refuses. The subject of a KV put
// must fit in the server's 4,096-byte control line: a longer one makes the
// server answer "maximum control line exceeded" and close the connection,
// which the client does not reopen — every role on it stopped (checked
// with a 2,100-character call id, hex 4,200 bytes).
const maxHexCallID = 64

// callKey returns the index key of a call id: "c" and its hex when short
// (readable in `nats kv ls`), else "h" and the hex of its SHA-256. The two
// prefixes keep the forms from colliding.
func callKey(callID string) string {
	if len(callID) <= maxHexCallID {
		return "c" + hex.EncodeToString([]byte(callID))
	}
	sum := sha256.Sum256([]byte(callID))
	return "h" + hex.EncodeToString(sum[:])
}

// CallNumber returns the E.164 number of a call from the worker's call
// index (kept for one policy window), or an error wrapping ErrUnknownCall
// when the index does not hold it.
func CallNumber(ctx context.Context, js jetstream.JetStream, callID string) (string, error) {
	idx, err := js.KeyValue(ctx, CallIndexBucket)
	if err != nil {
		return "", fmt.Errorf("blocklist: call index: %w", err)
	}
	e, err := idx.Get(ctx, callKey(callID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", fmt.Errorf("%w %q: not in the call index", ErrUnknownCall, callID)
	}
	if err != nil {
		return "", fmt.Errorf("blocklist: call index: %w", err)
	}
	return string(e.Value()), nil
}

func (w *Worker) indexCall(ctx context.Context, e events.Envelope) error {
	n := w.number(e.Caller)
	if n == "" || e.CallID == "" {
		w.ignored.Add(1)
		return nil
	}
	if _, err := w.index.Put(ctx, callKey(e.CallID), []byte(n)); err != nil {
		return fmt.Errorf("blocklist: index call: %w", err)
	}
	return nil
}

func (w *Worker) outcome(ctx context.Context, e events.Envelope, o events.Outcome, sinceAnswer time.Duration, hangupBy string) error {
	n := w.number(e.Caller)
	if n == "" {
		w.ignored.Add(1)
		return nil
	}
	ev := Event{ID: e.ID, CallID: e.CallID, At: e.Time}
	p := w.store.policy
	return w.apply(ctx, e, n, func(r Record) (Record, Decision, error) {
		r, d := p.ApplyOutcome(r, ev, o, sinceAnswer, hangupBy)
		return r, d, nil
	})
}

// verdictIndexWait is how long a verdict for a call not yet in the call
// index is retried before it is ignored.
const verdictIndexWait = 10 * time.Second

func (w *Worker) verdict(ctx context.Context, e events.Envelope, v events.Verdict) error {
	// The number comes from the call's own history (the call index the
	// worker built from call.started), never from the verdict message: a
	// forged verdict naming any number would otherwise block a number that
	// never called, or lift a prankster's block.
	if e.Caller.Number != "" {
		w.log.Warn("verdict carries a caller number; the number is taken from the call instead", "call_id", e.CallID)
	}
	var n string
	if e.CallID != "" {
		entry, err := w.index.Get(ctx, callKey(e.CallID))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if time.Since(e.Time) < verdictIndexWait {
				// Another worker may still be indexing the call's
				// call.started: try again later (deliveries are bounded).
				return fmt.Errorf("blocklist: verdict for call %s: call not indexed yet", e.CallID)
			}
			w.log.Warn("verdict for a call whose caller is unknown (withheld, or no such call); ignored", "call_id", e.CallID, "verdict", v.Verdict)
		case err != nil:
			return fmt.Errorf("blocklist: look up call: %w", err)
		default:
			n = string(entry.Value())
		}
	}
	if n == "" {
		w.ignored.Add(1)
		return nil
	}
	ev := Event{ID: e.ID, CallID: e.CallID, At: e.Time}
	p := w.store.policy
	return w.apply(ctx, e, n, func(r Record) (Record, Decision, error) {
		r, d := p.ApplyVerdict(r, ev, v.Verdict, v.By)
		return r, d, nil
	})
}

func (w *Worker) apply(ctx context.Context, e events.Envelope, number string, fn UpdateFunc) error {
	r, d, err := w.store.Update(ctx, number, fn)
	if err != nil {
		return err
	}
	switch d.Change {
	case ChangeNone:
		w.ignored.Add(1)
		return nil
	case ChangeBlock, ChangeExtend:
		w.blocks.Add(1)
	case ChangeLift:
		w.lifts.Add(1)
	}
	if d.Change == ChangeStrike || d.Change == ChangeBlock || d.Change == ChangeExtend {
		w.strikes.Add(1)
	}
	w.log.Info("blocklist record changed", "number", phone.Mask(number), "change", d.Change, "points", d.Points,
		"until", r.Until, "call_id", e.CallID, "event", e.Type)
	announce(ctx, w.pub, w.log, r, d, e.CallID, e.Node)
	return nil
}

// announce publishes blocklist.changed for a change of block state. The KV
// record is the truth and has already been written; the event is a
// notification, so a publish failure is logged rather than retried (a
// retried event would find its change already applied and announce nothing).
func announce(ctx context.Context, pub Publisher, log *slog.Logger, r Record, d Decision, callID, node string) {
	if pub == nil || !d.Change.BlockChanged() {
		return
	}
	// A reason stored before reasons were bounded (or composed by the
	// policy) is cut to the event's bound rather than have the event
	// refused and the block missing from the board.
	data := events.BlocklistChanged{Number: r.Number, Strikes: d.Points, Reason: events.CleanText(r.Reason, events.MaxTextLen),
		ReasonCode: r.ReasonCode, ReasonArgs: r.ReasonArgs}
	if !r.Until.IsZero() {
		until := r.Until.UTC()
		data.Until = &until
	}
	env, err := events.New(events.TypeBlocklistChanged, callID, node, events.Caller{Number: r.Number}, data)
	if err == nil {
		err = pub.Publish(ctx, env)
	}
	if err != nil {
		log.Error("blocklist.changed not published", "number", phone.Mask(r.Number), "change", d.Change, "err", err)
	}
}
