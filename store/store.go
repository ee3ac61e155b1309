package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/gocached/gocached/slab"
)

// DefaultGrowthFactor is the slab growth factor when none is given:
// memcached's. A finer factor (-f 1.08) wastes less of each chunk, but every
// class in use needs a page of its own, so a small -m with item sizes spread
// over many classes would keep moving pages between classes; 1.25 stays
// safe for every -m.
const DefaultGrowthFactor = 1.25

// DefaultChunkMax is memcached's default slab_chunk_max: half its 1 MB slab
// page, whatever -I. memcached keeps an item larger than slab_chunk_max in
// chunks, and its incr/decr refuse chunked items as non-numeric; Arith does
// the same (items are never chunked here).
const DefaultChunkMax = 512 << 10

// Options configure a Store. Zero values take memcached's defaults, but for
// the growth factor.
type Options struct {
	MemoryLimit  int64   // bytes of item memory (-m)
	MaxItemSize  int     // largest item (-I); also sets the page size
	ChunkMax     int     // memcached's slab_chunk_max, bytes (0: DefaultChunkMax); see Arith
	GrowthFactor float64 // -f
	MinChunk     int     // -n: smallest key+value space
	NoEvictions  bool    // -M
	NoCAS        bool    // -C
	HashPower    int     // initial index size is 2^HashPower slots
	SlabAutomove int     // 0 off, 1 background balancing, 2 on every eviction
	// AutomoveWindow (slab_automove_window, default 10) is how many
	// once-a-second samples the background balancing takes before its
	// first move, as memcached's slab_automove waits for its window to
	// fill once.
	AutomoveWindow int
	Shards         int // power of two; default 128
	Now            func() time.Time
	// CrawlInterval is how often the reclaimer sweeps for expired items;
	// 0 means 10s, negative disables the background goroutines.
	CrawlInterval time.Duration
	// MemoryFile (memcached's -e) maps item memory from this file, and
	// resumes the cache a graceful stop (CloseRestartable) left in it.
	MemoryFile string
	// RestartProgress, when set, is told how many of the memory file's
	// pages the rebuild has walked, from 0 to all.
	RestartProgress func(done, total int)
	// NoAutoCrawl is memcached's -o no_lru_crawler: no sweep on the
	// interval nor right after flush_all, so dead items stay until read
	// (get_flushed, get_expired) or an explicit Crawl (lru_crawler crawl).
	NoAutoCrawl bool
	// FlatLRU is memcached's LRU without its segments (-o no_modern, or no
	// LRU maintainer): one queue per class in store order, a hit moving
	// the item to the head at most once per bumpInterval, an item read
	// twice since it came kept once at the tail; no S3-FIFO (queues.go).
	FlatLRU bool
	// TempLRU is memcached's temp_lru (-o temporary_ttl=N): items stored
	// with a TTL of at most TempTTL seconds go to a queue of their own,
	// never evicted (queues.go). Not with FlatLRU, as memcached has it only
	// with its LRU maintainer.
	TempLRU bool
	TempTTL uint32
}

// Errors returned by storage operations that are not a stored/not-stored
// outcome.
var (
	ErrTooLarge   = errors.New("object too large for cache")
	ErrNoMemory   = errors.New("out of memory storing object")
	ErrNonNumeric = errors.New("cannot increment or decrement non-numeric value")
)

// Store is the cache.
type Store struct {
	opts    Options
	arena   *slab.Arena
	classes []*class // index = class id; 0 unused
	shards  []shard
	// autoCrawlOff: no background sweeps (Options.NoAutoCrawl, or
	// SetAutoCrawl(false): lru_crawler disable).
	autoCrawlOff atomic.Bool
	shardMask    uint64
	clock        *clock
	ghost        ghostTable // S3-FIFO's ghost queue (queues.go)

	casSeq        atomic.Uint64
	automoveLevel atomic.Int32 // slab_automove level, changeable at run time

	moveMu  sync.Mutex
	moveBuf []victim

	flushMu    sync.Mutex
	oldestLive atomic.Uint32
	oldestCAS  atomic.Uint64
	clientCAS  atomic.Bool // an item has had a client's CAS (meta E): FlushAll sweeps

	global globalStats

	mcSizes []int // memcached's class table, for meta `me` replies

	restart RestartReport

	memLimit  atomic.Int64           // bytes; SetMemoryLimit changes it
	events    atomic.Pointer[Events] // SetEvents
	tempTTL   atomic.Int64           // SetTempTTL: seconds, negative for no temporary queue
	resized   chan struct{}          // SetMemoryLimit to the maintainer: shrink now
	shrinking atomic.Bool            // a shrink is under way (memlimit.go)

	stop     chan struct{}
	wg       sync.WaitGroup
	kick     chan struct{}
	closeOne sync.Once
}

