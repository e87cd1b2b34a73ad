package events

import (
	"strings"
	"testing"
	"time"
)

// TestReplayDropsOnlyTheRejectedRecord: a spooled event larger than the
// server's max payload can never be published. The replay drops it and
// publishes the events before and after it, in order, in the same pass.
func TestReplayDropsOnlyTheRejectedRecord(t *testing.T) {
	srv := startServer(t, t.TempDir(), "127.0.0.1:0")
	_, js := connect(t, srv.ClientURL())
	ensureStream(t, js)
	cfg := natsConfig(t)

	sp, err := openSpool(cfg.Spool.Dir, DefaultSpoolMaxBytes, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 6 {
		ev := event(t, i)
		if i == 2 {
			// Past the embedded server's 1 MiB max payload.
			ev.Caller.Name = strings.Repeat("x", 2<<20)
		} else {
			want = append(want, ev.ID)
		}
		data, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.append(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}

	p := newPublisher(t, js, cfg, testLog(t))
	eventually(t, 30*time.Second, "spool drained", func() bool { return !p.Stats().Spooling })
	st := p.Stats()
	if st.Replayed != uint64(len(want)) || st.Dropped != 1 || !strings.Contains(st.LastError, "maximum payload") {
		t.Fatalf("stats %+v: want %d replayed and the large one dropped", st, len(want))
	}
	requireSameOrder(t, streamIDs(t, js), want)
}
