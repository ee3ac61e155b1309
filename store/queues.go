package store

import (
	"sync/atomic"

	"github.com/gocached/gocached/slab"
)

// Eviction is S3-FIFO's (Yang et al., SOSP 2023), per slab class: a new
// item enters the small queue; when the class needs a chunk and the small
// queue holds a tenth or more of the class's chunks, its oldest item is
// looked at: read since it came, it moves to the main queue; never read,
// it is evicted and its hash goes to the ghost table. An item whose hash
// is in the ghost table (evicted from the small queue lately, and wanted
// again) enters the main queue directly. Otherwise the main queue's oldest
// item is looked at: read since it was last looked at (frequency > 0), it
// goes back to the main queue's head with one less; else it is evicted.
//
// So one-hit wonders (scans, keys read once) leave after a short stay
// without pushing out what is read again, and a hit moves nothing: the
// queues are FIFO, a read only counts in the item's header (markHit).

// Queues of a class. The temporary queue is memcached's TEMP_LRU
// (-o temporary_ttl, `lru temp_ttl`): items stored with a TTL of at most
// temporary_ttl seconds go there instead, and are never evicted for
// memory, only freed once expired (by an allocation that finds the
// queue's tail dead, the reclaimer or a read), so that short-lived items
// neither push out others nor are pushed out by them.
const (
	qSmall  = 0
	qMain   = 1
	qTemp   = 2
	nQueues = 3
)

// smallShare: the small queue is evicted from while it holds at least
// 1/smallShare of the class's chunks.
const smallShare = 10

// queue is a doubly linked FIFO of items through their prev/next fields;
// class lock held for all of it.
type queue struct {
	head, tail slab.Loc
	n          int
}

// pushHead puts a linked item at the head of queue q, setting its state.
func (c *class) pushHead(s *Store, q int, l slab.Loc, it hdr) {
	it.setState(stateLinked + uint8(q))
	qu := &c.q[q]
	it.setPrev(uint32(slab.Nil))
	it.setNext(uint32(qu.head))
	if qu.head != slab.Nil {
		hdr(s.arena.Chunk(qu.head, HeaderSize)).setPrev(uint32(l))
	}
	qu.head = l
	if qu.tail == slab.Nil {
		qu.tail = l
	}
	qu.n++
}

// remove takes a linked item out of its queue (its state is left alone).
func (c *class) remove(s *Store, l slab.Loc, it hdr) {
	qu := &c.q[it.state()-stateLinked]
	p, n := slab.Loc(it.prev()), slab.Loc(it.next())
	if p != slab.Nil {
		hdr(s.arena.Chunk(p, HeaderSize)).setNext(uint32(n))
	} else {
		qu.head = n
	}
	if n != slab.Nil {
		hdr(s.arena.Chunk(n, HeaderSize)).setPrev(uint32(p))
	} else {
		qu.tail = p
	}
	it.setPrev(uint32(slab.Nil))
	it.setNext(uint32(slab.Nil))
	qu.n--
}

// victim is the item eviction looks at next (class lock held), or Nil.
// A dead item at the temporary queue's tail comes first: it is only
// reclaimed.
func (c *class) victim(s *Store, now uint32) slab.Loc {
	if t := c.q[qTemp].tail; t != slab.Nil {
		if exp := hdr(s.arena.Chunk(t, HeaderSize)).exptime(); exp != 0 && exp <= now {
			return t
		}
	}
	small, main := &c.q[qSmall], &c.q[qMain]
	if small.tail != slab.Nil && (main.tail == slab.Nil || small.n*smallShare >= c.sc.TotalChunks()) {
		return small.tail
	}
	return main.tail
}

// oldest is the item stored or read longest ago as far as the queues know
// (class lock held): the main queue's tail, else the small one's; Nil when
// the class is empty. Its age is the class's `age` in `stats items` and
// what the page mover balances.
func (c *class) oldest() slab.Loc {
	if c.q[qMain].tail != slab.Nil {
		return c.q[qMain].tail
	}
	return c.q[qSmall].tail
}

