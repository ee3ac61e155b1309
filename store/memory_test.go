package store

import (
	"testing"
)

func val(key string, n int) string {
	v := make([]byte, n)
	for i := range v {
		v[i] = key[i%len(key)]
	}
	return string(v)
}

func TestEvictionKeepsWorking(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 2 << 20})
	const n, size = 20000, 1000 // 20 MB into 2 MB
	for i := 0; i < n; i++ {
		k := "key" + itoa(i)
		ts.set(k, val(k, size))
	}
	st := ts.Stats()
	perItem := int64(ItemSize(8, size))
	if st.Evictions == 0 || st.Evictions != uint64(n-st.CurrItems) {
		t.Fatalf("evictions %d, curr_items %d: want %d - curr_items evictions", st.Evictions, st.CurrItems, n)
	}
	if st.CurrItems*perItem > 2<<20 || st.CurrItems < 1000 {
		t.Fatalf("curr_items %d of %d bytes each in 2 MB", st.CurrItems, perItem)
	}
	if st.TotalMalloced != 2<<20 {
		t.Fatalf("total_malloced %d, want 2 MB", st.TotalMalloced)
	}
	// The most recent writes survive, the oldest are gone.
	for i := n - 1000; i < n; i++ {
		k := "key" + itoa(i)
		ts.mustGet(k, val(k, size))
	}
	ts.mustMiss("key0")
	checkInvariants(t, ts.Store)
}

func TestEvictionMixedSizes(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 3 << 20})
	sizes := []int{10, 100, 700, 3000, 20000, 150000}
	total := 0
	for i := 0; total < 40<<20; i++ {
		k := "key" + itoa(i)
		v := val(k, sizes[(i*7)%len(sizes)])
		total += len(v)
		ts.set(k, v)
		ts.mustGet(k, v)
	}
	st := ts.Stats()
	if st.Evictions == 0 || st.StoreNoMemory != 0 {
		t.Fatalf("evictions %d store_no_memory %d", st.Evictions, st.StoreNoMemory)
	}
	// 3 pages, and the classes that first came when memory was full got
	// a page of their own past it (memcached's rule): one per size at most.
	if st.TotalMalloced > int64(3+len(sizes))<<20 {
		t.Fatalf("total_malloced %d above the limit and a first page per size", st.TotalMalloced)
	}
	checkInvariants(t, ts.Store)
}

