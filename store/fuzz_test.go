package store

import (
	"math/rand/v2"
	"testing"
)

// fuzzSource reads an operation sequence's choices from fuzz bytes; once
// they run out every choice is 0.
type fuzzSource struct{ b []byte }

func (s *fuzzSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *fuzzSource) intn(n int) int {
	v := 0
	for m := n - 1; m > 0; m >>= 8 {
		v = v<<8 | int(s.next())
	}
	return v % n
}

func (s *fuzzSource) u64() uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(s.next())
	}
	return v
}

func (s *fuzzSource) bytes(n int) []byte {
	n = min(n, len(s.b))
	b := s.b[:n:n]
	s.b = s.b[n:]
	return b
}

// FuzzStoreOps decodes the fuzz bytes into an operation sequence and runs it
// against the store and the model, with the checks of TestStoreModel. The
// first byte picks plenty of memory (exact answers) or 2 MB with larger
// values over more keys (where the store may lose items).
func FuzzStoreOps(f *testing.F) {
	f.Add([]byte{})
	for i := 0; i < 8; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		b := make([]byte, 64+i*96)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(b)
	}
	exact := &profile{keys: modelKeys("", 4), global: true}
	small := &profile{keys: modelKeys("", 40), hot: 4, global: true, large: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &fuzzSource{b: data}
		lossy := src.next()&7 == 7
		opts, p := Options{MemoryLimit: 256 << 20, Shards: 4, HashPower: 6}, exact
		if lossy {
			opts.MemoryLimit, p = 2<<20, small
		}
		ts := newTestStore(t, opts)
		h := newHarness(t, ts, p.keys, lossy, "fuzz input")
		for n := 0; n < 512 && len(src.b) > 0; n++ {
			o := genOp(src, p)
			h.do(&o)
		}
		h.finish()
		checkInvariants(t, ts.Store)
	})
}
