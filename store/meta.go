package store

import "github.com/gocached/gocached/slab"

// Item is an item held under its shard lock while a meta command's callback
// runs. It must not be used after the callback returns, and the callback
// must not call back into the store.
type Item struct {
	s  *Store
	it hdr
}

// Key is the item's key as stored.
func (i *Item) Key() []byte { return i.it.key() }

// Value is the item's value.
func (i *Item) Value() []byte { return i.it.value() }

// Flags are the client flags.
func (i *Item) Flags() uint32 { return i.it.flags() }

// CAS is the item's CAS unique.
func (i *Item) CAS() uint64 { return i.it.cas() }

// Exptime is the rel time the item expires at, 0 = never.
func (i *Item) Exptime() uint32 { return i.it.exptime() }

// Atime is the rel time of the last store or counted access before this one.
func (i *Item) Atime() uint32 { return i.it.atime() }

// Fetched reports whether the item was read before this access.
func (i *Item) Fetched() bool { return i.it.iflags()&flagFetched != 0 }

// KeyBinary reports a key that was stored base64-encoded by a meta client.
func (i *Item) KeyBinary() bool { return i.it.iflags()&flagKeyBinary != 0 }

// MemcachedSize is the size memcached would account for this item
// (ITEM_ntotal). `me` reports it so that replies match memcached's.
func (i *Item) MemcachedSize() int {
	return i.s.memcachedSize(i.it.nkey(), i.it.flags(), i.it.nbytes())
}

// MemcachedClass is the slab class memcached would keep an item of
// MemcachedSize in, with the same -n and -f.
func (i *Item) MemcachedClass() int {
	return i.s.memcachedClassFor(i.MemcachedSize())
}

// MemcachedClassOf is the class memcached would keep an item of a key of
// nkey bytes, flags and a value of nbytes in (watch's clsid=).
func (s *Store) MemcachedClassOf(nkey int, flags uint32, nbytes int) int {
	return s.memcachedClassFor(s.memcachedSize(nkey, flags, nbytes))
}

func (s *Store) memcachedClassFor(n int) int {
	sizes := s.mcSizes
	for id, sz := range sizes {
		if sz >= n {
			return id + 1
		}
	}
	return len(sizes)
}

// memcachedSizes is memcached's slab class table for -n and -f: the first
// class holds its 48-byte header plus -n, up to half a megabyte.
func memcachedSizes(minChunk int, factor float64) []int {
	sizes := slab.Sizes(48+minChunk, factor, 1<<20)
	return sizes[:len(sizes)-1] // memcached has no whole-page class
}

// MetaGetOptions are what a meta get asks of the item beyond reading it.
type MetaGetOptions struct {
	Vivify       bool // N: create an empty item on a miss; the creator wins the recache token
	SetVivifyTTL bool // a created item expires at VivifyTTL
	VivifyTTL    uint32
	NoBump       bool // u: neither mark fetched nor bump in the LRU
	SetTTL       bool // T: set the TTL to TTL
	TTL          uint32
	// TTLAfterVivify: T was given after N, so T's TTL is a created item's.
	TTLAfterVivify bool
	Recache        bool   // R: win the token when the TTL left is below...
	RecacheBelow   uint32 // ...this store time
	// TTLBeforeRecache: T was given before R, so R compares T's TTL.
	TTLBeforeRecache bool
	// ReplyFailed: the reply fails (mg's too-long opaque). memcached then
	// hands out no token, neither marks the item fetched nor bumps it, and
	// counts no get or touch.
	ReplyFailed bool
	// NewCAS (E, with HasNewCAS) is a created item's CAS instead of the
	// next unique.
	HasNewCAS bool
	NewCAS    uint64
}

// MetaGetResult is what a meta get decided, memcached's rules for
// stale-while-revalidate and early recache.
type MetaGetResult struct {
	Created    bool   // made by this command (N on a miss)
	Won        bool   // this reader holds the recache token (W)
	TokenSent  bool   // a token had been handed out before (Z)
	Stale      bool   // invalidated by meta delete, or stored stale (X)
	OldExptime uint32 // the item's expiry before this command's T or N
}

