package client

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// TestRingBalance measures, over 100k keys, the share of keys that move
// when a fourth node joins three, and the spread of keys over the nodes
// (BENCHMARKS.md quotes the logged numbers; go test -v -run RingBalance).
// Ketama must move only keys to the new node, about a quarter of them;
// modulo moves about three quarters.
func TestRingBalance(t *testing.T) {
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	nodes := func(k int) []Node {
		out := make([]Node, k)
		for i := range out {
			out[i] = Node{Addr: fmt.Sprintf("10.0.0.%d:11211", i+1), Weight: 1}
		}
		return out
	}
	for _, d := range []Distribution{DistKetama, DistModulo} {
		three, four := NewPicker(d, nodes(3)), NewPicker(d, nodes(4))
		moved, wrong := 0, 0
		for _, k := range keys {
			a, b := three.Pick(k), four.Pick(k)
			if a != b {
				moved++
				if b != 3 {
					wrong++
				}
			}
		}
		share := float64(moved) / n
		t.Logf("%s 3->4 nodes: %.2f%% of %d keys moved, %d of them not to the new node", d, 100*share, n, wrong)
		switch d {
		case DistKetama:
			if wrong != 0 || share < 0.15 || share > 0.35 {
				t.Errorf("ketama: %.2f%% moved, %d not to the new node", 100*share, wrong)
			}
		case DistModulo:
			if share < 0.70 {
				t.Errorf("modulo: only %.2f%% moved", 100*share)
			}
		}
		for _, k := range []int{3, 4, 10} {
			p := NewPicker(d, nodes(k))
			count := make([]float64, k)
			for _, key := range keys {
				count[p.Pick(key)]++
			}
			mean := float64(n) / float64(k)
			var ss, mx float64
			for _, c := range count {
				ss += (c - mean) * (c - mean)
				mx = math.Max(mx, c)
			}
			sd := math.Sqrt(ss / float64(k))
			t.Logf("%s %2d nodes: keys per node mean %.0f, stddev %.0f (%.1f%%), max/mean %.3f", d, k, mean, sd, 100*sd/mean, mx/mean)
			if d == DistKetama && sd/mean > 0.15 {
				t.Errorf("ketama %d nodes: stddev %.1f%% of the mean", k, 100*sd/mean)
			}
		}
	}
}
