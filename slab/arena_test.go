package slab

import (
	"bytes"
	"testing"
)

func TestNewArenaErrors(t *testing.T) {
	tests := []struct {
		name     string
		limit    int64
		pageSize int
		wantErr  bool
		wantPgs  int
	}{
		{"not a power of two", 8 << 20, 3 << 19, true, 0},
		{"page too small", 8 << 20, 512, true, 0},
		{"above 32 GiB", MaxArenaBytes, 1 << 20, true, 0},
		{"rounds down to pages", 3<<20 + 12345, 1 << 20, false, 3},
		{"at least one page", 100, 1 << 20, false, 1},
		{"above 32 GiB with the classes' first pages", MaxArenaBytes - MaxClasses<<20, 1 << 20, true, 0},
		{"largest supported", MaxArenaBytes - (MaxClasses+1)<<20, 1 << 20, false, 32<<10 - MaxClasses - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewArena(tc.limit, tc.pageSize)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewArena(%d, %d) succeeded, want an error", tc.limit, tc.pageSize)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.LimitPages() != tc.wantPgs {
				t.Errorf("LimitPages %d, want %d", a.LimitPages(), tc.wantPgs)
			}
			if a.AllocatedPages() != 0 {
				t.Errorf("AllocatedPages %d before any TakePage, want 0 (pages are lazy)", a.AllocatedPages())
			}
		})
	}
}

