package events

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/siaga112/siaga112/configs"
)

// Why the embedded server has users, and what each may do.
//
// Without authentication anyone on the host who can reach the loopback port
// is an administrator of the event bus: they can forge call.verdict events,
// write blocks straight into the KV bucket, or delete the stream. So the
// embedded server only accepts the users of a credentials file it writes
// into its data directory on first start (random passwords, mode 0600):
// whoever can read that file is already the siaga112 user.
//
// Each role logs in as its own user with the least it needs, so a
// compromised or buggy role cannot do another's job: the IVR may publish
// call events and read the blocklist, not write it; the reports worker only
// reads events; only the blocklist worker and admin touch the KV buckets.
// The admin logs in with an NKey instead of a password: the server sends a
// random nonce and the admin signs it with the seed in the credentials
// file, so nothing that would let anyone log in crosses the wire. The
// command line finds the server by address (nats.embedded.listen, a demo's
// URL), and whatever listens there while siaga112 is down — another user's
// program on 127.0.0.1:4222 — learns only a signature of its own nonce,
// which no server accepts twice. A password, sent in clear to that address,
// would have been the admin's login to the real server.
//
// Every user gets its own inbox prefix (_INBOX_<user>), so no user can
// subscribe to the replies of another's requests (a KV read by the admin,
// say). The JetStream API subjects each role uses are listed below; README
// shows the same permissions for an external NATS server.

// Users of the embedded server.
const (
	// UserIVR publishes call events and watches the blocklist.
	UserIVR = "ivr"
	// UserBlocklist consumes call events, writes the blocklist and call
	// index buckets and publishes blocklist.changed and call.verdict (the
	// HTTP verdict API runs with the worker).
	UserBlocklist = "blocklist"
	// UserReports consumes call events.
	UserReports = "reports"
	// UserServer is a process that runs several roles on one connection
	// (serve, demo): the union of the IVR, blocklist and reports users.
	UserServer = "siaga112"
	// UserAdmin is the command line (blocklist, verdict): the whole
	// JetStream API and every siaga112 subject.
	UserAdmin = "admin"
)

// CredentialsFile is the name of the file, in nats.embedded.data_dir, that
// holds the embedded server's users and passwords as JSON:
//
//	{"users": {"admin": "<password>", "ivr": "<password>", ...}}
//
// It is created with mode 0600 on the first start and reused after; a file
// that others can read or write is refused. Delete it (with siaga112
// stopped) to have new passwords generated.
const CredentialsFile = "nats-credentials.json"

// KV bucket names the permissions are written for. They are the blocklist
// package's Bucket and CallIndexBucket (events cannot import blocklist,
// which imports events).
const (
	kvBlocklist = "SIAGA112_BLOCKLIST"
	kvCallIndex = "SIAGA112_CALLINDEX"
	// kvIncident is the incident package's Bucket.
	kvIncident = "SIAGA112_INCIDENT"
	// kvHistory is the blocklist package's HistoryBucket.
	kvHistory = "SIAGA112_HISTORY"
)

// ErrCredentials is wrapped by every error about the credentials file.
var ErrCredentials = errors.New("embedded nats credentials")

// maxCredentialsSize bounds the credentials file read.
const maxCredentialsSize = 64 << 10

// passwordBytes is the entropy of a generated password.
const passwordBytes = 32

// Credentials are the embedded server's users and their passwords, and
// the admin's NKey seed.
type Credentials struct {
	// Users maps a user name (UserIVR, ...) to its password. The admin
	// has none (a file made before the admin's key may still hold one; it
	// is not accepted).
	Users map[string]string `json:"users"`
	// NKeys maps a user name (UserAdmin) to its NKey user seed ("SU...").
	NKeys map[string]string `json:"nkeys,omitempty"`
}

// allUsers are the users of the embedded server.
var allUsers = []string{UserIVR, UserBlocklist, UserReports, UserServer, UserAdmin}

