package slab

import (
	"errors"
	"fmt"
	"sync"
)

// Loc names a chunk: its byte offset in the arena divided by 8.
type Loc uint32

// Nil is the Loc of no chunk.
const Nil Loc = ^Loc(0)

// MaxArenaBytes is the largest arena a Loc can address.
const MaxArenaBytes = int64(1) << 35 // 32 GiB

// maxSlots bounds the page table (MaxArenaBytes of 1 MB pages).
const maxSlots = 1 << 15

// Arena is the page pool: up to Limit pages of PageSize bytes, allocated on
// first use and handed to classes. It has its own leaf lock.
type Arena struct {
	pageSize  int
	pageShift uint
	pageMask  int

	mu sync.Mutex
	// pages has a fixed length (every page a Loc can address, or a memory
	// file's pages), so Chunk reads it without the lock; a slot is nil
	// until its page is allocated, and again once SetLimit's shrink has
	// released it.
	pages     [][]byte
	limit     int
	allocated int      // pages mapped now
	next      int      // slots below next have been used; holes lists the released ones
	holes     []uint32 // released slots, taken again before next
	pool      []uint32 // allocated pages owned by no class
	over      int      // most pages past limit (TakeFirstPage), at most MaxClasses
	file      *memFile // the memory file every page is mapped from, or nil
}

// A class's first page is granted even when the limit is reached, as
// memcached's do_slabs_newslab grants it (its check is `mem_malloced + len
// > mem_limit && p->slabs > 0`): a size that arrives after memory is full
// gets one page of its own instead of a page taken, with every item on it,
// from another class. At most one page per class beyond the limit
// (SetClasses; MaxClasses until it is called).

// NewArena makes an arena of at most limitBytes (rounded down to whole pages,
// at least one page) in pages of pageSize bytes, a power of two.
func NewArena(limitBytes int64, pageSize int) (*Arena, error) {
	if pageSize < 1024 || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("slab: page size %d is not a power of two >= 1024", pageSize)
	}
	if limitBytes > MaxArenaBytes-int64(MaxClasses+1)*int64(pageSize) {
		return nil, errors.New("slab: memory limit above 32 GiB is not supported")
	}
	n := limitPages(limitBytes, pageSize)
	shift := uint(0)
	for 1<<shift < pageSize {
		shift++
	}
	// Every slot a Loc can address, SetLimit may grow the arena up to it
	// (32 GiB of the store's 1 MB pages; fewer for the small pages of
	// tests).
	slots := max(min(int(MaxArenaBytes/int64(pageSize)), maxSlots), n+MaxClasses)
	return &Arena{pageSize: pageSize, pageShift: shift, pageMask: pageSize - 1, pages: make([][]byte, slots), limit: n, over: MaxClasses}, nil
}

// limitPages is limitBytes in whole pages, at least one.
func limitPages(limitBytes int64, pageSize int) int {
	return max(int(limitBytes/int64(pageSize)), 1)
}

// SetLimit changes the limit at run time (memcached's cache_memlimit):
// growing lets classes take more pages; shrinking unmaps pooled pages,
// and every page given back (ReturnPage) while more are allocated than
// the new limit, until the arena is back under it. It fails for a memory
// file's arena, whose mapping is fixed (memcached refuses too, for its
// preallocated and restartable memory), and past what a Loc can address.
func (a *Arena) SetLimit(limitBytes int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := limitPages(limitBytes, a.pageSize)
	if a.file != nil || n+MaxClasses > len(a.pages) {
		return false
	}
	a.limit = n
	for len(a.pool) > 0 && a.allocated > a.limit {
		a.release(a.pool[len(a.pool)-1])
		a.pool = a.pool[:len(a.pool)-1]
	}
	return true
}

// OverLimit is how many more pages are allocated than the limit: what a
// shrink still has to give back (first pages of classes granted past the
// limit count too).
func (a *Arena) OverLimit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return max(a.allocated-a.limit, 0)
}

// release unmaps an allocated page that no class owns (a.mu held).
func (a *Arena) release(page uint32) {
	freePage(a.pages[page])
	a.pages[page] = nil
	a.allocated--
	a.holes = append(a.holes, page)
}

