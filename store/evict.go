package store

import (
	"time"

	"github.com/gocached/gocached/slab"
)

// alloc returns a busy chunk big enough for total bytes, freeing memory when
// the class has none: first a dead or least recently used item at its LRU
// tail, else a page taken from another class. No shard lock may be held.
func (s *Store) alloc(total int) (slab.Loc, *class, error) {
	c := s.classFor(total)
	if c == nil {
		return slab.Nil, nil, ErrTooLarge
	}
	for tries := 0; tries < 50; tries++ {
		c.mu.Lock()
		l := c.sc.Alloc()
		if l != slab.Nil {
			it := hdr(s.arena.Chunk(l, HeaderSize))
			it.setState(stateBusy)
			it[offCls] = c.sc.ID
			c.mu.Unlock()
			return l, c, nil
		}
		tail := c.victim(s, s.clock.Now())
		var th uint64
		if tail != slab.Nil {
			th = s.hashAt(tail)
		}
		c.mu.Unlock()

		if tail != slab.Nil {
			if s.automoveLevel.Load() == 2 && !s.opts.NoEvictions {
				s.automoveOnce()
			}
			// Active items get a second chance, but not forever.
			if s.evictTail(c, tail, th, s.opts.NoEvictions, tries < 40) {
				continue
			}
		}
		if !s.opts.NoEvictions && s.rescuePage(c) {
			continue
		}
		c.mu.Lock()
		c.st.outOfMemory++
		c.mu.Unlock()
		return slab.Nil, nil, ErrNoMemory
	}
	c.mu.Lock()
	c.st.outOfMemory++
	c.mu.Unlock()
	return slab.Nil, nil, ErrNoMemory
}

// evictTail frees the item at l (found at the tail of c) if it is still
// there: a dead item is reclaimed, a live one evicted unless onlyDead. With
// rescue, a live item read more than once since it last reached the tail
// is moved back to the head instead (a second chance, which keeps hot keys
// of a skewed workload in memory as memcached's segmented LRU does).
// It reports whether the caller should try allocating again.
func (s *Store) evictTail(c *class, l slab.Loc, h uint64, onlyDead, rescue bool) bool {
	sh := s.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	slot := sh.idx.findLoc(h, l)
	if slot < 0 {
		return true // it moved on; look again
	}
	it := s.hdrAt(l)
	if ok, _ := s.live(it, s.clock.Now()); ok {
		if onlyDead {
			return false
		}
		if rescue {
			c.mu.Lock()
			kept := it.linked() && c.requeue(s, l, it)
			c.mu.Unlock()
			if kept {
				return true
			}
		}
		if it.state() == stateLinked {
			s.ghost.add(h) // left the small queue unread
		}
		s.unlink(sh, slot, l, reasonEvict)
		return true
	}
	s.unlink(sh, slot, l, reasonReclaim)
	return true
}

// freeIfAt frees the item at l if the index still points there and dead
// (nil: any item) picks it. A page move that finds the item dead anyway
// counts it reclaimed, not evicted.
func (s *Store) freeIfAt(l slab.Loc, h uint64, dead func(it hdr, now uint32) bool, why reason) {
	sh := s.shardOf(h)
	sh.mu.Lock()
	if slot := sh.idx.findLoc(h, l); slot >= 0 {
		it, now := s.hdrAt(l), s.clock.Now()
		if dead == nil || dead(it, now) {
			if ok, _ := s.live(it, now); !ok && why == reasonMove {
				why = reasonReclaim
			}
			s.unlink(sh, slot, l, why)
		}
	}
	sh.mu.Unlock()
}

type victim struct {
	loc  slab.Loc
	hash uint64
}

// rescuePage gives class c a page from the class holding the most pages,
// when c cannot evict its way to memory (it has no items, or they are all
// in flight). It reports whether c got a page.
func (s *Store) rescuePage(c *class) bool {
	var donor *class
	best := 0
	cp := 0
	for _, d := range s.classes[1:] {
		d.mu.Lock()
		n := d.sc.Pages()
		if d == c {
			cp = n
		}
		d.mu.Unlock()
		if d != c && n > best {
			donor, best = d, n
		}
	}
	if donor == nil || (best < 2 && cp > 0) || best <= cp {
		return false
	}
	return s.movePage(donor, c)
}

// movePage empties one page of src (evicting what lives there) and gives it
// to dst, unless dst has free chunks by the time the mover is free. Only one
// page moves at a time.
func (s *Store) movePage(src, dst *class) bool {
	s.moveMu.Lock()
	defer s.moveMu.Unlock()
	dst.mu.Lock()
	hasFree := dst.sc.FreeChunks() > 0
	dst.mu.Unlock()
	if hasFree {
		return true // another mover served dst meanwhile
	}
	return s.movePageLocked(src, dst)
}

// movePageForce moves a page even if dst has free chunks (slabs reassign).
func (s *Store) movePageForce(src, dst *class) bool {
	s.moveMu.Lock()
	defer s.moveMu.Unlock()
	return s.movePageLocked(src, dst)
}

// movePageLocked empties a page of src, that of its oldest item, and
// gives it to dst, or back to the arena when dst is nil (moveMu held).
func (s *Store) movePageLocked(src, dst *class) bool {
	s.global.reassignRun.Store(true)
	defer s.global.reassignRun.Store(false)

	src.mu.Lock()
	if src.sc.Pages() == 0 {
		src.mu.Unlock()
		return false
	}
	page := src.sc.PageList()[0]
	if old := src.oldest(); old != slab.Nil {
		page = s.arena.PageOf(old)
	}
	if !src.sc.BeginMove(page) {
		src.mu.Unlock()
		return false
	}
	src.mu.Unlock()

	size := src.sc.Size
	for pass := 0; ; pass++ {
		src.mu.Lock()
		if pg, done := src.sc.FinishMove(); done {
			src.mu.Unlock()
			s.global.slabsMoved.Add(1)
			if dst == nil { // a shrink: the page goes back to the arena
				s.arena.ReturnPage(pg)
				return true
			}
			clear(s.arena.Page(pg))
			dst.mu.Lock()
			dst.sc.AddPage(pg)
			dst.mu.Unlock()
			return true
		}
		s.moveBuf = s.moveBuf[:0]
		for off := 0; off+size <= s.arena.PageSize(); off += size {
			l := s.arena.LocOf(page, off)
			it := hdr(s.arena.Chunk(l, HeaderSize))
			if it.linked() {
				s.moveBuf = append(s.moveBuf, victim{l, s.hashAt(l)})
			}
		}
		src.mu.Unlock()
		for _, v := range s.moveBuf {
			s.freeIfAt(v.loc, v.hash, nil, reasonMove)
		}
		if len(s.moveBuf) == 0 {
			// Chunks in flight (allocated, not yet linked) finish soon.
			time.Sleep(100 * time.Microsecond)
		}
	}
}
