package client

import (
	"errors"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// NearCacheConfig turns on the in-process near cache: a ristretto cache in
// front of the ring for hot keys. It is lossy by design (ristretto may
// decline to keep an entry) and bounded in staleness by TTL: a value
// written by another client can be served from the near cache for up to
// TTL. This client's own writes drop the key from it.
type NearCacheConfig struct {
	// MaxBytes bounds the keys, values and per-entry overhead kept
	// (default 32 MiB).
	MaxBytes int64
	// TTL is how long an entry is served without asking the server
	// (default 1s).
	TTL time.Duration
	// MaxItemSize: larger values are not kept (default 64 KiB).
	MaxItemSize int
	// NumCounters sizes ristretto's frequency sketch: about ten per
	// entry expected (default MaxBytes/100, at least 1000).
	NumCounters int64
}

// NearCacheStats counts near-cache lookups.
type NearCacheStats struct {
	Hits, Misses uint64
	// Dropped counts values not kept: too large, written meanwhile, or
	// declined by ristretto.
	Dropped uint64
}

// nearEntryOverhead approximates ristretto's and our per-entry memory
// beyond the key and value bytes.
const nearEntryOverhead = 96

// nearStripes is the number of write generations: a value read while
// its key's stripe saw a write is not cached.
const nearStripes = 1024

type nearEntry struct {
	value []byte
	flags uint32
}

type nearCache struct {
	cache   *ristretto.Cache[string, nearEntry]
	ttl     time.Duration
	maxItem int
	seed    maphash.Seed
	gens    [nearStripes]atomic.Uint64

	hits, misses, dropped atomic.Uint64
}

func newNearCache(cfg NearCacheConfig) (*nearCache, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 32 << 20
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Second
	}
	if cfg.MaxItemSize <= 0 {
		cfg.MaxItemSize = 64 << 10
	}
	if cfg.NumCounters <= 0 {
		cfg.NumCounters = max(cfg.MaxBytes/100, 1000)
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, nearEntry]{
		NumCounters:        cfg.NumCounters,
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true, // our cost already counts the overhead
	})
	if err != nil {
		return nil, errors.Join(errors.New("memcache: near cache"), err)
	}
	return &nearCache{cache: rc, ttl: cfg.TTL, maxItem: cfg.MaxItemSize, seed: maphash.MakeSeed()}, nil
}

func (nc *nearCache) get(key string) (nearEntry, bool) {
	e, ok := nc.cache.Get(key)
	if ok {
		nc.hits.Add(1)
	} else {
		nc.misses.Add(1)
	}
	return e, ok
}

func (nc *nearCache) stripe(key string) *atomic.Uint64 {
	return &nc.gens[maphash.String(nc.seed, key)%nearStripes]
}

// generation is read before asking the server for key; set keeps the
// answer only if no write to a key of the same stripe happened since.
func (nc *nearCache) generation(key string) uint64 { return nc.stripe(key).Load() }

// set keeps a copy of value for TTL unless a write of key raced with the
// read that produced it.
func (nc *nearCache) set(key string, value []byte, flags uint32, gen uint64) {
	if len(value) > nc.maxItem || nc.stripe(key).Load() != gen {
		nc.dropped.Add(1)
		return
	}
	e := nearEntry{value: append([]byte(nil), value...), flags: flags}
	if !nc.cache.SetWithTTL(key, e, int64(len(key)+len(value)+nearEntryOverhead), nc.ttl) {
		nc.dropped.Add(1)
	}
}

// del drops key before and after one of this client's writes.
func (nc *nearCache) del(key string) {
	nc.stripe(key).Add(1)
	nc.cache.Del(key)
}

func (nc *nearCache) clear() {
	for i := range nc.gens {
		nc.gens[i].Add(1)
	}
	nc.cache.Clear()
}

func (nc *nearCache) close() { nc.cache.Close() }

// NearCacheStats reports the near cache's counters (zero when it is off).
func (c *Client) NearCacheStats() NearCacheStats {
	if c.near == nil {
		return NearCacheStats{}
	}
	return NearCacheStats{Hits: c.near.hits.Load(), Misses: c.near.misses.Load(), Dropped: c.near.dropped.Load()}
}
