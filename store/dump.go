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
	for _, q := range []int{qSmall, qMain, qTemp} {
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

// Shards is the number of index shards DumpShard walks.
func (s *Store) Shards() int { return len(s.shards) }

// DumpShard hands fn every live item of index shard i, in index order, for
// lru_crawler metadump and mgdump (a caller walks the shards one by one and
// writes what it has between them). fn runs under the shard's lock and must
// not call the store.
func (s *Store) DumpShard(i int, fn func(*Item)) {
	sh := &s.shards[i]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.clock.Now()
	ref := &sh.item
	for _, e := range sh.idx.slots {
		if e == 0 {
			continue
		}
		it := s.hdrAt(slab.Loc(uint32(e)))
		if ok, _ := s.live(it, now); !ok {
			continue
		}
		*ref = Item{s: s, it: it}
		fn(ref)
	}
	*ref = Item{}
}

// Unix converts a store rel time (an item's Exptime or Atime) to Unix
// seconds.
func (s *Store) Unix(rel uint32) int64 { return s.clock.Unix(rel) }
