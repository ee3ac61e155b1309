package slab

import "testing"

func TestSizes(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name       string
		minSize    int
		factor     float64
		pageSize   int
		wantFactor float64 // the factor the sizes must follow
		wantFirst  int
		wantN      int // exact number of classes, 0 = do not check
	}{
		{name: "memcached default", minSize: 84, factor: 1.25, pageSize: mb, wantFactor: 1.25, wantFirst: 88},
		{name: "already aligned", minSize: 96, factor: 1.25, pageSize: mb, wantFactor: 1.25, wantFirst: 96},
		{name: "round up to 8", minSize: 97, factor: 1.25, pageSize: mb, wantFactor: 1.25, wantFirst: 104},
		{name: "factor 2", minSize: 96, factor: 2, pageSize: mb, wantFactor: 2, wantFirst: 96,
			// 96,192,...,196608 (12 sizes below 512K/2) then 512K and 1M
			wantN: 14},
		{name: "factor <= 1 means 1.25", minSize: 96, factor: 1, pageSize: mb, wantFactor: 1.25, wantFirst: 96},
		{name: "2 MB pages", minSize: 84, factor: 1.25, pageSize: 2 * mb, wantFactor: 1.25, wantFirst: 88},
		{name: "small page", minSize: 48, factor: 1.5, pageSize: 1024, wantFactor: 1.5, wantFirst: 48,
			// 48,72,112,168,256 (< 512/1.5) then 512, 1024
			wantN: 7},
		// A tiny factor would make hundreds of classes: the count is capped so
		// that every class id (1-based) stays below MaxClasses.
		{name: "capped at MaxClasses-1", minSize: 84, factor: 1.01, pageSize: mb, wantFactor: 1.01, wantFirst: 88, wantN: MaxClasses - 1},
		{name: "factor 1.05 capped", minSize: 84, factor: 1.05, pageSize: mb, wantFactor: 1.05, wantFirst: 88, wantN: MaxClasses - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sizes := Sizes(tc.minSize, tc.factor, tc.pageSize)
			n := len(sizes)
			if n < 3 {
				t.Fatalf("got %d classes %v, want at least 3", n, sizes)
			}
			if n > MaxClasses-1 {
				t.Errorf("got %d classes, more than the %d ids 1..%d", n, MaxClasses-1, MaxClasses-1)
			}
			if tc.wantN != 0 && n != tc.wantN {
				t.Errorf("got %d classes, want %d: %v", n, tc.wantN, sizes)
			}
			if sizes[0] != tc.wantFirst {
				t.Errorf("first class %d, want %d", sizes[0], tc.wantFirst)
			}
			if sizes[n-2] != tc.pageSize/2 || sizes[n-1] != tc.pageSize {
				t.Errorf("last two classes %d, %d; want %d, %d", sizes[n-2], sizes[n-1], tc.pageSize/2, tc.pageSize)
			}
			for i, s := range sizes {
				if s%8 != 0 {
					t.Errorf("class %d size %d not a multiple of 8", i, s)
				}
				if i > 0 && s <= sizes[i-1] {
					t.Errorf("sizes not strictly increasing at %d: %d after %d", i, s, sizes[i-1])
				}
			}
			// Each grown class is the previous one times the factor, rounded
			// up to 8 (at least 8 more than the previous one).
			for i := 1; i < n-2; i++ {
				want := (int(float64(sizes[i-1])*tc.wantFactor) + 7) &^ 7
				if want <= sizes[i-1] {
					want = sizes[i-1] + 8
				}
				if sizes[i] != want {
					t.Errorf("class %d size %d, want %d (= %d * %v rounded to 8)", i, sizes[i], want, sizes[i-1], tc.wantFactor)
				}
			}
			// Growth stops below half a page / factor, unless the cap stopped it.
			last := sizes[n-3]
			if float64(last) >= float64(tc.pageSize/2)/tc.wantFactor {
				t.Errorf("last grown class %d is not below chunk max / factor", last)
			}
			if n < MaxClasses-1 {
				next := (int(float64(last)*tc.wantFactor) + 7) &^ 7
				if float64(next) < float64(tc.pageSize/2)/tc.wantFactor {
					t.Errorf("growth stopped early at %d: next size %d still fits", last, next)
				}
			}
		})
	}
}
