package reports

import "time"

// maxBucketNumbers bounds the distinct caller numbers one hour's figures
// keep for the repeat callers (TopCallers). Each costs about 100 bytes and
// an hour is kept for the whole retention (90 days by default), so
// without a bound a busy line keeps every caller's number for months: at
// 10 calls/s of mostly one-off numbers, 36,000 numbers an hour, 3.5 MB an
// hour, 300 MB after 90 days. When an hour reaches the bound, the numbers
// seen only once in it are dropped (they are no repeat callers of that
// hour); if none was, the new number is not kept. So an hour holds at most
// maxBucketNumbers numbers (about 0.4 MB) and the repeat callers of a busy
// hour are kept. What is lost, in such an hour only: a number's first
// call when it calls again after a drop, and numbers that call once in
// each of two hours. A drop walks the hour's numbers, at most once per
// new number, which only an hour full of repeat callers makes frequent.
const maxBucketNumbers = 4096

// countNumber counts a call from number in the hour, within
// maxBucketNumbers. Called with the aggregator's mu held.
func (b *bucket) countNumber(number string) {
	ns := b.numbers[number]
	if ns == nil {
		if len(b.numbers) >= maxBucketNumbers {
			for n, s := range b.numbers {
				if s.calls <= 1 {
					delete(b.numbers, n)
				}
			}
			if len(b.numbers) >= maxBucketNumbers {
				return
			}
		}
		ns = &numStat{}
		b.numbers[number] = ns
	}
	ns.calls++
}

// dropExpiredBlocks forgets the blocks that ended by now. A block that
// runs out is not announced (only blocks and lifts are), so without this
// the aggregator's blocked numbers (Aggregator.blocked) would keep every
// number ever blocked. It runs before each new block is recorded, so they
// hold at most the numbers blocked at the latest block event, plus those
// blocked since. Blocks are rare next to calls, so a walk over the map
// each time costs little. Called with the aggregator's mu held.
func (a *Aggregator) dropExpiredBlocks(now time.Time) {
	for n, b := range a.blocked {
		if !b.Until.After(now) {
			delete(a.blocked, n)
		}
	}
}