// SetClasses bounds the pages TakeFirstPage may allocate past the limit
// to n, the number of classes that share the arena.
func (a *Arena) SetClasses(n int) {
	a.mu.Lock()
	a.over = min(max(n, 0), MaxClasses)
	a.mu.Unlock()
}

// PageSize is the size of every page.
func (a *Arena) PageSize() int { return a.pageSize }

// LimitPages is the most pages the arena holds, first pages of classes
// aside (TakeFirstPage).
func (a *Arena) LimitPages() int { return a.limit }

// MaxPages is the most pages the arena may hold, the first pages of
// classes granted past the limit included.
func (a *Arena) MaxPages() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit + a.over
}

// AllocatedPages is how many pages have been allocated so far.
func (a *Arena) AllocatedPages() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.allocated
}

// PoolPages is how many allocated pages belong to no class.
func (a *Arena) PoolPages() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pool)
}

// TakePage returns a page for a class: one from the pool, else a newly
// allocated one while under the limit. ok is false when memory is full.
func (a *Arena) TakePage() (page uint32, ok bool) { return a.take(false) }

// TakeFirstPage is TakePage for a class that has no page yet: when memory
// is full it allocates one beyond the limit (see Arena).
func (a *Arena) TakeFirstPage() (page uint32, ok bool) { return a.take(true) }

func (a *Arena) take(first bool) (page uint32, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.pool); n > 0 {
		page = a.pool[n-1]
		a.pool = a.pool[:n-1]
		return page, true
	}
	limit := a.limit
	if first {
		limit += a.over
	}
	if a.allocated >= limit {
		return 0, false
	}
	fromHole := len(a.holes) > 0
	if fromHole {
		page = a.holes[len(a.holes)-1]
	} else {
		page = uint32(a.next)
	}
	if a.pages[page] == nil { // a file arena's pages are all mapped already
		p, err := newPage(a.pageSize)
		if err != nil {
			return 0, false
		}
		a.pages[page] = p
	}
	if fromHole {
		a.holes = a.holes[:len(a.holes)-1]
	} else {
		a.next++
	}
	a.allocated++
	return page, true
}

// ReturnPage gives a page back to the pool, or unmaps it while more pages
// are allocated than the limit (SetLimit).
func (a *Arena) ReturnPage(page uint32) {
	a.mu.Lock()
	if a.allocated > a.limit && a.file == nil {
		a.release(page)
	} else {
		a.pool = append(a.pool, page)
	}
	a.mu.Unlock()
}

// LocOf is the Loc of byte offset off in page.
func (a *Arena) LocOf(page uint32, off int) Loc {
	return Loc((int64(page)<<a.pageShift + int64(off)) >> 3)
}

// PageOf is the page a chunk lives in.
func (a *Arena) PageOf(l Loc) uint32 { return uint32((int64(l) << 3) >> a.pageShift) }

// Chunk returns the n bytes of memory starting at l. The caller must own the
// chunk (hold the lock that guards it).
func (a *Arena) Chunk(l Loc, n int) []byte {
	off := int64(l) << 3
	p := a.pages[off>>a.pageShift]
	o := int(off) & a.pageMask
	return p[o : o+n : o+n]
}

// Page returns a whole page's memory.
func (a *Arena) Page(page uint32) []byte { return a.pages[page] }

// Close unmaps every page (and unlocks a memory file, whose contents stay).
// The arena must not be used afterwards.
func (a *Arena) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.file != nil {
		a.file.unmap()
		a.file.f.Close()
		clear(a.pages)
		return
	}
	for i, p := range a.pages {
		if p != nil {
			freePage(p)
			a.pages[i] = nil
		}
	}
}

// OffHeap maps size bytes of zeroed memory outside the Go heap (from the
// Go heap under the race detector, as pages are), for other pointer-free
// tables that must not add to the collector's heap goal, such as the
// store's index. FreeOffHeap gives it back; nothing may use it after.
func OffHeap(size int) ([]byte, error) { return newPage(size) }

// FreeOffHeap releases memory from OffHeap.
func FreeOffHeap(b []byte) { freePage(b) }