// MetaGet is the meta get command's access. On a hit, or on a miss with
// Vivify (a new empty item), it applies the options under the item's
// lock, decides who wins the recache token, marks the token handed out,
// and calls fn with the item and the outcome; then, unless NoBump, the
// item is marked fetched and bumped. It reports whether fn ran. fn must
// not call back into the store.
func (s *Store) MetaGet(key []byte, o *MetaGetOptions, fn func(*Item, *MetaGetResult)) bool {
	h := Hash(key)
	sh := s.shardOf(h)
	spare := slab.Nil
	for {
		sh.mu.Lock()
		_, l := s.find(sh, h, key, true)
		created := false
		if l == slab.Nil {
			if !o.Vivify {
				sh.st.cmdGet++
				sh.st.getMisses++
				sh.mu.Unlock()
				return false
			}
			if spare == slab.Nil {
				sh.mu.Unlock()
				var err error
				if spare, _, err = s.alloc(ItemSize(len(key), 0)); err != nil {
					sh.mu.Lock()
					sh.st.cmdGet++
					sh.st.getMisses++
					sh.mu.Unlock()
					return false
				}
				continue
			}
			nit := s.fillSpare(spare, key, 0, 0, nil)
			s.setCASFor(nit, o.HasNewCAS, o.NewCAS)
			s.link(sh, -1, h, spare, s.clock.Now())
			l, spare, created = spare, slab.Nil, true
		}
		it := s.hdrAt(l)
		res := &sh.metaRes
		*res = metaGetDecide(it, o, created)
		// The shard's scratch Item: a local would escape through fn.
		ref := &sh.item
		*ref = Item{s: s, it: it}
		fn(ref, res)
		*ref = Item{}
		switch {
		case o.ReplyFailed:
		case o.SetTTL:
			sh.st.cmdTouch++
			sh.st.touchHits++
			sh.st.perClass[it.cls()].touchHits++
		default:
			sh.st.cmdGet++
			sh.st.getHits++
			sh.st.perClass[it.cls()].getHits++
		}
		if !o.NoBump && !o.ReplyFailed {
			markHit(it)
			s.bump(l, it, s.clock.Now())
		}
		sh.mu.Unlock()
		if spare != slab.Nil {
			s.freeBusy(spare)
		}
		return true
	}
}

// metaGetDecide applies a meta get's T and N to it and decides the
// recache token, as memcached's process_mget_command: N's creator wins;
// R wins when no token was handed out and the TTL (T's, when T came
// first) is set and below R; a stale item's first reader wins. The winner
// marks the token handed out.
func metaGetDecide(it hdr, o *MetaGetOptions, created bool) MetaGetResult {
	r := MetaGetResult{Created: created, OldExptime: it.exptime()}
	r.TokenSent = it.iflags()&flagTokenSent != 0
	r.Stale = it.iflags()&flagStale != 0
	vivified := created && o.Vivify
	nTTL := vivified && o.SetVivifyTTL
	switch {
	case o.SetTTL && nTTL && !o.TTLAfterVivify:
		it.setExptime(o.VivifyTTL)
	case o.SetTTL:
		it.setExptime(o.TTL)
	case nTTL:
		it.setExptime(o.VivifyTTL)
	}
	if o.Recache && !r.TokenSent && !created {
		exp := r.OldExptime
		if o.SetTTL && o.TTLBeforeRecache {
			exp = o.TTL
		}
		if exp != 0 && exp < o.RecacheBelow {
			r.Won = true
		}
	}
	if vivified || (r.Stale && !r.TokenSent) {
		r.Won = true
	}
	if r.Won && !o.ReplyFailed {
		it.setIflags(it.iflags() | flagTokenSent)
	}
	return r
}

