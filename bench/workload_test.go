package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// chiSquare of observed counts against expected probabilities.
func chiSquare(counts []int, probs []float64, n int) float64 {
	var x float64
	for i, c := range counts {
		e := probs[i] * float64(n)
		x += (float64(c) - e) * (float64(c) - e) / e
	}
	return x
}

// chiLimit is a generous bound for a chi-square with dof degrees of
// freedom: mean + 6 standard deviations. Seeds are fixed, so a pass is
// repeatable; a wrong distribution lands far above it.
func chiLimit(dof int) float64 { return float64(dof) + 6*math.Sqrt(2*float64(dof)) }

func TestUniformKeys(t *testing.T) {
	const n, draws = 100, 200_000
	r := rand.New(rand.NewPCG(1, 1))
	u := Uniform{N: n}
	counts := make([]int, n)
	for range draws {
		k := u.Next(r)
		if k >= n {
			t.Fatalf("key %d out of [0,%d)", k, n)
		}
		counts[k]++
	}
	probs := make([]float64, n)
	for i := range probs {
		probs[i] = 1.0 / n
	}
	if x := chiSquare(counts, probs, draws); x > chiLimit(n-1) {
		t.Fatalf("chi-square %.1f over %.1f", x, chiLimit(n-1))
	}
}

func zipfPMF(n int, s float64) []float64 {
	p := make([]float64, n)
	var h float64
	for k := 1; k <= n; k++ {
		p[k-1] = math.Pow(float64(k), -s)
		h += p[k-1]
	}
	for i := range p {
		p[i] /= h
	}
	return p
}

func TestZipfMatchesItsPMF(t *testing.T) {
	for _, s := range []float64{0.5, 0.99, 1, 1.2, 2} {
		const n, draws = 50, 300_000
		z, err := NewZipf(n, s)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, uint64(s*100)))
		counts := make([]int, n)
		for range draws {
			k := z.Next(r)
			if k >= n {
				t.Fatalf("s=%v: key %d out of range", s, k)
			}
			counts[k]++
		}
		if x := chiSquare(counts, zipfPMF(n, s), draws); x > chiLimit(n-1) {
			t.Errorf("s=%v: chi-square %.1f over %.1f (counts %v)", s, x, chiLimit(n-1), counts[:8])
		}
	}
}

// Over 10 M keys at the standard skew, the hottest keys get their share
// and nothing falls outside the key space.
func TestZipfLargeKeySpace(t *testing.T) {
	const n, draws, s = 10_000_000, 200_000, 0.99
	z, err := NewZipf(n, s)
	if err != nil {
		t.Fatal(err)
	}
	// The normalising sum: exact over the first 10 000 terms, the
	// midpoint integral for the rest (relative error far below 1e-6).
	var h float64
	for k := 1; k <= 10_000; k++ {
		h += math.Pow(float64(k), -s)
	}
	h += (math.Pow(n+0.5, 1-s) - math.Pow(10_000.5, 1-s)) / (1 - s)
	r := rand.New(rand.NewPCG(9, 9))
	top := make([]int, 3)
	for range draws {
		k := z.Next(r)
		if k >= n {
			t.Fatalf("key %d out of range", k)
		}
		if k < 3 {
			top[k]++
		}
	}
	for k, c := range top {
		p := math.Pow(float64(k+1), -s) / h
		mean, sd := p*draws, math.Sqrt(p*(1-p)*draws)
		if math.Abs(float64(c)-mean) > 6*sd {
			t.Errorf("key %d drawn %d times, want %.0f ± %.0f", k, c, mean, 6*sd)
		}
	}
}

func TestSequentialHandsOutEachKeyOncePerLap(t *testing.T) {
	const n = 1000
	s := NewSequential(n)
	seen := make([]int, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 * n / 8 {
				k := s.Next(nil)
				mu.Lock()
				seen[k]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k, c := range seen {
		if c != 2 {
			t.Fatalf("key %d handed out %d times in two laps", k, c)
		}
	}
}

func TestParseDist(t *testing.T) {
	for _, tt := range []struct {
		spec    string
		want    string // type name, or error substring
		wantErr bool
	}{
		{"uniform", "bench.Uniform", false},
		{"seq", "bench.Sequential", false},
		{"zipf", "*bench.Zipf", false},
		{"zipf:1.2", "*bench.Zipf", false},
		{"zipf:0", "exponent must be > 0", true},
		{"zipf:x", "zipf exponent", true},
		{"gauss", "unknown key distribution", true},
	} {
		d, err := ParseDist(tt.spec, 100, 0.99)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: error %v, want %q", tt.spec, err, tt.want)
			}
			continue
		}
		if err != nil || typeName(d) != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.spec, typeName(d), err, tt.want)
		}
	}
	z, _ := ParseDist("zipf:1.5", 100, 0.99)
	if z.(*Zipf).s != 1.5 {
		t.Fatalf("zipf:1.5 has exponent %v", z.(*Zipf).s)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case Uniform:
		return "bench.Uniform"
	case Sequential:
		return "bench.Sequential"
	case *Zipf:
		return "*bench.Zipf"
	}
	return "?"
}