// requeue gives a live item at a queue's tail its second chance if it has
// earned one (shard and class locks held): from the small queue to the
// main one when it was read, within the main one when it was read since it
// was last looked at, with one read less. False: it is to be evicted.
func (c *class) requeue(s *Store, l slab.Loc, it hdr) bool {
	f := it.iflags()
	if it.state() == stateTemp { // never evicted: its TTL was made longer since
		c.remove(s, l, it)
		c.pushHead(s, qTemp, l, it)
		return true
	}
	if s.opts.FlatLRU {
		// memcached's flat LRU: an item read twice since it came (ACTIVE)
		// gets one more turn, from the head.
		if f&flagActive == 0 {
			return false
		}
		c.remove(s, l, it)
		it.setIflags(f &^ flagActive)
		c.pushHead(s, qSmall, l, it)
		c.st.rescued++
		return true
	}
	if freqOf(f) == 0 {
		return false
	}
	c.remove(s, l, it)
	if it.state() == stateLinked {
		it.setIflags(f &^ freqMask) // counts afresh in the main queue
		c.st.promoted++
	} else {
		it.setIflags(f - freqOne)
		c.st.rescued++
	}
	c.pushHead(s, qMain, l, it)
	return true
}

// ghostTable remembers the hashes of items evicted from small queues
// unread, as S3-FIFO's ghost queue: 16-bit tags, one per hash bucket, two
// buckets to a 32-bit word, a newer hash taking an older one's bucket. No
// pointers and no lock (atomic words; a lost race only forgets or
// mistakes one key, and a tag matches a stranger 1 time in 65 535).
type ghostTable struct {
	words []atomic.Uint32
	mask  uint64 // of bucket numbers
}

// ghostFor sizes the table for memoryLimit bytes of items: one bucket per
// 128 bytes of -m (about one per item a cache of small items holds), a
// power of two, at least 8192: 2 bytes per 128, 1/64 of -m.
func ghostFor(memoryLimit int64) ghostTable {
	n := uint64(8192)
	for int64(n)*128 < memoryLimit {
		n <<= 1
	}
	return ghostTable{words: make([]atomic.Uint32, n/2), mask: n - 1}
}

// slot is h's word, the shift of its half, and its tag (never 0).
func (g *ghostTable) slot(h uint64) (*atomic.Uint32, uint, uint32) {
	b := (h >> 16) & g.mask
	tag := uint32(h>>48) | 1
	return &g.words[b>>1], uint(b&1) * 16, tag
}

func (g *ghostTable) add(h uint64) {
	w, shift, tag := g.slot(h)
	for {
		old := w.Load()
		if w.CompareAndSwap(old, old&^(0xffff<<shift)|tag<<shift) {
			return
		}
	}
}

// take reports whether h is in the table, and forgets it.
func (g *ghostTable) take(h uint64) bool {
	w, shift, tag := g.slot(h)
	for {
		old := w.Load()
		if (old>>shift)&0xffff != tag {
			return false
		}
		if w.CompareAndSwap(old, old&^(0xffff<<shift)) {
			return true
		}
	}
}

// bytes is the table's memory.
func (g *ghostTable) bytes() int64 { return int64(len(g.words)) * 4 }

// SetTempTTL turns the temporary queue on for items stored from now on
// with a TTL of at most ttl seconds, or off for a negative ttl (`lru
// temp_ttl`); items already stored stay where they are. It does nothing
// with the flat LRU (-o no_lru_maintainer), as memcached refuses it then.
func (s *Store) SetTempTTL(ttl int64) {
	if !s.opts.FlatLRU {
		s.tempTTL.Store(max(ttl, -1))
	}
}

// TempTTL is the temporary queue's TTL bound, negative when it is off.
func (s *Store) TempTTL() int64 { return s.tempTTL.Load() }
