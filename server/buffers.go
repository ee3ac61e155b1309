package server

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

// Read and write buffers are pooled: a connection holds one only while it
// has bytes to parse or replies to send, so idle connections cost neither.
const (
	bufSize = 16 << 10 // memcached's READ_BUFFER_SIZE
	// replyBound: pending replies past this are written before the next
	// command is parsed, so a connection holds at most this plus one reply.
	replyBound = 64 << 10
)

// The pool holds array pointers: putting a slice would allocate its header.
var bufPool = sync.Pool{New: func() any { return new([bufSize]byte) }}

func getBuf() []byte { return bufPool.Get().(*[bufSize]byte)[:] }

// putBuf gives a buffer back. Only buffers of the pooled size are kept, so
// every read sees the same 16 KB window memcached's read buffer has.
func putBuf(b []byte) {
	if cap(b) != bufSize {
		if cap(b) > bufSize {
			noteBigFree(cap(b))
		}
		return
	}
	bufPool.Put((*[bufSize]byte)(b[:bufSize]))
}

// Buffers grown for one large request (a long multi-get line, a big value)
// are garbage once it is done. The Go runtime gives such memory back to
// the OS only slowly, so after bigFreeReturn bytes of them a timer returns
// it at once (debug.FreeOSMemory), at most once per bigFreeDelay: memory
// goes back to its baseline when the clients that grew it leave.
const (
	bigFreeReturn = 32 << 20
	bigFreeDelay  = time.Second
)

var (
	bigFreed   atomic.Int64
	bigPending atomic.Bool
)

func noteBigFree(n int) {
	if bigFreed.Add(int64(n)) >= bigFreeReturn {
		scheduleMemoryReturn()
	}
}

func scheduleMemoryReturn() {
	if !bigPending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(bigFreeDelay, func() {
		bigFreed.Store(0)
		debug.FreeOSMemory()
		bigPending.Store(false)
		if bigFreed.Load() >= bigFreeReturn {
			scheduleMemoryReturn() // freed while this one ran
		}
	})
}

// scratch is what parsing one batch of requests needs besides the
// connection's own state: tokens, a decoded key, meta flags and the store
// requests being built.
type scratch struct {
	tok      protocol.Tokens
	keyBuf   [protocol.KeyMaxLength]byte
	mf       protocol.MetaFlags
	mopt     store.MetaGetOptions
	req      store.Request
	storage  protocol.StorageCommand
	keyCmd   protocol.KeyCommand
	arith    store.ArithRequest
	arithOut store.ArithResult
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// takeScratch gives the connection its parse scratch for one batch.
func (c *conn) takeScratch() {
	if c.scratch == nil {
		c.scratch = scratchPool.Get().(*scratch)
	}
}

// dropScratch returns it, cleared of references into buffers and items.
func (c *conn) dropScratch() {
	if c.scratch == nil {
		return
	}
	// Nothing pooled may point into the read buffer: a grown one would
	// stay alive through the pool.
	c.scratch.tok = protocol.Tokens{}
	c.scratch.storage = protocol.StorageCommand{}
	c.scratch.keyCmd = protocol.KeyCommand{}
	c.scratch.req = store.Request{}
	c.scratch.arith = store.ArithRequest{}
	c.scratch.mf.Key = nil
	scratchPool.Put(c.scratch)
	c.scratch = nil
}
