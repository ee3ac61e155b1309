package store

import "github.com/gocached/gocached/slab"

// CacheDump hands fn the items of class id, newest first (the small
// queue, then the main one), for
// `stats cachedump`: the key, the value's size with its CRLF (memcached's
// nbytes), and the expiry as a Unix time (0: never). It stops after limit
// items (0: all) or when fn returns false. fn runs under the class lock
// and must not call the store.
func (s *Store) CacheDump(id, limit int, fn func(key []byte, nbytes int, unixExp int64) bool) {
	if id <= 0 || id >= len(s.classes) {
		return
	}
	c := s.classes[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range []int{qSmall, qMain} {
		for l := c.q[q].head; l != slab.Nil && (limit == 0 || n < limit); n++ {
			it := s.hdrAt(l)
			exp := int64(0)
			if e := it.exptime(); e != 0 {
				exp = s.clock.Unix(e)
			}
			if !fn(it.key(), it.nbytes(), exp) {
				return
			}
			l = slab.Loc(it.next())
		}
	}
}