// New builds a store and starts its clock, reclaimer and page mover.
func New(o Options) (*Store, error) {
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 64 << 20
	}
	if o.MaxItemSize <= 0 {
		o.MaxItemSize = 1 << 20
	}
	if o.ChunkMax <= 0 {
		o.ChunkMax = DefaultChunkMax
	}
	if o.GrowthFactor <= 1 {
		o.GrowthFactor = DefaultGrowthFactor
	}
	if o.MinChunk <= 0 {
		o.MinChunk = 48
	}
	if o.Shards <= 0 {
		o.Shards = 128
	}
	if o.Shards&(o.Shards-1) != 0 {
		return nil, errors.New("store: shard count must be a power of two")
	}
	if o.HashPower <= 0 {
		o.HashPower = 16
	}
	pageSize := 1 << 20
	for pageSize < o.MaxItemSize {
		pageSize <<= 1
	}
	var arena *slab.Arena
	var err error
	if o.MemoryFile != "" {
		arena, err = slab.NewFileArena(o.MemoryFile, o.MemoryLimit, pageSize)
	} else {
		arena, err = slab.NewArena(o.MemoryLimit, pageSize)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:      o,
		arena:     arena,
		shards:    make([]shard, o.Shards),
		shardMask: uint64(o.Shards - 1),
		clock:     newClock(o.Now),
		ghost:     ghostFor(o.MemoryLimit),
		stop:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
		resized:   make(chan struct{}, 1),
	}
	s.memLimit.Store(o.MemoryLimit)
	s.tempTTL.Store(-1)
	if o.TempLRU {
		s.SetTempTTL(int64(o.TempTTL))
	}
	s.mcSizes = memcachedSizes(o.MinChunk, o.GrowthFactor)
	sizes := slab.Sizes(HeaderSize+o.MinChunk, o.GrowthFactor, pageSize)
	s.classes = make([]*class, len(sizes)+1)
	arena.SetClasses(len(sizes))
	for i, sz := range sizes {
		c := &class{sc: slab.NewClass(uint8(i+1), sz, arena)}
		for q := range c.q {
			c.q[q] = queue{head: slab.Nil, tail: slab.Nil}
		}
		s.classes[i+1] = c
	}
	// memcached 1.6.45 hands out 2 as the first CAS of a fresh daemon (a
	// CAS id is taken once at start); the clients of a drop-in see the
	// same numbers.
	s.casSeq.Store(1)
	s.automoveLevel.Store(int32(o.SlabAutomove))
	s.autoCrawlOff.Store(o.NoAutoCrawl)
	per := (1 << o.HashPower) / o.Shards
	for i := range s.shards {
		s.shards[i].idx = newIndex(per)
	}
	if o.MemoryFile != "" {
		if err := s.resume(); err != nil {
			arena.Close()
			return nil, err
		}
	}
	if o.CrawlInterval >= 0 {
		if o.CrawlInterval == 0 {
			s.opts.CrawlInterval = 10 * time.Second
		}
		s.wg.Add(2)
		go s.runClock()
		go s.runMaintainer()
	}
	return s, nil
}

// Close stops the background goroutines and releases item memory and the
// index.
func (s *Store) Close() {
	s.closeOne.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.unmap()
	})
}

// unmap releases the index and the item memory.
func (s *Store) unmap() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.idx.free()
		sh.mu.Unlock()
	}
	s.arena.Close()
}

func (s *Store) runClock() {
	defer s.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.clock.tick()
		}
	}
}

// Tick re-reads the time source at once (tests with a fake clock use it).
func (s *Store) Tick() { s.clock.tick() }

// MoveClock is memcached-debug's debugtime: it moves the store's time by
// seconds (absolute exptimes still count from the real start), and
// pauses or resumes it.
func (s *Store) MoveClock(seconds int64, pause, resume bool) {
	c := s.clock
	switch {
	case pause:
		c.paused.Store(true)
	case resume:
		c.paused.Store(false)
	default:
		c.moved.Add(seconds)
		c.rel.Add(uint32(seconds))
	}
	c.tick()
}

// Now is the store's current rel time.
func (s *Store) Now() uint32 { return s.clock.Now() }

// RelTime converts a client exptime to rel time.
func (s *Store) RelTime(exptime int64) uint32 { return s.clock.RelTime(exptime) }

// Hash is the key hash used for sharding and the index.
func Hash(key []byte) uint64 { return xxhash.Sum64(key) }

func (s *Store) shardOf(h uint64) *shard { return &s.shards[h&s.shardMask] }

// classFor returns the smallest class that fits total bytes, or nil.
func (s *Store) classFor(total int) *class {
	lo, hi := 1, len(s.classes)-1
	if total > s.classes[hi].sc.Size {
		return nil
	}
	for lo < hi {
		m := (lo + hi) / 2
		if s.classes[m].sc.Size >= total {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return s.classes[lo]
}

// hdrAt returns the header view of the item at l (whole chunk up to its
// used length is available via the returned slice's total()).
func (s *Store) hdrAt(l slab.Loc) hdr {
	h := hdr(s.arena.Chunk(l, HeaderSize))
	return hdr(s.arena.Chunk(l, h.total()))
}

func (s *Store) hashAt(l slab.Loc) uint64 {
	return xxhash.Sum64(s.hdrAt(l).key())
}

func (s *Store) nextCAS() uint64 {
	if s.opts.NoCAS {
		return 0
	}
	return s.casSeq.Add(1)
}

// ItemSizeOK reports whether an item would be accepted by the size limit,
// computed as memcached does (so that the same values are refused): its
// memcachedSize must fit -I.
func (s *Store) ItemSizeOK(nkey int, flags uint32, nbytes int) bool {
	return s.memcachedSize(nkey, flags, nbytes) <= s.opts.MaxItemSize
}

// memcachedSize is memcached's ITEM_ntotal for an item: its 48-byte
// header, the 8-byte CAS unless -C, key plus NUL, 4 bytes of non-zero
// flags, and the value plus CRLF.
func (s *Store) memcachedSize(nkey int, flags uint32, nbytes int) int {
	total := 48 + nkey + 1 + nbytes + 2
	if !s.opts.NoCAS {
		total += 8
	}
	if flags != 0 {
		total += 4
	}
	return total
}

// SetAutoCrawl turns the background sweeps for dead items on or off at run
// time (memcached's lru_crawler enable and disable).
func (s *Store) SetAutoCrawl(on bool) { s.autoCrawlOff.Store(!on) }
