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
