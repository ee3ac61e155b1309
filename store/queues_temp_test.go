package store

import "testing"

// The temporary queue (memcached's temp LRU, t/lru-maintainer.t): an item
// with a TTL of at most TempTTL is never evicted by others, takes no
// memory from them, and is reclaimed once expired.
func TestTempLRU(t *testing.T) {
	val := repeat("B", 64<<10)
	t.Run("protected from eviction", func(t *testing.T) {
		ts := newTestStore(t, Options{MemoryLimit: 3 << 20, TempLRU: true, TempTTL: 61})
		ts.setX("canary", val, 0, 30)
		if st := ts.Stats(); ts.classFor(ItemSize(6, len(val))).q[qTemp].n != 1 || st.CurrItems != 1 {
			t.Fatalf("canary not in the temporary queue")
		}
		for i := 0; i < 100; i++ {
			ts.setX("key"+itoa(i), val, 0, 3600) // a long TTL: the small queue
		}
		if st := ts.Stats(); st.Evictions == 0 {
			t.Fatal("100 items of 64 KB in 3 MB evicted nothing")
		}
		ts.mustGet("canary", val) // never read, still there
		checkInvariants(t, ts.Store)
	})
	t.Run("reclaimed once expired, never evicted", func(t *testing.T) {
		ts := newTestStore(t, Options{MemoryLimit: 3 << 20, TempTTL: 61, TempLRU: true})
		n := 0
		for ; n < 200; n++ {
			res, _, err := ts.store(ModeSet, "t"+itoa(n), val, 0, 10, 0)
			if err == ErrNoMemory {
				break
			}
			if err != nil || res != Stored {
				t.Fatalf("set t%d: %v %v", n, res, err)
			}
		}
		if n == 0 || n == 200 {
			t.Fatalf("%d short-lived items fitted in 3 MB", n)
		}
		if st := ts.Stats(); st.Evictions != 0 {
			t.Fatalf("%d temporary items evicted", st.Evictions)
		}
		ts.advance(11)
		ts.setX("after", val, 0, 10) // takes an expired item's memory
		if st := ts.Stats(); st.Reclaimed == 0 || st.Evictions != 0 {
			t.Fatalf("after expiry: reclaimed %d, evicted %d", st.Reclaimed, st.Evictions)
		}
		checkInvariants(t, ts.Store)
	})
	t.Run("turned off", func(t *testing.T) {
		ts := newTestStore(t, Options{TempLRU: true, TempTTL: 61})
		ts.SetTempTTL(-1)
		ts.setX("k", "v", 0, 30)
		if c := ts.classFor(ItemSize(1, 1)); c.q[qTemp].n != 0 || c.q[qSmall].n != 1 {
			t.Fatal("a short TTL went to the temporary queue after SetTempTTL(-1)")
		}
		flat := newTestStore(t, Options{FlatLRU: true, TempLRU: true, TempTTL: 61})
		if flat.TempTTL() >= 0 {
			t.Fatal("the flat LRU has a temporary queue")
		}
	})
}
