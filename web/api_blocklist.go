package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/callid"
	"github.com/siaga112/siaga112/events"
)

// maxBody bounds request bodies of the admin API.
const maxBody = 64 << 10

// maxBy bounds the name an admin gives as "by": it is stored in records
// and published in events.
const maxBy = 64

// API is the blocklist part of the HTTP API (DESIGN.md):
//
//	GET    /api/blocklist[?blocked=true]  list, blocked first then by strikes; numbers masked, strikes and manual blocks' reason and set_by hidden without the admin token
//	POST   /api/blocklist                 {"number","for","reason","by"}  block (token)
//	DELETE /api/blocklist/{number}[?by=]  unblock (token)
//	POST   /api/calls/{id}/verdict[?dry_run=1]  {"verdict","by"}  publish call.verdict (token), or with dry_run only say what it would do; 404 for an unknown call
//
// The admin token comes as "Authorization: Bearer <token>". Without a
// configured token every write is refused with 403.
type API struct {
	admin   Admin
	records Records
	auth    *auth
	log     *slog.Logger
	now     func() time.Time
	// number finds a call's number for a verdict's effect (callNumbers);
	// loc is the clock the effect's words say times in.
	number func(ctx context.Context, callID string) (string, error)
	loc    *time.Location
}

// CallNumberer is an Admin that finds a call's number in the blocklist's
// call index (blocklist.Admin): the verdict API's dry run names the number
// and what the verdict would do to it where no reports run.
type CallNumberer interface {
	CallNumber(ctx context.Context, callID string) (string, error)
}

// newAPI returns the API over admin and records; a tells who sent a
// request (the admin token is what allows writes).
func newAPI(admin Admin, records Records, a *auth, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api := &API{admin: admin, records: records, auth: a, log: log.With("component", "blocklist-api"), now: time.Now, loc: time.Local}
	api.number = callNumbers(admin, nil)
	return api
}

// callNumbers finds a call's number in the call index when admin can,
// else in the reports' memory (known, nil when there are none). A call
// neither holds has no number the blocklist could strike ("", nil); an
// index that cannot be read and reports that do not know the call are an
// error, so the effect says it cannot be worked out rather than "nothing".
func callNumbers(admin Admin, known func(callID string) (string, bool)) func(context.Context, string) (string, error) {
	idx, _ := admin.(CallNumberer)
	return func(ctx context.Context, callID string) (string, error) {
		var err error
		if idx != nil {
			var n string
			if n, err = idx.CallNumber(ctx, callID); err == nil && n != "" {
				return n, nil
			}
			if errors.Is(err, blocklist.ErrUnknownCall) {
				// Withheld, or not indexed yet: the reports may know.
				err = nil
			}
		}
		if known != nil {
			if n, ok := known(callID); ok {
				return n, nil
			}
		}
		return "", err
	}
}

// effect is what a verdict would do now, in English, from the blocklist's
// own policy: the console's confirmation, for a script.
func (a *API) effect(ctx context.Context, callID, verdict, by string) verdictEffect {
	src := effectSource{number: a.number, records: a.records, now: a.now, loc: a.loc, log: a.log}
	return src.verdictEffect(ctx, false, LangEN, callID, verdict, by)
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/blocklist", a.whenReady(a.list))
	mux.Handle("POST /api/blocklist", a.whenReady(a.add))
	mux.Handle("DELETE /api/blocklist/{number}", a.whenReady(a.remove))
	mux.Handle("POST /api/calls/{id}/verdict", a.whenReady(a.verdict))
}

// Readiness is implemented by a blocklist that can be unreachable for a
// while: a process that started while NATS was unreachable builds its
// store once NATS answers.
type Readiness interface {
	Ready() bool
}

// whenReady answers 503 with Retry-After while the blocklist is not ready,
// before anything else is checked: nothing can be read or written, and a
// client should simply come back.
func (a *API) whenReady(h http.HandlerFunc) http.Handler {
	rd, ok := a.records.(Readiness)
	if !ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rd.Ready() {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "blocklist unavailable: NATS is not reachable yet", http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	})
}

// Entry is one number in the API's answers.
type Entry struct {
	// Number is E.164, or masked to its last 4 digits without the admin token.
	Number string `json:"number"`
	// Blocked is true while the block lasts.
	Blocked bool `json:"blocked"`
	// Until is when the block ends (absent when not blocked).
	Until *time.Time `json:"until,omitempty"`
	// Level is how many automatic blocks the number has had.
	Level int `json:"level"`
	// Points is the strikes inside the window now.
	Points int `json:"points"`
	// Strikes lists the strikes (admin only: they name calls).
	Strikes []blocklist.Strike `json:"strikes,omitempty"`
	// Reason, SetBy and Manual describe the last block decision; without
	// the admin token Reason and SetBy are shown only for the policy's
	// own decisions (set_by "auto").
	Reason string `json:"reason,omitempty"`
	// ReasonCode and ReasonArgs are Reason as a code with parameters
	// (blocklist.Record), for a client that shows it in its own language;
	// empty for a typed reason or an older record.
	ReasonCode string            `json:"reason_code,omitempty"`
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
	SetBy      string            `json:"set_by,omitempty"`
	Manual     bool              `json:"manual,omitempty"`
	// Updated is the time of the last change.
	Updated *time.Time `json:"updated,omitempty"`
}

