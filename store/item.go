package store

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Item header layout, little-endian, at the start of every chunk:
//
//	0  prev    uint32  LRU neighbour toward the head (slab.Nil at the head)
//	4  next    uint32  LRU neighbour toward the tail; free-list link when free
//	8  exptime uint32  store-clock second it expires, 0 = never (atomic)
//	12 atime   uint32  store-clock second of the last store or bump (atomic)
//	16 cas     uint64  CAS unique (atomic)
//	24 flags   uint32  client flags
//	28 nbytes  uint32  value length
//	32 nkey    uint8   key length
//	33 state   uint8   slab state (guarded by the class lock)
//	34 cls     uint8   class id
//	35 iflags  uint8   item flags (guarded by the shard lock)
//	36 key, then value
const (
	offPrev   = 0
	offNext   = 4
	offExp    = 8
	offAtime  = 12
	offCAS    = 16
	offFlags  = 24
	offNbytes = 28
	offNkey   = 32
	offState  = 33
	offCls    = 34
	offIflags = 35

	// HeaderSize is the per-item overhead inside a chunk.
	HeaderSize = 36
)

// Slab states.
const (
	stateFree   = 0
	stateBusy   = 1 // allocated, being written, not yet linked
	stateLinked = 2 // in the index and the small queue (queues.go)
	stateMain   = 3 // in the index and the main queue
	stateTemp   = 4 // in the index and the temporary queue (short TTLs)
	stateMax    = stateTemp
)

// linked: in the index and one of its class's queues.
func (h hdr) linked() bool { return h.state() >= stateLinked }

// Item flags.
const (
	flagFetched   = 1 << 0
	flagActive    = 1 << 1
	flagStale     = 1 << 2 // meta: invalidated (X)
	flagTokenSent = 1 << 3 // meta: a win token was handed out (Z to others)
	flagKeyBinary = 1 << 4 // meta: key was sent base64-encoded (b)

	flagCASIn = 1 << 7 // its CAS came from the client (meta E), not the counter

	// Bits 5-6: the item's read frequency, 0..freqMax (queues.go).
	freqOne  = 1 << 5
	freqMask = 3 << 5
	freqMax  = 3
)

func freqOf(f uint8) int { return int(f&freqMask) / freqOne }

// hdr is a view of one chunk's bytes.
type hdr []byte

func (h hdr) prev() uint32         { return binary.LittleEndian.Uint32(h[offPrev:]) }
func (h hdr) next() uint32         { return binary.LittleEndian.Uint32(h[offNext:]) }
func (h hdr) setPrev(v uint32)     { binary.LittleEndian.PutUint32(h[offPrev:], v) }
func (h hdr) setNext(v uint32)     { binary.LittleEndian.PutUint32(h[offNext:], v) }
func (h hdr) flags() uint32        { return binary.LittleEndian.Uint32(h[offFlags:]) }
func (h hdr) setFlags(v uint32)    { binary.LittleEndian.PutUint32(h[offFlags:], v) }
func (h hdr) nbytes() int          { return int(binary.LittleEndian.Uint32(h[offNbytes:])) }
func (h hdr) setNbytes(n int)      { binary.LittleEndian.PutUint32(h[offNbytes:], uint32(n)) }
func (h hdr) nkey() int            { return int(h[offNkey]) }
func (h hdr) state() uint8         { return h[offState] }
func (h hdr) setState(s uint8)     { h[offState] = s }
func (h hdr) cls() uint8           { return h[offCls] }
func (h hdr) iflags() uint8        { return h[offIflags] }
func (h hdr) setIflags(f uint8)    { h[offIflags] = f }
func (h hdr) key() []byte          { return h[HeaderSize : HeaderSize+h.nkey()] }
func (h hdr) value() []byte        { k := HeaderSize + h.nkey(); return h[k : k+h.nbytes()] }
func (h hdr) total() int           { return HeaderSize + h.nkey() + h.nbytes() }
func (h hdr) u32p(off int) *uint32 { return (*uint32)(unsafe.Pointer(&h[off])) }

func (h hdr) exptime() uint32     { return atomic.LoadUint32(h.u32p(offExp)) }
func (h hdr) setExptime(v uint32) { atomic.StoreUint32(h.u32p(offExp), v) }
func (h hdr) atime() uint32       { return atomic.LoadUint32(h.u32p(offAtime)) }
func (h hdr) setAtime(v uint32)   { atomic.StoreUint32(h.u32p(offAtime), v) }
func (h hdr) cas() uint64         { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&h[offCAS]))) }
func (h hdr) setCAS(v uint64)     { atomic.StoreUint64((*uint64)(unsafe.Pointer(&h[offCAS])), v) }

// initItem writes a fresh header, key and value into a busy chunk.
func (h hdr) init(cls uint8, key []byte, flags uint32, exptime uint32, nbytes int) {
	h.setPrev(^uint32(0))
	h.setNext(^uint32(0))
	h.setExptime(exptime)
	h.setAtime(0)
	h.setCAS(0)
	h.setFlags(flags)
	h.setNbytes(nbytes)
	h[offNkey] = uint8(len(key))
	h[offCls] = cls
	h[offIflags] = 0
	copy(h[HeaderSize:], key)
}

// ItemSize is the chunk bytes an item of this key and value length needs.
func ItemSize(nkey, nbytes int) int { return HeaderSize + nkey + nbytes }
