package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every bucket's range holds exactly the values mapped to it, and the
// ranges tile [0, 2^62] without gaps or overlaps.
func TestHistogramBucketsTile(t *testing.T) {
	next := int64(0)
	for i := 0; i < numBuckets; i++ {
		lo, hi := bucketRange(i)
		if lo < int64(subBuckets) && i >= subBuckets {
			t.Fatalf("bucket %d: lo %d in the exact region", i, lo)
		}
		if i >= subBuckets && lo < 0 {
			break // past int64
		}
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d, %d] but bucketOf gives %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		// The width is at most 1/halfSub of the smallest value held.
		if w := hi - lo + 1; lo >= subBuckets && float64(w) > float64(lo)/halfSub {
			t.Fatalf("bucket %d: width %d over %d/%d", i, w, lo, halfSub)
		}
		next = hi + 1
		if next > 1<<62 {
			break
		}
	}
	if next <= 1<<62 {
		t.Fatalf("buckets end at %d", next)
	}
	if got := bucketOf(math.MaxInt64); got >= numBuckets {
		t.Fatalf("MaxInt64 maps to bucket %d of %d", got, numBuckets)
	}
}

// reference is the rank-based quantile of sorted data: the ceil(q*n)-th
// smallest value.
func reference(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestHistogramQuantilesAgainstSortedReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() int64{
		"uniform 0-10ms": func() int64 { return r.Int64N(10_000_000) },
		"exponential 50µs": func() int64 {
			return int64(r.ExpFloat64() * 50_000)
		},
		"lognormal": func() int64 { return int64(math.Exp(r.NormFloat64()*1.5 + 11)) },
		"bimodal with tail": func() int64 {
			switch {
			case r.IntN(1000) == 0:
				return 50_000_000 + r.Int64N(1_000_000_000)
			case r.IntN(2) == 0:
				return 20_000 + r.Int64N(5_000)
			}
			return 200_000 + r.Int64N(100_000)
		},
		"exact region": func() int64 { return r.Int64N(subBuckets) },
	}
	qs := []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			h := NewHistogram()
			vals := make([]int64, 100_000)
			var sum float64
			for i := range vals {
				vals[i] = gen()
				sum += float64(vals[i])
				h.Record(time.Duration(vals[i]))
			}
			slices.Sort(vals)
			if h.Count() != uint64(len(vals)) {
				t.Fatalf("count %d", h.Count())
			}
			if int64(h.Max()) != vals[len(vals)-1] || int64(h.Min()) != vals[0] {
				t.Fatalf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
			if mean := sum / float64(len(vals)); math.Abs(float64(h.Mean())-mean) > 1+mean*1e-9 {
				t.Fatalf("mean %v, want %v", h.Mean(), mean)
			}
			for _, q := range qs {
				want := reference(vals, q)
				got := int64(h.Quantile(q))
				// Never below the true value, above it by less than a
				// bucket: 1/halfSub relative (exact under subBuckets).
				limit := want + int64(float64(want)/halfSub)
				if got < want || got > limit {
					t.Errorf("q %v: got %d, want %d..%d", q, got, want, limit)
				}
				if want < subBuckets && got != want {
					t.Errorf("q %v: exact region value %d reported as %d", q, want, got)
				}
			}
		})
	}
}

func TestHistogramMergeEqualsOneHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	all, a, b := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 50_000 {
		v := time.Duration(r.Int64N(1 << uint(10+i%20)))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	if !slices.Equal(a.counts, all.counts) || a.Count() != all.Count() || a.Max() != all.Max() || a.Min() != all.Min() {
		t.Fatal("merged histogram differs from the one that saw every value")
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Fatalf("q %v: %v vs %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	a.Reset()
	if a.Count() != 0 || a.Quantile(0.5) != 0 || a.Max() != 0 || a.Min() != 0 {
		t.Fatal("reset histogram not empty")
	}
}

func TestHistogramCDF(t *testing.T) {
	h := NewHistogram()
	for _, v := range []time.Duration{5, 5, 100, 1000, 1000, 1000, 50_000, 1 << 30} {
		h.Record(v)
	}
	h.Record(-7) // counts as 0
	cdf := h.CDF()
	if len(cdf) != 6 {
		t.Fatalf("%d points, want one per distinct bucket (6): %v", len(cdf), cdf)
	}
	for i := 1; i < len(cdf); i++ {
		if cdf[i].Value <= cdf[i-1].Value || cdf[i].Fraction <= cdf[i-1].Fraction {
			t.Fatalf("not increasing at %d: %v", i, cdf)
		}
	}
	if last := cdf[len(cdf)-1]; last.Fraction != 1 || last.Value != 1<<30 {
		t.Fatalf("last point %v, want fraction 1 at the max", last)
	}
	if cdf[0].Value != 0 || math.Abs(cdf[0].Fraction-1.0/9) > 1e-12 {
		t.Fatalf("first point %v", cdf[0])
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	h := NewHistogram()
	if n := testing.AllocsPerRun(1000, func() { h.Record(123456) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}
