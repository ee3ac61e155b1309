package store

import (
	"github.com/gocached/gocached/slab"
)

// Mode is the kind of storage command.
type Mode uint8

// Storage modes, memcached's NREAD_* commands.
const (
	ModeSet Mode = iota
	ModeAdd
	ModeReplace
	ModeAppend
	ModePrepend
	ModeCAS
)

// Result is the outcome of a command that did not fail.
type Result uint8

// Outcomes, as memcached's STORED / NOT_STORED / EXISTS / NOT_FOUND and the
// DELETED / TOUCHED replies.
const (
	Stored Result = iota
	NotStored
	Exists
	NotFound
	Deleted
	Touched
)

// Request is one storage command. Value is copied; the store keeps no
// reference to it.
type Request struct {
	Mode    Mode
	Key     []byte
	Flags   uint32
	Exptime uint32 // rel time (see RelTime); 0 = never
	Value   []byte
	CAS     uint64 // compare value for ModeCAS (and append/prepend when non-zero)
	// Stale (meta ms I): with ModeCAS, a CAS lower than the item's still
	// stores, as a stale item keeping the old TTL and win-token state.
	Stale bool
	// KeyBinary marks a key that meta clients sent base64-encoded.
	KeyBinary bool
	// NewCAS (meta E, with HasNewCAS) is the stored item's CAS instead of
	// the next unique.
	HasNewCAS bool
	NewCAS    uint64
	// Vivify (ms MA/MP with N): append or prepend to a missing key stores
	// the data as a new item (with Exptime).
	Vivify bool
	// Len is set by Store on Stored: the stored value's length (after an
	// append or prepend, the whole value's; meta ms s).
	Len int
}

// setCASFor gives it its CAS, the client's (meta E) when has, else the
// counter's, and returns it. A client's CAS is marked (flagCASIn): it says
// nothing of when the item was stored (isFlushed, FlushAll). Shard lock held.
func (s *Store) setCASFor(it hdr, has bool, cas uint64) uint64 {
	if has {
		if !s.clientCAS.Load() {
			s.clientCAS.Store(true)
		}
		it.setIflags(it.iflags() | flagCASIn)
	} else {
		cas = s.nextCAS()
		it.setIflags(it.iflags() &^ flagCASIn)
	}
	it.setCAS(cas)
	return cas
}

// View is what a reader sees of an item. It and its slices are valid only
// during the callback, which runs under the item's shard lock and must not
// call back into the store.
type View struct {
	Key     []byte
	Value   []byte
	Flags   uint32
	CAS     uint64
	Exptime uint32 // rel time, 0 = never
	Atime   uint32 // rel time of the last access before this one
	Fetched bool   // fetched before this access
	Class   uint8
}

func (v *View) fill(it hdr) {
	v.Key = it.key()
	v.Value = it.value()
	v.Flags = it.flags()
	v.CAS = it.cas()
	v.Exptime = it.exptime()
	v.Atime = it.atime()
	v.Fetched = it.iflags()&flagFetched != 0
	v.Class = it.cls()
}

// Get looks key up for get/gets, calling fn with the item on a hit.
func (s *Store) Get(key []byte, fn func(*View)) bool {
	return s.fetch(key, false, 0, fn)
}

// GetAndTouch is gat/gats: a get that also sets a new exptime.
func (s *Store) GetAndTouch(key []byte, exptime uint32, fn func(*View)) bool {
	return s.fetch(key, true, exptime, fn)
}