// passwordUsers are the users that log in with a password; the admin logs
// in with its NKey.
var passwordUsers = []string{UserIVR, UserBlocklist, UserReports, UserServer}

// adminKey returns the admin's key pair from c, or an error saying how to
// get one.
func (c Credentials) adminKey() (nkeys.KeyPair, string, error) {
	seed := c.NKeys[UserAdmin]
	if seed == "" {
		return nil, "", fmt.Errorf("%w: no admin key (made by a siaga112 before it had one): restart siaga112 serve to add it", ErrCredentials)
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return nil, "", fmt.Errorf("%w: admin key: %w", ErrCredentials, err)
	}
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return nil, "", fmt.Errorf("%w: admin key is not a user key", ErrCredentials)
	}
	return kp, pub, nil
}

// InboxPrefix is the inbox prefix a user must connect with: each user may
// subscribe only below its own.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// ReadCredentials reads the credentials file in dir, as the command line
// does to reach a running server's embedded NATS.
func ReadCredentials(dir string) (Credentials, error) {
	path := filepath.Join(dir, CredentialsFile)
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if !st.Mode().IsRegular() {
		return Credentials{}, fmt.Errorf("%w: %s is not a regular file", ErrCredentials, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Credentials{}, fmt.Errorf("%w: %s has mode %04o: others may read the passwords; chmod 600 it, or delete it to have new ones made",
			ErrCredentials, path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialsSize+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if len(data) > maxCredentialsSize {
		return Credentials{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrCredentials, path, maxCredentialsSize)
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return Credentials{}, fmt.Errorf("%w: %s: %w", ErrCredentials, path, err)
	}
	for _, u := range passwordUsers {
		if len(c.Users[u]) < 16 {
			return Credentials{}, fmt.Errorf("%w: %s has no usable password for user %q; delete it to have new ones made", ErrCredentials, path, u)
		}
	}
	return c, nil
}

// loadOrCreateCredentials reads the credentials file in dir, creating it
// with new random passwords when there is none. Two processes starting at
// once cannot both create it: the file appears by a hard link, which fails
// when it exists, and the loser reads the winner's file.
func loadOrCreateCredentials(dir string) (Credentials, error) {
	c, err := ReadCredentials(dir)
	if err == nil {
		if _, _, kerr := c.adminKey(); kerr == nil {
			return c, nil
		}
		// A file from before the admin's key: add one, keep the
		// passwords (running roles keep logging in with them).
		if err := newAdminKey(&c); err != nil {
			return Credentials{}, err
		}
		if err := writeCredentials(dir, c, true); err != nil {
			return Credentials{}, err
		}
		return ReadCredentials(dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	c = Credentials{Users: make(map[string]string, len(passwordUsers))}
	for _, u := range passwordUsers {
		b := make([]byte, passwordBytes)
		if _, err := rand.Read(b); err != nil {
			return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
		}
		c.Users[u] = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := newAdminKey(&c); err != nil {
		return Credentials{}, err
	}
	if err := writeCredentials(dir, c, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ReadCredentials(dir)
		}
		return Credentials{}, err
	}
	return c, nil
}

// newAdminKey puts a new admin NKey seed into c.
func newAdminKey(c *Credentials) error {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return fmt.Errorf("%w: admin key: %w", ErrCredentials, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("%w: admin key: %w", ErrCredentials, err)
	}
	// The admin logs in with the key only.
	delete(c.Users, UserAdmin)
	c.NKeys = map[string]string{UserAdmin: string(seed)}
	return nil
}

// writeCredentials writes c to the credentials file in dir, mode 0600,
// through a temporary file. A new file appears by a hard link, which fails
// (fs.ErrExist) when another process made one meanwhile; replace renames
// over the existing file instead.
func writeCredentials(dir string, c Credentials, replace bool) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	tmp, err := os.CreateTemp(dir, CredentialsFile+".*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	// CreateTemp makes the file 0600 already; Chmod states it.
	werr := tmp.Chmod(0o600)
	if werr == nil {
		_, werr = tmp.Write(append(data, '\n'))
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrCredentials, tmp.Name(), err)
	}
	path := filepath.Join(dir, CredentialsFile)
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	syncDir(dir)
	return nil
}

// serverUsers turns credentials into the server's users with their
// permissions.
func serverUsers(c Credentials, d Durables) []*server.User {
	users := make([]*server.User, 0, len(passwordUsers))
	for _, name := range passwordUsers {
		users = append(users, &server.User{Username: name, Password: c.Users[name], Permissions: permissions(name, d)})
	}
	return users
}

// serverNKeys is the admin as an NKey user of the server.
func serverNKeys(c Credentials, d Durables) ([]*server.NkeyUser, error) {
	_, pub, err := c.adminKey()
	if err != nil {
		return nil, err
	}
	return []*server.NkeyUser{{Nkey: pub, Permissions: permissions(UserAdmin, d)}}, nil
}

// Durables names the durable consumers each role owns on the calls stream.
// A role may create, read, pull from, acknowledge and delete its own, and
// none of another role's: a reports user that could delete the blocklist's
// consumer, or re-filter it by creating it anew, would silently stop the
// strikes.
type Durables struct {
	// Blocklist is the blocklist worker's consumer (blocklist.Durable).
	Blocklist string
	// Reports is the reports worker's consumer (reports.durable).
	Reports string
	// Callback is the call-back scheduler's consumer, shared by every IVR
	// instance (callback.Durable).
	Callback string
}

// durableBlocklist is the blocklist package's Durable (events cannot import
// blocklist, which imports events).
const durableBlocklist = "blocklist"

// durableCallback is the callback package's Durable.
const durableCallback = "callback"

// DefaultDurables are the consumer names of the default configuration.
func DefaultDurables() Durables { return DurablesFor(configs.Default()) }

// DurablesFor are the consumer names the roles use with cfg: a process
// that starts the embedded server passes them to Open, so that a
// reports.durable of its own is the reports user's.
func DurablesFor(cfg configs.Config) Durables {
	return Durables{Blocklist: durableBlocklist, Reports: cfg.Reports.Durable, Callback: durableCallback}
}

// owned returns the durables user owns.
func (d Durables) owned(user string) []string {
	switch user {
	case UserBlocklist:
		return []string{d.Blocklist}
	case UserReports:
		return []string{d.Reports}
	case UserIVR:
		return []string{d.Callback}
	case UserServer:
		return []string{d.Blocklist, d.Reports, d.Callback}
	}
	return nil
}

// ensureStreamAPI is what a role needs to find a stream (or KV bucket
// stream KV_<bucket>), and to create it when it is missing, so that the
// roles may start in any order. Creating a stream that exists succeeds only
// with the very same configuration and changes nothing, so a role cannot
// use it to change limits; updating, purging and deleting are the admin's
// (the process that starts the embedded server applies nats.stream.* as
// admin, see Open).
func ensureStreamAPI(stream string) []string {
	return []string{
		"$JS.API.STREAM.CREATE." + stream,
		"$JS.API.STREAM.INFO." + stream,
	}
}

// durableAPI is what working one durable consumer of the calls stream
// takes: create (both subject forms, with and without a filter), info,
// delete (the reports worker starts over), pull requests, acks and flow
// control.
func durableAPI(durable string) []string {
	s, d := StreamName, durable
	return []string{
		"$JS.API.CONSUMER.CREATE." + s + "." + d,
		"$JS.API.CONSUMER.CREATE." + s + "." + d + ".>",
		"$JS.API.CONSUMER.DURABLE.CREATE." + s + "." + d,
		"$JS.API.CONSUMER.INFO." + s + "." + d,
		"$JS.API.CONSUMER.DELETE." + s + "." + d,
		"$JS.API.CONSUMER.MSG.NEXT." + s + "." + d,
		"$JS.ACK." + s + "." + d + ".>",
		"$JS.FC." + s + "." + d + ".>",
	}
}

// otherDurablesAPI is durableAPI of every durable in names: what a role
// that may create consumers of any name (ordered consumers have random
// ones) is denied, so that it cannot create, re-filter, pull from, ack or
// delete another role's consumer.
func otherDurablesAPI(names []string) []string {
	var out []string
	for _, d := range names {
		out = append(out, durableAPI(d)...)
	}
	return out
}

// orderedAPI is what ordered consumers take on a stream: they name
// themselves at random and delete and re-create themselves after a gap.
// The name is always in the subject (nats.go never sends an ordered
// consumer through the old form "$JS.API.CONSUMER.CREATE.<stream>", whose
// name is in the body and so out of reach of a deny rule), which is what
// lets otherDurablesAPI keep other roles' names out of reach.
func orderedAPI(stream string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.CONSUMER.CREATE." + stream + ".>",
		"$JS.API.CONSUMER.INFO." + stream + ".>",
		"$JS.API.CONSUMER.DELETE." + stream + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + stream + ".>",
		"$JS.FC." + stream + ".>",
	}
}

// readAPI reads single messages (a KV get, a stream lookup).
func readAPI(stream string) []string {
	return []string{
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.DIRECT.GET." + stream,
		"$JS.API.DIRECT.GET." + stream + ".>",
	}
}

// kvWrite is what writing a bucket takes: publishing its keys.
func kvWrite(bucket string) []string {
	return []string{"$KV." + bucket + ".>"}
}

// kvRead is what reading and watching a bucket takes: a watch is an
// ordered consumer of the bucket's stream. Creating the bucket is allowed
// so that a role that starts first finds it; no role may change its limits
// (a bucket's max_age of 1 s would wipe every block).
func kvRead(bucket string) []string {
	s := "KV_" + bucket
	return slices.Concat(ensureStreamAPI(s), orderedAPI(s), readAPI(s))
}

// ivrEvents are the call events the IVR publishes: every call.* type but
// the verdicts, call-back ticks and takes, which staff give through the
// blocklist's admin side.
func ivrEvents() []string {
	var out []string
	for _, t := range AllTypes {
		if s := t.Subject(); strings.HasPrefix(s, SubjectPrefix) && t != TypeVerdict && t != TypeHandled && t != TypeTaken {
			out = append(out, s)
		}
	}
	return out
}

// publishAllow lists the subjects each user may publish to. Everyone may
// ask for the account's JetStream info ($JS.API.INFO): the client library
// does before creating a KV bucket, and it reveals only limits and usage.
func publishAllow(user string, d Durables) []string {
	return dedupe(append(rolePublish(user, d), "$JS.API.INFO"))
}

// publishDeny lists what a user may not publish although publishAllow
// matches it: the durable consumers of other roles.
func publishDeny(user string, d Durables) []string {
	if user == UserAdmin {
		return nil
	}
	own := d.owned(user)
	var others []string
	for _, n := range []string{d.Blocklist, d.Reports, d.Callback} {
		if n != "" && !slices.Contains(own, n) && !slices.Contains(others, n) {
			others = append(others, n)
		}
	}
	return otherDurablesAPI(others)
}

func rolePublish(user string, d Durables) []string {
	switch user {
	case UserIVR:
		return slices.Concat(ivrEvents(), []string{SubjectOperatorState},
			ensureStreamAPI(StreamName), kvRead(kvBlocklist), kvRead(kvIncident),
			// The calls it follows past the hand-off (followed.go).
			kvRead(FollowedBucket), kvWrite(FollowedBucket),
			// Call-backs: the scheduler reads the calls stream with its
			// own durable consumer and every instance claims, places and
			// records attempts in the call-backs bucket (callbacks.go).
			durableAPI(d.Callback), kvRead(CallbacksBucket), kvWrite(CallbacksBucket),
			// A verdict or a tick names a call; the scheduler finds its
			// number in the blocklist's call index.
			kvRead(kvCallIndex))
	case UserBlocklist:
		return slices.Concat(
			// Verdicts, call-back ticks, takes, console audits and
			// incidents are published by the blocklist's admin side (API
			// and console).
			[]string{SubjectAllBlocklist, TypeVerdict.Subject(), TypeHandled.Subject(), TypeTaken.Subject(), SubjectAudit, SubjectAllIncidents},
			ensureStreamAPI(StreamName), durableAPI(d.Blocklist), readAPI(StreamName),
			// The console reads histories and looks calls up with
			// ordered consumers.
			orderedAPI(StreamName),
			kvRead(kvBlocklist), kvWrite(kvBlocklist), kvRead(kvCallIndex), kvWrite(kvCallIndex),
			// The worker indexes each number's events and the console
			// reads a history through that index (readAPI(StreamName)
			// above fetches the events by sequence).
			kvRead(kvHistory), kvWrite(kvHistory),
			// The worker's sweep purges forgotten records (Store.Prune).
			[]string{"$JS.API.STREAM.PURGE.KV_" + kvBlocklist},
			// The console starts and stops incident announcements through
			// the blocklist's admin side.
			kvRead(kvIncident), kvWrite(kvIncident),
			// A supervisor cancels a call-back or switches them off and on
			// from the console: it writes the record and says so.
			kvRead(CallbacksBucket), kvWrite(CallbacksBucket), []string{TypeCallbackDone.Subject()})
	case UserReports:
		return slices.Concat(ensureStreamAPI(StreamName), durableAPI(d.Reports), readAPI(StreamName))
	case UserServer:
		return dedupe(slices.Concat(rolePublish(UserIVR, d), rolePublish(UserBlocklist, d), rolePublish(UserReports, d)))
	case UserAdmin:
		return []string{"siaga112.>", "$JS.API.>", "$KV.>", "$JS.ACK.>", "$JS.FC.>"}
	}
	return nil
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// permissions of one user: publish only what publishAllow lists, and
// subscribe only to the user's own inbox, where every JetStream reply,
// pull and push delivery arrives.
func permissions(user string, d Durables) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: publishAllow(user, d), Deny: publishDeny(user, d)},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix(user) + ".>"}},
	}
}

