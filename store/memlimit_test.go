package store

import (
	"path/filepath"
	"testing"
)

// SetMemoryLimit grows item memory at once and shrinks it by giving pages
// back, as memcached's cache_memlimit (t/dyn-maxbytes.t).
func TestSetMemoryLimit(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 3 << 20})
	val := repeat("B", 64<<10)
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			ts.set("key"+itoa(i), val)
		}
	}
	fill(0, 60)
	before := ts.Stats()
	if before.Evictions == 0 {
		t.Fatal("60 items of 64 KB in 3 MB evicted nothing")
	}
	if !ts.SetMemoryLimit(8 << 20) {
		t.Fatal("SetMemoryLimit(8 MB) failed")
	}
	fill(60, 61)
	grown := ts.Stats()
	if grown.TotalMalloced <= before.TotalMalloced || grown.Evictions != before.Evictions || grown.LimitMaxbytes != 8<<20 || ts.MemoryLimit() != 8<<20 {
		t.Fatalf("after growing: malloced %d (was %d), evictions %d (was %d), limit %d", grown.TotalMalloced, before.TotalMalloced, grown.Evictions, before.Evictions, grown.LimitMaxbytes)
	}
	ts.SetMemoryLimit(16 << 20)
	fill(61, 300)
	full := ts.Stats()
	if full.TotalMalloced < 15<<20 {
		t.Fatalf("16 MB of items took %d bytes", full.TotalMalloced)
	}
	ts.SetMemoryLimit(8 << 20)
	if !ts.shrinking.Load() {
		t.Fatal("a lower limit started no shrink")
	}
	for ts.arena.OverLimit() > 0 {
		n := ts.arena.OverLimit()
		ts.shrink()
		if ts.arena.OverLimit() >= n {
			t.Fatalf("shrink gave nothing back with %d pages over the limit", n)
		}
	}
	shrunk := ts.Stats()
	if shrunk.TotalMalloced > 8<<20 {
		t.Fatalf("after shrinking to 8 MB, %d bytes allocated", shrunk.TotalMalloced)
	}
	if shrunk.CurrItems == 0 || shrunk.CurrItems >= full.CurrItems {
		t.Fatalf("shrink kept %d of %d items", shrunk.CurrItems, full.CurrItems)
	}
	ts.mustGet("key299", val) // the newest item stays
	checkInvariants(t, ts.Store)
	// The released pages come back when the limit grows again.
	ts.SetMemoryLimit(16 << 20)
	fill(300, 560)
	if st := ts.Stats(); st.TotalMalloced < 15<<20 {
		t.Fatalf("regrown to 16 MB, items took %d bytes", st.TotalMalloced)
	}
	checkInvariants(t, ts.Store)
}

// A memory file (-e) keeps its limit: its mapping is fixed.
func TestSetMemoryLimitMemoryFile(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 8 << 20, MemoryFile: filepath.Join(memFileDir(t), "mem")})
	if ts.SetMemoryLimit(16 << 20) {
		t.Fatal("a memory file's store took a new limit")
	}
	if ts.MemoryLimit() != 8<<20 {
		t.Fatalf("limit %d after a refused change", ts.MemoryLimit())
	}
}

// Without a lower limit nothing is given back, though the first pages of
// classes put a small arena over its limit (t/slabs_reassign.t).
func TestNoShrinkWithoutLowerLimit(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 2 << 20})
	for i, size := range []int{100, 1000, 10000, 100000, 300000} {
		n := 30
		if size == 100 {
			n = 30000 // this class takes the limit's pages, the others their first
		}
		for j := 0; j < n; j++ {
			ts.set("k"+itoa(i)+"-"+itoa(j), repeat("v", size))
		}
	}
	if ts.arena.OverLimit() == 0 {
		t.Fatal("the classes' first pages did not put the arena over its limit")
	}
	before := ts.Stats().TotalMalloced
	ts.shrink()
	ts.SetMemoryLimit(3 << 20) // higher, still under what is allocated: no shrink
	ts.shrink()
	ts.SetMemoryLimit(4 << 20) // higher: no shrink either
	ts.shrink()
	if after := ts.Stats().TotalMalloced; after != before || ts.shrinking.Load() {
		t.Fatalf("pages given back without a lower limit: %d bytes, then %d", before, after)
	}
}
