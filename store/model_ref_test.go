package store

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"
)

// Sizes the model knows of: memcached's, and the store's own largest chunk.
const (
	// storeMaxChunk is the largest item the store can hold (HeaderSize, key
	// and value): one page with the default -I. The protocol layers refuse
	// bigger values before they reach the store.
	storeMaxChunk = 1 << 20
	// mcItemMax is memcached's default -I, which an appended or prepended
	// item must fit as memcached counts its size (mcItemSize).
	mcItemMax = 1 << 20
	// mcChunkMax is memcached's slab_chunk_max: an item larger than this is
	// chunked, and memcached refuses incr/decr on chunked items as
	// non-numeric, whatever -I is.
	mcChunkMax = 512 << 10
)

// mcItemSize is memcached's ITEM_ntotal with CAS on: the 48-byte header, the
// CAS, the key and its NUL, 4 bytes of non-zero flags, the value and CRLF.
func mcItemSize(nkey int, flags uint32, nbytes int) int {
	n := 48 + 8 + nkey + 1 + nbytes + 2
	if flags != 0 {
		n += 4
	}
	return n
}

// entry is what the model holds for a key: an item still in the store,
// though maybe expired or flushed (memcached frees those lazily, and a later
// flush_all can make a flushed item visible again, as it does in memcached
// without its crawler).
type entry struct {
	val      []byte
	flags    uint32
	exp      uint32 // rel time it expires, 0 = never
	at       uint32 // rel time of the write
	seq      uint64 // write order, for flush_all's CAS cut
	cas      uint64 // what the store issued
	lossMark uint64 // small-memory mode: evictions+reclaims when last seen in the store
}

// The counters the model keeps, as named in Stats.
const (
	cGetHits = iota
	cGetMisses
	cGetExpired
	cGetFlushed
	cTouchHits
	cTouchMisses
	cDeleteHits
	cDeleteMisses
	cIncrHits
	cIncrMisses
	cDecrHits
	cDecrMisses
	cCasHits
	cCasMisses
	cCasBadval
	cStoreTooLarge
	cCmdFlush
	numCounters
)

var counterNames = [numCounters]string{"get_hits", "get_misses", "get_expired", "get_flushed", "touch_hits", "touch_misses",
	"delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses",
	"cas_badval", "store_too_large", "cmd_flush"}

type counters [numCounters]uint64

func countersOf(st *Stats) counters {
	return counters{st.GetHits, st.GetMisses, st.GetExpired, st.GetFlushed, st.TouchHits, st.TouchMisses,
		st.DeleteHits, st.DeleteMisses, st.IncrHits, st.IncrMisses, st.DecrHits, st.DecrMisses, st.CasHits, st.CasMisses,
		st.CasBadval, st.StoreTooLarge, st.CmdFlush}
}

// model is the reference: memcached's semantics, written from its rules
// rather than from the store's code.
type model struct {
	items   map[string]*entry
	started int64  // unix second of rel time 0 (memcached's process_started)
	now     uint32 // rel time
	ol      uint32 // flush_all: oldest_live (0 = none)
	oc      uint64 // flush_all: the write order cut (oldest_cas)
	seq     uint64
	n       counters
}

func newModel(start time.Time) *model {
	started := start.Unix() - relStart
	return &model{items: map[string]*entry{}, started: started, now: uint32(start.Unix() - started)}
}

// rel is memcached's realtime(): a client exptime as rel time.
func (m *model) rel(exptime int64) uint32 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return 1 // long ago
	case exptime > 30*24*3600: // a unix time
		if exptime <= m.started {
			return 1
		}
		return uint32(exptime - m.started)
	}
	return uint32(exptime) + m.now
}

// dead reports an item that memcached no longer returns, and whether
// flush_all (rather than its exptime) made it so.
func (m *model) dead(e *entry) (dead, flushed bool) {
	if e.exp != 0 && e.exp <= m.now {
		return true, false
	}
	if m.ol != 0 && m.ol <= m.now && (e.at <= m.ol || (m.oc != 0 && e.seq < m.oc)) {
		return true, true
	}
	return false, false
}

// flush is flush_all: every item written up to the flush time (now, or
// the delay's end) dies when that time comes; the last flush_all's cut is
// the one that holds.
func (m *model) flush(exptime int64) {
	m.n[cCmdFlush]++
	oldest := m.now
	if exptime > 0 {
		oldest = m.rel(exptime)
	}
	m.ol = oldest - 1
	if m.ol <= m.now {
		m.seq++
		m.oc = m.seq
	}
}

