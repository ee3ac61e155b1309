package store

import (
	"unsafe"

	"github.com/gocached/gocached/slab"
)

// index is one shard's open-addressing hash table of item locations.
// Each slot is 0 (empty) or present|tag<<32|loc: 31 bits of the key's hash
// to skip most non-matching probes without touching item memory, and the
// chunk's Loc. A key's home slot is the low bits of its tag, so moving
// entries (deletion, growth) never reads item memory. Linear probing;
// deletion shifts entries back, so there are no tombstones. It holds no Go pointers, and its slots live outside the Go
// heap (slab.OffHeap): a table of millions of slots adds nothing to the
// collector's heap goal, and a grown table's old slots are unmapped at
// once instead of waiting for a collection. free gives them back.
type index struct {
	slots []uint64
	mask  uint64
	count int
}

const present = uint64(1) << 63

func newIndex(size int) index {
	n := 16
	for n < size {
		n <<= 1
	}
	return index{slots: newSlots(n), mask: uint64(n - 1)}
}

// newSlots maps n zeroed slots. Out of address space the process cannot
// go on (as a failed make would end it).
func newSlots(n int) []uint64 {
	b, err := slab.OffHeap(n * 8)
	if err != nil {
		panic("store: cannot map the index: " + err.Error())
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func freeSlots(s []uint64) {
	if len(s) > 0 {
		slab.FreeOffHeap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8))
	}
}

// free unmaps the slots; the index must not be used afterwards.
func (ix *index) free() {
	freeSlots(ix.slots)
	ix.slots, ix.mask, ix.count = nil, 0, 0
}

func tagOf(h uint64) uint64 { return (h >> 33) << 32 }

func (ix *index) home(h uint64) uint64 { return (h >> 33) & ix.mask }

// homeOf is the home slot of a present entry: the low bits of its tag.
func (ix *index) homeOf(e uint64) uint64 { return (e >> 32) & ix.mask }

// find returns the slot of key, or -1. match tells whether a candidate Loc
// holds the key.
func (ix *index) find(h uint64, match func(slab.Loc) bool) int {
	tag := present | tagOf(h)
	for i := ix.home(h); ; i = (i + 1) & ix.mask {
		e := ix.slots[i]
		if e == 0 {
			return -1
		}
		if e&^0xffffffff == tag && match(slab.Loc(uint32(e))) {
			return int(i)
		}
	}
}

// findLoc returns the slot that holds exactly loc for hash h, or -1.
func (ix *index) findLoc(h uint64, loc slab.Loc) int {
	want := present | tagOf(h) | uint64(loc)
	for i := ix.home(h); ; i = (i + 1) & ix.mask {
		e := ix.slots[i]
		if e == 0 {
			return -1
		}
		if e == want {
			return int(i)
		}
	}
}

func (ix *index) loc(slot int) slab.Loc { return slab.Loc(uint32(ix.slots[slot])) }

// set points an existing slot at a new Loc of the same key.
func (ix *index) set(slot int, h uint64, loc slab.Loc) {
	ix.slots[slot] = present | tagOf(h) | uint64(loc)
}

// insert adds a key known to be absent, growing the table past 3/4 full.
func (ix *index) insert(h uint64, loc slab.Loc) {
	if (ix.count+1)*4 > len(ix.slots)*3 {
		ix.grow()
	}
	for i := ix.home(h); ; i = (i + 1) & ix.mask {
		if ix.slots[i] == 0 {
			ix.slots[i] = present | tagOf(h) | uint64(loc)
			ix.count++
			return
		}
	}
}

// remove deletes a slot, shifting later entries of the run back.
func (ix *index) remove(slot int) {
	i := uint64(slot)
	for {
		ix.slots[i] = 0
		j := i
		for {
			j = (j + 1) & ix.mask
			e := ix.slots[j]
			if e == 0 {
				ix.count--
				return
			}
			k := ix.homeOf(e)
			// Move e back to i unless its home lies cyclically in (i, j].
			if (i <= j && (i < k && k <= j)) || (i > j && (i < k || k <= j)) {
				continue
			}
			ix.slots[i] = e
			i = j
			break
		}
	}
}

func (ix *index) grow() {
	old := ix.slots
	defer freeSlots(old)
	ix.slots = newSlots(len(old) * 2)
	ix.mask = uint64(len(ix.slots) - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		for i := ix.homeOf(e); ; i = (i + 1) & ix.mask {
			if ix.slots[i] == 0 {
				ix.slots[i] = e
				break
			}
		}
	}
}