func TestNoEvictions(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 2 << 20, NoEvictions: true})
	stored := 0
	for i := 0; ; i++ {
		k := "key" + itoa(i)
		res, _, err := ts.store(ModeSet, k, val(k, 1000), 0, 0, 0)
		if err == ErrNoMemory {
			if res != NotStored {
				t.Fatalf("result %v with ErrNoMemory", res)
			}
			break
		}
		if err != nil || res != Stored {
			t.Fatalf("set %d: %v, %v", i, res, err)
		}
		stored++
		if stored > 10000 {
			t.Fatal("2 MB never filled up")
		}
	}
	for i := 0; i < stored; i++ {
		k := "key" + itoa(i)
		ts.mustGet(k, val(k, 1000))
	}
	st := ts.Stats()
	if st.Evictions != 0 || st.StoreNoMemory != 1 || st.CurrItems != int64(stored) {
		t.Fatalf("evictions %d store_no_memory %d curr_items %d (stored %d)", st.Evictions, st.StoreNoMemory, st.CurrItems, stored)
	}
	// A class without pages gets one page past the limit, as memcached's
	// (with -M too), and no more.
	big := 0
	for ; big < 100; big++ {
		k := "big" + itoa(big)
		if _, _, err := ts.store(ModeSet, k, val(k, 100000), 0, 0, 0); err == ErrNoMemory {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if perPage := (1 << 20) / ts.classFor(ItemSize(4, 100000)).sc.Size; big != perPage {
		t.Fatalf("%d items of 100 KB stored in a new class with -M and memory full, want one page's %d", big, perPage)
	}
	if st := ts.Stats(); st.TotalMalloced != 3<<20 || st.Evictions != 0 {
		t.Fatalf("total_malloced %d evictions %d, want 3 MB and 0", st.TotalMalloced, st.Evictions)
	}
	// A set that fails drops the old value, as memcached does; its chunk is
	// then free for the next set.
	if _, _, err := ts.store(ModeSet, "key5", "new value of the same size class"+val("x", 970), 0, 0, 0); err != ErrNoMemory {
		t.Fatalf("overwrite with -M and no memory: %v, want ErrNoMemory", err)
	}
	ts.mustMiss("key5")
	ts.set("key5", val("key5", 1000))
	ts.mustGet("key5", val("key5", 1000))
	// Others modes keep the old value.
	if _, _, err := ts.store(ModeReplace, "key6", val("x", 1000), 0, 0, 0); err != ErrNoMemory {
		t.Fatalf("replace with -M and no memory: %v, want ErrNoMemory", err)
	}
	ts.mustGet("key6", val("key6", 1000))
	checkInvariants(t, ts.Store)
}

// With -M, expired items are still reclaimed for new ones.
func TestNoEvictionsReclaimsExpired(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 2 << 20, NoEvictions: true})
	n := 0
	for ; ; n++ {
		k := "old" + itoa(n)
		if _, _, err := ts.store(ModeSet, k, val(k, 1000), 0, 10, 0); err != nil {
			break
		}
	}
	ts.advance(10)
	for i := 0; i < n; i++ {
		k := "new" + itoa(i)
		ts.set(k, val(k, 1000))
	}
	st := ts.Stats()
	if st.Evictions != 0 || st.Reclaimed != uint64(n) || st.ExpiredUnfetched != uint64(n) || st.CurrItems != int64(n) {
		t.Fatalf("evictions %d reclaimed %d expired_unfetched %d curr_items %d, want 0, %d, %d, %d",
			st.Evictions, st.Reclaimed, st.ExpiredUnfetched, st.CurrItems, n, n, n)
	}
	checkInvariants(t, ts.Store)
}

func TestPageRescue(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 4 << 20})
	// No first pages past the limit (slab.Arena): every page the large
	// classes get must come from the small one.
	ts.arena.SetClasses(0)
	// Fill all of memory with small items.
	for i := 0; i < 60000; i++ {
		k := "s" + itoa(i)
		ts.set(k, val(k, 100))
	}
	st := ts.Stats()
	if st.TotalMalloced != 4<<20 || st.Evictions == 0 || st.SlabsMoved != 0 {
		t.Fatalf("after the fill: total_malloced %d evictions %d slabs_moved %d", st.TotalMalloced, st.Evictions, st.SlabsMoved)
	}
	small := ts.classFor(ItemSize(6, 100)).sc.ID
	if st.Classes[small-1].TotalPages != 4 {
		t.Fatalf("small class has %d pages, want all 4", st.Classes[small-1].TotalPages)
	}
	// Large items still get memory: pages move from the small class.
	for i := 0; i < 10; i++ {
		k := "large" + itoa(i)
		ts.set(k, val(k, 200000))
		ts.mustGet(k, val(k, 200000))
	}
	ts.set("big", val("big", 1048514))
	ts.mustGet("big", val("big", 1048514))
	st = ts.Stats()
	if st.SlabsMoved < 2 {
		t.Fatalf("slabs_moved %d, want at least 2", st.SlabsMoved)
	}
	if st.StoreNoMemory != 0 {
		t.Fatalf("store_no_memory %d", st.StoreNoMemory)
	}
	if st.Classes[small-1].TotalPages >= 4 {
		t.Fatalf("small class still has %d pages", st.Classes[small-1].TotalPages)
	}
	// The small class keeps working with what it has left.
	for i := 0; i < 1000; i++ {
		k := "t" + itoa(i)
		ts.set(k, val(k, 100))
	}
	ts.mustGet("t999", val("t999", 100))
	checkInvariants(t, ts.Store)
}

