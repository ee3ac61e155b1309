package server

import "sync"

// Read and write buffers are pooled: a connection holds one only while it
// has bytes to parse or replies to send, so idle connections cost neither.
const (
	bufSize = 16 << 10 // memcached's READ_BUFFER_SIZE
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() []byte { return *(bufPool.Get().(*[]byte)) }

// putBuf gives a buffer back. Only buffers of the pooled size are kept, so
// every read sees the same 16 KB window memcached's read buffer has.
func putBuf(b []byte) {
	if cap(b) != bufSize {
		return
	}
	b = b[:cap(b)]
	bufPool.Put(&b)
}
