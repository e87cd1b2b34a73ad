package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Spool errors.
var (
	// ErrSpoolFull is returned by Publish when an event could not be
	// acknowledged by NATS in time and the spool has no room for it: the
	// event is lost.
	ErrSpoolFull = errors.New("event spool is full")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("publisher is closed")
	// ErrSpoolInUse is returned by NewPublisher when another publisher (in
	// this or another process) already owns the spool directory: two
	// writers would corrupt each other's records.
	ErrSpoolInUse = errors.New("spool directory is in use by another publisher")
)

// The spool file layout. Every integer is big endian.
//
//	header (16 bytes): magic "S112SPL1" | head offset (uint64)
//	records:           length (uint32) | CRC-32C of payload (uint32) | payload
//
// Records are only ever appended at the tail. head is the offset of the
// first record not yet replayed to NATS; it is rewritten in place after each
// replayed record (without fsync: losing an update only means replaying a
// few events again, which the stream's duplicate window absorbs). When every
// record has been replayed the file is truncated back to the header.
const (
	spoolFileName    = "events.spool"
	spoolMagic       = "S112SPL1"
	spoolHeaderSize  = 16
	recordHeaderSize = 8
	// maxRecordSize rejects absurd length fields while scanning, so a
	// corrupt length cannot make us read or allocate gigabytes.
	maxRecordSize = 8 << 20
	// compactMinDead is how much replayed space must pile up at the front
	// of the file before it is worth rewriting the file without it.
	compactMinDead = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spoolRecord is one record read back for replay.
type spoolRecord struct {
	payload []byte
	// end is the offset just past this record: the new head once it is replayed.
	end int64
}

// spool is the append-only on-disk queue of events that NATS did not
// acknowledge in time. Appends come from any goroutine; reading, advancing
// the head and compacting come only from the publisher's replay goroutine.
type spool struct {
	path     string
	maxBytes int64
	log      *slog.Logger
	// lock holds an exclusive flock on a side file for the spool's lifetime.
	lock *os.File

	mu sync.Mutex // guards the fields below and writes to f
	f  *os.File
	// head is the offset of the first record not yet replayed; tail is the
	// offset just past the last complete record. head == tail means empty.
	head, tail int64
	closed     bool

	// live mirrors tail-head so Publish can ask "is anything spooled?"
	// without taking mu, and records is the number of records in that
	// range (the backlog in events, for health). Both are written only with
	// mu held.
	live    atomic.Int64
	records atomic.Int64

	// Group commit: appenders write under mu but fsync outside it, so
	// concurrent callers share one fsync instead of queueing for one each.
	// written counts every byte ever appended (it does not move back when
	// the file is truncated or compacted) and is guarded by mu; synced is
	// the part of written known to be on disk.
	written int64
	synced  atomic.Int64
	// syncMu lets one appender fsync at a time; the others wait for it and
	// usually find their bytes already covered.
	syncMu sync.Mutex
}

// openSpool opens (or creates) the spool in dir and checks every record not
// yet replayed. A torn or corrupt tail (a crash in the middle of an append,
// or a damaged disk) is logged, copied aside to a ".corrupt" file for
// inspection and cut off, so new appends start on a record boundary.
func openSpool(dir string, maxBytes int64, log *slog.Logger) (*spool, error) {
	if dir == "" {
		return nil, errors.New("events: spool: nats.spool.dir is empty")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("events: spool: cannot create nats.spool.dir %q: %w", dir, err)
	}
	path := filepath.Join(dir, spoolFileName)
	// The lock is on a separate file because compaction replaces the spool
	// file, and a lock on the old inode would not stop a second writer.
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("events: spool: open %q: %w", path, err)
	}
	s := &spool{path: path, maxBytes: maxBytes, log: log, f: f, lock: lock}
	if err := s.recover(); err != nil {
		_ = f.Close()
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// recover reads the header and scans the records after head.
func (s *spool) recover() error {
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("events: spool: stat %q: %w", s.path, err)
	}
	size := st.Size()
	if size < spoolHeaderSize {
		// New file, or a crash before the header was complete: nothing
		// was ever appended, so start afresh.
		return s.reset()
	}
	var hdr [spoolHeaderSize]byte
	if _, err := s.f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("events: spool: read header of %q: %w", s.path, err)
	}
	if string(hdr[:8]) != spoolMagic {
		return fmt.Errorf("events: spool: %q is not a siaga112 spool file (bad magic); move it away", s.path)
	}
	head := int64(binary.BigEndian.Uint64(hdr[8:]))
	if head < spoolHeaderSize || head > size {
		s.log.Warn("spool head offset out of range, replaying the whole spool", "path", s.path, "head", head, "size", size)
		head = spoolHeaderSize
	}
	off, n := head, 0
	for off < size {
		_, end, err := readRecord(s.f, off, size)
		if err != nil {
			s.log.Error("spool tail is torn or corrupt; the damaged bytes are cut off and saved aside",
				"path", s.path, "offset", off, "bytes", size-off, "good_records", n, "err", err)
			s.saveCorrupt(off, size)
			if err := s.f.Truncate(off); err != nil {
				return fmt.Errorf("events: spool: truncate torn tail of %q: %w", s.path, err)
			}
			if err := s.f.Sync(); err != nil {
				return fmt.Errorf("events: spool: sync %q: %w", s.path, err)
			}
			break
		}
		off, n = end, n+1
	}
	s.head, s.tail = head, off
	if s.head == s.tail {
		return s.reset()
	}
	s.live.Store(s.tail - s.head)
	s.records.Store(int64(n))
	s.log.Info("spool holds events from an earlier run; they will be replayed", "path", s.path, "records", n, "bytes", s.tail-s.head)
	return nil
}