func TestPickerRatioAndKeys(t *testing.T) {
	for _, tt := range []struct {
		gets, sets, multi int
	}{{9, 1, 1}, {1, 0, 50}, {0, 1, 1}, {1, 1, 10}, {3, 7, 1}} {
		w := DefaultWorkload()
		w.Gets, w.Sets, w.MultiGet, w.Keys = tt.gets, tt.sets, tt.multi, 1000
		p, err := newPicker(&w)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 5))
		const draws = 100_000
		sets := 0
		var keys []uint64
		for range draws {
			k := p.kind(r)
			keys = p.keys(r, k, keys)
			want := tt.multi
			if k == opSet {
				sets++
				want = 1
			}
			if len(keys) != want {
				t.Fatalf("%v: %d keys for kind %d", tt, len(keys), k)
			}
		}
		pSet := float64(tt.sets) / float64(tt.gets+tt.sets)
		sd := math.Sqrt(pSet * (1 - pSet) * draws)
		if math.Abs(float64(sets)-pSet*draws) > 6*sd+0.5 {
			t.Errorf("%d:%d: %d sets in %d, want %.0f", tt.gets, tt.sets, sets, draws, pSet*draws)
		}
	}
}

func TestValuesAreAFunctionOfTheKey(t *testing.T) {
	v := newValues(10, 20, 1)
	sizes := map[int]bool{}
	for i := range uint64(10_000) {
		a, b := v.of(i), v.of(i)
		if string(a) != string(b) {
			t.Fatalf("key %d: two different values", i)
		}
		if len(a) < 10 || len(a) > 20 {
			t.Fatalf("key %d: size %d outside 10-20", i, len(a))
		}
		sizes[len(a)] = true
	}
	if len(sizes) != 11 {
		t.Fatalf("sizes used: %v, want all of 10..20", sizes)
	}
	if string(v.of(1)) == string(v.of(2)) {
		t.Fatal("neighbouring keys share a value")
	}
	fixed := newValues(100, 100, 1)
	for i := range uint64(100) {
		if len(fixed.of(i)) != 100 {
			t.Fatal("fixed size not fixed")
		}
	}
}

func TestParseRatioAndSize(t *testing.T) {
	for _, tt := range []struct {
		in         string
		gets, sets int
		ok         bool
	}{{"9:1", 9, 1, true}, {"1:0", 1, 0, true}, {"0:1", 0, 1, true}, {"0:0", 0, 0, false}, {"9", 0, 0, false}, {"a:1", 0, 0, false}, {"-1:2", 0, 0, false}} {
		g, s, err := ParseRatio(tt.in)
		if (err == nil) != tt.ok || g != tt.gets || s != tt.sets {
			t.Errorf("ParseRatio(%q) = %d, %d, %v", tt.in, g, s, err)
		}
	}
	for _, tt := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{{"100", 100, 100, true}, {"32-1024", 32, 1024, true}, {"10-5", 0, 0, false}, {"x", 0, 0, false}, {"-5", 0, 0, false}} {
		lo, hi, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
			t.Errorf("ParseSize(%q) = %d, %d, %v", tt.in, lo, hi, err)
		}
	}
}

func TestWorkloadValidate(t *testing.T) {
	for _, tt := range []struct {
		edit func(*Workload)
		want string
	}{
		{func(*Workload) {}, ""},
		{func(w *Workload) { w.Conns = 0 }, "conns"},
		{func(w *Workload) { w.Pipeline = 0 }, "pipeline"},
		{func(w *Workload) { w.Keys = 0 }, "key space"},
		{func(w *Workload) { w.ValueMin, w.ValueMax = 10, 5 }, "value size"},
		{func(w *Workload) { w.Gets, w.Sets = 0, 0 }, "ratio"},
		{func(w *Workload) { w.Duration, w.Ops = 0, 0 }, "duration or an op count"},
		{func(w *Workload) { w.Duration, w.Ops, w.Prefill = 0, 0, true }, ""},
		{func(w *Workload) { w.Protocol = "http" }, "unknown protocol"},
		{func(w *Workload) { w.Dist = "zipf:-1" }, "exponent"},
		{func(w *Workload) { w.Rounds = 0 }, "rounds"},
		{func(w *Workload) { w.KeyPrefix = strings.Repeat("k", 240) }, "prefix"},
		{func(w *Workload) { w.Conns = 0; w.IdleConns = 5 }, ""},
	} {
		w := DefaultWorkload()
		w.Duration = time.Second
		tt.edit(&w)
		err := w.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("want %q, got %v", tt.want, err)
		}
	}
}
