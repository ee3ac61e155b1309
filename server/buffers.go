package server

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

// Read and reply buffers come from the server's bufferPool: a connection
// holds one only while it has bytes to parse or replies to send, so idle
// connections cost neither.
const (
	bufSize = 16 << 10 // memcached's READ_BUFFER_SIZE
	// replyBound: pending replies past this are written before the next
	// command is parsed, so a connection holds at most this plus one reply.
	replyBound = 64 << 10
	// freePerStripe bounds the free buffers kept for reuse: at most
	// counterStripes × freePerStripe × bufSize (4 MB) stays allocated once
	// the connections that used them are idle.
	freePerStripe = 16
	// Buffers for one large request or reply (a long multi-get line, a big
	// value) come in power-of-two classes from 32 KB to 4 MB, so that
	// connections that keep getting or setting big values reuse them
	// rather than allocate per request; at most bigFreeMax bytes of them
	// are kept free. Larger ones are allocated and dropped.
	bigClasses  = 8
	bigFreeMax  = 4 << 20
	bigGrowFrom = bufSize << bigClasses // 4 MB: read buffers grow by half from here on
)

// bufferPool hands out the 16 KB buffers every connection reads into and
// writes its replies from, and accounts for all connection buffer memory,
// including buffers grown past 16 KB for one large request, as memcached's
// read_buf_* and response_obj_* stats do. With a limit
// (-o read_buf_mem_limit) a buffer that would take the total past it is
// refused, and the caller answers as memcached does when its buffer cache
// is exhausted.
//
// Free buffers are kept in stripes chosen by connection id, each with its
// own lock, so connections on different cores rarely share one.
type bufferPool struct {
	limit int64 // bytes; 0: none

	readOOM, replyOOM atomic.Uint64

	stripes [counterStripes]bufStripe

	bigMu    sync.Mutex
	bigFree  [bigClasses][][]byte
	bigBytes atomic.Int64 // bytes in bigFree
}

// bigClass is the class of a buffer of at least n bytes; -1 past them.
func bigClass(n int) int {
	for i := 0; i < bigClasses; i++ {
		if n <= bufSize<<(i+1) {
			return i
		}
	}
	return -1
}

type bufStripe struct {
	mu   sync.Mutex
	free []*[bufSize]byte
	// Held by connections of this stripe, in bytes and buffers. Updated
	// by conn.account; the sums are the stats.
	readBytes, readCount   atomic.Int64
	replyBytes, replyCount atomic.Int64
	nfree                  atomic.Int64
	_                      [56]byte // to 128 bytes: two cache lines of its own
}

func newBufferPool(limitBytes int64) *bufferPool { return &bufferPool{limit: limitBytes} }

// room reports whether n more bytes of buffers stay within the limit. The
// check and the allocation are not one step: connections allocating at the
// same instant can pass the limit by a buffer each.
func (p *bufferPool) room(n int64) bool {
	return p.limit <= 0 || p.inUse()+n <= p.limit
}

// inUse is the bytes of every buffer: held by connections and free.
func (p *bufferPool) inUse() int64 {
	var t int64
	for i := range p.stripes {
		s := &p.stripes[i]
		t += s.readBytes.Load() + s.replyBytes.Load() + s.nfree.Load()*bufSize
	}
	return t + p.bigBytes.Load()
}

// get takes a 16 KB buffer for a connection of this id: a free one when
// there is one (its own stripe first, then the others when the limit
// leaves no room for a new one), else a new one; nil when the limit
// refuses.
func (p *bufferPool) get(id int64) []byte {
	if b := p.stripes[id&(counterStripes-1)].pop(); b != nil {
		return b[:]
	}
	if p.room(bufSize) {
		return new([bufSize]byte)[:]
	}
	for i := range p.stripes {
		if b := p.stripes[i].pop(); b != nil {
			return b[:]
		}
	}
	return nil
}

// put gives a buffer back: a 16 KB one is kept for reuse while its stripe
// has room, a big one while the big free lists have room; any other is
// dropped.
func (p *bufferPool) put(id int64, b []byte) {
	switch {
	case cap(b) == bufSize:
		if p.stripes[id&(counterStripes-1)].push((*[bufSize]byte)(b[:bufSize])) {
			return
		}
	case cap(b) > bufSize:
		if i := bigClass(cap(b)); i >= 0 && cap(b) == bufSize<<(i+1) {
			p.bigMu.Lock()
			keep := p.bigBytes.Load()+int64(cap(b)) <= bigFreeMax
			if keep {
				p.bigFree[i] = append(p.bigFree[i], b[:cap(b)])
				p.bigBytes.Add(int64(cap(b)))
			}
			p.bigMu.Unlock()
			if keep {
				return
			}
		}
		noteBigFree(cap(b))
	}
}

// getBig is a buffer of at least n (> bufSize) bytes: a free one of its
// class, else a new one within the limit; nil when the limit refuses.
func (p *bufferPool) getBig(n int) []byte {
	i := bigClass(n)
	if i >= 0 {
		p.bigMu.Lock()
		if k := len(p.bigFree[i]); k > 0 {
			b := p.bigFree[i][k-1]
			p.bigFree[i][k-1] = nil
			p.bigFree[i] = p.bigFree[i][:k-1]
			p.bigBytes.Add(-int64(cap(b)))
			p.bigMu.Unlock()
			return b
		}
		p.bigMu.Unlock()
		n = bufSize << (i + 1)
	}
	if !p.room(int64(n)) {
		return nil
	}
	return make([]byte, n)
}

