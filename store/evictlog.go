package store

// Eviction is a live item evicted for memory, what memcached logs as
// LOGGER_EVICTION (watch evictions): by the LRU tail or by a page move.
type Eviction struct {
	Key        []byte // valid only during the call
	Fetched    bool   // read since it was stored
	TTL        int64  // seconds it had left; -1 without an exptime
	LastAccess uint32 // seconds since it was stored or last read
	Class      int    // memcached's class for it (watch's clsid=)
	Size       int    // value bytes
}

// SetEvictionLog has fn called for every eviction, nil for none (the
// cost then is one atomic load per eviction). fn runs with the item's
// shard and class locks held: it must not call the store, and should be
// quick.
func (s *Store) SetEvictionLog(fn func(*Eviction)) {
	if fn == nil {
		s.evictLog.Store(nil)
		return
	}
	s.evictLog.Store(&fn)
}

// logEviction tells fn of the live item it, being evicted (class lock
// held, the chunk not yet freed).
func (s *Store) logEviction(fn func(*Eviction), it hdr, now uint32) {
	e := Eviction{Key: it.key(), Fetched: it.iflags()&flagFetched != 0, TTL: -1, Size: it.nbytes()}
	if exp := it.exptime(); exp != 0 {
		e.TTL = int64(exp) - int64(now)
	}
	if a := it.atime(); a <= now {
		e.LastAccess = now - a
	}
	e.Class = s.MemcachedClassOf(it.nkey(), it.flags(), it.nbytes())
	fn(&e)
}
