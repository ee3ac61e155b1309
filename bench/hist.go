package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is an HDR-style log-linear histogram of durations in
// nanoseconds. Values below 2^subBits are counted exactly; above, every
// power-of-two range is split into 2^(subBits-1) equal buckets, so a
// bucket's width is at most 1/2^(subBits-1) of the values it holds: with
// subBits = 8 every recorded value is known to within 0.79%. Recording is
// a few integer operations and never allocates; the zero value is not
// usable, call NewHistogram.
type Histogram struct {
	counts []uint64
	total  uint64
	min    int64
	max    int64
	sum    float64 // of values, for the mean
}

const (
	subBits    = 8
	subBuckets = 1 << subBits // exact region [0, 256) ns
	halfSub    = subBuckets / 2
	// 64-bit values need shifts up to 64-subBits; see bucketOf.
	numBuckets = (64-subBits+1)*halfSub + halfSub
)

// NewHistogram returns an empty histogram covering every int64.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf maps v >= 0 to its bucket. For v >= subBuckets, with
// shift = bitlen(v) - subBits, v>>shift lies in [halfSub, subBuckets), so
// the buckets of one shift are [(shift+1)*halfSub, (shift+2)*halfSub): the
// ranges of consecutive shifts are adjacent and start right after the
// exact region.
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits
	return shift*halfSub + int(uint64(v)>>uint(shift))
}

// bucketRange returns the smallest and largest values counted in bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subBuckets {
		return int64(i), int64(i)
	}
	shift := i/halfSub - 1
	mant := int64(i - shift*halfSub)
	lo = mant << uint(shift)
	return lo, lo + (int64(1) << uint(shift)) - 1
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	if o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
}

// Reset empties h.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.total, h.sum, h.min, h.max = 0, 0, math.MaxInt64, 0
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest recorded value, exactly (0 when empty).
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean is the average of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value at quantile q in [0, 1]: the largest value
// of the bucket holding the ceil(q*n)-th smallest recording, as
// HdrHistogram reports it, so it is never below the true value and above
// it by less than one bucket width. It is clamped to [Min, Max].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			if hi > h.max {
				hi = h.max
			}
			if hi < h.min {
				hi = h.min
			}
			return time.Duration(hi)
		}
	}
	return time.Duration(h.max)
}

// CDFPoint is one step of a histogram's cumulative distribution: the
// fraction of recordings at or below Value.
type CDFPoint struct {
	Value    time.Duration
	Fraction float64
}

// CDF returns one point per non-empty bucket, in increasing order.
func (h *Histogram) CDF() []CDFPoint {
	var out []CDFPoint
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		_, hi := bucketRange(i)
		if hi > h.max {
			hi = h.max
		}
		out = append(out, CDFPoint{Value: time.Duration(hi), Fraction: float64(seen) / float64(h.total)})
	}
	return out
}
