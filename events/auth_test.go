package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/siaga112/siaga112/configs"
)

// startAuthServer runs an embedded server that requires its credentials,
// as every command runs it.
func startAuthServer(t testing.TB, dir string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}, testLog(t))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// userConn is a raw connection as user that reports the server's async
// errors (permission violations) on a channel.
type userConn struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

func dialAs(t testing.TB, e *Embedded, dir, user string) *userConn {
	t.Helper()
	c, err := ReadCredentials(dir)
	if err != nil {
		t.Fatalf("ReadCredentials: %v", err)
	}
	uc := &userConn{errs: make(chan error, 64)}
	login := nats.UserInfo(user, c.Users[user])
	if user == UserAdmin {
		kp, pub, err := c.adminKey()
		if err != nil {
			t.Fatal(err)
		}
		login = nats.Nkey(pub, kp.Sign)
	}
	uc.nc, err = nats.Connect(e.ClientURL(), login, nats.CustomInboxPrefix(InboxPrefix(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case uc.errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(uc.nc.Close)
	if uc.js, err = jetstream.New(uc.nc); err != nil {
		t.Fatal(err)
	}
	return uc
}

// denied runs op and expects the server to refuse it with a permissions
// violation naming subject.
func (uc *userConn) denied(t *testing.T, what, subject string, op func() error) {
	t.Helper()
	for len(uc.errs) > 0 {
		<-uc.errs
	}
	if err := op(); err != nil && !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("%s: %v", what, err)
	}
	_ = uc.nc.Flush()
	select {
	case err := <-uc.errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("%s: got %v, want a permissions violation for %s", what, err, subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s was allowed", what)
	}
}

// TestEmbeddedCredentialsFile: the first start writes the file with every
// user and mode 0600; the next start on the same directory keeps it.
func TestEmbeddedCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	e := startAuthServer(t, dir)
	path := filepath.Join(dir, CredentialsFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %04o, want 0600", st.Mode().Perm())
	}
	first, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{UserIVR, UserBlocklist, UserReports, UserServer} {
		if len(first.Users[u]) < 40 {
			t.Fatalf("user %s has password %q, want a long random one", u, first.Users[u])
		}
	}
	if first.Users[UserIVR] == first.Users[UserReports] {
		t.Fatal("users share a password")
	}
	if _, ok := first.Users[UserAdmin]; ok {
		t.Fatal("the admin has a password; it logs in with its key only")
	}
	if _, _, err := first.adminKey(); err != nil {
		t.Fatalf("admin key: %v", err)
	}
	e.Shutdown()

	startAuthServer(t, dir)
	again, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Users[UserIVR] != first.Users[UserIVR] || again.NKeys[UserAdmin] != first.NKeys[UserAdmin] {
		t.Fatal("restart changed the passwords or the admin key")
	}

	// A file others can read is refused, not used.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCredentials(dir); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file: got %v", err)
	}
	if _, err := StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}, testLog(t)); !errors.Is(err, ErrCredentials) {
		t.Fatalf("StartEmbedded with a world-readable credentials file: %v", err)
	}
}

// TestEmbeddedRefusesClientsWithoutCredentials: no user, a wrong password,
// or a known user's name alone cannot connect; the right login can.
func TestEmbeddedRefusesClientsWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	e := startAuthServer(t, dir)
	creds, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts []nats.Option
	}{
		{"no credentials", nil},
		{"wrong password", []nats.Option{nats.UserInfo(UserAdmin, "guess")}},
		{"another user's password", []nats.Option{nats.UserInfo(UserAdmin, creds.Users[UserIVR])}},
		{"token", []nats.Option{nats.Token(creds.Users[UserIVR])}},
		{"the admin's key as a password", []nats.Option{nats.UserInfo(UserAdmin, creds.NKeys[UserAdmin])}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(e.ClientURL(), tt.opts...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("got %v, want an authorization violation", err)
			}
		})
	}

	// Connect, as the roles use it, logs in with Login.
	nc, err := Connect(context.Background(), configs.NATS{}, e.ClientURL(), "ivr", testLog(t), e.Login(UserIVR))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eventually(t, 10*time.Second, "ivr connected", nc.IsConnected)
}