func TestArenaPageLimitAndPool(t *testing.T) {
	const ps = 1 << 16
	a, err := NewArena(3*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	seen := map[uint32]bool{}
	for i := 0; i < 3; i++ {
		p, ok := a.TakePage()
		if !ok {
			t.Fatalf("TakePage %d failed under the limit", i)
		}
		if seen[p] {
			t.Fatalf("TakePage returned page %d twice", p)
		}
		seen[p] = true
		if got := len(a.Page(p)); got != ps {
			t.Fatalf("page %d has %d bytes, want %d", p, got, ps)
		}
	}
	if _, ok := a.TakePage(); ok {
		t.Fatal("TakePage succeeded past the limit")
	}
	if a.AllocatedPages() != 3 || a.PoolPages() != 0 {
		t.Fatalf("allocated %d pool %d, want 3 and 0", a.AllocatedPages(), a.PoolPages())
	}

	// A returned page is handed out again, without allocating a new one.
	a.Page(1)[0] = 0xAB
	a.ReturnPage(1)
	if a.PoolPages() != 1 {
		t.Fatalf("PoolPages %d after ReturnPage, want 1", a.PoolPages())
	}
	p, ok := a.TakePage()
	if !ok || p != 1 {
		t.Fatalf("TakePage = %d, %v; want the pooled page 1", p, ok)
	}
	if a.Page(p)[0] != 0xAB {
		t.Error("pooled page does not keep its memory")
	}
	if a.AllocatedPages() != 3 || a.PoolPages() != 0 {
		t.Fatalf("allocated %d pool %d after reuse, want 3 and 0", a.AllocatedPages(), a.PoolPages())
	}
	if _, ok := a.TakePage(); ok {
		t.Fatal("TakePage succeeded past the limit after pool reuse")
	}

	// First pages of classes go past the limit, up to MaxClasses of them.
	for i := 0; i < MaxClasses; i++ {
		p, ok := a.TakeFirstPage()
		if !ok || seen[p] || len(a.Page(p)) != ps {
			t.Fatalf("TakeFirstPage %d past the limit = %d, %v", i, p, ok)
		}
		seen[p] = true
	}
	if _, ok := a.TakeFirstPage(); ok {
		t.Fatalf("TakeFirstPage succeeded past limit + %d", MaxClasses)
	}
	if a.AllocatedPages() != 3+MaxClasses {
		t.Fatalf("allocated %d, want %d", a.AllocatedPages(), 3+MaxClasses)
	}
}

func TestArenaLocs(t *testing.T) {
	const ps = 1 << 12
	a, err := NewArena(4*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := 0; i < 4; i++ {
		if _, ok := a.TakePage(); !ok {
			t.Fatal("TakePage failed")
		}
	}
	for _, tc := range []struct {
		page uint32
		off  int
	}{{0, 0}, {0, 8}, {1, 0}, {2, ps - 8}, {3, 128}} {
		l := a.LocOf(tc.page, tc.off)
		if l == Nil {
			t.Fatalf("LocOf(%d, %d) is Nil", tc.page, tc.off)
		}
		if got := a.PageOf(l); got != tc.page {
			t.Errorf("PageOf(LocOf(%d, %d)) = %d", tc.page, tc.off, got)
		}
		c := a.Chunk(l, 8)
		if len(c) != 8 || cap(c) != 8 {
			t.Errorf("Chunk len/cap %d/%d, want 8/8 (no access past the chunk)", len(c), cap(c))
		}
		copy(c, "abcdefgh")
		if !bytes.Equal(a.Page(tc.page)[tc.off:tc.off+8], []byte("abcdefgh")) {
			t.Errorf("Chunk(LocOf(%d, %d)) is not that page's memory at that offset", tc.page, tc.off)
		}
	}
}

// SetLimit grows the arena at run time and shrinks it by unmapping pages
// as they come back, reusing the released slots afterwards.
func TestArenaSetLimit(t *testing.T) {
	const ps = 1 << 20
	a, err := NewArena(2*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	take := func(n int) []uint32 {
		t.Helper()
		var got []uint32
		for i := 0; i < n; i++ {
			p, ok := a.TakePage()
			if !ok {
				t.Fatalf("TakePage %d of %d failed (allocated %d)", i, n, a.AllocatedPages())
			}
			got = append(got, p)
		}
		if _, ok := a.TakePage(); ok {
			t.Fatalf("TakePage succeeded past %d pages", a.AllocatedPages())
		}
		return got
	}
	pages := take(2)
	if !a.SetLimit(5 * ps) {
		t.Fatal("SetLimit(5 pages) failed")
	}
	pages = append(pages, take(3)...)
	a.ReturnPage(pages[4]) // pooled: under the limit
	if !a.SetLimit(2 * ps) {
		t.Fatal("SetLimit(2 pages) failed")
	}
	// The pooled page is unmapped at once; two more must come back.
	if a.AllocatedPages() != 4 || a.PoolPages() != 0 || a.OverLimit() != 2 {
		t.Fatalf("after shrink: allocated %d pool %d over %d, want 4, 0, 2", a.AllocatedPages(), a.PoolPages(), a.OverLimit())
	}
	a.ReturnPage(pages[0])
	a.ReturnPage(pages[1])
	if a.AllocatedPages() != 2 || a.OverLimit() != 0 || a.Page(pages[0]) != nil {
		t.Fatalf("after returns: allocated %d over %d, page kept %v", a.AllocatedPages(), a.OverLimit(), a.Page(pages[0]) != nil)
	}
	a.ReturnPage(pages[2]) // under the limit again: pooled
	if a.AllocatedPages() != 2 || a.PoolPages() != 1 {
		t.Fatalf("allocated %d pool %d, want 2 and 1", a.AllocatedPages(), a.PoolPages())
	}
	// Growing again reuses released slots before new ones.
	if !a.SetLimit(4 * ps) {
		t.Fatal("SetLimit(4 pages) failed")
	}
	again := take(3) // the pooled page, then two released slots
	for _, p := range again {
		if int(p) > 4 || len(a.Page(p)) != ps {
			t.Fatalf("TakePage after regrow = %d (len %d), want a slot below 5", p, len(a.Page(p)))
		}
	}
	if a.SetLimit(MaxArenaBytes) {
		t.Fatal("SetLimit past what a Loc addresses succeeded")
	}
}
