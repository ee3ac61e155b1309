package server

import "sync"

// Read and write buffers are pooled: a connection holds one only while it
// has bytes to parse or replies to send, so idle connections cost neither.
const (
	bufSize    = 16 << 10 // the size pooled buffers start at
	maxPoolBuf = 64 << 10 // larger buffers are dropped, not pooled
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() []byte { return *(bufPool.Get().(*[]byte)) }

// putBuf gives a buffer back; p must be the slice as taken or regrown.
func putBuf(b []byte) {
	if cap(b) > maxPoolBuf || cap(b) < bufSize {
		return
	}
	b = b[:cap(b)]
	bufPool.Put(&b)
}