// TestEmbeddedRolePermissions drives each user through what its role does
// and a forgery its role must not be able to make.
func TestEmbeddedRolePermissions(t *testing.T) {
	dir := t.TempDir()
	e := startAuthServer(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admin := dialAs(t, e, dir, UserAdmin)
	if _, err := EnsureStream(ctx, admin.js, configs.Default().NATS.Stream); err != nil {
		t.Fatalf("admin: ensure stream: %v", err)
	}
	kvs := map[string]jetstream.KeyValue{}
	for _, b := range []string{kvBlocklist, kvCallIndex, kvHistory} {
		kv, err := admin.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b})
		if err != nil {
			t.Fatalf("admin: create bucket %s: %v", b, err)
		}
		kvs[b] = kv
	}
	if _, err := kvs[kvBlocklist].Put(ctx, "6281111", []byte("blocked")); err != nil {
		t.Fatalf("admin: KV put: %v", err)
	}
	verdict, err := New(TypeVerdict, "call-1", "", Caller{}, Verdict{Verdict: VerdictPrank, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	verdictData, _ := verdict.Marshal()

	t.Run("ivr", func(t *testing.T) {
		u := dialAs(t, e, dir, UserIVR)
		if _, err := EnsureStream(ctx, u.js, configs.Default().NATS.Stream); err != nil {
			t.Fatalf("ensure stream: %v", err)
		}
		p := newPublisher(t, u.js, natsConfig(t), testLog(t))
		ev := event(t, 1)
		if err := p.Publish(ctx, ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
		eventually(t, 10*time.Second, "event stored", func() bool { return p.Stats().Published+p.Stats().Replayed == 1 })
		// The blocklist cache: bind the bucket, watch it, read a key.
		kv, err := u.js.KeyValue(ctx, kvBlocklist)
		if err != nil {
			t.Fatalf("bind bucket: %v", err)
		}
		w, err := kv.WatchAll(ctx)
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		defer func() { _ = w.Stop() }()
		select {
		case entry := <-w.Updates():
			if entry == nil || entry.Key() != "6281111" {
				t.Fatalf("watch sent %v first, want the block", entry)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("watch sent nothing")
		}
		if _, err := kv.Get(ctx, "6281111"); err != nil {
			t.Fatalf("KV get: %v", err)
		}
		u.denied(t, "KV write", "$KV."+kvBlocklist, func() error { return u.nc.Publish("$KV."+kvBlocklist+".6282222", []byte("x")) })
		u.denied(t, "blocklist.changed", SubjectBlocklist, func() error { return u.nc.Publish(SubjectBlocklist, []byte("x")) })
		u.denied(t, "stream delete", "$JS.API.STREAM.DELETE", func() error {
			return u.nc.PublishRequest("$JS.API.STREAM.DELETE."+StreamName, u.nc.NewRespInbox(), nil)
		})
		u.denied(t, "reading the admin's replies", InboxPrefix(UserAdmin), func() error {
			_, err := u.nc.SubscribeSync(InboxPrefix(UserAdmin) + ".>")
			return err
		})
	})

	t.Run("reports", func(t *testing.T) {
		u := dialAs(t, e, dir, UserReports)
		c, err := NewConsumer(ctx, u.js, ConsumerSpec{Durable: DefaultDurables().Reports, Subjects: []string{SubjectAllCalls}, DeliverAll: true, MaxAckPending: 8},
			func(context.Context, Envelope, Meta) error { return nil }, testLog(t))
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		eventually(t, 20*time.Second, "the ivr's event consumed", func() bool { return c.Stats().Handled >= 1 })
		stop()
		if err := <-done; err != nil {
			t.Fatalf("consumer run: %v", err)
		}
		u.denied(t, "publishing an event", "siaga112.calls.verdict", func() error { return u.nc.Publish(TypeVerdict.Subject(), verdictData) })
		u.denied(t, "KV write", "$KV."+kvBlocklist, func() error { return u.nc.Publish("$KV."+kvBlocklist+".6282222", []byte("x")) })
		u.denied(t, "KV write", "$KV."+kvHistory, func() error { return u.nc.Publish("$KV."+kvHistory+".p6282222", []byte("x")) })
		u.denied(t, "core subscription to call events", "siaga112.calls.>", func() error {
			_, err := u.nc.SubscribeSync(SubjectAllCalls)
			return err
		})
	})

	t.Run("blocklist", func(t *testing.T) {
		u := dialAs(t, e, dir, UserBlocklist)
		c, err := NewConsumer(ctx, u.js, ConsumerSpec{Durable: DefaultDurables().Blocklist, Subjects: []string{SubjectAllCalls}, DeliverAll: true, MaxAckPending: 8},
			func(context.Context, Envelope, Meta) error { return nil }, testLog(t))
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		eventually(t, 20*time.Second, "the ivr's event consumed", func() bool { return c.Stats().Handled >= 1 })
		stop()
		if err := <-done; err != nil {
			t.Fatalf("consumer run: %v", err)
		}
		for _, b := range []string{kvBlocklist, kvCallIndex, kvHistory} {
			kv, err := u.js.KeyValue(ctx, b)
			if err != nil {
				t.Fatalf("bind %s: %v", b, err)
			}
			if _, err := kv.Put(ctx, "k1", []byte("v")); err != nil {
				t.Fatalf("put %s: %v", b, err)
			}
			if _, err := kv.Get(ctx, "k1"); err != nil {
				t.Fatalf("get %s: %v", b, err)
			}
		}
		if _, err := u.js.Publish(ctx, TypeVerdict.Subject(), verdictData, jetstream.WithMsgID(verdict.ID)); err != nil {
			t.Fatalf("verdict (the HTTP API's): %v", err)
		}
		take, err := New(TypeTaken, "call-1", "", Caller{}, Taken{By: "siti"})
		if err != nil {
			t.Fatal(err)
		}
		takeData, _ := take.Marshal()
		if _, err := u.js.Publish(ctx, take.Subject(), takeData, jetstream.WithMsgID(take.ID)); err != nil {
			t.Fatalf("call.taken (the console's): %v", err)
		}
		changed, err := New(TypeBlocklistChanged, "", "", Caller{}, BlocklistChanged{Number: "+6281111", Strikes: 3, Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		changedData, _ := changed.Marshal()
		if _, err := u.js.Publish(ctx, changed.Subject(), changedData, jetstream.WithMsgID(changed.ID)); err != nil {
			t.Fatalf("blocklist.changed: %v", err)
		}
		u.denied(t, "forging a call event", "siaga112.calls.started", func() error { return u.nc.Publish(TypeStarted.Subject(), []byte("{}")) })
		// The worker's sweep purges forgotten records from the bucket's
		// stream, one key at a time; the events stream stays out of reach.
		bucket, err := u.js.Stream(ctx, "KV_"+kvBlocklist)
		if err != nil {
			t.Fatalf("bind the bucket's stream: %v", err)
		}
		if err := bucket.Purge(ctx, jetstream.WithPurgeSubject("$KV."+kvBlocklist+".k1")); err != nil {
			t.Fatalf("purge a key as the sweep does: %v", err)
		}
		u.denied(t, "purging the events stream", "$JS.API.STREAM.PURGE", func() error {
			return u.nc.PublishRequest("$JS.API.STREAM.PURGE."+StreamName, u.nc.NewRespInbox(), nil)
		})
	})
}

// TestAttachedRoleFollowsNewCredentials: a role attached to a serve's
// embedded server (the password read from the data directory) keeps
// reconnecting when that server comes back with new credentials, and logs
// in with them; the library's default would close the connection for
// good after the second refused login.
func TestAttachedRoleFollowsNewCredentials(t *testing.T) {
	dir := t.TempDir()
	log := testLog(t)
	e, err := StartEmbedded(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	url := e.ClientURL()
	hostPort := strings.TrimPrefix(url, "nats://")
	before, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configs.NATS{Embedded: configs.Embedded{DataDir: dir}}
	login, err := embeddedLogin(cfg, url, UserIVR)
	if err != nil || login == nil {
		t.Fatalf("embeddedLogin: %v, %v", login, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := Connect(ctx, cfg, url, "ivr", log, login)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.FlushWithContext(ctx); err != nil {
		t.Fatalf("first login: %v", err)
	}

	e.Shutdown()
	if err := os.Remove(filepath.Join(dir, CredentialsFile)); err != nil {
		t.Fatal(err)
	}
	e2, err := StartEmbedded(configs.Embedded{Listen: hostPort, DataDir: dir, Auth: true}, log)
	if err != nil {
		t.Fatalf("restart on %s: %v", hostPort, err)
	}
	defer e2.Shutdown()
	after, err := ReadCredentials(dir)
	if err != nil || after.Users[UserIVR] == before.Users[UserIVR] {
		t.Fatalf("the restarted server kept the old password (%v)", err)
	}
	eventually(t, 45*time.Second, "reconnected with the new credentials", func() bool {
		return nc.IsConnected() || nc.IsClosed()
	})
	if nc.IsClosed() {
		t.Fatalf("the connection was closed for good: %v", nc.LastError())
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}

// TestEmbeddedRoleForbiddenActs: each role's password, in the hands of an
// attacker, cannot forge another role's events nor change what the system
// keeps: no role but the admin may update the stream or a bucket, and none
// may touch another role's durable consumer. The server (a process running
// every role) may publish every role's events but is no admin either.
func TestEmbeddedRoleForbiddenActs(t *testing.T) {
	dir := t.TempDir()
	e := startAuthServer(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admin := dialAs(t, e, dir, UserAdmin)
	streamCfg := configs.Default().NATS.Stream
	if _, err := ApplyStream(ctx, admin.js, streamCfg); err != nil {
		t.Fatalf("admin: apply stream: %v", err)
	}
	if _, err := admin.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: kvBlocklist}); err != nil {
		t.Fatalf("admin: create bucket: %v", err)
	}
	durables := DefaultDurables()
	for _, d := range []string{durables.Blocklist, durables.Reports} {
		if _, err := admin.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{Durable: d, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatalf("admin: consumer %s: %v", d, err)
		}
	}
	verdict, err := New(TypeVerdict, "call-1", "", Caller{}, Verdict{Verdict: VerdictPrank, By: "forger"})
	if err != nil {
		t.Fatal(err)
	}
	verdictData, _ := verdict.Marshal()
	updateStream, _ := json.Marshal(jetstream.StreamConfig{Name: StreamName, Subjects: StreamConfig(streamCfg).Subjects, MaxMsgs: 1, Storage: jetstream.FileStorage})
	updateBucket, _ := json.Marshal(jetstream.StreamConfig{Name: "KV_" + kvBlocklist, Subjects: []string{"$KV." + kvBlocklist + ".>"}, MaxAge: time.Second, Storage: jetstream.FileStorage})
	refilter, _ := json.Marshal(map[string]any{"stream_name": StreamName, "config": map[string]any{
		"durable_name": durables.Blocklist, "ack_policy": "explicit", "filter_subject": TypeStarted.Subject()}})

	request := func(u *userConn, subject string, data []byte) func() error {
		return func() error { return u.nc.PublishRequest(subject, u.nc.NewRespInbox(), data) }
	}
	type act struct {
		what, subject string
		data          []byte
	}
	forged := func(subject string) act { return act{"publish " + subject, subject, verdictData} }
	streamAdmin := []act{
		{"update the stream to max_msgs 1", "$JS.API.STREAM.UPDATE." + StreamName, updateStream},
		{"delete the stream", "$JS.API.STREAM.DELETE." + StreamName, nil},
		{"purge the stream", "$JS.API.STREAM.PURGE." + StreamName, nil},
		{"set the blocklist bucket's max_age to 1s", "$JS.API.STREAM.UPDATE.KV_" + kvBlocklist, updateBucket},
		{"delete the blocklist bucket", "$JS.API.STREAM.DELETE.KV_" + kvBlocklist, nil},
	}
	deleteConsumer := func(d string) act {
		return act{"delete consumer " + d, "$JS.API.CONSUMER.DELETE." + StreamName + "." + d, nil}
	}
	for _, tt := range []struct {
		user string
		acts []act
	}{
		{UserIVR, slices.Concat(streamAdmin, []act{
			forged(TypeVerdict.Subject()), forged(TypeHandled.Subject()), forged(TypeTaken.Subject()), forged(SubjectAudit), forged(SubjectBlocklist),
			forged(SubjectIncidentPrefix + "started"),
			deleteConsumer(durables.Reports), deleteConsumer(durables.Blocklist),
			{"pull from the blocklist's consumer", "$JS.API.CONSUMER.MSG.NEXT." + StreamName + "." + durables.Blocklist, nil},
		})},
		{UserReports, slices.Concat(streamAdmin, []act{
			forged(TypeVerdict.Subject()), forged(TypeTaken.Subject()), forged(TypeStarted.Subject()), forged(SubjectOperatorState),
			deleteConsumer(durables.Blocklist),
			{"re-filter the blocklist's consumer", "$JS.API.CONSUMER.CREATE." + StreamName + "." + durables.Blocklist + "." + TypeStarted.Subject(), refilter},
			{"re-filter the blocklist's consumer (durable form)", "$JS.API.CONSUMER.DURABLE.CREATE." + StreamName + "." + durables.Blocklist, refilter},
			{"create a consumer named in the body", "$JS.API.CONSUMER.CREATE." + StreamName, refilter},
			{"ack for the blocklist", "$JS.ACK." + StreamName + "." + durables.Blocklist + ".1.1.1.1.1", nil},
		})},
		{UserBlocklist, slices.Concat(streamAdmin, []act{
			forged(TypeStarted.Subject()), forged(TypeEnded.Subject()), forged(SubjectOperatorState),
			deleteConsumer(durables.Reports),
			{"pull from the reports' consumer", "$JS.API.CONSUMER.MSG.NEXT." + StreamName + "." + durables.Reports, nil},
			{"create a consumer named in the body", "$JS.API.CONSUMER.CREATE." + StreamName, refilter},
		})},
		{UserServer, streamAdmin},
	} {
		t.Run(tt.user, func(t *testing.T) {
			u := dialAs(t, e, dir, tt.user)
			for _, a := range tt.acts {
				u.denied(t, a.what, a.subject, request(u, a.subject, a.data))
			}
			// Creating the stream or the bucket anew with other limits is
			// allowed (a role may start first) but changes nothing.
			bad := StreamConfig(streamCfg)
			bad.MaxMsgs = 1
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			defer ccancel()
			if _, err := u.js.CreateStream(cctx, bad); !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				t.Fatalf("creating the stream with max_msgs 1: %v, want it refused as in use", err)
			}
			if tt.user == UserReports {
				return // no access to the bucket at all
			}
			if _, err := u.js.CreateKeyValue(cctx, jetstream.KeyValueConfig{Bucket: kvBlocklist, TTL: time.Second}); err == nil {
				t.Fatal("creating the blocklist bucket with max_age 1s succeeded")
			}
		})
	}

	// Nothing above reached the server: the limits and consumers are as
	// the admin left them.
	s, err := admin.js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.MaxMsgs != -1 || c.MaxBytes != streamCfg.MaxBytes {
		t.Fatalf("stream max_msgs %d max_bytes %d after the attempts", c.MaxMsgs, c.MaxBytes)
	}
	b, err := admin.js.Stream(ctx, "KV_"+kvBlocklist)
	if err != nil {
		t.Fatal(err)
	}
	if b.CachedInfo().Config.MaxAge != 0 {
		t.Fatalf("bucket max_age %s after the attempts", b.CachedInfo().Config.MaxAge)
	}
	for _, d := range []string{durables.Blocklist, durables.Reports} {
		c, err := admin.js.Consumer(ctx, StreamName, d)
		if err != nil {
			t.Fatalf("consumer %s: %v", d, err)
		}
		if f := c.CachedInfo().Config.FilterSubject; f != "" {
			t.Fatalf("consumer %s filtered on %q after the attempts", d, f)
		}
	}
}

// TestOpenOwnerAppliesStream: the process that starts the embedded server
// applies nats.stream.* (as admin) at every start, so a changed max_bytes
// takes effect at the next serve; a role attached to it with another
// config finds the stream and leaves it alone.
func TestOpenOwnerAppliesStream(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := natsConfig(t)
	cfg.Embedded = configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}
	maxBytes := func(b *Bus) int64 {
		t.Helper()
		s, err := b.JS.Stream(ctx, StreamName)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.MaxBytes
	}

	b, err := Open(ctx, cfg, OpenOptions{RequireStream: true}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := maxBytes(b); got != cfg.Stream.MaxBytes {
		t.Fatalf("max_bytes %d, want %d", got, cfg.Stream.MaxBytes)
	}
	b.Close()

	cfg.Stream.MaxBytes = 64 << 20
	b, err = Open(ctx, cfg, OpenOptions{RequireStream: true}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := maxBytes(b); got != 64<<20 {
		t.Fatalf("after a restart with max_bytes 64 MiB: %d", got)
	}

	attached := cfg
	attached.Embedded.Listen = strings.TrimPrefix(b.URL, "nats://")
	attached.Stream.MaxBytes = 32 << 20
	var logs syncBuffer
	ivr, err := Open(ctx, attached, OpenOptions{Embedded: EmbeddedAttach, User: UserIVR, RequireStream: true}, testLogTo(&logs))
	if err != nil {
		t.Fatalf("ivr attached: %v", err)
	}
	defer ivr.Close()
	if got := maxBytes(ivr); got != 64<<20 {
		t.Fatalf("an attached ivr changed max_bytes to %d", got)
	}
	if !strings.Contains(logs.String(), "nats.stream.max_bytes") {
		t.Fatalf("the attached role did not log the difference:\n%s", logs.String())
	}
}

// TestAdminKeyNeverCrossesTheWire: the admin command line, pointed at
// whatever listens on the embedded server's address (another program on
// 127.0.0.1:4222 while siaga112 is down), sends it no secret of the
// credentials file: the admin signs the stranger's nonce, and the
// signature logs nobody into the real server.
func TestAdminKeyNeverCrossesTheWire(t *testing.T) {
	dir := t.TempDir()
	e := startAuthServer(t, dir)
	creds, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.Shutdown()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer func() { _ = conn.Close() }()
		// What a NATS server says first; a nonce asks for a signature.
		_, _ = fmt.Fprintf(conn, "INFO {\"server_id\":\"stranger\",\"version\":\"2.10.0\",\"proto\":1,\"auth_required\":true,\"nonce\":\"stranger-nonce\",\"max_payload\":1048576,\"headers\":true}\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		var all []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(all, []byte("PING")) {
			n, err := conn.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()

	cfg := configs.Default().NATS
	cfg.URL = "nats://" + ln.Addr().String()
	cfg.Embedded.DataDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, OpenOptions{Name: "admin", Embedded: EmbeddedAttach, SkipStream: true}, testLog(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer b.Close()
	var sent []byte
	select {
	case sent = <-got:
	case <-ctx.Done():
		t.Fatal("the admin never connected to the listener")
	}
	if !bytes.Contains(sent, []byte("CONNECT ")) || !bytes.Contains(sent, []byte(`"sig":`)) {
		t.Fatalf("the listener got %q, want a CONNECT with a signature", sent)
	}
	secrets := map[string]string{"admin key": creds.NKeys[UserAdmin]}
	for u, pw := range creds.Users {
		secrets[u+"'s password"] = pw
	}
	for what, secret := range secrets {
		if secret != "" && bytes.Contains(sent, []byte(secret)) {
			t.Fatalf("the listener received the %s", what)
		}
	}
	if bytes.Contains(sent, []byte(`"pass"`)) {
		t.Fatalf("the listener received a password field: %q", sent)
	}
}

// TestCredentialsFileGainsAdminKey: a credentials file written before the
// admin had a key (an admin password) gets one at the server's next start,
// keeps the roles' passwords, and the old admin password no longer logs
// in.
func TestCredentialsFileGainsAdminKey(t *testing.T) {
	dir := t.TempDir()
	old := Credentials{Users: map[string]string{}}
	for _, u := range allUsers {
		old.Users[u] = strings.Repeat(u[:1], 43)
	}
	if err := writeCredentials(dir, old, false); err != nil {
		t.Fatal(err)
	}
	e := startAuthServer(t, dir)
	now, err := ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := now.adminKey(); err != nil {
		t.Fatalf("no admin key after the start: %v", err)
	}
	if now.Users[UserIVR] != old.Users[UserIVR] {
		t.Fatal("the roles' passwords changed")
	}
	if st, err := os.Stat(filepath.Join(dir, CredentialsFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file after the upgrade: %v %v", st, err)
	}
	if nc, err := nats.Connect(e.ClientURL(), nats.UserInfo(UserAdmin, old.Users[UserAdmin])); err == nil {
		nc.Close()
		t.Fatal("the old admin password still logs in")
	}
	dialAs(t, e, dir, UserIVR)
	dialAs(t, e, dir, UserAdmin)
}

// TestReportsUserWorksConfiguredDurable: with reports.durable set, the
// server started by that process lets the reports user work that consumer
// and no other name.
func TestReportsUserWorksConfiguredDurable(t *testing.T) {
	dir := t.TempDir()
	cfg := configs.Default()
	cfg.Reports.Durable = "reports-b"
	e, err := StartEmbeddedFor(configs.Embedded{Listen: "127.0.0.1:0", DataDir: dir, Auth: true}, DurablesFor(cfg), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := dialAs(t, e, dir, UserAdmin)
	if _, err := ApplyStream(ctx, admin.js, cfg.NATS.Stream); err != nil {
		t.Fatal(err)
	}
	u := dialAs(t, e, dir, UserReports)
	if _, err := u.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{Durable: "reports-b", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("the configured durable: %v", err)
	}
	u.denied(t, "the default name", "$JS.API.CONSUMER.CREATE."+StreamName+".reports", func() error {
		return u.nc.PublishRequest("$JS.API.CONSUMER.CREATE."+StreamName+".reports", u.nc.NewRespInbox(), []byte("{}"))
	})
}
