package store

import (
	"math/rand/v2"
	"testing"

	"github.com/gocached/gocached/slab"
)

// indexModel drives an index with synthetic hashes: key k lives at loc
// locs[k] and hashes to hashes[k], so collisions are chosen by the test.
type indexModel struct {
	t      *testing.T
	ix     index
	hashes map[int]uint64   // key -> hash
	locs   map[int]slab.Loc // key -> loc, for keys in the index
	keyAt  map[slab.Loc]int // loc -> key
	next   uint32
}

func newIndexModel(t *testing.T, size int) *indexModel {
	return &indexModel{t: t, ix: newIndex(size), hashes: map[int]uint64{}, locs: map[int]slab.Loc{}, keyAt: map[slab.Loc]int{}}
}

func (m *indexModel) find(k int) int {
	return m.ix.find(m.hashes[k], func(l slab.Loc) bool { return m.keyAt[l] == k })
}

func (m *indexModel) insert(k int) {
	m.t.Helper()
	if m.find(k) >= 0 {
		m.t.Fatalf("key %d already present", k)
	}
	l := m.newLoc()
	m.locs[k] = l
	m.keyAt[l] = k
	m.ix.insert(m.hashes[k], l)
}

// newLoc returns a loc never used before, spread over all 32 bits.
func (m *indexModel) newLoc() slab.Loc {
	for {
		m.next++
		if l := slab.Loc(uint32(m.next) * 2654435761); l != slab.Nil {
			return l
		}
	}
}

func (m *indexModel) remove(k int) {
	m.t.Helper()
	slot := m.find(k)
	if slot < 0 {
		m.t.Fatalf("key %d not found for removal", k)
	}
	m.ix.remove(slot)
	delete(m.keyAt, m.locs[k])
	delete(m.locs, k)
}

// check verifies the whole table against the model.
func (m *indexModel) check() {
	m.t.Helper()
	n := 0
	for slot, e := range m.ix.slots {
		if e == 0 {
			continue
		}
		n++
		l := slab.Loc(uint32(e))
		k, ok := m.keyAt[l]
		if !ok || m.locs[k] != l {
			m.t.Fatalf("slot %d holds loc %d of no present key", slot, l)
		}
		h := m.hashes[k]
		if e != present|tagOf(h)|uint64(l) {
			m.t.Fatalf("slot %d = %x, want %x", slot, e, present|tagOf(h)|uint64(l))
		}
		for j := m.ix.home(h); j != uint64(slot); j = (j + 1) & m.ix.mask {
			if m.ix.slots[j] == 0 {
				m.t.Fatalf("key %d at slot %d: empty slot %d between it and its home %d", k, slot, j, m.ix.home(h))
			}
		}
	}
	if n != len(m.locs) || m.ix.count != n {
		m.t.Fatalf("%d entries, count %d, model has %d keys", n, m.ix.count, len(m.locs))
	}
	if n*4 > len(m.ix.slots)*3 {
		m.t.Fatalf("%d entries in %d slots: load above 3/4", n, len(m.ix.slots))
	}
	if len(m.ix.slots)&(len(m.ix.slots)-1) != 0 || m.ix.mask != uint64(len(m.ix.slots)-1) {
		m.t.Fatalf("table of %d slots with mask %x", len(m.ix.slots), m.ix.mask)
	}
	for k, l := range m.locs {
		slot := m.find(k)
		if slot < 0 || m.ix.loc(slot) != l {
			m.t.Fatalf("key %d: find returns slot %d, want its loc %d", k, slot, l)
		}
		if got := m.ix.findLoc(m.hashes[k], l); got != slot {
			m.t.Fatalf("key %d: findLoc returns %d, find %d", k, got, slot)
		}
	}
}

// hashWithHome builds a hash whose home is home in every table size up to
// 2^20 slots (the tag's low 20 bits), with the given upper tag bits (11 of
// them) and low bits.
func hashWithHome(home, tag, low uint64) uint64 {
	return (tag&(1<<11-1))<<53 | (home&(1<<20-1))<<33 | low&(1<<33-1)
}

func TestIndexCollisions(t *testing.T) {
	m := newIndexModel(t, 1024)
	// 300 keys with one home; every third pair shares the whole hash, so
	// only the key comparison tells them apart.
	for k := 0; k < 300; k++ {
		m.hashes[k] = hashWithHome(77, uint64(k/2), uint64(k))
		if k%3 == 0 {
			m.hashes[k] = hashWithHome(77, 5, 9)
		}
		m.insert(k)
	}
	m.check()
	for k := 0; k < 300; k += 2 {
		m.remove(k)
		if m.find(k) >= 0 {
			t.Fatalf("key %d found after removal", k)
		}
	}
	m.check()
	for k := 0; k < 300; k += 2 {
		m.insert(k)
	}
	m.check()
	for k := 299; k >= 0; k-- {
		m.remove(k)
	}
	m.check()
	for _, e := range m.ix.slots {
		if e != 0 {
			t.Fatal("table not empty after removing every key")
		}
	}
}

