package blocklist

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

// reasonOf is a reason of n bytes.
func reasonOf(n int) string { return strings.Repeat("r", n) }

// TestBlockReasonBounded: a reason longer than the blocklist.changed
// event takes (events.MaxTextLen), or holding a line break, is refused
// where it is entered — the store (command line, console) and an import
// file — with an error that names the bound, and nothing is written; a
// reason at the bound is taken. The HTTP API's refusal is web's
// TestAPIBlockReasonBounded.
func TestBlockReasonBounded(t *testing.T) {
	_, js := connect(t, startNATS(t))
	s := newTestStore(t, js, testPolicy(t))
	ctx := ctxT(t)
	a := NewAdmin(s, nil, testLog(t))

	for _, bad := range []string{reasonOf(329), "two\nlines"} {
		if _, err := a.Block(ctx, "0812-3456-7890", time.Hour, bad, "budi"); !errors.Is(err, ErrBadReason) {
			t.Fatalf("Block with reason %.20q…: %v, want ErrBadReason", bad, err)
		}
	}
	if _, err := a.Block(ctx, "0812-3456-7890", time.Hour, reasonOf(329), "budi"); err == nil || !strings.Contains(err.Error(), "329 characters (at most 200)") {
		t.Fatalf("error %v does not name the length and the bound", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("a refused reason was written: %+v %v", list, err)
	}
	_, err := ParseImport(strings.NewReader("0812-3456-7890,7d,"+reasonOf(300)+"\n"), s.Policy(), time.Now(), time.UTC)
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 1 || !strings.Contains(err.Error(), "line 1: invalid block reason") {
		t.Fatalf("import: %v", err)
	}
	if _, err := a.Block(ctx, "0812-3456-7890", time.Hour, reasonOf(MaxReason), "budi"); err != nil {
		t.Fatalf("a reason at the bound: %v", err)
	}
}

// capture is a Publisher that keeps what it is given.
type capture struct{ got []events.Envelope }

func (c *capture) Publish(_ context.Context, e events.Envelope) error {
	c.got = append(c.got, e)
	return nil
}

// TestAnnounceCutsStoredReason: a block whose stored reason is longer than
// the event's bound (written before reasons were bounded) is still
// announced, with the reason cut on a character boundary, in an event
// every consumer accepts.
func TestAnnounceCutsStoredReason(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes, two per character
	r := Record{Number: "+6281234567890", Until: time.Now().Add(time.Hour), Reason: long}
	var pub capture
	announce(context.Background(), &pub, testLog(t), r, Decision{Change: ChangeBlock, Points: 3}, "", "")
	if len(pub.got) != 1 {
		t.Fatalf("%d events announced, want 1", len(pub.got))
	}
	if err := events.Validate(pub.got[0], time.Now()); err != nil {
		t.Fatalf("the announcement is refused: %v", err)
	}
	var d events.BlocklistChanged
	if err := pub.got[0].DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	if len(d.Reason) > events.MaxTextLen || !strings.HasSuffix(d.Reason, "…") || !strings.HasPrefix(long, strings.TrimSuffix(d.Reason, "…")) {
		t.Fatalf("reason %q (%d bytes), want the stored one cut to %d bytes with …", d.Reason, len(d.Reason), events.MaxTextLen)
	}
}
