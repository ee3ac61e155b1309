package store

import (
	"testing"

	"github.com/gocached/gocached/slab"
)

// checkInvariants walks the whole store (which must be quiescent: no
// operation, crawl or page move in flight) and checks that the index, the
// LRU lists, the slab accounting and the counters agree with each other.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs < 20 {
			t.Errorf(format, args...)
		}
		errs++
	}

	// The index: every entry is a linked item of this shard, reachable from
	// its home slot, found by its own key; counts and load are right.
	indexed := map[slab.Loc]bool{}
	var items, bytes int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		ix := &sh.idx
		n := 0
		for slot, e := range ix.slots {
			if e == 0 {
				continue
			}
			n++
			l := slab.Loc(uint32(e))
			if indexed[l] {
				fail("loc %d indexed twice", l)
				continue
			}
			indexed[l] = true
			it := s.hdrAt(l)
			if !it.linked() {
				fail("indexed loc %d has slab state %d", l, it.state())
				continue
			}
			key := it.key()
			h := Hash(key)
			if h&s.shardMask != uint64(i) {
				fail("key %q in shard %d, belongs in %d", key, i, h&s.shardMask)
			}
			if e != present|tagOf(h)|uint64(l) {
				fail("key %q: slot %x does not encode its hash tag and loc", key, e)
			}
			for j := ix.home(h); j != uint64(slot); j = (j + 1) & ix.mask {
				if ix.slots[j] == 0 {
					fail("key %q at slot %d unreachable from home %d", key, slot, ix.home(h))
					break
				}
			}
			if got := ix.find(h, func(c slab.Loc) bool { return string(s.hdrAt(c).key()) == string(key) }); got != slot {
				fail("key %q at slot %d but find returns %d (duplicate key?)", key, slot, got)
			}
			items++
			bytes += int64(it.total())
		}
		if n != ix.count {
			fail("shard %d: %d entries, count says %d", i, n, ix.count)
		}
		if n*4 > len(ix.slots)*3 {
			fail("shard %d: %d entries in %d slots, above 3/4", i, n, len(ix.slots))
		}
		sh.mu.Unlock()
	}

	// The classes: the LRU is a well-formed list of exactly the linked items
	// of the class, all indexed; chunk accounting adds up.
	owner := map[uint32]int{}
	inLRU := 0
	var classItems, classBytes int64
	pages := 0
	for id := 1; id < len(s.classes); id++ {
		c := s.classes[id]
		c.mu.Lock()
		if _, moving := c.sc.Moving(); moving {
			fail("class %d: a page move is still in progress", id)
		}
		n := 0
		for q := range c.q {
			qn := 0
			prev := slab.Nil
			for l := c.q[q].head; l != slab.Nil; {
				it := s.hdrAt(l)
				if slab.Loc(it.prev()) != prev {
					fail("class %d queue %d: item %d has prev %d, want %d", id, q, l, it.prev(), prev)
				}
				if int(it.cls()) != id {
					fail("class %d: queued item %d says class %d", id, l, it.cls())
				}
				if it.state() != stateLinked+uint8(q) {
					fail("class %d queue %d: item %d in state %d", id, q, l, it.state())
				}
				if !indexed[l] {
					fail("class %d: queued item %d (%q) not in the index", id, l, it.key())
				}
				if ItemSize(it.nkey(), it.nbytes()) > c.sc.Size {
					fail("class %d: item of %d bytes in chunks of %d", id, ItemSize(it.nkey(), it.nbytes()), c.sc.Size)
				}
				qn++
				if qn > c.sc.TotalChunks() {
					fail("class %d queue %d: longer than the chunks the class has (a cycle?)", id, q)
					break
				}
				prev = l
				l = slab.Loc(it.next())
			}
			if c.q[q].tail != prev {
				fail("class %d queue %d: tail %d, the list ends at %d", id, q, c.q[q].tail, prev)
			}
			if c.q[q].n != qn {
				fail("class %d queue %d: %d items, its count says %d", id, q, qn, c.q[q].n)
			}
			n += qn
		}
		if int64(n) != c.st.items {
			fail("class %d: %d items in the LRU, counter says %d", id, n, c.st.items)
		}
		inLRU += n
		classItems += c.st.items
		classBytes += c.st.bytes
		if c.sc.UsedChunks() != n {
			fail("class %d: %d used chunks for %d items (a chunk leaked or in flight)", id, c.sc.UsedChunks(), n)
		}
		if c.sc.FreeChunks()+c.sc.UsedChunks() != c.sc.TotalChunks() {
			fail("class %d: free %d + used %d != total %d", id, c.sc.FreeChunks(), c.sc.UsedChunks(), c.sc.TotalChunks())
		}
		linked := 0
		for _, p := range c.sc.PageList() {
			if o, dup := owner[p]; dup {
				fail("page %d owned by classes %d and %d", p, o, id)
			}
			owner[p] = id
			for off := 0; off+c.sc.Size <= s.arena.PageSize(); off += c.sc.Size {
				if hdr(s.arena.Chunk(s.arena.LocOf(p, off), HeaderSize)).linked() {
					linked++
				}
			}
		}
		if linked != n {
			fail("class %d: %d chunks in linked state, %d items", id, linked, n)
		}
		pages += c.sc.Pages()
		c.mu.Unlock()
	}
	if int64(inLRU) != items {
		fail("%d items in LRUs, %d in the index", inLRU, items)
	}
	if classItems != items || classBytes != bytes {
		fail("class counters say %d items / %d bytes, the walk found %d / %d", classItems, classBytes, items, bytes)
	}
	if got := s.arena.AllocatedPages(); pages+s.arena.PoolPages() != got {
		fail("classes own %d pages + %d pooled, arena allocated %d", pages, s.arena.PoolPages(), got)
	}
	st := s.Stats()
	if st.CurrItems != items || st.Bytes != bytes {
		fail("stats curr_items %d bytes %d, the walk found %d / %d", st.CurrItems, st.Bytes, items, bytes)
	}
	// A class's first page may go past the limit (slab.Arena): one page
	// per class at most.
	if max := s.memLimit.Load() + int64(len(s.classes)-1)*int64(s.arena.PageSize()); st.TotalMalloced > max && s.arena.AllocatedPages() > 1 {
		fail("total_malloced %d above the limit %d plus a first page per class (%d)", st.TotalMalloced, s.opts.MemoryLimit, max)
	}
}
