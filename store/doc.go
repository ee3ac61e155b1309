// Package store owns cache semantics: a sharded, pointer-free hash index over
// items kept in slab memory, memcached's storage commands (set, add,
// replace, append, prepend, cas, incr/decr, delete, touch, get-and-touch,
// flush_all), expiry, per-class LRU eviction, a background reclaimer and the
// page mover, and the counters that `stats` reports.
//
// Locking: each Shard's lock guards its index and the mutable fields of its
// items; each class's lock guards its LRU list, free list and pages. A shard
// lock may be held while taking a class lock, never the reverse (the
// eviction and reclaim paths drop the class lock before locking a shard and
// re-check what they found). Item memory is never touched outside one of
// these locks, except the atomically accessed time and CAS fields.
//
// The store makes every cache decision (including meta's win/stale/recache
// rules and what arithmetic creates) and returns results: it must never
// write reply bytes or know of sockets and wire formats.
package store