// Runs that wrap from the last slot to the first must shift back correctly.
func TestIndexWrapAround(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		m := newIndexModel(t, 16)
		rng := rand.New(rand.NewPCG(seed, 1))
		homes := []uint64{13, 14, 15, 15, 0, 1, 15, 14, 2, 0, 15, 13}
		for k, h := range homes {
			m.hashes[k] = hashWithHome(h, uint64(k), 0)
			m.insert(k)
		}
		if len(m.ix.slots) != 16 {
			t.Fatalf("table grew to %d with 12 entries", len(m.ix.slots))
		}
		m.check()
		for _, k := range rng.Perm(len(homes)) {
			m.remove(k)
			m.check()
		}
	}
}

func TestIndexRandomAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := newIndexModel(t, 16)
	const keys = 600
	for k := 0; k < keys; k++ {
		switch k % 4 {
		case 0: // a few crowded homes
			m.hashes[k] = hashWithHome(uint64(k%5), rng.Uint64(), rng.Uint64())
		case 1: // crowded homes near the end of small tables
			m.hashes[k] = hashWithHome(uint64(1<<24-1-k%3), rng.Uint64(), rng.Uint64())
		default:
			m.hashes[k] = rng.Uint64()
		}
	}
	for op := 0; op < 30000; op++ {
		k := rng.IntN(keys)
		_, in := m.locs[k]
		switch {
		case !in && rng.IntN(3) > 0:
			m.insert(k)
		case in && rng.IntN(2) == 0:
			m.remove(k)
		case in:
			// Point the key at a new loc, as an overwrite does.
			slot := m.find(k)
			delete(m.keyAt, m.locs[k])
			l := m.newLoc()
			m.locs[k], m.keyAt[l] = l, k
			m.ix.set(slot, m.hashes[k], l)
		}
		// Spot checks every op, a full check now and then.
		for i := 0; i < 3; i++ {
			q := rng.IntN(keys)
			slot := m.find(q)
			l, want := m.locs[q]
			if (slot >= 0) != want || (want && m.ix.loc(slot) != l) {
				t.Fatalf("op %d: find(%d) = slot %d, model has %v at %d", op, q, slot, want, l)
			}
		}
		if op%1000 == 0 {
			m.check()
		}
	}
	m.check()
	if len(m.ix.slots) <= 16 {
		t.Fatalf("the table never grew: %d slots", len(m.ix.slots))
	}
}

func TestIndexGrowth(t *testing.T) {
	m := newIndexModel(t, 1)
	if len(m.ix.slots) != 16 {
		t.Fatalf("smallest table %d slots, want 16", len(m.ix.slots))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := map[int]bool{}
	for k := 0; k < 10000; k++ {
		m.hashes[k] = rng.Uint64()
		m.insert(k)
		if n := len(m.ix.slots); (k+1)*4 > n*3 {
			t.Fatalf("%d entries in %d slots after insert", k+1, n)
		}
		sizes[len(m.ix.slots)] = true
	}
	m.check()
	// 16 -> 16384 in doublings: every size on the way was used.
	for n := 16; n <= 16384; n *= 2 {
		if !sizes[n] {
			t.Errorf("table never had %d slots", n)
		}
	}
	if len(m.ix.slots) != 16384 {
		t.Fatalf("10000 entries in %d slots, want 16384", len(m.ix.slots))
	}
	if got := newIndex(1000); len(got.slots) != 1024 {
		t.Fatalf("newIndex(1000) has %d slots, want 1024", len(got.slots))
	}
}

func TestIndexFindLoc(t *testing.T) {
	m := newIndexModel(t, 16)
	h := hashWithHome(3, 9, 9)
	for k := 0; k < 3; k++ {
		m.hashes[k] = h // identical hashes, different locs
		m.insert(k)
	}
	for k := 0; k < 3; k++ {
		slot := m.ix.findLoc(h, m.locs[k])
		if slot < 0 || m.ix.loc(slot) != m.locs[k] {
			t.Fatalf("findLoc(key %d) = %d", k, slot)
		}
	}
	if m.ix.findLoc(h, m.newLoc()) >= 0 {
		t.Fatal("findLoc found a loc that is not indexed")
	}
	if m.ix.findLoc(hashWithHome(3, 10, 9), m.locs[0]) >= 0 {
		t.Fatal("findLoc matched a loc under a different hash tag")
	}
}

// TestHashPowerLevel: hash_power_level reads as memcached's for the same
// number of items (its table grows past 1.5 items a bucket, from
// -o hashpower), which memcached's restart.t checks.
func TestHashPowerLevel(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 64 << 20})
	n := 0
	for _, tc := range []struct{ items, want int }{
		{0, 16},
		{49152, 16},   // gocached's table has doubled once: still 16
		{98000, 16},   // memcached grows past 98304 (1.5 × 2^16)
		{1 << 17, 17}, // restart.t: 2^17 items, level 17
	} {
		for ; n < tc.items; n++ {
			ts.set("z"+itoa(n), "")
		}
		if got := ts.Stats().HashPower; got != tc.want {
			t.Errorf("%d items: hash_power_level %d, want %d", tc.items, got, tc.want)
		}
	}
}