// saveCorrupt copies the bytes [from, to) to a side file; failure to do so
// is only logged because the spool itself must still open.
func (s *spool) saveCorrupt(from, to int64) {
	side := fmt.Sprintf("%s.%d.corrupt", s.path, from)
	out, err := os.OpenFile(side, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = io.Copy(out, io.NewSectionReader(s.f, from, to-from))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.log.Warn("could not save the corrupt spool tail", "path", side, "err", err)
	}
}

// reset empties the file down to a fresh header. mu must be held (or the
// spool not yet shared).
func (s *spool) reset() error {
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("events: spool: truncate %q: %w", s.path, err)
	}
	var hdr [spoolHeaderSize]byte
	copy(hdr[:], spoolMagic)
	binary.BigEndian.PutUint64(hdr[8:], spoolHeaderSize)
	if _, err := s.f.WriteAt(hdr[:], 0); err != nil {
		return fmt.Errorf("events: spool: write header of %q: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("events: spool: sync %q: %w", s.path, err)
	}
	s.head, s.tail = spoolHeaderSize, spoolHeaderSize
	s.live.Store(0)
	s.records.Store(0)
	s.markSynced(s.written)
	return nil
}

// readRecord reads and checks the record at off in a file of the given size.
func readRecord(r io.ReaderAt, off, size int64) ([]byte, int64, error) {
	if size-off < recordHeaderSize {
		return nil, 0, fmt.Errorf("record header cut short (%d bytes)", size-off)
	}
	var rh [recordHeaderSize]byte
	if _, err := r.ReadAt(rh[:], off); err != nil {
		return nil, 0, fmt.Errorf("read record header: %w", err)
	}
	n := int64(binary.BigEndian.Uint32(rh[:4]))
	sum := binary.BigEndian.Uint32(rh[4:])
	if n == 0 || n > maxRecordSize {
		return nil, 0, fmt.Errorf("record length %d out of range", n)
	}
	end := off + recordHeaderSize + n
	if end > size {
		return nil, 0, fmt.Errorf("record of %d bytes cut short at %d", n, size-off-recordHeaderSize)
	}
	payload := make([]byte, n)
	if _, err := r.ReadAt(payload, off+recordHeaderSize); err != nil {
		return nil, 0, fmt.Errorf("read record: %w", err)
	}
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, 0, errors.New("record checksum mismatch")
	}
	return payload, end, nil
}

// pending is the number of bytes spooled and not yet replayed.
func (s *spool) pending() int64 { return s.live.Load() }

// pendingRecords is the number of records spooled and not yet replayed.
func (s *spool) pendingRecords() int64 { return s.records.Load() }

