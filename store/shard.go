package store

import (
	"sync"

	"github.com/gocached/gocached/slab"
)

// shard is one stripe of the index with its lock and its counters.
type shard struct {
	mu      sync.Mutex
	idx     index
	st      shardStats
	view    View          // handed to readers' callbacks under mu
	item    Item          // handed to meta callbacks under mu
	metaRes MetaGetResult // likewise
	_       [64]byte      // keep neighbouring shards' locks off one cache line
}

// class is one slab class with its two FIFO queues (queues.go) and
// counters, under one lock.
type class struct {
	mu          sync.Mutex
	sc          *slab.Class
	q           [nQueues]queue // qSmall, qMain, qTemp
	st          classStats
	lastEvicted uint64 // evictions seen by the last automove pass
}

// lookup finds key in the shard (lock held) and returns its slot and Loc.
func (s *Store) lookup(sh *shard, h uint64, key []byte) (int, slab.Loc) {
	slot := sh.idx.find(h, func(l slab.Loc) bool {
		return string(s.hdrAt(l).key()) == string(key)
	})
	if slot < 0 {
		return -1, slab.Nil
	}
	return slot, sh.idx.loc(slot)
}

// live reports whether the item at l is neither expired nor flushed, and
// if it is dead why (for the get_expired / get_flushed counters).
func (s *Store) live(it hdr, now uint32) (ok bool, flushed bool) {
	if exp := it.exptime(); exp != 0 && exp <= now {
		return false, false
	}
	if s.isFlushed(it, now) {
		return false, true
	}
	return true, false
}

func (s *Store) isFlushed(it hdr, now uint32) bool {
	ol := s.oldestLive.Load()
	if ol == 0 || ol > now {
		return false
	}
	if it.atime() <= ol {
		return true
	}
	// Stored in the flush's second: before it when its CAS is older than
	// the flush (a client's CAS, meta E, tells nothing: memcached 1.6.45
	// judges by time alone).
	oc := s.oldestCAS.Load()
	cas := it.cas()
	return oc != 0 && cas != 0 && cas < oc && it.iflags()&flagCASIn == 0
}

// find looks key up (shard lock held), unlinking it if it is dead.
// It returns the slot and Loc of a live item or -1.
func (s *Store) find(sh *shard, h uint64, key []byte, countDead bool) (int, slab.Loc) {
	slot, l := s.lookup(sh, h, key)
	if slot < 0 {
		return -1, slab.Nil
	}
	it := s.hdrAt(l)
	ok, flushed := s.live(it, s.clock.Now())
	if ok {
		return slot, l
	}
	if countDead {
		if flushed {
			sh.st.getFlushed++
		} else {
			sh.st.getExpired++
		}
	}
	s.unlink(sh, slot, l, reasonLazy)
	return -1, slab.Nil
}

// link puts a busy item into the index and its class's LRU (shard lock
// held). slot is the key's existing slot to overwrite, or -1.
func (s *Store) link(sh *shard, slot int, h uint64, l slab.Loc, now uint32) {
	it := s.hdrAt(l)
	it.setAtime(now)
	if slot >= 0 {
		sh.idx.set(slot, h, l)
	} else {
		sh.idx.insert(h, l)
	}
	q := qSmall
	if t := s.tempTTL.Load(); t >= 0 && it.exptime() != 0 && int64(it.exptime())-int64(now) <= t {
		q = qTemp
	} else if slot < 0 && !s.opts.FlatLRU && s.ghost.take(h) {
		q = qMain // evicted from the small queue lately: seen twice
	}
	c := s.classes[it.cls()]
	c.mu.Lock()
	c.pushHead(s, q, l, it)
	c.st.items++
	c.st.bytes += int64(it.total())
	c.st.totalItems++
	c.mu.Unlock()
}

// Why an item leaves the cache, for the counters.
type reason uint8

const (
	reasonDelete  reason = iota // delete, or a failed set's old value
	reasonReplace               // overwritten by a newer item
	reasonLazy                  // found expired or flushed on access
	reasonEvict                 // LRU tail taken for memory
	reasonReclaim               // dead LRU tail reused for memory
	reasonCrawl                 // dead item freed by the background reclaimer
	reasonMove                  // its page moved to another class
)

// unlink removes an item from the index and LRU and frees its chunk
// (shard lock held).
func (s *Store) unlink(sh *shard, slot int, l slab.Loc, why reason) {
	sh.idx.remove(slot)
	s.release(l, why)
}

// unlinkOld frees an item whose index slot is about to point elsewhere.
func (s *Store) unlinkOld(l slab.Loc) { s.release(l, reasonReplace) }

// release takes a linked item out of its class's LRU and frees the chunk.
func (s *Store) release(l slab.Loc, why reason) {
	it := s.hdrAt(l)
	c := s.classes[it.cls()]
	fetched := it.iflags()&flagFetched != 0
	c.mu.Lock()
	switch why {
	case reasonEvict, reasonMove:
		c.st.evicted++
		if it.exptime() != 0 {
			c.st.evictedNonzero++
		}
		if !fetched {
			c.st.evictedUnfetched++
		}
		if it.iflags()&flagActive != 0 {
			c.st.evictedActive++
		}
		now := s.clock.Now()
		if a := it.atime(); a <= now {
			c.st.evictedTime = now - a
		}
		if ev := s.events.Load(); ev != nil {
			s.logEviction(*ev, it, now)
		}
	case reasonReclaim, reasonCrawl:
		c.st.reclaimed++
		if why == reasonCrawl {
			c.st.crawlerReclaimed++
		}
		if !fetched {
			c.st.expiredUnfetched++
		}
	}
	c.remove(s, l, it)
	c.st.items--
	c.st.bytes -= int64(it.total())
	it.setState(stateFree)
	c.sc.Free(l)
	c.mu.Unlock()
}

// freeBusy returns a chunk that was allocated but never linked.
func (s *Store) freeBusy(l slab.Loc) {
	it := hdr(s.arena.Chunk(l, HeaderSize))
	c := s.classes[it.cls()]
	c.mu.Lock()
	it.setState(stateFree)
	c.sc.Free(l)
	c.mu.Unlock()
}

// markHit records a read: the first marks the item fetched, the second
// active (memcached's FETCHED and ACTIVE bits), and each one counts in the
// item's frequency, up to freqMax, which decides at a queue's tail whether
// it stays (queues.go). After a few reads a hot item's header is no longer
// written at all.
func markHit(it hdr) {
	f := it.iflags()
	g := f
	if g&flagFetched == 0 {
		g |= flagFetched
	} else {
		g |= flagActive
	}
	if g&freqMask != freqMask {
		g += freqOne
	}
	if g != f {
		it.setIflags(g)
	}
}

// bump records a hit's time in the item (for the ages of `stats items` and
// the page mover), at most once per bumpInterval. Items do not move on a
// hit: the queues are FIFO, so a read takes no class lock.
func (s *Store) bump(l slab.Loc, it hdr, now uint32) {
	if it.atime()+bumpInterval > now {
		return
	}
	if !s.opts.FlatLRU {
		it.setAtime(now)
		return
	}
	// memcached's flat LRU: to the head of its queue.
	c := s.classes[it.cls()]
	c.mu.Lock()
	if it.linked() {
		c.remove(s, l, it)
		c.pushHead(s, qSmall, l, it)
	}
	it.setAtime(now)
	c.mu.Unlock()
}
