package slab

import "testing"

func BenchmarkClassAllocFree(b *testing.B) {
	a, err := NewArena(4<<20, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	c := NewClass(1, 128, a)
	held := make([]Loc, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := c.Alloc()
		if l == Nil {
			b.Fatal("out of memory")
		}
		held = append(held, l)
		if len(held) == cap(held) {
			for _, l := range held {
				c.Free(l)
			}
			held = held[:0]
		}
	}
}

func BenchmarkArenaChunk(b *testing.B) {
	a, err := NewArena(4<<20, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for i := 0; i < 4; i++ {
		a.TakePage()
	}
	var sum byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := a.LocOf(uint32(i&3), (i*64)&(1<<20-1))
		sum += a.Chunk(l, 64)[0]
	}
	_ = sum
}