// parseNumber is memcached's safe_strtoull on an item's data (which is
// followed by CRLF there): strtoull's leading space and sign, then digits
// that must not overflow, ending in a space or NUL; a negative number is
// refused when it does not wrap to below 2^63.
func parseNumber(v []byte) (uint64, bool) {
	s := append(slices.Clip(v), '\r', '\n', 0) // the NUL ends every scan
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	i := 0
	for isSpace(s[i]) {
		i++
	}
	neg := s[i] == '-'
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	start := i
	var n uint64
	overflow := false
	for ; s[i] >= '0' && s[i] <= '9'; i++ {
		hi, lo := bits.Mul64(n, 10)
		sum, carry := bits.Add64(lo, uint64(s[i]-'0'), 0)
		overflow = overflow || hi != 0 || carry != 0
		n = sum
	}
	if i == start || overflow || !(isSpace(s[i]) || s[i] == 0) {
		return 0, false
	}
	if neg {
		n = -n
		if int64(n) < 0 {
			return 0, false
		}
	}
	return n, true
}

// outcome is what a command answered.
type outcome struct {
	res   Result
	err   error
	hit   bool // get, gat: found
	val   []byte
	flags uint32
	exp   uint32 // rel time, as the store reports it
	cas   uint64 // a hit's CAS, or the CAS a write issued
	num   uint64 // incr/decr
}

func (o *outcome) String() string {
	s := fmt.Sprintf("%s err %v", resultName(o.res), o.err)
	if o.hit {
		s += fmt.Sprintf(" hit value=%q flags=%d exp=%d cas=%d", short(string(o.val)), o.flags, o.exp, o.cas)
	}
	if !o.hit && o.res == Stored {
		s += fmt.Sprintf(" num=%d exp=%d cas=%d", o.num, o.exp, o.cas)
	}
	return s
}

var resultNames = [...]string{Stored: "Stored", NotStored: "NotStored", Exists: "Exists", NotFound: "NotFound", Deleted: "Deleted", Touched: "Touched"}

func resultName(r Result) string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(" + itoa(int(r)) + ")"
}

// diff says how got differs from want, or "".
func diff(kind opKind, got, want *outcome) string {
	if got.res != want.res || got.err != want.err {
		return fmt.Sprintf("%s (%v), want %s (%v)", resultName(got.res), got.err, resultName(want.res), want.err)
	}
	if got.hit != want.hit {
		return fmt.Sprintf("hit %v, want %v", got.hit, want.hit)
	}
	if want.hit {
		switch {
		case !bytes.Equal(got.val, want.val):
			return fmt.Sprintf("value %q, want %q", short(string(got.val)), short(string(want.val)))
		case got.flags != want.flags:
			return fmt.Sprintf("flags %d, want %d", got.flags, want.flags)
		case got.exp != want.exp:
			return fmt.Sprintf("exptime %d, want %d", got.exp, want.exp)
		case got.cas != want.cas:
			return fmt.Sprintf("cas %d, want %d", got.cas, want.cas)
		}
	}
	if (kind == opIncr || kind == opDecr) && want.res == Stored && want.err == nil && (got.num != want.num || got.exp != want.exp) {
		return fmt.Sprintf("value %d exptime %d, want %d %d", got.num, got.exp, want.num, want.exp)
	}
	return ""
}

// step is what the model predicts of one key operation.
type step struct {
	want  outcome
	next  *entry // what the key holds after it (nil: nothing)
	wrote bool   // a new item, with a new CAS
	seen  bool   // the store found the key alive
	d     counters
}

