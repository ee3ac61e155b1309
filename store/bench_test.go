package store

import (
	"sync/atomic"
	"testing"
)

const benchKeys = 1 << 14

func benchStore(tb testing.TB) (*Store, [][]byte, []byte) {
	tb.Helper()
	s, err := New(Options{MemoryLimit: 64 << 20, CrawlInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	keys := make([][]byte, benchKeys)
	value := []byte(repeat("v", 100))
	for i := range keys {
		keys[i] = []byte("bench:key:" + itoa(i))
		if res, _, err := s.Store(&Request{Mode: ModeSet, Key: keys[i], Value: value}); err != nil || res != Stored {
			tb.Fatalf("set: %v %v", res, err)
		}
	}
	return s, keys, value
}

var benchSink atomic.Int64

func BenchmarkGet(b *testing.B) {
	s, keys, _ := benchStore(b)
	n := 0
	fn := func(v *View) { n += len(v.Value) }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Get(keys[i&(benchKeys-1)], fn) {
			b.Fatal("miss")
		}
	}
	benchSink.Add(int64(n))
}

func BenchmarkGetMiss(b *testing.B) {
	s, _, _ := benchStore(b)
	key := []byte("no such key")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.Get(key, nil) {
			b.Fatal("hit")
		}
	}
}

func BenchmarkSet(b *testing.B) {
	s, keys, value := benchStore(b)
	req := &Request{Mode: ModeSet, Value: value}
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Key = keys[i&(benchKeys-1)]
		if _, _, err := s.Store(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncr(b *testing.B) {
	s, keys, _ := benchStore(b)
	for _, k := range keys {
		s.Store(&Request{Mode: ModeSet, Key: k, Value: []byte("1000000000")})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := arith(s, keys[i&(benchKeys-1)], true, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s, keys, _ := benchStore(b)
	var seed atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		fn := func(v *View) { n += len(v.Value) }
		i := int(seed.Add(7919))
		for pb.Next() {
			i++
			if !s.Get(keys[i&(benchKeys-1)], fn) {
				b.Error("miss")
				return
			}
		}
		benchSink.Add(int64(n))
	})
}

func BenchmarkSetParallel(b *testing.B) {
	s, keys, value := benchStore(b)
	var seed atomic.Uint32
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := &Request{Mode: ModeSet, Value: value}
		i := int(seed.Add(7919))
		for pb.Next() {
			i++
			req.Key = keys[i&(benchKeys-1)]
			if _, _, err := s.Store(req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The hot paths must not allocate (DESIGN: 0 allocs/op for get and set).
func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	s, keys, value := benchStore(t)
	n := 0
	fn := func(v *View) { n += len(v.Value) }
	req := &Request{Mode: ModeSet, Value: value}
	num := []byte("counter")
	s.Store(&Request{Mode: ModeSet, Key: num, Value: []byte("1000000")})
	i := 0
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"get hit", func() { s.Get(keys[i&(benchKeys-1)], fn) }},
		{"get miss", func() { s.Get([]byte("missing"), fn) }},
		{"gets with touch", func() { s.GetAndTouch(keys[i&(benchKeys-1)], 0, fn) }},
		{"set overwrite", func() { req.Mode, req.Key = ModeSet, keys[i&(benchKeys-1)]; s.Store(req) }},
		{"add existing", func() { req.Mode, req.Key = ModeAdd, keys[i&(benchKeys-1)]; s.Store(req) }},
		{"touch", func() { s.Touch(keys[i&(benchKeys-1)], 0) }},
		{"incr in place", func() { arith(s, num, true, 1) }},
		{"delete and set", func() {
			req.Mode, req.Key = ModeSet, keys[i&(benchKeys-1)]
			s.Delete(req.Key, 0)
			s.Store(req)
		}},
	} {
		if a := testing.AllocsPerRun(1000, func() { i++; tc.fn() }); a != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tc.name, a)
		}
	}
	benchSink.Add(int64(n))
}
