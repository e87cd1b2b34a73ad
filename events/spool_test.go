package events

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillSpool writes the payloads to a fresh spool in dir and closes it.
func fillSpool(t *testing.T, dir string, payloads ...string) {
	t.Helper()
	s, err := openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatalf("openSpool: %v", err)
	}
	for _, p := range payloads {
		if _, err := s.append([]byte(p)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func readAll(t *testing.T, s *spool) []string {
	t.Helper()
	recs, err := s.read(1<<20, 1<<30)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, string(r.payload))
	}
	return out
}

func TestSpoolTornTail(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string)
		want    []string
		corrupt bool
	}{
		{
			name:   "intact",
			damage: func(*testing.T, string) {},
			want:   []string{"one", "two", "three"},
		},
		{
			name: "last record cut short",
			damage: func(t *testing.T, path string) {
				st, _ := os.Stat(path)
				if err := os.Truncate(path, st.Size()-2); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"one", "two"}, corrupt: true,
		},
		{
			name: "half a record header",
			damage: func(t *testing.T, path string) {
				appendBytes(t, path, []byte{0, 0, 0})
			},
			want: []string{"one", "two", "three"}, corrupt: true,
		},
		{
			name: "last record checksum wrong",
			damage: func(t *testing.T, path string) {
				b, _ := os.ReadFile(path)
				b[len(b)-1] ^= 0xff
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"one", "two"}, corrupt: true,
		},
		{
			name: "absurd length",
			damage: func(t *testing.T, path string) {
				appendBytes(t, path, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 'x'})
			},
			want: []string{"one", "two", "three"}, corrupt: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fillSpool(t, dir, "one", "two", "three")
			path := filepath.Join(dir, spoolFileName)
			tt.damage(t, path)

			logBuf := &syncBuffer{}
			s, err := openSpool(dir, 1<<20, testLogTo(logBuf))
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer func() { _ = s.close() }()
			if got := readAll(t, s); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("records after reopen %q, want %q", got, tt.want)
			}
			logged := strings.Contains(logBuf.String(), "torn or corrupt")
			side, _ := filepath.Glob(path + ".*.corrupt")
			if logged != tt.corrupt || (len(side) == 1) != tt.corrupt {
				t.Fatalf("corrupt tail logged=%v side files=%v, want %v\n%s", logged, side, tt.corrupt, logBuf.String())
			}
			// New appends land on a record boundary after the cut.
			if _, err := s.append([]byte("four")); err != nil {
				t.Fatalf("append after recovery: %v", err)
			}
			want := append(append([]string{}, tt.want...), "four")
			if got := readAll(t, s); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("records after append %q, want %q", got, want)
			}
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSpoolNotASpool(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, spoolFileName), []byte("this is somebody else's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(dir, 1<<20, testLog(t)); err == nil || !strings.Contains(err.Error(), "not a siaga112 spool") {
		t.Fatalf("openSpool on a foreign file: %v", err)
	}
}

func TestSpoolDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(filepath.Join(file, "spool"), 1<<20, testLog(t)); err == nil || !strings.Contains(err.Error(), "nats.spool.dir") {
		t.Fatalf("openSpool under a file: %v", err)
	}
}

// TestSpoolAdvanceResumesAfterReopen: the head offset persists, so a
// reopened spool does not hand back records already replayed, and a fully
// replayed spool shrinks back to its header.
func TestSpoolAdvanceResumesAfterReopen(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir, "a", "b", "c")
	s, err := openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.read(1, 1<<30)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read: %v %d", err, len(recs))
	}
	if drained, err := s.advance(recs[0].end); err != nil || drained {
		t.Fatalf("advance: drained=%v err=%v", drained, err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}

	s, err = openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.close() }()
	if got := readAll(t, s); strings.Join(got, ",") != "b,c" {
		t.Fatalf("after reopen %q, want b,c", got)
	}
	recs, _ = s.read(10, 1<<30)
	if drained, err := s.advance(recs[len(recs)-1].end); err != nil || !drained {
		t.Fatalf("advance to the end: drained=%v err=%v", drained, err)
	}
	st, err := os.Stat(filepath.Join(dir, spoolFileName))
	if err != nil || st.Size() != spoolHeaderSize {
		t.Fatalf("drained spool size %v, want %d (%v)", st.Size(), spoolHeaderSize, err)
	}
}

// TestSpoolCompaction: replayed space at the front is reclaimed while
// records keep arriving, and nothing is lost or reordered.
func TestSpoolCompaction(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 64<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.close() }()
	payload := func(i int) string { return fmt.Sprintf("%06d-%s", i, bytes.Repeat([]byte("x"), 1000)) }
	const total = 3000 // about 3 MB
	for i := range total {
		if _, err := s.append([]byte(payload(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Replay two thirds, then compact, then append more.
	recs, err := s.read(2000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.advance(recs[len(recs)-1].end); err != nil {
		t.Fatal(err)
	}
	if err := s.maybeCompact(); err != nil {
		t.Fatalf("compact: %v", err)
	}
	st, _ := os.Stat(filepath.Join(dir, spoolFileName))
	if st.Size() > 1100*1000+spoolHeaderSize {
		t.Fatalf("file is %d bytes after compaction", st.Size())
	}
	if _, err := s.append([]byte(payload(total))); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s)
	if len(got) != 1001 || got[0] != payload(2000) || got[1000] != payload(total) {
		t.Fatalf("after compaction %d records, first %.6s last %.6s", len(got), got[0], got[len(got)-1])
	}
}

// TestSpoolConcurrentAppend: appends from many goroutines (sharing fsyncs)
// all survive a reopen, each goroutine's records in its own order.
func TestSpoolConcurrentAppend(t *testing.T) {
	const writers, each = 8, 50
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				if _, err := s.append(fmt.Appendf(nil, "%d:%03d", w, i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s, err = openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.close() }()
	got := readAll(t, s)
	if len(got) != writers*each {
		t.Fatalf("%d records after reopen, want %d", len(got), writers*each)
	}
	next := make(map[string]int)
	for _, r := range got {
		w, i, _ := strings.Cut(r, ":")
		if want := fmt.Sprintf("%03d", next[w]); i != want {
			t.Fatalf("writer %s: record %s, want %s", w, i, want)
		}
		next[w]++
	}
}

// TestSpoolInUse: a second publisher on the same spool directory is refused
// until the first one closes.
func TestSpoolInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(dir, 1<<20, testLog(t)); !errors.Is(err, ErrSpoolInUse) {
		t.Fatalf("second openSpool: %v, want ErrSpoolInUse", err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s, err = openSpool(dir, 1<<20, testLog(t))
	if err != nil {
		t.Fatalf("openSpool after close: %v", err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
}
