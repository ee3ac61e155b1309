package store

import (
	"sync/atomic"

	"github.com/gocached/gocached/slab"
)

// Per-class command counters kept in each shard (no atomics: the shard lock
// is held whenever they change).
type slabCmdStats struct {
	getHits, cmdSet, deleteHits, incrHits, decrHits, casHits, casBadval, touchHits uint64
}

type shardStats struct {
	cmdGet, getHits, getMisses, getExpired, getFlushed uint64
	cmdTouch, touchHits, touchMisses                   uint64
	deleteHits, deleteMisses                           uint64
	incrHits, incrMisses, decrHits, decrMisses         uint64
	casHits, casMisses, casBadval                      uint64
	perClass                                           [slab.MaxClasses]slabCmdStats
}

type classStats struct {
	items, totalItems                             int64
	bytes                                         int64 // sum of item sizes
	evicted, evictedNonzero, evictedUnfetched     uint64
	evictedActive                                 uint64
	evictedTime                                   uint32
	reclaimed, expiredUnfetched, crawlerReclaimed uint64
	outOfMemory                                   uint64
	rescued                                       uint64 // second chances within the main queue
	promoted                                      uint64 // moves from the small queue to the main one
}

type globalStats struct {
	cmdFlush      atomic.Uint64
	storeTooLarge atomic.Uint64
	storeNoMemory atomic.Uint64
	slabsMoved    atomic.Uint64
	crawlerStarts atomic.Uint64
	itemsChecked  atomic.Uint64
	crawlerRun    atomic.Bool
	reassignRun   atomic.Bool
}

// Stats is a snapshot of the store's counters, named as memcached's.
type Stats struct {
	CmdGet, CmdSet, CmdFlush, CmdTouch                       uint64
	GetHits, GetMisses, GetExpired, GetFlushed               uint64
	DeleteMisses, DeleteHits, IncrMisses, IncrHits           uint64
	DecrMisses, DecrHits, CasMisses, CasHits, CasBadval      uint64
	TouchHits, TouchMisses, StoreTooLarge, StoreNoMemory     uint64
	Bytes, CurrItems, TotalItems                             int64
	Evictions, Reclaimed, ExpiredUnfetched, EvictedUnfetched uint64
	EvictedActive, CrawlerReclaimed, CrawlerItemsChecked     uint64
	SlabsMoved, CrawlerStarts, MovesWithinLRU                uint64
	CrawlerRunning, ReassignRunning                          bool
	LimitMaxbytes                                            int64
	TotalMalloced                                            int64
	PagePool                                                 int
	HashPower                                                int
	HashBytes                                                int64
	GhostBytes                                               int64 // S3-FIFO's ghost table (queues.go), fixed at start
	Classes                                                  []ClassStats
}

// ClassStats is one slab class's memory and item counters.
type ClassStats struct {
	ID                                              int
	ChunkSize, ChunksPerPage, TotalPages            int
	TotalChunks, UsedChunks, FreeChunks             int
	Items                                           int64
	SmallItems, MainItems, TempItems                int64 // in each queue (queues.go)
	MemRequested                                    int64
	Age                                             uint32
	Evicted, EvictedNonzero, EvictedUnfetched       uint64
	EvictedActive                                   uint64
	EvictedTime                                     uint32
	OutOfMemory, Reclaimed, ExpiredUnfetched        uint64
	CrawlerReclaimed, MovesWithinLRU                uint64
	MovesToMain                                     uint64
	GetHits, CmdSet, DeleteHits, IncrHits, DecrHits uint64
	CasHits, CasBadval, TouchHits                   uint64
}

