package hotkeys

// summary is one Space-Saving summary (Metwally, Agrawal, El Abbadi 2005)
// over a window of time slots: k counters, each a key, its weight in each
// slot of the window (a ring) and their total. A key already counted gains
// weight; a new one takes the counter of least total and inherits its
// weight, so any key whose share of the window's weight is over 1/k is
// always held, and no key is ever undercounted while held.
//
// Every operation is O(1) or O(log k) and allocation-free: the counters
// live in slices made once, a hash table finds a key's counter, and a
// min-heap on the totals finds the one to replace.
type summary struct {
	k, slots int
	n        int // counters in use
	cur      int // the current slot's column in the ring

	hash  []uint64 // per counter
	total []uint64 // sum of the counter's ring row
	err   []uint64 // weight inherited when the key took the counter
	klen  []uint8
	keys  []byte   // k × MaxKey
	ring  []uint64 // k × slots: counter i's weight in slot j at i*slots+j
	heap  []int32  // counters ordered by total, least first
	pos   []int32  // counter -> its place in heap
	table []int32  // open addressing, hash -> counter+1; 0 = empty
	mask  uint64
}

func newSummary(k, slots int) *summary {
	size := 1
	for size < 2*k {
		size <<= 1
	}
	return &summary{
		k: k, slots: slots,
		hash: make([]uint64, k), total: make([]uint64, k), err: make([]uint64, k),
		klen: make([]uint8, k), keys: make([]byte, k*MaxKey), ring: make([]uint64, k*slots),
		heap: make([]int32, 0, k), pos: make([]int32, k),
		table: make([]int32, size), mask: uint64(size - 1),
	}
}

// bytes is the memory the summary holds.
func (s *summary) bytes() int {
	return 8*(len(s.hash)+len(s.total)+len(s.err)+len(s.ring)) + len(s.klen) + len(s.keys) +
		4*(cap(s.heap)+len(s.pos)+len(s.table))
}

func (s *summary) key(i int) []byte { return s.keys[i*MaxKey : i*MaxKey+int(s.klen[i])] }

// add counts weight w for the key with hash h.
func (s *summary) add(h uint64, key []byte, w uint64) {
	if len(key) > MaxKey {
		key = key[:MaxKey]
	}
	i := s.find(h)
	switch {
	case i >= 0:
	case s.n < s.k:
		i = s.n
		s.n++
		s.pos[i] = int32(len(s.heap))
		s.heap = append(s.heap, int32(i))
		s.up(len(s.heap) - 1) // its total is 0: the least
		s.claim(i, h, key)
		s.err[i] = 0
	default:
		// The least counter changes hands; its weight stays in its slots
		// and leaves the window with them.
		i = int(s.heap[0])
		s.unindex(s.hash[i])
		s.claim(i, h, key)
		s.err[i] = s.total[i]
	}
	s.ring[i*s.slots+s.cur] += w
	s.total[i] += w
	s.down(int(s.pos[i]))
}

func (s *summary) claim(i int, h uint64, key []byte) {
	s.hash[i] = h
	s.klen[i] = uint8(copy(s.keys[i*MaxKey:(i+1)*MaxKey], key))
	s.index(h, i)
}

// advance moves the current slot d slots on, emptying the slots that
// leave the window.
func (s *summary) advance(d int64) {
	if d <= 0 {
		return
	}
	if d > int64(s.slots) {
		d = int64(s.slots)
	}
	for ; d > 0; d-- {
		s.cur = (s.cur + 1) % s.slots
		for i := 0; i < s.n; i++ {
			c := &s.ring[i*s.slots+s.cur]
			s.total[i] -= *c
			*c = 0
			if s.err[i] > s.total[i] {
				s.err[i] = s.total[i]
			}
		}
	}
	// Totals only fell: rebuild the heap (O(k), once per slot at most).
	for j := len(s.heap)/2 - 1; j >= 0; j-- {
		s.down(j)
	}
}

// find returns the counter holding hash h, or -1.
func (s *summary) find(h uint64) int {
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		e := s.table[j]
		if e == 0 {
			return -1
		}
		if s.hash[e-1] == h {
			return int(e - 1)
		}
	}
}

func (s *summary) index(h uint64, i int) {
	j := h & s.mask
	for s.table[j] != 0 {
		j = (j + 1) & s.mask
	}
	s.table[j] = int32(i + 1)
}

// unindex removes h from the table, shifting back the entries after it
// (linear probing without tombstones).
func (s *summary) unindex(h uint64) {
	j := h & s.mask
	for s.hash[s.table[j]-1] != h {
		j = (j + 1) & s.mask
	}
	for {
		s.table[j] = 0
		k := j
		for {
			k = (k + 1) & s.mask
			e := s.table[k]
			if e == 0 {
				return
			}
			home := s.hash[e-1] & s.mask
			// e may move to j when its home is not in (j, k] (cyclically).
			if (j < k && (home <= j || home > k)) || (j > k && home <= j && home > k) {
				s.table[j] = e
				j = k
				break
			}
		}
	}
}

// up moves place j towards the root while its total is less than its parent's.
func (s *summary) up(j int) {
	h := s.heap
	for j > 0 {
		p := (j - 1) / 2
		if s.total[h[p]] <= s.total[h[j]] {
			return
		}
		h[j], h[p] = h[p], h[j]
		s.pos[h[j]], s.pos[h[p]] = int32(j), int32(p)
		j = p
	}
}

// down restores the heap below place j after the total there grew.
func (s *summary) down(j int) {
	h := s.heap
	for {
		l := 2*j + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && s.total[h[r]] < s.total[h[l]] {
			m = r
		}
		if s.total[h[j]] <= s.total[h[m]] {
			return
		}
		h[j], h[m] = h[m], h[j]
		s.pos[h[j]], s.pos[h[m]] = int32(j), int32(m)
		j = m
	}
}
