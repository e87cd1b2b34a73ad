package reports

import "math"

// Time-to-classify and time-to-a-person samples are kept in a fixed
// log-spaced histogram per hour rather than as raw samples, so an hour costs
// the same memory whether it saw three calls or three thousand, and hours
// merge into days by addition. (An hour's time-to-a-person histogram is made
// on its first sample: most hours of a long retention have none.)
//
// Bin 0 holds [0, histMin); bin i ≥ 1 holds [histMin·γ^(i-1), histMin·γ^i);
// the last bin also takes everything above histMax. A quantile is answered
// with a representative value of the bin that holds the sample of the wanted rank, so:
//   - the rank is exact (nearest-rank definition, see quantile);
//   - the value is within ±(γ-1)/(γ+1) ≈ 2.44 % of that sample for
//     samples in [histMin, histMax);
//   - samples below histMin are reported as histMin/2 (error ≤ 0.05 s);
//   - samples above histMax are reported as about histMax.
const (
	histMin   = 0.1    // seconds
	histMax   = 3600.0 // seconds
	histGamma = 1.05
)

// histBins is 1 + ceil(log_γ(histMax/histMin)): 216 bins, 864 bytes an hour.
var histBins = 1 + int(math.Ceil(math.Log(histMax/histMin)/math.Log(histGamma)))

// hist is a fixed-bin histogram of seconds. The zero value is not usable;
// make one with newHist.
type hist struct {
	n    uint32
	bins []uint32
}

func newHist() hist { return hist{bins: make([]uint32, histBins)} }

// binOf returns the bin index of v seconds.
func binOf(v float64) int {
	if !(v >= histMin) { // also catches NaN
		return 0
	}
	i := 1 + int(math.Floor(math.Log(v/histMin)/math.Log(histGamma)))
	// The logarithm can land a hair on the wrong side of a bin edge; settle
	// it against the edges themselves so the error bound holds exactly.
	for i > 1 && v < binLower(i) {
		i--
	}
	for i < histBins-1 && v >= binLower(i+1) {
		i++
	}
	if i >= histBins {
		return histBins - 1
	}
	return i
}

// binLower is the lower edge of bin i ≥ 1.
func binLower(i int) float64 { return histMin * math.Pow(histGamma, float64(i-1)) }

// binValue is the value reported for a sample in bin i.
func binValue(i int) float64 {
	if i == 0 {
		return histMin / 2
	}
	// 2γL/(1+γ) is as far, relatively, from L as from γL, which is what
	// bounds the relative error by (γ-1)/(γ+1) on either side.
	return binLower(i) * 2 * histGamma / (1 + histGamma)
}

func (h *hist) add(v float64) {
	h.bins[binOf(v)]++
	h.n++
}

func (h *hist) merge(o hist) {
	for i, c := range o.bins {
		h.bins[i] += c
	}
	h.n += o.n
}

// quantile returns the nearest-rank q-quantile: the value of the sample at
// rank ceil(q·n) (1-based) in sorted order, so the median of an even count
// is the lower of the two middle samples. It returns 0 for an empty histogram.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint32(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint32
	for i, c := range h.bins {
		seen += c
		if seen >= rank {
			return binValue(i)
		}
	}
	return binValue(len(h.bins) - 1)
}
