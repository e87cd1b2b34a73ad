package blocklist

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/phone"
)

// kvKeyOK reports whether k is a key NATS KV accepts: letters, digits and
// "-/_=." (no leading or trailing dot), short enough for a control line.
func kvKeyOK(k string) bool {
	if k == "" || len(k) > 256 || k[0] == '.' || k[len(k)-1] == '.' {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-/_=.", c) >= 0) {
			return false
		}
	}
	return true
}

func TestCallKeyBounded(t *testing.T) {
	tests := []struct {
		name, id string
	}{
		{"asterisk id", "1732700000.42"},
		{"uuid", "5f0c9a3e-8f1b-4c1e-9d8e-0a1b2c3d4e5f"},
		{"longest hex", strings.Repeat("x", maxHexCallID)},
		{"just over", strings.Repeat("x", maxHexCallID+1)},
		{"2,100 characters", strings.Repeat("A", 2100)},
		{"odd bytes", "a b.c*>\x00\xff/é"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := callKey(tc.id)
			if !kvKeyOK(k) || len(k) > 1+2*maxHexCallID {
				t.Fatalf("callKey = %q (%d bytes): not a short valid KV key", k, len(k))
			}
			if k != callKey(tc.id) {
				t.Fatal("callKey is not deterministic")
			}
			if other, dup := seen[k]; dup {
				t.Fatalf("callKey(%q) = callKey(%q)", tc.id, other)
			}
			seen[k] = tc.id
		})
	}
}

func TestKeyRefusesLongNumbers(t *testing.T) {
	if _, err := Key("+" + strings.Repeat("1", phone.MaxDigits)); err != nil {
		t.Fatalf("15 digits: %v", err)
	}
	for _, n := range []string{"+" + strings.Repeat("1", phone.MaxDigits+1), "+" + strings.Repeat("9", 4000), "+62.81", "6281234567"} {
		if _, err := Key(n); err == nil {
			t.Fatalf("Key(%.20q…) accepted", n)
		}
	}
	if _, ok := NumberFromKey("p" + strings.Repeat("1", 16)); ok {
		t.Fatal("NumberFromKey accepted 16 digits")
	}
}

// TestWorkerSurvivesPoison publishes into a running worker what stopped
// serve: a call.started whose call_id is 2,100 characters (its index key
// would not fit NATS's control line), and more hostile events. Each is
// terminated and counted; the worker keeps running and still blocks a
// prankster. A call id longer than the hex form (but valid) is indexed
// under its hash, and a verdict by call id finds it.
func TestWorkerSurvivesPoison(t *testing.T) {
	url := startNATS(t)
	in := startInstance(t, url, testPolicy(t))
	ctx := ctxT(t)

	raw := func(typ events.Type, callID string, c events.Caller, data string, edit func(*events.Envelope)) {
		t.Helper()
		e, err := events.New(typ, callID, "asterisk-1", c, json.RawMessage(data))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&e)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.js.Publish(ctx, typ.Subject(), b); err != nil {
			t.Fatal(err)
		}
	}
	caller := events.Caller{Number: "+6281111111111", Presentation: events.PresentationAllowed}
	raw(events.TypeStarted, strings.Repeat("A", 2100), caller, `{"dialed":"112"}`, nil)
	raw(events.TypeClassified, strings.Repeat("B", 2100), caller, `{"outcome":"no_input"}`, nil)
	raw(events.TypeVerdict, "call-y", caller, `{"verdict":"prank"}`, func(e *events.Envelope) { e.Time = time.Now().AddDate(0, 0, 30) })
	raw(events.TypeEnded, "call-z", caller, `{"outcome":"no_input","hangup_by":"'; DROP"}`, nil)
	const poison = 4
	// A 4,000-digit caller number is the caller's choice: cleaned (cut
	// short), not refused, then ignored as no phone number.
	raw(events.TypeVerdict, "call-x", events.Caller{Number: strings.Repeat("9", 4000)}, `{"verdict":"prank"}`, nil)

	// A valid call id of 150 characters: indexed by hash, found by a
	// verdict that carries no number.
	long := strings.Repeat("L", events.MaxCallIDLen)
	publish(t, in.js, events.TypeStarted, long, "081234567890", events.Started{Dialed: "112"})
	raw(events.TypeVerdict, long, events.Caller{}, `{"verdict":"prank","by":"siti"}`, nil)
	eventually(t, 10*time.Second, "verdict on the long call id blocks its caller", blockedIn(in.cache, testNumber))

	for i := range 3 {
		silentCall(t, in.js, fmt.Sprintf("after-poison-%d", i), "0812-2222-3333")
	}
	eventually(t, 10*time.Second, "three silent calls still block", blockedIn(in.cache, "+6281222223333"))

	// A prankster who sends a hostile caller name (control characters,
	// far too long) is cleaned, not refused: their calls still count.
	hostile := events.Caller{Number: "0812-4444-5555", Name: strings.Repeat("\x1b[2J", 100), Presentation: events.PresentationAllowed}
	for i := range 3 {
		id := fmt.Sprintf("hostile-name-%d", i)
		for _, ev := range []struct {
			typ  events.Type
			data string
		}{
			{events.TypeStarted, `{"dialed":"112"}`},
			{events.TypeClassified, `{"outcome":"no_input","attempts":3,"seconds_to_classify":25}`},
			{events.TypeEnded, `{"outcome":"no_input","duration_s":40,"hangup_by":"system"}`},
		} {
			raw(ev.typ, id, hostile, ev.data, nil)
		}
	}
	eventually(t, 10*time.Second, "a caller with a hostile name blocked", blockedIn(in.cache, "+6281244445555"))
	st := in.worker.Stats().Consumer
	if st.Poison != poison || st.Malformed != poison || st.LastPoison == "" {
		t.Fatalf("consumer stats %+v, want %d poison", st, poison)
	}
	if _, err := in.store.Get(ctx, "+6281111111111"); err == nil {
		t.Fatal("a poison event changed the record of its caller")
	}
	entry, err := in.worker.index.Get(ctx, callKey(long))
	if err != nil || string(entry.Value()) != testNumber {
		t.Fatalf("index of the long call id: %v", err)
	}
	if _, err := in.worker.index.Get(context.Background(), "h"+strings.Repeat("0", 64)); err == nil {
		t.Fatal("unexpected key in the index")
	}
}