// entry turns a record into what the API shows.
func (a *API) entry(r blocklist.Record, now time.Time, admin bool) Entry {
	e := Entry{
		Number: r.Number, Blocked: r.Blocked(now), Level: r.Level,
		Points: a.records.Policy().Score(r, now), Reason: r.Reason, SetBy: r.SetBy, Manual: r.Manual,
		ReasonCode: r.ReasonCode, ReasonArgs: r.ReasonArgs,
	}
	if e.Blocked {
		until := r.Until.UTC()
		e.Until = &until
	}
	if !r.Updated.IsZero() {
		u := r.Updated.UTC()
		e.Updated = &u
	}
	if admin {
		e.Strikes = r.Strikes
	} else {
		e.Number = maskNumber(r.Number)
		// Without the token, who blocked by hand (a member of staff) and
		// the reason they typed stay hidden; the policy's own reason and
		// its "auto" are no one's words and stay.
		if r.SetBy != blocklist.SetByAuto {
			e.SetBy, e.Reason, e.ReasonCode, e.ReasonArgs = "", "", "", nil
		}
	}
	return e
}

// allowWrite answers 403 or 401 and returns false unless the request
// carries the admin token.
func (a *API) allowWrite(w http.ResponseWriter, r *http.Request) bool {
	if len(a.auth.token) == 0 {
		writeError(w, http.StatusForbidden, "writes are disabled: set http.admin_token to allow them")
		return false
	}
	if !a.auth.who(r).token {
		w.Header().Set("WWW-Authenticate", `Bearer realm="siaga112"`)
		writeError(w, http.StatusUnauthorized, "admin token required: send Authorization: Bearer <http.admin_token>")
		return false
	}
	return true
}

// allowWriteBody is allowWrite followed by decodeBody into v: a write
// with a body is refused before its body is read.
func (a *API) allowWriteBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return a.allowWrite(w, r) && decodeBody(w, r, v)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q := a.auth.who(r)
	if q.badToken {
		w.Header().Set("WWW-Authenticate", `Bearer realm="siaga112"`)
		writeError(w, http.StatusUnauthorized, "invalid admin token")
		return
	}
	onlyBlocked := false
	if v := r.URL.Query().Get("blocked"); v != "" {
		switch v {
		case "true", "1":
			onlyBlocked = true
		case "false", "0":
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("blocked: want true or false, not %q", v))
			return
		}
	}
	records, err := a.records.List(r.Context())
	if err != nil {
		a.unavailable(w, err)
		return
	}
	now := a.now()
	blocklist.SortForAdmins(records, a.records.Policy(), now)
	out := make([]Entry, 0, len(records))
	for _, rec := range records {
		e := a.entry(rec, now, q.token)
		if onlyBlocked && !e.Blocked {
			continue
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "count": len(out)})
}

type addRequest struct {
	Number string `json:"number"`
	For    string `json:"for"`
	Reason string `json:"reason"`
	By     string `json:"by"`
}

func (a *API) add(w http.ResponseWriter, r *http.Request) {
	var req addRequest
	if !a.allowWriteBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Number) == "" {
		writeError(w, http.StatusBadRequest, "number: required")
		return
	}
	if len(req.By) > maxBy {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("by: at most %d bytes", maxBy))
		return
	}
	length := blocklist.DefaultBlockLength
	if req.For != "" {
		var err error
		if length, err = blocklist.ParseLength(req.For); err != nil {
			writeError(w, http.StatusBadRequest, "for: "+err.Error())
			return
		}
	}
	rec, err := a.admin.Block(r.Context(), req.Number, length, req.Reason, byOr(req.By))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.entry(rec, a.now(), true))
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	if !a.allowWrite(w, r) {
		return
	}
	if len(r.URL.Query().Get("by")) > maxBy {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("by: at most %d bytes", maxBy))
		return
	}
	rec, err := a.admin.Unblock(r.Context(), r.PathValue("number"), byOr(r.URL.Query().Get("by")))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.entry(rec, a.now(), true))
}

type verdictRequest struct {
	Verdict string `json:"verdict"`
	By      string `json:"by"`
}