// Stats collects a snapshot of every counter.
func (s *Store) Stats() Stats {
	var st Stats
	per := make([]slabCmdStats, len(s.classes))
	slots := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		x := &sh.st
		st.CmdGet += x.cmdGet
		st.GetHits += x.getHits
		st.GetMisses += x.getMisses
		st.GetExpired += x.getExpired
		st.GetFlushed += x.getFlushed
		st.CmdTouch += x.cmdTouch
		st.TouchHits += x.touchHits
		st.TouchMisses += x.touchMisses
		st.DeleteHits += x.deleteHits
		st.DeleteMisses += x.deleteMisses
		st.IncrHits += x.incrHits
		st.IncrMisses += x.incrMisses
		st.DecrHits += x.decrHits
		st.DecrMisses += x.decrMisses
		st.CasHits += x.casHits
		st.CasMisses += x.casMisses
		st.CasBadval += x.casBadval
		for c := 1; c < len(s.classes); c++ {
			p, q := &per[c], &x.perClass[c]
			p.getHits += q.getHits
			p.cmdSet += q.cmdSet
			p.deleteHits += q.deleteHits
			p.incrHits += q.incrHits
			p.decrHits += q.decrHits
			p.casHits += q.casHits
			p.casBadval += q.casBadval
			p.touchHits += q.touchHits
		}
		slots += len(sh.idx.slots)
		sh.mu.Unlock()
	}
	now := s.clock.Now()
	for id := 1; id < len(s.classes); id++ {
		c := s.classes[id]
		c.mu.Lock()
		cs := ClassStats{
			ID: id, ChunkSize: c.sc.Size, ChunksPerPage: c.sc.PerPage, TotalPages: c.sc.Pages(),
			TotalChunks: c.sc.TotalChunks(), UsedChunks: c.sc.UsedChunks(), FreeChunks: c.sc.FreeChunks(),
			Items: c.st.items, MemRequested: c.st.bytes,
			Evicted: c.st.evicted, EvictedNonzero: c.st.evictedNonzero, EvictedUnfetched: c.st.evictedUnfetched,
			EvictedActive: c.st.evictedActive, EvictedTime: c.st.evictedTime,
			OutOfMemory: c.st.outOfMemory, Reclaimed: c.st.reclaimed, ExpiredUnfetched: c.st.expiredUnfetched,
			CrawlerReclaimed: c.st.crawlerReclaimed, MovesWithinLRU: c.st.rescued, MovesToMain: c.st.promoted,
			SmallItems: int64(c.q[qSmall].n), MainItems: int64(c.q[qMain].n), TempItems: int64(c.q[qTemp].n),
		}
		cs.Age = s.tailAge(c, now)
		st.TotalItems += c.st.totalItems
		c.mu.Unlock()
		p := per[id]
		cs.GetHits, cs.CmdSet, cs.DeleteHits, cs.IncrHits = p.getHits, p.cmdSet, p.deleteHits, p.incrHits
		cs.DecrHits, cs.CasHits, cs.CasBadval, cs.TouchHits = p.decrHits, p.casHits, p.casBadval, p.touchHits
		st.CmdSet += p.cmdSet
		st.Bytes += cs.MemRequested
		st.CurrItems += cs.Items
		st.Evictions += cs.Evicted
		st.Reclaimed += cs.Reclaimed
		st.ExpiredUnfetched += cs.ExpiredUnfetched
		st.EvictedUnfetched += cs.EvictedUnfetched
		st.EvictedActive += cs.EvictedActive
		st.CrawlerReclaimed += cs.CrawlerReclaimed
		st.MovesWithinLRU += cs.MovesWithinLRU
		st.Classes = append(st.Classes, cs)
	}
	st.CmdFlush = s.global.cmdFlush.Load()
	st.StoreTooLarge = s.global.storeTooLarge.Load()
	st.StoreNoMemory = s.global.storeNoMemory.Load()
	st.SlabsMoved = s.global.slabsMoved.Load()
	st.CrawlerStarts = s.global.crawlerStarts.Load()
	st.CrawlerItemsChecked = s.global.itemsChecked.Load()
	st.CrawlerRunning = s.global.crawlerRun.Load()
	st.ReassignRunning = s.global.reassignRun.Load()
	st.LimitMaxbytes = s.memLimit.Load()
	st.TotalMalloced = int64(s.arena.AllocatedPages()) * int64(s.arena.PageSize())
	st.PagePool = s.arena.PoolPages()
	st.HashBytes = int64(slots) * 8
	st.GhostBytes = s.ghost.bytes()
	// hash_power_level as memcached counts it: its chained table of 2^n
	// buckets grows past 1.5 items a bucket, this open-addressing one past
	// 0.75 a slot, so 2^n slots hold what memcached's 2^(n-1) buckets do.
	// Shards grow one by one, so the sum of their slots is rounded down.
	// Never below the initial -o hashpower, as memcached's.
	pow := 0
	for 1<<(pow+1) <= slots {
		pow++
	}
	st.HashPower = max(s.opts.HashPower, pow-1)
	return st
}

// ResetStats zeroes the command and eviction counters (stats reset).
func (s *Store) ResetStats() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.st = shardStats{}
		sh.mu.Unlock()
	}
	for id := 1; id < len(s.classes); id++ {
		c := s.classes[id]
		c.mu.Lock()
		items, bytes := c.st.items, c.st.bytes
		c.st = classStats{items: items, bytes: bytes}
		c.mu.Unlock()
	}
	s.global.cmdFlush.Store(0)
	s.global.storeTooLarge.Store(0)
	s.global.storeNoMemory.Store(0)
	s.global.slabsMoved.Store(0)
	s.global.crawlerStarts.Store(0)
	s.global.itemsChecked.Store(0)
}

// Sizes lists the chunk size of every class, smallest first.
func (s *Store) Sizes() []int {
	out := make([]int, 0, len(s.classes)-1)
	for _, c := range s.classes[1:] {
		out = append(out, c.sc.Size)
	}
	return out
}