// grow returns a buffer of at least size bytes holding b's bytes
// [from:to] at its start, and gives b back; nil (b kept) when the limit
// refuses.
func (p *bufferPool) grow(id int64, b []byte, from, to, size int) []byte {
	nb := p.getBig(size)
	if nb == nil {
		return nil
	}
	copy(nb, b[from:to])
	p.put(id, b)
	return nb
}

// outRoom makes room for n more bytes of replies. Past the reply buffer's
// capacity the replies move to a pooled big buffer rather than grow by
// append, so that a big value costs a copy and no allocation per reply.
// When read_buf_mem_limit refuses, the connection is marked to close, as
// memcached closes one it has no response memory for (the reply is still
// built, and then dropped).
func (c *conn) outRoom(n int) {
	if cap(c.out)-len(c.out) >= n || c.udp != nil {
		return
	}
	nb := c.s.bufs.getBig(len(c.out) + n)
	if nb == nil {
		c.s.bufs.replyOOM.Add(1)
		c.outOOM = true
		return
	}
	nb = append(nb[:0], c.out...)
	c.s.bufs.put(c.id, c.out)
	c.out = nb
}

func (s *bufStripe) pop() *[bufSize]byte {
	s.mu.Lock()
	n := len(s.free)
	if n == 0 {
		s.mu.Unlock()
		return nil
	}
	b := s.free[n-1]
	s.free[n-1] = nil
	s.free = s.free[:n-1]
	s.nfree.Add(-1)
	s.mu.Unlock()
	return b
}

func (s *bufStripe) push(b *[bufSize]byte) bool {
	s.mu.Lock()
	ok := len(s.free) < freePerStripe
	if ok {
		s.free = append(s.free, b)
		s.nfree.Add(1)
	}
	s.mu.Unlock()
	return ok
}

// bufferStats are memcached's connection buffer figures.
type bufferStats struct {
	readCount, readBytes, readFree, readOOM int64
	replyCount, replyBytes, replyOOM        int64
}

func (p *bufferPool) stats() bufferStats {
	var st bufferStats
	for i := range p.stripes {
		s := &p.stripes[i]
		st.readCount += s.readCount.Load()
		st.readBytes += s.readBytes.Load()
		st.readFree += s.nfree.Load()
		st.replyCount += s.replyCount.Load()
		st.replyBytes += s.replyBytes.Load()
	}
	// As memcached's buffer cache, read_buf_count and read_buf_bytes count
	// free buffers too.
	st.readCount += st.readFree
	st.readFree *= bufSize
	st.readBytes += st.readFree
	// Free big buffers are free read buffer memory too.
	big := p.bigBytes.Load()
	st.readFree += big
	st.readBytes += big
	st.readOOM = int64(p.readOOM.Load())
	st.replyOOM = int64(p.replyOOM.Load())
	return st
}

// account brings the pool's figures for this connection up to date with
// the buffers it holds now (a reply buffer also grows by appending). It is
// called wherever a buffer is taken, grown or given back.
func (c *conn) account() {
	r, w := int64(cap(c.rbuf)), int64(cap(c.out))
	if r == c.acctR && w == c.acctW {
		return
	}
	s := &c.s.bufs.stripes[c.id&(counterStripes-1)]
	if r != c.acctR {
		s.readBytes.Add(r - c.acctR)
		s.readCount.Add(b2i(r > 0) - b2i(c.acctR > 0))
		c.acctR = r
	}
	if w != c.acctW {
		s.replyBytes.Add(w - c.acctW)
		s.replyCount.Add(b2i(w > 0) - b2i(c.acctW > 0))
		c.acctW = w
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Buffers grown for one large request (a long multi-get line, a big value),
// the stacks of parked connections' goroutines and closed connections are
// garbage once done with. The Go runtime gives such memory back to the OS
// only after a collection, which an idle daemon may not make for a long
// time, and then slowly; so what is freed is counted, and a timer returns
// it (debug.FreeOSMemory): bigFreeDelay after bigFreeReturn bytes of it,
// or bigFreeLater after less, at most one pending at a time. Memory goes
// back to its baseline when the clients that grew it leave.
const (
	bigFreeReturn = 32 << 20
	bigFreeDelay  = time.Second
	bigFreeLater  = 2 * time.Second
	bigFreeMin    = 1 << 20 // less than this is left to the runtime
)

var (
	bigFreed   atomic.Int64
	bigPending atomic.Bool
)

func noteBigFree(n int) {
	if t := bigFreed.Add(int64(n)); t >= bigFreeReturn {
		scheduleMemoryReturn(bigFreeDelay)
	} else if t >= bigFreeMin {
		scheduleMemoryReturn(bigFreeLater)
	}
}

func scheduleMemoryReturn(after time.Duration) {
	if !bigPending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(after, func() {
		bigFreed.Store(0)
		debug.FreeOSMemory()
		bigPending.Store(false)
		noteBigFree(0) // what was freed while this one ran
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