// verdictAnswer is the verdict API's answer: the event published (none
// for a dry run) and what the verdict does to the call's number, worked
// out when it is asked (a dry run) or just before it is published.
type verdictAnswer struct {
	// ID is the call.verdict event's id; absent for a dry run.
	ID      string `json:"id,omitempty"`
	DryRun  bool   `json:"dry_run,omitempty"`
	CallID  string `json:"call_id"`
	Verdict string `json:"verdict"`
	// Effect says it in English, as the console's question does.
	Effect string `json:"effect"`
	// Change is none, strike, block, extend, lift, clear, no_number or
	// unknown (verdictEffect.Change).
	Change string `json:"change"`
	// BlocksFor (a Go duration) and Until say how long and until when
	// the number would be blocked, for a block or an extension.
	BlocksFor string     `json:"blocks_for,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	// LiftsBlock is true when the verdict lifts a block in force.
	LiftsBlock bool `json:"lifts_block"`
	// Strikes still count after a strike that does not block yet.
	Strikes int `json:"strikes,omitempty"`
}

// dryRun reads ?dry_run: 1 or true asks what the verdict would do and
// saves nothing.
func dryRun(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("dry_run: want 1 or true, 0 or false, not %q", v)
	}
}

func (a *API) verdict(w http.ResponseWriter, r *http.Request) {
	var req verdictRequest
	if !a.allowWriteBody(w, r, &req) {
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	callID := r.PathValue("id")
	by := byOr(req.By)
	var e events.Envelope
	var ef verdictEffect
	switch {
	case !callid.Valid(callID):
		// Checked before anything is looked up with it, as Admin.Verdict
		// checks it before publishing.
		err = fmt.Errorf("%w %q", blocklist.ErrBadCallID, callID)
	case req.Verdict != events.VerdictPrank && req.Verdict != events.VerdictGenuine:
		err = fmt.Errorf("%w, not %q", blocklist.ErrBadVerdict, req.Verdict)
	case dry:
		// Asked as the console asks: the call must exist, and nothing
		// is published.
		if err = a.admin.FindCall(r.Context(), callID); err == nil {
			ef = a.effect(r.Context(), callID, req.Verdict, by)
		}
	default:
		ef = a.effect(r.Context(), callID, req.Verdict, by)
		e, err = a.admin.Verdict(r.Context(), callID, req.Verdict, by)
	}
	switch {
	case errors.Is(err, blocklist.ErrBadVerdict):
		writeError(w, http.StatusBadRequest, "verdict: "+err.Error())
		return
	case errors.Is(err, blocklist.ErrBadCallID):
		writeError(w, http.StatusBadRequest, "id: "+err.Error())
		return
	case errors.Is(err, blocklist.ErrUnknownCall):
		writeError(w, http.StatusNotFound, "id: "+err.Error())
		return
	case err != nil:
		a.unavailable(w, err)
		return
	}
	ans := verdictAnswer{ID: e.ID, DryRun: dry, CallID: callID, Verdict: req.Verdict, Effect: ef.Text, Change: ef.Change, LiftsBlock: ef.Lifts, Strikes: ef.Strikes}
	if ef.Until != nil {
		until := ef.Until.UTC()
		ans.Until, ans.BlocksFor = &until, ef.BlocksFor.Round(time.Second).String()
	}
	status := http.StatusAccepted
	if dry {
		status = http.StatusOK
	}
	writeJSON(w, status, ans)
}

// storeError maps the errors of Block and Unblock to statuses.
func (a *API) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, blocklist.ErrBadReason):
		writeError(w, http.StatusBadRequest, "reason: "+err.Error())
	case errors.Is(err, errBadNumber), errors.Is(err, blocklist.ErrAnonymous):
		writeError(w, http.StatusBadRequest, "number: "+err.Error())
	case errors.Is(err, blocklist.ErrAllowlisted):
		writeError(w, http.StatusConflict, "number: "+err.Error()+" (blocklist.allowlist)")
	case errors.Is(err, blocklist.ErrBadReason):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, blocklist.ErrNotFound):
		writeError(w, http.StatusNotFound, "number: "+err.Error())
	default:
		a.unavailable(w, err)
	}
}

func (a *API) unavailable(w http.ResponseWriter, err error) {
	a.log.Error("blocklist request failed", "err", err)
	writeError(w, http.StatusServiceUnavailable, "blocklist unavailable: "+err.Error())
}

// byOr names the admin in records; the API cannot know who holds the token.
func byOr(by string) string {
	if by = strings.TrimSpace(by); by != "" {
		return by
	}
	return "api"
}

// decodeBody reads one JSON object into v, answering 400 with the problem
// (unknown or mistyped field named) when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: want a JSON %s", typeErr.Field, typeErr.Type))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid JSON body: empty")
	default:
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	return false
}