func TestReassign(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 4 << 20})
	for i := 0; i < 60000; i++ {
		k := "s" + itoa(i)
		ts.set(k, val(k, 100))
	}
	src := int(ts.classFor(ItemSize(6, 100)).sc.ID)
	dst := int(ts.classFor(ItemSize(6, 5000)).sc.ID)
	last := len(ts.Sizes())
	for _, tc := range []struct {
		src, dst int
		want     ReassignResult
	}{
		{src, src, ReassignSame},
		{0, dst, ReassignBadClass},
		{last + 1, dst, ReassignBadClass},
		{src, 0, ReassignBadClass},
		{src, last + 1, ReassignBadClass},
		{dst, src, ReassignNoSpare}, // dst has no pages
	} {
		if got := ts.Reassign(tc.src, tc.dst); got != tc.want {
			t.Errorf("Reassign(%d, %d) = %d, want %d", tc.src, tc.dst, got, tc.want)
		}
	}
	before := ts.Stats()
	if got := ts.Reassign(src, dst); got != ReassignOK {
		t.Fatalf("Reassign(%d, %d) = %d, want OK", src, dst, got)
	}
	ts.wg.Wait() // the move runs in the background
	after := ts.Stats()
	if after.SlabsMoved != before.SlabsMoved+1 {
		t.Fatalf("slabs_moved %d -> %d", before.SlabsMoved, after.SlabsMoved)
	}
	s, d := after.Classes[src-1], after.Classes[dst-1]
	if s.TotalPages != 3 || d.TotalPages != 1 || d.FreeChunks != d.ChunksPerPage {
		t.Fatalf("after the move src has %d pages, dst %d pages with %d free chunks", s.TotalPages, d.TotalPages, d.FreeChunks)
	}
	if lost := before.CurrItems - after.CurrItems; lost <= 0 || after.Evictions-before.Evictions != uint64(lost) {
		t.Fatalf("the move dropped %d items, counted %d evictions", lost, after.Evictions-before.Evictions)
	}
	// The moved page serves dst without evicting anything.
	for i := 0; i < d.ChunksPerPage; i++ {
		k := "m" + itoa(i)
		ts.set(k, val(k, 5000))
	}
	if st := ts.Stats(); st.Evictions != after.Evictions {
		t.Fatalf("%d evictions filling the moved page", st.Evictions-after.Evictions)
	}
	// src -1 picks any class with a page to spare.
	if got := ts.Reassign(-1, dst); got != ReassignOK {
		t.Fatalf("Reassign(-1, %d) = %d", dst, got)
	}
	ts.wg.Wait()
	if st := ts.Stats(); st.Classes[dst-1].TotalPages != 2 || st.Classes[src-1].TotalPages != 2 {
		t.Fatalf("after the second move dst has %d pages, src %d", st.Classes[dst-1].TotalPages, st.Classes[src-1].TotalPages)
	}
	checkInvariants(t, ts.Store)
}

func TestCrawlFreesExpired(t *testing.T) {
	ts := newTestStore(t, Options{})
	for i := 0; i < 300; i++ {
		ts.setX("ttl"+itoa(i), "v", 0, 10)
	}
	for i := 0; i < 200; i++ {
		ts.set("keep"+itoa(i), "v")
	}
	for i := 0; i < 50; i++ {
		ts.mustGet("ttl"+itoa(i), "v")
	}
	ts.advance(9)
	ts.Crawl()
	if st := ts.Stats(); st.CurrItems != 500 || st.Reclaimed != 0 {
		t.Fatalf("crawl before the expiry: curr_items %d reclaimed %d", st.CurrItems, st.Reclaimed)
	}
	ts.advance(1)
	before := ts.Stats()
	ts.Crawl()
	st := ts.Stats()
	var wantBytes int64
	for i := 0; i < 200; i++ {
		wantBytes += int64(ItemSize(len("keep"+itoa(i)), 1))
	}
	if st.CurrItems != 200 || st.Bytes != wantBytes {
		t.Fatalf("after the crawl curr_items %d bytes %d, want 200 and %d", st.CurrItems, st.Bytes, wantBytes)
	}
	if st.Reclaimed != 300 || st.CrawlerReclaimed != 300 || st.ExpiredUnfetched != 250 {
		t.Fatalf("reclaimed %d crawler_reclaimed %d expired_unfetched %d, want 300, 300, 250", st.Reclaimed, st.CrawlerReclaimed, st.ExpiredUnfetched)
	}
	// Freed by the crawler, not found by readers.
	if st.GetExpired != 0 || st.GetHits != before.GetHits || st.Evictions != 0 {
		t.Fatalf("get_expired %d get_hits %d evictions %d", st.GetExpired, st.GetHits, st.Evictions)
	}
	if st.CrawlerStarts != 2 || st.CrawlerItemsChecked != 1000 {
		t.Fatalf("crawler_starts %d crawler_items_checked %d, want 2 and 1000", st.CrawlerStarts, st.CrawlerItemsChecked)
	}
	ts.mustMiss("ttl0")
	ts.mustGet("keep0", "v")
	checkInvariants(t, ts.Store)
}