// Peek runs fn on an item without bumping it or counting a get (meta
// `me`). It reports whether the key was found.
func (s *Store) Peek(key []byte, fn func(*Item)) bool {
	h := Hash(key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, l := s.find(sh, h, key, true)
	if l == slab.Nil {
		return false
	}
	ref := &sh.item
	*ref = Item{s: s, it: s.hdrAt(l)}
	fn(ref)
	*ref = Item{}
	return true
}

// MetaDeleteOptions shape a meta delete.
type MetaDeleteOptions struct {
	HasCAS     bool // the item's CAS must equal CAS (else Exists)
	CAS        uint64
	Invalidate bool // mark stale with a new CAS instead of removing
	SetExptime bool // with Invalidate: also set Exptime
	Exptime    uint32
	// MissOnExists counts a CAS mismatch as a delete miss, as memcached's
	// md does (its binary delete does not).
	MissOnExists bool
	// RemoveValue (md x) keeps the item with an empty value, Flags and
	// Exptime (0: none) instead of removing it; with Invalidate it is
	// then marked stale.
	RemoveValue bool
	Flags       uint32
	// NewCAS (E, with HasNewCAS) is the item's CAS after x or I instead of
	// the old one (x) or the next unique (I).
	HasNewCAS bool
	NewCAS    uint64
}

// MetaDelete removes key, or with Invalidate marks it stale so the next
// reader wins the right to recache it. It returns Deleted, NotFound or
// Exists.
func (s *Store) MetaDelete(key []byte, o *MetaDeleteOptions) Result {
	spare := slab.Nil
	if o.RemoveValue {
		// The tombstone's memory, taken before the lock (taking it may
		// evict, which locks shards); given back when unused.
		var err error
		if spare, _, err = s.alloc(ItemSize(len(key), 0)); err != nil {
			return NotStored
		}
		defer func() {
			if spare != slab.Nil {
				s.freeBusy(spare)
			}
		}()
	}
	h := Hash(key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	slot, l := s.find(sh, h, key, true)
	if l == slab.Nil {
		sh.st.deleteMisses++
		return NotFound
	}
	it := s.hdrAt(l)
	if o.HasCAS && it.cas() != o.CAS {
		if o.MissOnExists {
			sh.st.deleteMisses++
		}
		return Exists
	}
	if o.RemoveValue {
		it = s.emptyValue(sh, slot, l, it, spare, o)
		spare = slab.Nil
	}
	if o.Invalidate {
		if o.SetExptime {
			it.setExptime(o.Exptime)
		}
		it.setIflags(it.iflags()&^flagTokenSent | flagStale)
		s.setCASFor(it, o.HasNewCAS, o.NewCAS)
		return Deleted
	}
	if o.RemoveValue {
		sh.st.deleteHits++
		sh.st.perClass[it.cls()].deleteHits++
		return Deleted
	}
	sh.st.deleteHits++
	sh.st.perClass[it.cls()].deleteHits++
	s.unlink(sh, slot, l, reasonDelete)
	return Deleted
}

// emptyValue replaces the item at slot (l, it) with one of the same key and
// an empty value in spare, md x's tombstone: o's flags and exptime (with T,
// else none), the client's CAS (E) or the old item's. It returns the new
// item. The shard is locked.
func (s *Store) emptyValue(sh *shard, slot int, l slab.Loc, it hdr, spare slab.Loc, o *MetaDeleteOptions) hdr {
	key := it.key()
	exp := uint32(0)
	if o.SetExptime {
		exp = o.Exptime
	}
	nit := s.fillSpare(spare, key, o.Flags, exp, nil)
	nit.setIflags(nit.iflags() | it.iflags()&(flagKeyBinary|flagCASIn))
	if o.HasNewCAS {
		s.setCASFor(nit, true, o.NewCAS)
	} else {
		nit.setCAS(it.cas())
	}
	h := Hash(key)
	s.unlinkOld(l)
	s.link(sh, slot, h, spare, s.clock.Now())
	return nit
}
