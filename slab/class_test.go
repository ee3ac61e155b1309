package slab

import "testing"

// newTestClass makes a class of chunk size size over an arena of pages
// pages of pageSize bytes.
func newTestClass(t *testing.T, pages, pageSize, size int) (*Class, *Arena) {
	t.Helper()
	a, err := NewArena(int64(pages*pageSize), pageSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return NewClass(1, size, a), a
}

func checkCounts(t *testing.T, c *Class, pages, free, used int) {
	t.Helper()
	if c.Pages() != pages || c.FreeChunks() != free || c.UsedChunks() != used || c.TotalChunks() != pages*c.PerPage {
		t.Fatalf("pages/free/used/total = %d/%d/%d/%d, want %d/%d/%d/%d",
			c.Pages(), c.FreeChunks(), c.UsedChunks(), c.TotalChunks(), pages, free, used, pages*c.PerPage)
	}
}

func TestClassPerPage(t *testing.T) {
	for _, tc := range []struct{ pageSize, size, want int }{
		{1024, 128, 8}, {1024, 200, 5}, {1024, 1024, 1}, {1 << 20, 96, 10922}, {1 << 20, 1 << 19, 2},
	} {
		c, _ := newTestClass(t, 1, tc.pageSize, tc.size)
		if c.PerPage != tc.want {
			t.Errorf("page %d size %d: PerPage %d, want %d", tc.pageSize, tc.size, c.PerPage, tc.want)
		}
	}
}

func TestClassAllocFreeExhaustion(t *testing.T) {
	const ps, size = 1024, 200 // 5 chunks a page, 24 bytes of tail unused
	c, a := newTestClass(t, 2, ps, size)
	checkCounts(t, c, 0, 0, 0)

	seen := map[Loc]bool{}
	var locs []Loc
	for i := 0; i < 2*c.PerPage; i++ {
		l := c.Alloc()
		if l == Nil {
			t.Fatalf("Alloc %d returned Nil with memory left", i)
		}
		if seen[l] {
			t.Fatalf("Alloc returned %d twice", l)
		}
		seen[l] = true
		locs = append(locs, l)
		// Chunks are carved at multiples of the size inside a page and never
		// run past its end.
		off := int(int64(l)<<3) & (ps - 1)
		if off%size != 0 || off+size > ps {
			t.Fatalf("chunk at page offset %d is not a whole chunk of %d", off, size)
		}
		// The chunk is writable in full without touching its neighbours.
		ch := a.Chunk(l, size)
		for j := range ch {
			ch[j] = byte(i)
		}
	}
	checkCounts(t, c, 2, 0, 10)
	// Chunks are handed out in page order.
	if a.PageOf(locs[0]) != a.PageOf(locs[4]) || a.PageOf(locs[4]) == a.PageOf(locs[5]) {
		t.Error("the first page's chunks were not all used before the second page's")
	}
	for i, l := range locs {
		if a.Chunk(l, size)[size-1] != byte(i) {
			t.Fatalf("chunk %d overwritten by a neighbour", i)
		}
	}

	// Memory is exhausted: the arena limit is reached and the list is empty.
	if l := c.Alloc(); l != Nil {
		t.Fatalf("Alloc past the arena limit returned %d", l)
	}
	if c.Grow() {
		t.Fatal("Grow succeeded past the arena limit")
	}

	// A freed chunk is the next one handed out (LIFO free list).
	c.Free(locs[3])
	c.Free(locs[7])
	checkCounts(t, c, 2, 2, 8)
	if l := c.Alloc(); l != locs[7] {
		t.Fatalf("Alloc after Free = %d, want the last freed chunk %d", l, locs[7])
	}
	if l := c.Alloc(); l != locs[3] {
		t.Fatalf("Alloc = %d, want %d", l, locs[3])
	}
	if l := c.Alloc(); l != Nil {
		t.Fatalf("Alloc with an empty free list returned %d", l)
	}
	checkCounts(t, c, 2, 0, 10)

	// Freeing everything makes every chunk available again.
	for _, l := range locs {
		c.Free(l)
	}
	checkCounts(t, c, 2, 10, 0)
	for i := 0; i < 10; i++ {
		if c.Alloc() == Nil {
			t.Fatalf("Alloc %d failed after freeing everything", i)
		}
	}
	if c.Alloc() != Nil {
		t.Fatal("more chunks than the pages hold")
	}
}

func TestClassAddPage(t *testing.T) {
	c, a := newTestClass(t, 2, 1024, 256)
	p, ok := a.TakePage()
	if !ok {
		t.Fatal("TakePage failed")
	}
	c.AddPage(p)
	checkCounts(t, c, 1, 4, 0)
	if got := c.PageList(); len(got) != 1 || got[0] != p {
		t.Fatalf("PageList %v, want [%d]", got, p)
	}
	for i := 0; i < 4; i++ {
		if l := c.Alloc(); a.PageOf(l) != p {
			t.Fatalf("Alloc returned a chunk of page %d, want %d", a.PageOf(l), p)
		}
	}
	// The next Alloc grows from the arena (the second page).
	if l := c.Alloc(); l == Nil || a.PageOf(l) == p {
		t.Fatalf("Alloc did not grow into a new page: %d", l)
	}
	checkCounts(t, c, 2, 3, 5)
}

func TestClassMove(t *testing.T) {
	const ps, size = 1024, 128 // 8 chunks a page
	c, a := newTestClass(t, 2, ps, size)
	var p0, p1 []Loc
	for i := 0; i < 16; i++ {
		l := c.Alloc()
		if a.PageOf(l) == 0 {
			p0 = append(p0, l)
		} else {
			p1 = append(p1, l)
		}
	}
	if len(p0) != 8 || len(p1) != 8 {
		t.Fatalf("got %d and %d chunks in pages 0 and 1, want 8 and 8", len(p0), len(p1))
	}
	// Interleave the pages on the free list so that BeginMove must unlink
	// chunks at its head and in its middle.
	c.Free(p1[0])
	c.Free(p0[1])
	c.Free(p1[1])
	c.Free(p0[3])
	c.Free(p0[5])
	checkCounts(t, c, 2, 5, 11)

	if _, ok := c.Moving(); ok {
		t.Fatal("Moving reports a page before BeginMove")
	}
	if !c.BeginMove(0) {
		t.Fatal("BeginMove failed")
	}
	if pg, ok := c.Moving(); !ok || pg != 0 {
		t.Fatalf("Moving = %d, %v; want 0, true", pg, ok)
	}
	if c.BeginMove(1) {
		t.Fatal("a second BeginMove succeeded while a page is moving")
	}
	// The moving page's 3 free chunks left the free list and count as
	// released, not used.
	checkCounts(t, c, 2, 2, 11)
	if _, done := c.FinishMove(); done {
		t.Fatal("FinishMove done with 5 chunks of the page still allocated")
	}

	// The free list only hands out chunks of the other page; then it is
	// empty (the arena is full), even though the moving page has room.
	p1 = p1[2:] // p1[0] and p1[1] were freed
	for i := 0; i < 2; i++ {
		l := c.Alloc()
		if l == Nil || a.PageOf(l) != 1 {
			t.Fatalf("Alloc during a move = %d (page %d), want a chunk of page 1", l, a.PageOf(l))
		}
		p1 = append(p1, l)
	}
	if l := c.Alloc(); l != Nil {
		t.Fatalf("Alloc handed out %d (page %d) while only the moving page has free chunks", l, a.PageOf(l))
	}
	checkCounts(t, c, 2, 0, 13)

	// Chunks of the moving page freed now are counted, not reused.
	live0 := []Loc{p0[0], p0[2], p0[4], p0[6], p0[7]}
	for i, l := range live0 {
		c.Free(l)
		if c.FreeChunks() != 0 {
			t.Fatalf("freed chunk of the moving page went to the free list")
		}
		if c.Alloc() != Nil {
			t.Fatalf("Alloc reused a chunk of the moving page")
		}
		pg, done := c.FinishMove()
		if last := i == len(live0)-1; done != last {
			t.Fatalf("after freeing %d of %d chunks FinishMove done = %v", i+1, len(live0), done)
		}
		if done && pg != 0 {
			t.Fatalf("FinishMove returned page %d, want 0", pg)
		}
	}
	if _, ok := c.Moving(); ok {
		t.Fatal("Moving still reports a page after FinishMove")
	}
	if got := c.PageList(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("PageList after the move %v, want [1]", got)
	}
	checkCounts(t, c, 1, 0, 8)
	if _, done := c.FinishMove(); done {
		t.Fatal("FinishMove done twice")
	}

	// The caller owns the page: another class can take it, and this class
	// can start a new move.
	other := NewClass(2, 256, a)
	other.AddPage(0)
	if other.FreeChunks() != 4 {
		t.Fatalf("receiving class has %d free chunks, want 4", other.FreeChunks())
	}
	if !c.BeginMove(1) {
		t.Fatal("BeginMove after a finished move failed")
	}
	// A page without free chunks starts with nothing released.
	checkCounts(t, c, 1, 0, 8)
	for _, l := range p1 {
		c.Free(l)
	}
	if pg, done := c.FinishMove(); !done || pg != 1 {
		t.Fatalf("FinishMove = %d, %v; want 1, true", pg, done)
	}
	checkCounts(t, c, 0, 0, 0)
}

func TestClassMoveWholeFreePage(t *testing.T) {
	c, a := newTestClass(t, 1, 1024, 128)
	if !c.Grow() {
		t.Fatal("Grow failed")
	}
	checkCounts(t, c, 1, 8, 0)
	if !c.BeginMove(0) {
		t.Fatal("BeginMove failed")
	}
	if pg, done := c.FinishMove(); !done || pg != 0 {
		t.Fatalf("FinishMove of an all-free page = %d, %v; want 0, true", pg, done)
	}
	checkCounts(t, c, 0, 0, 0)
	// Left without pages, the class gets a first page again: past the
	// limit, never the one that moved away.
	l := c.Alloc()
	if l == Nil || a.PageOf(l) == 0 {
		t.Fatalf("Alloc after the move = %v (page %d), want a chunk of a new page", l, a.PageOf(l))
	}
	checkCounts(t, c, 1, 7, 1)
	if a.AllocatedPages() != 2 {
		t.Fatalf("allocated %d pages, want 2", a.AllocatedPages())
	}
}

func TestClassFirstPagePastLimit(t *testing.T) {
	// One page of memory: the first class fills it; a second class still
	// gets a page of its own, but no more than one.
	c, a := newTestClass(t, 1, 1024, 128)
	for i := 0; i < 8; i++ {
		if c.Alloc() == Nil {
			t.Fatalf("Alloc %d failed", i)
		}
	}
	if c.Alloc() != Nil {
		t.Fatal("a class with a page grew past the limit")
	}
	d := NewClass(2, 256, a)
	for i := 0; i < 4; i++ {
		if d.Alloc() == Nil {
			t.Fatalf("second class: Alloc %d failed", i)
		}
	}
	if d.Alloc() != Nil {
		t.Fatal("second class grew past its first page beyond the limit")
	}
	checkCounts(t, d, 1, 0, 4)
}
