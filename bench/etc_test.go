package bench

import (
	"math/rand/v2"
	"testing"
)

// The ETC draws have the shape of the paper's fits: keys mostly 20-45
// bytes (mode near 30), 44% of values 14 bytes or less, a mean value near
// the Pareto's 15 + 214.476/(1-0.348238) ≈ 344 bytes (less the cap), and
// a long tail.
func TestETCSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 400_000
	var keySum, valSum float64
	small, keysMid, big := 0, 0, 0
	for range n {
		k := ETCKeySize(r, 8)
		v := ETCValueSize(r, 1<<20)
		if k < 8 || k > 250 || v < 0 || v > 1<<20 {
			t.Fatalf("out of range: key %d value %d", k, v)
		}
		keySum += float64(k)
		valSum += float64(v)
		if v <= 14 {
			small++
		}
		if k >= 20 && k <= 45 {
			keysMid++
		}
		if v > 10_000 {
			big++
		}
	}
	if m := keySum / n; m < 30 || m > 37 {
		t.Errorf("mean key length %.1f, want about 33", m)
	}
	if f := float64(keysMid) / n; f < 0.75 {
		t.Errorf("%.2f of keys are 20-45 bytes, want most", f)
	}
	if f := float64(small) / n; f < 0.42 || f > 0.46 {
		t.Errorf("%.3f of values are 0-14 bytes, want 0.441", f)
	}
	// The mean over all values: 0.441 × ~6 + 0.559 × ~344.
	if m := valSum / n; m < 150 || m > 260 {
		t.Errorf("mean value %.0f bytes, want about 195", m)
	}
	if big == 0 {
		t.Error("no value above 10 KB: the Pareto tail is missing")
	}
	if ETCValueSize(rand.New(rand.NewPCG(3, 4)), 5) > 5 {
		t.Error("value above its cap")
	}
}
