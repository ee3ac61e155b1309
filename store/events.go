package store

// Events is what the store tells of as it happens, for memcached's watch
// streams: evictions (LOGGER_EVICTION) and the page mover's moves
// (LOGGER_SLAB_MOVE, a sysevent). Its methods run with store locks held:
// they must not call the store, and should be quick.
type Events interface {
	// Evicted is a live item evicted for memory, by the LRU tail or a
	// page move (shard and class locks held).
	Evicted(*Eviction)
	// PageMoved is a page the background balancing (slab_automove) or
	// a shrink (SetMemoryLimit; dst 0, the system) took from class src,
	// and whether it was moved.
	PageMoved(src, dst int, ok bool)
}

// Eviction is an evicted item, as memcached's eviction log line shows it.
type Eviction struct {
	Key        []byte // valid only during the call
	Fetched    bool   // read since it was stored
	TTL        int64  // seconds it had left; -1 without an exptime
	LastAccess uint32 // seconds since it was stored or last read
	Class      int    // memcached's class for it (watch's clsid=)
	Size       int    // value bytes
}

// SetEvents has ev told of what happens, nil for nothing (the cost then
// is one atomic load per eviction or page move).
func (s *Store) SetEvents(ev Events) {
	if ev == nil {
		s.events.Store(nil)
		return
	}
	s.events.Store(&ev)
}

// logEviction tells ev of the live item it, being evicted (class lock
// held, the chunk not yet freed).
func (s *Store) logEviction(ev Events, it hdr, now uint32) {
	e := Eviction{Key: it.key(), Fetched: it.iflags()&flagFetched != 0, TTL: -1, Size: it.nbytes()}
	if exp := it.exptime(); exp != 0 {
		e.TTL = int64(exp) - int64(now)
	}
	if a := it.atime(); a <= now {
		e.LastAccess = now - a
	}
	e.Class = s.MemcachedClassOf(it.nkey(), it.flags(), it.nbytes())
	ev.Evicted(&e)
}

// logPageMove tells of a background page move from src to dst (nil: to
// the system).
func (s *Store) logPageMove(src, dst *class, ok bool) {
	if ev := s.events.Load(); ev != nil {
		d := 0
		if dst != nil {
			d = int(dst.sc.ID)
		}
		(*ev).PageMoved(int(src.sc.ID), d, ok)
	}
}