// embeddedLogin returns how to log in to the embedded server at rawURL as
// user, or nil when the URL is not this host's embedded server or other
// credentials are configured. It is used by a process that did not start
// the server (the command line, or a role pointed at a running serve's
// embedded server): the credentials file in nats.embedded.data_dir is
// readable only by the siaga112 user, and the password is only ever sent to
// a loopback address, never to a server elsewhere that nats.url names.
func embeddedLogin(cfg configs.NATS, rawURL, user string) (ConnectOption, error) {
	if cfg.Creds != "" || cfg.NKey != "" || cfg.Embedded.DataDir == "" || !loopbackURL(rawURL) {
		return nil, nil
	}
	c, err := ReadCredentials(cfg.Embedded.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		// No embedded server ever ran here: whatever listens needs no
		// password, or tells the user so.
		return nil, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w (it is readable only by the user siaga112 runs as: run this command as that user)", err)
	}
	if err != nil {
		return nil, err
	}
	if user == UserAdmin {
		return WithNKey(user, c)
	}
	return withUserFromFile(user, c.Users[user], cfg.Embedded.DataDir), nil
}

// loopbackURL reports whether every server of a NATS URL list is on this
// host and none carries userinfo of its own.
func loopbackURL(urls string) bool {
	for _, u := range strings.Split(urls, ",") {
		u = strings.TrimSpace(u)
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		pu, err := url.Parse(u)
		if err != nil || pu.User != nil {
			return false
		}
		host := pu.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}
