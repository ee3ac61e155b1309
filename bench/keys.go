package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
)

// KeyDist picks key indexes in [0, n).
type KeyDist interface {
	Next(r *rand.Rand) uint64
}

// Uniform picks every key with the same probability.
type Uniform struct{ N uint64 }

// Next returns a key index in [0, N).
func (u Uniform) Next(r *rand.Rand) uint64 { return r.Uint64N(u.N) }

// Sequential walks the key space in order, shared by all connections
// (each index handed out once per lap), for prefills and read-backs.
type Sequential struct {
	N    uint64
	next *atomic.Uint64
}

// NewSequential starts at key 0.
func NewSequential(n uint64) Sequential { return Sequential{N: n, next: new(atomic.Uint64)} }

// Next returns the next key index, wrapping at N.
func (s Sequential) Next(*rand.Rand) uint64 { return (s.next.Add(1) - 1) % s.N }

// Zipf picks key k (0-based) with probability proportional to
// 1/(k+1)^s, for any exponent s > 0 (math/rand's Zipf needs s > 1; the
// usual cache benchmark skew is 0.99). It samples by rejection-inversion
// (W. Hörmann, G. Derflinger, "Rejection-inversion to generate variates
// from monotone discrete distributions", 1996), as Apache Commons RNG
// does: O(1) setup and about one uniform draw per sample for any n.
type Zipf struct {
	n         float64
	s         float64
	hX1       float64 // hIntegral(1.5) - 1
	hN        float64 // hIntegral(n + 0.5)
	threshold float64 // 2 - hIntegralInverse(hIntegral(2.5) - h(2))
}

// NewZipf returns a Zipf distribution over n keys with exponent s.
func NewZipf(n uint64, s float64) (*Zipf, error) {
	if n == 0 {
		return nil, fmt.Errorf("zipf: empty key space")
	}
	if !(s > 0) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("zipf: exponent must be > 0, got %v", s)
	}
	z := &Zipf{n: float64(n), s: s}
	z.hX1 = z.hIntegral(1.5) - 1
	z.hN = z.hIntegral(z.n + 0.5)
	z.threshold = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z, nil
}

// Next returns a key index in [0, n): 0 is the most popular.
func (z *Zipf) Next(r *rand.Rand) uint64 {
	for {
		u := z.hN + r.Float64()*(z.hX1-z.hN)
		x := z.hIntegralInverse(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.threshold || u >= z.hIntegral(k+0.5)-z.h(k) {
			return uint64(k) - 1
		}
	}
}

// h is the unnormalised density x^-s.
func (z *Zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is an antiderivative of h: (x^(1-s) - 1)/(1-s), or log x at
// s = 1, written to stay accurate near s = 1.
func (z *Zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return helper2((1-z.s)*lx) * lx
}

func (z *Zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1 // numerical safety: the true value is > -1
	}
	return math.Exp(helper1(t) * x)
}

// helper1 is log1p(x)/x, continuous at 0.
func helper1(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// helper2 is expm1(x)/x, continuous at 0.
func helper2(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x*(1.0/3)*(1+0.25*x))
}

// ParseDist reads "uniform", "seq", "zipf" (exponent zipfS) or
// "zipf:0.99".
func ParseDist(spec string, n uint64, zipfS float64) (KeyDist, error) {
	name, arg, _ := strings.Cut(spec, ":")
	switch name {
	case "uniform", "random", "":
		return Uniform{N: n}, nil
	case "seq", "sequential":
		return NewSequential(n), nil
	case "zipf":
		if arg != "" {
			v, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				return nil, fmt.Errorf("zipf exponent %q: %v", arg, err)
			}
			zipfS = v
		}
		return NewZipf(n, zipfS)
	}
	return nil, fmt.Errorf("unknown key distribution %q (uniform, zipf[:S], seq)", spec)
}

// appendKey writes prefix and the decimal key index: "bench:123".
func appendKey(b []byte, prefix string, i uint64) []byte {
	b = append(b, prefix...)
	return strconv.AppendUint(b, i, 10)
}
