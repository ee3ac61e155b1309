package slab

import "encoding/binary"

// Class is one size class: the pages it owns and a free list threaded
// through the first 4 bytes of its free chunks. Not safe for concurrent use.
type Class struct {
	ID      uint8
	Size    int // chunk size in bytes
	PerPage int // chunks per page

	arena    *Arena
	pages    []uint32
	freeHead Loc
	nfree    int

	moving      int64 // page being emptied, or -1
	movingFreed int   // its chunks already released
}

// NewClass makes an empty class of chunk size size.
func NewClass(id uint8, size int, a *Arena) *Class {
	return &Class{ID: id, Size: size, PerPage: a.pageSize / size, arena: a, freeHead: Nil, moving: -1}
}

// Pages is how many pages the class owns.
func (c *Class) Pages() int { return len(c.pages) }

// PageList returns the ids of the class's pages (shared; do not modify).
func (c *Class) PageList() []uint32 { return c.pages }

// FreeChunks is how many chunks are on the free list.
func (c *Class) FreeChunks() int { return c.nfree }

// TotalChunks is how many chunks the class's pages hold.
func (c *Class) TotalChunks() int { return len(c.pages) * c.PerPage }

// UsedChunks is how many chunks are allocated.
func (c *Class) UsedChunks() int {
	used := c.TotalChunks() - c.nfree
	if c.moving >= 0 {
		used -= c.movingFreed
	}
	return used
}

// Alloc pops a free chunk, taking a page from the arena when the free list is
// empty. It returns Nil when no memory is left for this class.
func (c *Class) Alloc() Loc {
	if c.freeHead == Nil && !c.Grow() {
		return Nil
	}
	l := c.freeHead
	c.freeHead = Loc(binary.LittleEndian.Uint32(c.arena.Chunk(l, 4)))
	c.nfree--
	return l
}

// Grow takes a page from the arena and puts its chunks on the free list.
// A class without pages gets its first one even past the limit (Arena).
func (c *Class) Grow() bool {
	take := c.arena.TakePage
	if len(c.pages) == 0 {
		take = c.arena.TakeFirstPage
	}
	page, ok := take()
	if !ok {
		return false
	}
	c.AddPage(page)
	return true
}

// AddPage gives the class a page that belongs to no class.
func (c *Class) AddPage(page uint32) {
	c.pages = append(c.pages, page)
	for i := c.PerPage - 1; i >= 0; i-- {
		c.push(c.arena.LocOf(page, i*c.Size))
	}
}

// AttachPage gives the class a page whose chunks stay as they are (none
// goes on the free list): a resumed page, whose free chunks the caller
// then hands to Free.
func (c *Class) AttachPage(page uint32) { c.pages = append(c.pages, page) }

func (c *Class) push(l Loc) {
	binary.LittleEndian.PutUint32(c.arena.Chunk(l, 4), uint32(c.freeHead))
	c.freeHead = l
	c.nfree++
}

// Free returns a chunk. A chunk of the page being moved is counted toward
// the move instead of being reused.
func (c *Class) Free(l Loc) {
	if c.moving >= 0 && int64(c.arena.PageOf(l)) == c.moving {
		c.movingFreed++
		return
	}
	c.push(l)
}

// Moving reports the page being emptied, if any.
func (c *Class) Moving() (page uint32, ok bool) {
	if c.moving < 0 {
		return 0, false
	}
	return uint32(c.moving), true
}

// BeginMove starts emptying page: its free chunks leave the free list and
// chunks of it freed later are not reused. Only one page moves at a time.
func (c *Class) BeginMove(page uint32) bool {
	if c.moving >= 0 {
		return false
	}
	c.moving = int64(page)
	c.movingFreed = 0
	prev := Nil
	for l := c.freeHead; l != Nil; {
		next := Loc(binary.LittleEndian.Uint32(c.arena.Chunk(l, 4)))
		if c.arena.PageOf(l) == page {
			if prev == Nil {
				c.freeHead = next
			} else {
				binary.LittleEndian.PutUint32(c.arena.Chunk(prev, 4), uint32(next))
			}
			c.nfree--
			c.movingFreed++
		} else {
			prev = l
		}
		l = next
	}
	return true
}

// FinishMove completes the move when every chunk of the page is released,
// removing the page from the class; the caller then owns the page.
func (c *Class) FinishMove() (page uint32, done bool) {
	if c.moving < 0 || c.movingFreed < c.PerPage {
		return 0, false
	}
	page = uint32(c.moving)
	for i, p := range c.pages {
		if p == page {
			c.pages = append(c.pages[:i], c.pages[i+1:]...)
			break
		}
	}
	c.moving = -1
	c.movingFreed = 0
	return page, true
}
