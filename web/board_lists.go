package web

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/siaga112/siaga112/blocklist"
	"github.com/siaga112/siaga112/reports"
)

// The board's two lists of numbers — blocked now, repeat callers — are read
// from across the room by people who may not see whole numbers. Two things
// went wrong with them: the blocked tile counted only the blocks the
// reports worker heard of as blocklist.changed events, and two numbers
// ending in the same four digits looked the same.
//
// The blocklist's own records (its KV bucket, which `siaga112 blocklist ls`
// reads) are the truth; the event is only a notification, published once
// and, when that publish fails, logged and not retried (blocklist's
// announce). A block set while the event stream could not take it — or
// before this worker's stream was created — is then in the records and
// not on the board. So when the board has the records it counts from them,
// and keeps the events' figures (strikes, since when) for the blocks they
// describe; without the records (a reports-only process) it counts the
// events as before.

// BlockRecords reads the blocklist's records (blocklist.Store).
type BlockRecords interface {
	List(ctx context.Context) ([]blocklist.Record, error)
	Policy() blocklist.Policy
}

// blockedNow returns the numbers blocked at now, whole numbers, the latest
// block first.
func (s *Board) blockedNow(ctx context.Context, now time.Time) []reports.BlockedNumber {
	seen := s.agg.Blocked(now, true)
	if s.cfg.Blocks == nil {
		return seen
	}
	records, err := s.cfg.Blocks.List(ctx)
	if err != nil {
		// The events' list is the best the board has while the bucket
		// cannot be read; the health banner says why.
		s.cfg.Log.Debug("blocklist records not read; the board counts the blocks it heard of", "err", err)
		return seen
	}
	byNumber := make(map[string]reports.BlockedNumber, len(seen))
	for _, b := range seen {
		byNumber[b.Number] = b
	}
	p := s.cfg.Blocks.Policy()
	out := make([]reports.BlockedNumber, 0, len(records))
	for _, r := range records {
		if !r.Blocked(now) {
			continue
		}
		b, ok := byNumber[r.Number]
		if !ok {
			b = reports.BlockedNumber{Number: r.Number, Strikes: p.Score(r, now), Reason: r.Reason, Since: r.Updated}
		}
		// The record's end wins: an admin may have lengthened the block.
		b.Until = r.Until
		out = append(out, b)
	}
	slices.SortFunc(out, func(x, y reports.BlockedNumber) int {
		return cmp.Or(y.Since.Compare(x.Since), cmp.Compare(x.Number, y.Number))
	})
	return out
}

// maskTagger masks numbers for the board's lists so that two numbers never
// look alike: the last four digits, as everywhere, and a three-letter tag
// made from the whole number with a key drawn when the process starts. The
// tag is stable for as long as the board runs (the same caller has the same
// tag in every list and every update), tells nothing about the number
// (without the key, trying every number of the plan finds nothing), and
// changes at a restart, which is harmless for a mark read across a room.
type maskTagger struct{ key [32]byte }

func newMaskTagger() *maskTagger {
	var m maskTagger
	_, _ = rand.Read(m.key[:]) // crypto/rand.Read never fails (Go 1.24).
	return &m
}

// tagAlphabet leaves out letters and digits read alike from afar (0 O, 1 I L,
// 5 S, 8 B, 2 Z).
const tagAlphabet = "ACDEFGHJKMNPQRTUVWXY34679"

// mask is "****7890·KX4", or the number's plain mask for a withheld one.
func (m *maskTagger) mask(e164 string) string {
	masked := maskNumber(e164)
	if len(numberDigits(e164)) <= 4 {
		return masked
	}
	h := hmac.New(sha256.New, m.key[:])
	h.Write([]byte(e164))
	sum := h.Sum(nil)
	tag := make([]byte, 3)
	for i := range tag {
		tag[i] = tagAlphabet[int(sum[i])%len(tagAlphabet)]
	}
	return masked + "·" + string(tag)
}

// listRows is one of the board's short lists cut to what the wall shows,
// with how many were left out ("+3 lainnya").
type listRows[T any] struct {
	Rows []T
	More int
}

// cutList keeps the first n of rows.
func cutList[T any](rows []T, n int) listRows[T] {
	if len(rows) <= n {
		return listRows[T]{Rows: rows}
	}
	return listRows[T]{Rows: rows[:n], More: len(rows) - n}
}

// moreRowData is what the "more-row" template needs.
type moreRowData struct {
	L *locale
	N int
}