// Eviction is S3-FIFO's (queues.go): items read since they came survive
// the small queue's tail and move to the main queue; unread ones go first,
// in the order they came; a scan of keys read once cannot push out what
// was read; a key evicted unread and stored again enters the main queue.
func TestEvictionS3FIFO(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 1 << 20})
	const size = 1000
	n := fillUntilEviction(ts, size)
	// n-1 items fit; a0 was the first evicted. Read a1 once.
	ts.mustGet("a1", val("a1", size))
	for i := 0; i < n/2; i++ {
		k := "b" + itoa(i)
		ts.set(k, val(k, size))
	}
	ts.mustGet("a1", val("a1", size)) // read: moved to the main queue
	ts.mustMiss("a2")                 // unread: evicted in the order they came
	ts.mustMiss("a3")
	ts.mustGet("a"+itoa(n-1), val("a"+itoa(n-1), size))
	if st := ts.Stats(); st.EvictedUnfetched == 0 || st.EvictedUnfetched != st.Evictions {
		t.Fatalf("evicted_unfetched %d of %d evictions: only unread items should have gone", st.EvictedUnfetched, st.Evictions)
	}
	// A scan of twice the memory in keys never read again: a1 stays.
	for i := 0; i < 2*n; i++ {
		k := "scan" + itoa(i)
		ts.set(k, val(k, size))
	}
	ts.mustGet("a1", val("a1", size))
	// a2 left the small queue unread: stored again, it is in the main queue.
	ts.set("a2", val("a2", size))
	h := Hash([]byte("a2"))
	sh := ts.shardOf(h)
	sh.mu.Lock()
	_, l := ts.lookup(sh, h, []byte("a2"))
	state := ts.hdrAt(l).state()
	sh.mu.Unlock()
	if state != stateMain {
		t.Fatalf("a2 stored again after its eviction from the small queue: state %d, want %d (main queue)", state, stateMain)
	}
	checkInvariants(t, ts.Store)
}

// With FlatLRU (memcached's -o no_modern, no_lru_maintainer) eviction is
// memcached 1.4's flat LRU: in store order whatever was read once, a hit
// moving an item to the head only once bumpInterval has passed.
func TestEvictionFlatLRU(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 1 << 20, FlatLRU: true})
	const size = 1000
	n := fillUntilEviction(ts, size)
	// Read a1 now (too soon after its store to move it) and a2 a minute
	// later (moves it to the head).
	ts.mustGet("a1", val("a1", size))
	ts.advance(bumpInterval)
	ts.mustGet("a2", val("a2", size))
	for i := 0; i < n/2; i++ {
		k := "b" + itoa(i)
		ts.set(k, val(k, size))
	}
	ts.mustMiss("a1") // read once, not bumped: gone in store order
	ts.mustGet("a2", val("a2", size))
	ts.mustMiss("a3")
	ts.mustGet("a"+itoa(n-1), val("a"+itoa(n-1), size))
	for _, cs := range ts.Stats().Classes {
		if cs.MovesToMain != 0 || cs.MainItems != 0 {
			t.Fatalf("class %d: moves_to_warm %d, %d items in the main queue with the flat LRU", cs.ID, cs.MovesToMain, cs.MainItems)
		}
	}
	checkInvariants(t, ts.Store)
}

// fillUntilEviction stores a0, a1, ... of size bytes until the first
// eviction and returns how many were stored.
func fillUntilEviction(ts *testStore, size int) int {
	n := 0
	for ; ts.Stats().Evictions == 0; n++ {
		k := "a" + itoa(n)
		ts.set(k, val(k, size))
	}
	return n
}
