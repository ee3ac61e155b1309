package store

import "github.com/gocached/gocached/slab"

// shrinkPerTick bounds how many pages a shrink gives back per maintainer
// pass (one a second): 64 MB/s of the default 1 MB pages, so a large
// shrink evicts gradually instead of all at once.
const shrinkPerTick = 64

// SetMemoryLimit changes the item memory limit at run time (memcached's
// cache_memlimit). Growing takes effect at once; shrinking gives pages
// back to the system in the background (the maintainer, up to
// shrinkPerTick pages a second), emptying first the classes with a page's
// worth of free chunks, then the class whose oldest item is oldest, so
// the items it evicts are those memory pressure would; every class keeps
// a page. It fails, as memcached's does for preallocated memory, when
// item memory is mapped from a memory file (-e), or past 32 GiB. The
// S3-FIFO ghost table keeps the size -m gave it (it only remembers
// recently evicted keys).
func (s *Store) SetMemoryLimit(bytes int64) bool {
	if !s.arena.SetLimit(bytes) {
		return false
	}
	old := s.memLimit.Swap(bytes)
	if bytes < old && s.arena.OverLimit() > 0 {
		// Only a lower limit gives pages back: first pages of classes
		// granted past the limit put the arena over it in normal running
		// too, and a raise may leave it so.
		s.shrinking.Store(true)
		select {
		case s.resized <- struct{}{}:
		default:
		}
	}
	return true
}

// MemoryLimit is the item memory limit in bytes (-m, or cache_memlimit).
func (s *Store) MemoryLimit() int64 { return s.memLimit.Load() }

// shrink gives up to shrinkPerTick pages back while a shrink is under
// way (SetMemoryLimit lowered the limit) and the arena holds more than
// its limit; the shrink ends there, or when every class is down to one
// page.
func (s *Store) shrink() {
	if !s.shrinking.Load() {
		return
	}
	for n := 0; n < shrinkPerTick; n++ {
		if s.arena.OverLimit() == 0 {
			s.shrinking.Store(false)
			return
		}
		c := s.shrinkVictim()
		if c == nil {
			s.shrinking.Store(false) // every class is down to its one page
			return
		}
		s.moveMu.Lock()
		ok := s.movePageLocked(c, nil)
		s.moveMu.Unlock()
		s.logPageMove(c, nil, ok)
		if !ok {
			return // tried again on the next pass
		}
	}
}

// shrinkVictim picks the class a shrink takes a page from (see
// SetMemoryLimit), or nil when no class has more than one page.
func (s *Store) shrinkVictim() *class {
	now := s.clock.Now()
	var spare, old *class
	var spareFree int
	var oldAge uint32
	for _, c := range s.classes[1:] {
		c.mu.Lock()
		pages, free, per := c.sc.Pages(), c.sc.FreeChunks(), c.sc.PerPage
		age := s.tailAge(c, now)
		c.mu.Unlock()
		if pages < 2 {
			continue
		}
		if free >= per && (spare == nil || free/per > spareFree) {
			spare, spareFree = c, free/per
		}
		if old == nil || age > oldAge {
			old, oldAge = c, age
		}
	}
	if spare != nil {
		return spare
	}
	return old
}

// tailAge is how long ago the class's oldest item was stored or read
// (class lock held); 0 for an empty class.
func (s *Store) tailAge(c *class, now uint32) uint32 {
	old := c.oldest()
	if old == slab.Nil {
		return 0
	}
	if a := hdr(s.arena.Chunk(old, HeaderSize)).atime(); a <= now {
		return now - a
	}
	return 0
}