// expect predicts operation o on a key whose item is cur (nil if the store
// holds none), sent with this CAS and client exptime.
func (m *model) expect(o *modelOp, cur *entry, cas uint64, exptime int64) step {
	var st step
	switch o.kind {
	case opSet, opAdd, opReplace, opCAS:
		// Refused before the key is looked up; a set drops the old value.
		if HeaderSize+len(o.key)+len(o.val) > storeMaxChunk {
			st.want = outcome{res: NotStored, err: ErrTooLarge}
			st.d[cStoreTooLarge]++
			if o.kind != opSet {
				st.next = cur
			}
			return st
		}
	}
	live := cur
	if cur != nil {
		if dead, flushed := m.dead(cur); dead {
			live = nil
			if flushed {
				st.d[cGetFlushed]++
			} else {
				st.d[cGetExpired]++
			}
		}
	}
	st.next = live
	stored := func(e *entry) {
		e.at = m.now
		st.next, st.wrote = e, true
		st.want.res = Stored
	}
	switch o.kind {
	case opSet, opAdd, opReplace, opCAS:
		switch {
		case o.kind == opAdd && live != nil, o.kind == opReplace && live == nil:
			st.want.res = NotStored
		case o.kind == opCAS && live == nil:
			st.want.res = NotFound
			st.d[cCasMisses]++
		case o.kind == opCAS && live.cas != cas:
			st.want.res = Exists
			st.d[cCasBadval]++
		default:
			if o.kind == opCAS {
				st.d[cCasHits]++
			}
			stored(&entry{val: o.val, flags: o.flags, exp: m.rel(exptime)})
		}
	case opAppend, opPrepend:
		// memcached compares the CAS before it allocates the new item.
		switch {
		case live == nil:
			st.want.res = NotStored
		case cas != 0 && live.cas != cas:
			st.want.res = Exists
		case mcItemSize(len(o.key), live.flags, len(live.val)+len(o.val)) > mcItemMax:
			st.want.res = NotStored
		default:
			v := make([]byte, 0, len(live.val)+len(o.val))
			if o.kind == opAppend {
				v = append(append(v, live.val...), o.val...)
			} else {
				v = append(append(v, o.val...), live.val...)
			}
			stored(&entry{val: v, flags: live.flags, exp: live.exp})
		}
	case opIncr, opDecr:
		hits, misses := cIncrHits, cIncrMisses
		if o.kind == opDecr {
			hits, misses = cDecrHits, cDecrMisses
		}
		if live == nil {
			st.want.res = NotFound
			st.d[misses]++
			break
		}
		// memcached's do_add_delta: empty and chunked items are not
		// numbers, then the CAS is compared, then the value parsed.
		if len(live.val) == 0 || mcItemSize(len(o.key), live.flags, len(live.val)) > mcChunkMax {
			st.want = outcome{res: NotStored, err: ErrNonNumeric}
			break
		}
		if cas != 0 && live.cas != cas {
			st.want.res = Exists
			break
		}
		n, ok := parseNumber(live.val)
		if !ok {
			st.want = outcome{res: NotStored, err: ErrNonNumeric}
			break
		}
		switch {
		case o.kind == opIncr:
			n += o.delta // wraps at 2^64
		case o.delta > n:
			n = 0
		default:
			n -= o.delta
		}
		st.d[hits]++
		v := strconv.AppendUint(nil, n, 10)
		at := m.now
		if len(v) <= len(live.val) {
			// Rewritten in place, space padded to the old length.
			v = append(v, bytes.Repeat([]byte(" "), len(live.val)-len(v))...)
			at = live.at
		}
		stored(&entry{val: v, flags: live.flags, exp: live.exp})
		st.next.at = at
		st.want.num, st.want.exp = n, live.exp
	case opDelete:
		switch {
		case live == nil:
			st.want.res = NotFound
			st.d[cDeleteMisses]++
		case cas != 0 && live.cas != cas:
			st.want.res = Exists
		default:
			st.want.res = Deleted
			st.d[cDeleteHits]++
			st.next = nil
		}
	case opTouch, opGAT:
		if live == nil {
			st.want.res = NotFound
			st.d[cTouchMisses]++
			break
		}
		st.d[cTouchHits]++
		e := *live
		e.exp = m.rel(exptime)
		st.next = &e
		st.want.res = Touched
		if o.kind == opGAT {
			st.want = outcome{hit: true, val: e.val, flags: e.flags, exp: e.exp, cas: e.cas}
		}
	case opGet:
		if live == nil {
			st.d[cGetMisses]++
			break
		}
		st.d[cGetHits]++
		st.want = outcome{hit: true, val: live.val, flags: live.flags, exp: live.exp, cas: live.cas}
	}
	if o.kind == opGet || o.kind == opGAT {
		st.want.res = 0 // reads have no result code
	}
	// Every answer but append's NOT_STORED shows whether the key was
	// there (it gives NOT_STORED to a missing key and a too large result).
	st.seen = live != nil && !((o.kind == opAppend || o.kind == opPrepend) && st.want.res == NotStored)
	return st
}