func (s *Store) fetch(key []byte, touch bool, exptime uint32, fn func(*View)) bool {
	h := Hash(key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	_, l := s.find(sh, h, key, true)
	if l == slab.Nil {
		if touch {
			sh.st.cmdTouch++
			sh.st.touchMisses++
		} else {
			sh.st.cmdGet++
			sh.st.getMisses++
		}
		sh.mu.Unlock()
		return false
	}
	it := s.hdrAt(l)
	if touch {
		sh.st.cmdTouch++
		sh.st.touchHits++
		sh.st.perClass[it.cls()].touchHits++
		it.setExptime(exptime)
	} else {
		sh.st.cmdGet++
		sh.st.getHits++
		sh.st.perClass[it.cls()].getHits++
	}
	if fn != nil {
		// The shard's scratch View: a local would escape to the heap
		// through fn on every hit.
		v := &sh.view
		v.fill(it)
		fn(v)
		*v = View{}
	}
	markHit(it)
	s.bump(l, it, s.clock.Now())
	sh.mu.Unlock()
	return true
}

// Touch sets a new exptime on an item.
func (s *Store) Touch(key []byte, exptime uint32) Result {
	h := Hash(key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdTouch++
	_, l := s.find(sh, h, key, true)
	if l == slab.Nil {
		sh.st.touchMisses++
		return NotFound
	}
	it := s.hdrAt(l)
	sh.st.touchHits++
	sh.st.perClass[it.cls()].touchHits++
	it.setExptime(exptime)
	// memcached's touch fetches with DO_UPDATE, which marks it fetched.
	markHit(it)
	s.bump(l, it, s.clock.Now())
	return Touched
}

// Delete removes key; a non-zero cas must match the item's.
func (s *Store) Delete(key []byte, cas uint64) Result {
	return s.MetaDelete(key, &MetaDeleteOptions{HasCAS: cas != 0, CAS: cas})
}

// Store runs a storage command.
func (s *Store) Store(r *Request) (Result, uint64, error) {
	if r.Mode == ModeAppend || r.Mode == ModePrepend {
		res, cas, err := s.concat(r)
		if res != NotStored || err != nil || !r.Vivify {
			return res, cas, err
		}
		// A vivifying append on a miss stores the data as a set would
		// (memcached's NREAD_APPENDVIV); on a hit the item is there.
		viv := *r
		viv.Mode = ModeAdd
		if res, cas, err = s.Store(&viv); res == NotStored && err == nil {
			return s.concat(r) // created meanwhile: append to it
		}
		r.Len = viv.Len
		return res, cas, err
	}
	h := Hash(r.Key)
	l, c, err := s.alloc(ItemSize(len(r.Key), len(r.Value)))
	if err != nil {
		s.Refuse(r.Key, err, r.Mode == ModeSet)
		return NotStored, 0, err
	}
	it := hdr(s.arena.Chunk(l, c.sc.Size))
	it.init(c.sc.ID, r.Key, r.Flags, r.Exptime, len(r.Value))
	copy(it[HeaderSize+len(r.Key):], r.Value)

	sh := s.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.perClass[c.sc.ID].cmdSet++
	slot, old := s.find(sh, h, r.Key, true)
	now := s.clock.Now()
	switch r.Mode {
	case ModeAdd:
		if old != slab.Nil {
			s.bump(old, s.hdrAt(old), now)
			s.freeBusy(l)
			return NotStored, 0, nil
		}
	case ModeReplace:
		if old == slab.Nil {
			s.freeBusy(l)
			return NotStored, 0, nil
		}
	case ModeCAS:
		if old == slab.Nil {
			sh.st.casMisses++
			s.freeBusy(l)
			return NotFound, 0, nil
		}
		oh := s.hdrAt(old)
		if oc := oh.cas(); oc != r.CAS {
			if !r.Stale || r.CAS == 0 || r.CAS > oc {
				sh.st.casBadval++
				sh.st.perClass[oh.cls()].casBadval++
				s.freeBusy(l)
				return Exists, 0, nil
			}
			// A late writer of an invalidated value: keep it, as stale.
			it.setExptime(oh.exptime())
			it.setIflags(it.iflags() | flagStale | oh.iflags()&flagTokenSent)
		}
		sh.st.casHits++
		sh.st.perClass[oh.cls()].casHits++
	}
	if r.KeyBinary {
		it.setIflags(it.iflags() | flagKeyBinary)
	}
	cas := s.setCASFor(it, r.HasNewCAS, r.NewCAS)
	if old != slab.Nil {
		s.unlinkOld(old)
	}
	s.link(sh, slot, h, l, now)
	r.Len = len(r.Value)
	return Stored, cas, nil
}

// Refuse records a storage command turned away before its data was read
// (err is ErrTooLarge or ErrNoMemory, which count in their stats, or nil
// when the store's memory is not the reason). With dropOld the key's old
// value is removed too, so that stale data does not outlive a failed update
// (memcached does so for set, and for every meta set mode).
func (s *Store) Refuse(key []byte, err error, dropOld bool) {
	switch err {
	case ErrTooLarge:
		s.global.storeTooLarge.Add(1)
	case ErrNoMemory:
		s.global.storeNoMemory.Add(1)
	}
	if !dropOld {
		return
	}
	h := Hash(key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	if slot, l := s.lookup(sh, h, key); slot >= 0 {
		s.unlink(sh, slot, l, reasonDelete)
	}
	sh.mu.Unlock()
}

// concat is append and prepend: the new item holds the old value and the
// new data, with the old item's flags and exptime.
func (s *Store) concat(r *Request) (Result, uint64, error) {
	h := Hash(r.Key)
	sh := s.shardOf(h)
	for {
		sh.mu.Lock()
		_, old := s.find(sh, h, r.Key, true)
		if old == slab.Nil {
			sh.mu.Unlock()
			return NotStored, 0, nil
		}
		oh := s.hdrAt(old)
		oldN, oldFlags := oh.nbytes(), oh.flags()
		if r.CAS != 0 && oh.cas() != r.CAS {
			// memcached compares the CAS before it allocates the
			// combined item: EXISTS even when that would be too large.
			if c := s.classFor(ItemSize(len(r.Key), oldN+len(r.Value))); c != nil {
				sh.st.perClass[c.sc.ID].cmdSet++
			}
			sh.mu.Unlock()
			return Exists, 0, nil
		}
		if !s.ItemSizeOK(len(r.Key), oldFlags, oldN+len(r.Value)) {
			// memcached cannot allocate an item past -I either.
			sh.mu.Unlock()
			return NotStored, 0, nil
		}
		sh.mu.Unlock()

		l, c, err := s.alloc(ItemSize(len(r.Key), oldN+len(r.Value)))
		if err != nil {
			// memcached answers NOT_STORED when the combined item
			// cannot be allocated, and keeps the old one.
			return NotStored, 0, nil
		}
		sh.mu.Lock()
		slot, cur := s.find(sh, h, r.Key, true)
		if cur == slab.Nil {
			sh.mu.Unlock()
			s.freeBusy(l)
			return NotStored, 0, nil
		}
		oh = s.hdrAt(cur)
		if oh.nbytes() != oldN || oh.flags() != oldFlags {
			sh.mu.Unlock()
			s.freeBusy(l)
			continue
		}
		sh.st.perClass[c.sc.ID].cmdSet++
		if r.CAS != 0 && oh.cas() != r.CAS {
			sh.mu.Unlock()
			s.freeBusy(l)
			return Exists, 0, nil
		}
		it := hdr(s.arena.Chunk(l, c.sc.Size))
		it.init(c.sc.ID, r.Key, oh.flags(), oh.exptime(), oldN+len(r.Value))
		v := it[HeaderSize+len(r.Key):]
		if r.Mode == ModeAppend {
			copy(v, oh.value())
			copy(v[oldN:], r.Value)
		} else {
			copy(v, r.Value)
			copy(v[len(r.Value):], oh.value())
		}
		cas := s.setCASFor(it, r.HasNewCAS, r.NewCAS)
		now := s.clock.Now()
		s.unlinkOld(cur)
		s.link(sh, slot, h, l, now)
		sh.mu.Unlock()
		r.Len = oldN + len(r.Value)
		return Stored, cas, nil
	}
}

// ArithRequest is incr/decr with the extras of the binary and meta
// protocols.
type ArithRequest struct {
	Key   []byte
	Incr  bool
	Delta uint64
	// CAS, when non-zero, must equal the item's CAS (else Exists).
	CAS uint64
	// Create makes a missing item holding Initial, with Exptime, and
	// returns Initial unchanged (binary incr/decr, meta ma N).
	Create  bool
	Initial uint64
	Exptime uint32
	// Touch also sets NewExptime on a hit (meta ma T).
	Touch      bool
	NewExptime uint32
	// NewCAS (meta E, with HasNewCAS) is the changed or created item's CAS
	// instead of the next unique.
	HasNewCAS bool
	NewCAS    uint64
	// Pinned lists the CAS of items the caller still references (replies
	// not yet written). memcached rewrites a value in place only when
	// nothing else holds the item, and allocates a new one otherwise.
	Pinned []uint64
}

// ArithResult is what an arithmetic command leaves.
type ArithResult struct {
	Value      uint64
	CAS        uint64
	Exptime    uint32 // after the command
	OldExptime uint32 // before it (0 for a created item)
	Created    bool
}

// Arith is incr or decr, memcached's do_add_delta, with the extras of the
// binary and meta protocols (create, CAS, TTL). The result is written in
// place, space padded, when it is no longer than the old value and no
// unwritten reply pins the item. It returns Stored on a hit, NotFound
// for a missing key (unless Create), Exists on a CAS mismatch, and
// ErrNonNumeric (also for an item memcached would keep in chunks, over
// Options.ChunkMax, whatever its digits) or ErrNoMemory.
func (s *Store) Arith(r *ArithRequest, out *ArithResult) (Result, error) {
	key := r.Key
	h := Hash(key)
	sh := s.shardOf(h)
	var spare slab.Loc = slab.Nil
	defer func() {
		if spare != slab.Nil {
			s.freeBusy(spare)
		}
	}()
	*out = ArithResult{}
	for {
		sh.mu.Lock()
		slot, l := s.find(sh, h, key, true)
		if l == slab.Nil {
			if !r.Create {
				// A miss that creates the item is not counted, as in
				// memcached (binary incr with initial value, meta ma N).
				if r.Incr {
					sh.st.incrMisses++
				} else {
					sh.st.decrMisses++
				}
				sh.mu.Unlock()
				return NotFound, nil
			}
			var buf [20]byte
			digits := appendUint(buf[:0], r.Initial)
			if spare == slab.Nil {
				sh.mu.Unlock()
				if spare = s.allocNumber(key); spare == slab.Nil {
					return NotStored, ErrNoMemory
				}
				continue
			}
			nit := s.fillSpare(spare, key, 0, r.Exptime, digits)
			out.CAS = s.setCASFor(nit, r.HasNewCAS, r.NewCAS)
			s.link(sh, -1, h, spare, s.clock.Now())
			spare = slab.Nil
			sh.mu.Unlock()
			out.Value, out.Exptime, out.Created = r.Initial, r.Exptime, true
			return Stored, nil
		}
		// memcached's do_add_delta order: an empty value or one it keeps
		// in chunks (larger than slab_chunk_max) is non-numeric, then the
		// CAS is compared, then the number parsed.
		it := s.hdrAt(l)
		if it.nbytes() == 0 || s.memcachedSize(it.nkey(), it.flags(), it.nbytes()) > s.opts.ChunkMax {
			sh.mu.Unlock()
			return NotStored, ErrNonNumeric
		}
		if r.CAS != 0 && it.cas() != r.CAS {
			sh.mu.Unlock()
			return Exists, nil
		}
		val, ok := ParseUint64Value(it.value())
		if !ok {
			sh.mu.Unlock()
			return NotStored, ErrNonNumeric
		}
		if r.Incr {
			val += r.Delta
		} else if r.Delta > val {
			val = 0
		} else {
			val -= r.Delta
		}
		var buf [20]byte
		digits := appendUint(buf[:0], val)
		exptime := it.exptime()
		out.OldExptime = exptime
		if r.Touch {
			exptime = r.NewExptime
		}
		out.Value, out.Exptime = val, exptime
		if len(digits) <= it.nbytes() && !pinned(r.Pinned, it.cas()) {
			v := it.value()
			copy(v, digits)
			for i := len(digits); i < len(v); i++ {
				v[i] = ' '
			}
			out.CAS = s.setCASFor(it, r.HasNewCAS, r.NewCAS)
			it.setExptime(exptime)
			s.countArith(sh, it.cls(), r.Incr)
			s.bump(l, it, s.clock.Now())
			sh.mu.Unlock()
			return Stored, nil
		}
		if spare == slab.Nil {
			sh.mu.Unlock()
			if spare = s.allocNumber(key); spare == slab.Nil {
				return NotStored, ErrNoMemory
			}
			continue
		}
		// memcached applies ma's T to the item do_add_delta hands back,
		// which is the old one when the number outgrew it: the new item
		// keeps the old TTL.
		nit := s.fillSpare(spare, key, it.flags(), out.OldExptime, digits)
		out.CAS = s.setCASFor(nit, r.HasNewCAS, r.NewCAS)
		s.countArith(sh, it.cls(), r.Incr)
		s.unlinkOld(l)
		s.link(sh, slot, h, spare, s.clock.Now())
		spare = slab.Nil
		sh.mu.Unlock()
		return Stored, nil
	}
}

func pinned(list []uint64, cas uint64) bool {
	for _, c := range list {
		if c == cas {
			return true
		}
	}
	return false
}

// allocNumber allocates a chunk that holds key with any 64-bit decimal
// value (no shard lock held), or returns slab.Nil when memory is full.
func (s *Store) allocNumber(key []byte) slab.Loc {
	l, _, err := s.alloc(ItemSize(len(key), 20))
	if err != nil {
		return slab.Nil
	}
	return l
}

// fillSpare writes a new item holding value into a busy chunk.
func (s *Store) fillSpare(l slab.Loc, key []byte, flags, exptime uint32, value []byte) hdr {
	c := s.classes[hdr(s.arena.Chunk(l, HeaderSize)).cls()]
	it := hdr(s.arena.Chunk(l, c.sc.Size))
	it.init(c.sc.ID, key, flags, exptime, len(value))
	copy(it.value(), value)
	return it
}

func (s *Store) countArith(sh *shard, cls uint8, incr bool) {
	if incr {
		sh.st.incrHits++
		sh.st.perClass[cls].incrHits++
	} else {
		sh.st.decrHits++
		sh.st.perClass[cls].decrHits++
	}
}

// FlushAll invalidates every item now, or at a future exptime (same rules as
// an item's exptime), as memcached's flush_all.
func (s *Store) FlushAll(exptime int64) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.global.cmdFlush.Add(1)
	now := s.clock.Now()
	newOldest := now
	if exptime > 0 {
		newOldest = s.clock.RelTime(exptime)
	}
	if s.opts.NoCAS {
		s.oldestLive.Store(newOldest)
	} else {
		ol := newOldest - 1
		if ol <= now {
			s.oldestCAS.Store(s.casSeq.Add(1))
		}
		s.oldestLive.Store(ol)
		if ol <= now && s.clientCAS.Load() {
			// An item with a client's CAS touched since ol cannot be
			// placed before or after this flush lazily: free them now, as
			// memcached 1.6.45 frees every item of the flush's second.
			s.sweep(func(it hdr, _ uint32) bool {
				return it.iflags()&flagCASIn != 0 && it.atime() >= ol
			}, reasonDelete)
		}
	}
	if s.autoCrawlOff.Load() {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// CountFlush counts a flush_all that was refused (-F).
func (s *Store) CountFlush() { s.global.cmdFlush.Add(1) }

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ParseUint64Value parses a stored value as memcached's safe_strtoull does
// on item data (which is followed by CRLF): optional leading whitespace and
// sign, decimal digits, then whitespace or the end. A negative number is
// refused unless it wraps to a value below 2^63.
func ParseUint64Value(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		d := uint64(b[i] - '0')
		if v > (^uint64(0)-d)/10 {
			overflow = true
		}
		v = v*10 + d
		i++
	}
	if i == start || overflow {
		return 0, false
	}
	// What follows the digits: end of value means CRLF in memcached.
	if i < len(b) && !isSpace(b[i]) && b[i] != 0 {
		return 0, false
	}
	if neg {
		v = -v
		if int64(v) < 0 {
			return 0, false
		}
	}
	return v, true
}
