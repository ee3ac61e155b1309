// Package slab owns item memory: fixed-size pages allocated lazily up to a
// byte limit, carved into chunks of memcached-style size classes, with a
// per-class free list and page moves between classes.
//
// Pages are plain byte arrays (mmap'd outside the Go heap in normal builds)
// and nothing inside them is a Go pointer, so the garbage collector never
// scans item memory. A chunk is named by a Loc: its byte offset in the arena
// divided by 8, which fits a uint32 for arenas up to 32 GiB.
//
// Nothing in this package locks: the store serialises access to each Class
// with its own per-class lock and to the Arena's page pool with the arena
// lock. This package imports nothing of the project.
package slab