// append writes one record and fsyncs it before returning, so an event
// Publish has taken responsibility for survives a crash. It reports whether
// the spool was empty before (the start of an outage).
func (s *spool) append(payload []byte) (wasEmpty bool, err error) {
	if len(payload) == 0 || len(payload) > maxRecordSize {
		return false, fmt.Errorf("events: spool: event of %d bytes cannot be spooled", len(payload))
	}
	rec := make([]byte, recordHeaderSize+len(payload))
	binary.BigEndian.PutUint32(rec[:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Checksum(payload, crcTable))
	copy(rec[recordHeaderSize:], payload)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	// The bound is on events waiting for replay; replayed space at the
	// front is reclaimed by compaction, so the file stays near this size.
	if s.tail-s.head+int64(len(rec)) > s.maxBytes {
		s.mu.Unlock()
		return false, ErrSpoolFull
	}
	if _, err := s.f.WriteAt(rec, s.tail); err != nil {
		// Cut off whatever part of the record reached the file so the next
		// append starts on a record boundary.
		_ = s.f.Truncate(s.tail)
		s.mu.Unlock()
		return false, fmt.Errorf("events: spool: write %q: %w", s.path, err)
	}
	wasEmpty = s.tail == s.head
	s.tail += int64(len(rec))
	s.written += int64(len(rec))
	mark := s.written
	s.live.Store(s.tail - s.head)
	s.records.Add(1)
	s.mu.Unlock()

	if err := s.syncTo(mark); err != nil {
		// The record stays in the file (later records may follow it), so
		// it may still be replayed; the caller is told it could be lost.
		return false, err
	}
	return wasEmpty, nil
}

// syncTo returns once every byte up to the written mark is on disk.
func (s *spool) syncTo(mark int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced.Load() >= mark {
		return nil // another appender's fsync covered this record
	}
	s.mu.Lock()
	f, upto := s.f, s.written
	s.mu.Unlock()
	err := f.Sync()
	if s.synced.Load() >= mark {
		// Compaction or close synced the data (and may have closed f
		// under us, which is what err reports then).
		return nil
	}
	if err != nil {
		return fmt.Errorf("events: spool: sync %q: %w", s.path, err)
	}
	s.markSynced(upto)
	return nil
}

// markSynced raises synced to upto.
func (s *spool) markSynced(upto int64) {
	for {
		cur := s.synced.Load()
		if cur >= upto || s.synced.CompareAndSwap(cur, upto) {
			return
		}
	}
}

// read returns records starting at head: up to max records, and no more
// records once maxBytes of payload are read (at least one record is
// returned, whatever its size). Only the replay goroutine calls it; records
// before tail are never rewritten in place, so they can be read without
// holding mu.
func (s *spool) read(max int, maxBytes int64) ([]spoolRecord, error) {
	s.mu.Lock()
	f, off, tail := s.f, s.head, s.tail
	s.mu.Unlock()
	var recs []spoolRecord
	var size int64
	for off < tail && len(recs) < max && size < maxBytes {
		payload, end, err := readRecord(f, off, tail)
		if err != nil {
			return recs, fmt.Errorf("events: spool: record at offset %d of %q: %w", off, s.path, err)
		}
		recs = append(recs, spoolRecord{payload: payload, end: end})
		size += int64(len(payload))
		off = end
	}
	return recs, nil
}

// advance moves head past a replayed (or abandoned) record. When the spool
// becomes empty the file is truncated back to its header and advance
// reports true.
func (s *spool) advance(to int64) (drained bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	if to <= s.head || to > s.tail {
		return false, fmt.Errorf("events: spool: advance to %d outside [%d,%d]", to, s.head, s.tail)
	}
	s.head = to
	if s.head == s.tail {
		return true, s.reset()
	}
	s.live.Store(s.tail - s.head)
	s.records.Add(-1)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s.head))
	if _, err := s.f.WriteAt(b[:], 8); err != nil {
		return false, fmt.Errorf("events: spool: write head of %q: %w", s.path, err)
	}
	return false, nil
}

// skipCorrupt drops everything from head on after a record read back for
// replay fails its checksum (the disk changed under us). The records after
// it cannot be found reliably, so they are saved aside with the bad one.
func (s *spool) skipCorrupt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.saveCorrupt(s.head, s.tail)
	return s.reset()
}

// maybeCompact rewrites the file without the replayed records at its front
// once they take more room than the records still waiting. Most of the copy
// happens without mu, because appends only touch bytes after the tail seen
// at the start; only those late appends are copied with mu held.
func (s *spool) maybeCompact() error {
	s.mu.Lock()
	head, tail, f := s.head, s.tail, s.f
	s.mu.Unlock()
	dead, live := head-spoolHeaderSize, tail-head
	if dead < compactMinDead || dead < live {
		return nil
	}
	tmpPath := s.path + ".compact"
	tmp, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("events: spool: compact: %w", err)
	}
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(tmpPath)
		return fmt.Errorf("events: spool: compact: %w", err)
	}
	var hdr [spoolHeaderSize]byte
	copy(hdr[:], spoolMagic)
	binary.BigEndian.PutUint64(hdr[8:], spoolHeaderSize)
	if _, err := tmp.WriteAt(hdr[:], 0); err != nil {
		return fail(err)
	}
	if _, err := copyRange(tmp, spoolHeaderSize, f, head, tail); err != nil {
		return fail(err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fail(ErrClosed)
	}
	// head cannot have moved (only this goroutine advances it); the tail may have.
	if _, err := copyRange(tmp, spoolHeaderSize+tail-head, f, tail, s.tail); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpPath, s.path); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(s.path))
	s.markSynced(s.written)
	_ = s.f.Close()
	s.f = tmp
	s.tail = spoolHeaderSize + s.tail - s.head
	s.head = spoolHeaderSize
	s.live.Store(s.tail - s.head)
	s.log.Info("spool compacted", "path", s.path, "reclaimed_bytes", dead)
	return nil
}

// copyRange copies src[from:to) to dst at off.
func copyRange(dst *os.File, off int64, src *os.File, from, to int64) (int64, error) {
	if to <= from {
		return 0, nil
	}
	return io.Copy(io.NewOffsetWriter(dst, off), io.NewSectionReader(src, from, to-from))
}

// syncDir makes a rename durable; errors are ignored because some
// filesystems do not support syncing a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// close syncs and closes the file; later appends fail with ErrClosed.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	serr := s.f.Sync()
	if serr == nil {
		s.markSynced(s.written)
	}
	cerr := s.f.Close()
	lerr := s.lock.Close()
	if err := errors.Join(serr, cerr, lerr); err != nil {
		return fmt.Errorf("events: spool: close %q: %w", s.path, err)
	}
	return nil
}
