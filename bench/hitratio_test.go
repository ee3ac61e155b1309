package bench

import (
	"testing"
)

// TestHitRatio replays small cache-aside sequences against an in-process
// gocached: with memory for every key, everything after a key's first
// request hits; with one-hit wonders those always miss; the same seed
// gives the same figures twice.
func TestHitRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    HitRatio
		// the hit ratio with memory for all: 1 - distinct keys / requests
		check func(t *testing.T, r HitRatioResult, h HitRatio)
	}{
		{"all fit", HitRatio{Requests: 5000, Keys: 500, ZipfS: 0.9, Sizes: "100", Batch: 1, Seed: 1},
			func(t *testing.T, r HitRatioResult, h HitRatio) {
				if r.Hits < r.Gets-int(h.Keys) || r.Hits == r.Gets {
					t.Errorf("%d hits of %d gets over %d keys: every repeat must hit", r.Hits, r.Gets, h.Keys)
				}
			}},
		{"etc sizes and scans", HitRatio{Requests: 20_000, Keys: 500, ZipfS: 0.9, Sizes: "etc", Scan: 0.5, Batch: 50, Seed: 2, MaxValue: 4000},
			func(t *testing.T, r HitRatioResult, h HitRatio) {
				if r.HitRatio > 0.52 || r.Hits < r.Gets/2-int(h.Keys)-500 {
					t.Errorf("hit ratio %.3f with half the requests one-hit wonders (want just under 0.5)", r.HitRatio)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r1, err := RunHitRatio(startServer(t, 64), tc.h)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := RunHitRatio(startServer(t, 64), tc.h)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Gets != tc.h.Requests || r1.Errors != 0 {
				t.Fatalf("%d gets for %d requests, %d errors", r1.Gets, tc.h.Requests, r1.Errors)
			}
			if r1.Hits != r2.Hits {
				t.Errorf("same seed, fresh servers: %d then %d hits", r1.Hits, r2.Hits)
			}
			tc.check(t, r1, tc.h)
		})
	}
	// Fill sets keys 0..n-1: a replay over them then only hits.
	addr := startServer(t, 64)
	if r, err := RunHitRatio(addr, HitRatio{Requests: 300, Keys: 1, ZipfS: 1, Sizes: "etc", Batch: 64, Seed: 3, MaxValue: 2000, Fill: true}); err != nil || r.Gets != 0 || r.Errors != 0 {
		t.Fatalf("fill: %+v, %v", r, err)
	}
	r, err := RunHitRatio(addr, HitRatio{Requests: 2000, Keys: 300, ZipfS: 0.5, Sizes: "etc", Batch: 64, Seed: 3, MaxValue: 2000})
	if err != nil || r.Hits != r.Gets {
		t.Fatalf("replay over filled keys: %d hits of %d gets (%v)", r.Hits, r.Gets, err)
	}
	if err := (&HitRatio{Requests: 1, Keys: 1, ZipfS: 1, Sizes: "x", Batch: 1}).Validate(); err == nil {
		t.Error("sizes \"x\" accepted")
	}
}
