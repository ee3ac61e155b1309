package store

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// harness runs operations on a store and a model side by side.
type harness struct {
	t       testing.TB
	ts      *testStore
	m       *model
	keys    []string // every key the sequence uses
	lossy   bool     // small memory: the store may lose items the model holds
	shared  bool     // other goroutines use the store too: no global counters
	bg      bool     // not the test's goroutine: report with Errorf and Goexit
	replay  string   // how to run the sequence again
	step    int
	recent  [16]modelOp
	lastCAS uint64
	lost    int // small memory: misses explained by evictions
	noMem   int // small memory: out of memory answers
}

func newHarness(t testing.TB, ts *testStore, keys []string, lossy bool, replay string) *harness {
	return &harness{t: t, ts: ts, m: newModel(ts.clock.Now()), keys: keys, lossy: lossy, replay: replay}
}

func (h *harness) failf(format string, args ...any) {
	h.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s; operation %d: ", h.replay, h.step)
	fmt.Fprintf(&b, format, args...)
	b.WriteString("\nthe last operations:")
	for i := max(0, h.step-len(h.recent)); i < h.step; i++ {
		fmt.Fprintf(&b, "\n  %4d %s", i+1, h.recent[i%len(h.recent)])
	}
	if h.bg {
		h.t.Errorf("%s", b.String())
		runtime.Goexit()
	}
	h.t.Fatalf("%s", b.String())
}

func (h *harness) nowUnix() int64 { return h.ts.clock.Now().Unix() }

// losses counts the items the store let go for memory (evicted, or dead
// and reclaimed), and the allocations it could not make.
func losses(s *Store) (lost, oom uint64) {
	for _, c := range s.classes[1:] {
		c.mu.Lock()
		lost += c.st.evicted + c.st.reclaimed
		oom += c.st.outOfMemory
		c.mu.Unlock()
	}
	return lost, oom
}

func (h *harness) do(o *modelOp) {
	h.t.Helper()
	h.recent[h.step%len(h.recent)] = *o
	h.step++
	switch o.kind {
	case opAdvance:
		h.ts.advance(o.secs)
		h.m.now = uint32(h.nowUnix() - h.m.started)
	case opFlush:
		e := o.clientExptime(h.nowUnix())
		h.ts.FlushAll(e)
		h.m.flush(e)
	default:
		h.keyOp(o)
	}
	if !h.shared && !h.lossy && h.step%256 == 0 {
		h.checkCounters()
	}
}

func (h *harness) pickCAS(p casPick, cur *entry) uint64 {
	switch p {
	case casRight:
		if cur != nil {
			return cur.cas
		}
		return h.lastCAS
	case casStale:
		if cur == nil {
			return 1
		}
		if cur.cas > 1 {
			return cur.cas - 1
		}
		return cur.cas + 1
	case casFuture:
		return h.lastCAS + 1 + uint64(h.step%7)
	}
	return 0
}

// run sends o to the store.
func (h *harness) run(o *modelOp, cas uint64, exptime int64) outcome {
	s := h.ts.Store
	key := []byte(o.key)
	var got outcome
	var badKey []byte
	view := func(v *View) {
		if string(v.Key) != o.key {
			badKey = append([]byte{}, v.Key...)
		}
		got = outcome{hit: true, val: append([]byte{}, v.Value...), flags: v.Flags, exp: v.Exptime, cas: v.CAS}
	}
	var hit bool
	switch o.kind {
	case opSet, opAdd, opReplace, opAppend, opPrepend, opCAS:
		got.res, got.cas, got.err = s.Store(&Request{Mode: storeModes[o.kind], Key: key, Value: o.val, Flags: o.flags, Exptime: s.RelTime(exptime), CAS: cas})
	case opIncr, opDecr:
		var out ArithResult
		got.res, got.err = s.Arith(&ArithRequest{Key: key, Incr: o.kind == opIncr, Delta: o.delta, CAS: cas}, &out)
		got.num, got.cas, got.exp = out.Value, out.CAS, out.Exptime
	case opDelete:
		got.res = s.Delete(key, cas)
	case opTouch:
		got.res = s.Touch(key, s.RelTime(exptime))
	case opGet:
		hit = s.Get(key, view)
	case opGAT:
		hit = s.GetAndTouch(key, s.RelTime(exptime), view)
	}
	if badKey != nil {
		h.failf("%s saw the item of key %q", o, badKey)
	}
	if (o.kind == opGet || o.kind == opGAT) && hit != got.hit {
		h.failf("%s returned %v but the callback ran: %v", o, hit, got.hit)
	}
	return got
}

// keyOp runs a command on one key in the store and the model.
func (h *harness) keyOp(o *modelOp) {
	h.t.Helper()
	cur := h.m.items[o.key]
	cas := h.pickCAS(o.cas, cur)
	if o.kind == opCAS && o.cas == casZero {
		cas = 0
	}
	exptime := o.clientExptime(h.nowUnix())
	var lostBefore, oomBefore uint64
	if h.lossy {
		lostBefore, oomBefore = losses(h.ts.Store)
	}
	st := h.m.expect(o, cur, cas, exptime)
	got := h.run(o, cas, exptime)
	d := diff(o.kind, &got, &st.want)
	if d == "" {
		h.commit(o, &st, &got, lostBefore)
		return
	}
	if h.lossy && h.explain(o, cur, cas, exptime, &got, lostBefore, oomBefore) {
		return
	}
	h.failf("%s (cas sent %d): %s\n  got  %s\n  want %s", o, cas, d, &got, &st.want)
}

// commit makes the model's prediction its state.
func (h *harness) commit(o *modelOp, st *step, got *outcome, lostBefore uint64) {
	h.t.Helper()
	key := o.key
	if st.wrote {
		if got.cas <= h.lastCAS {
			h.failf("%s: CAS %d, not above the last one issued (%d)", o, got.cas, h.lastCAS)
		}
		h.lastCAS = got.cas
		st.next.cas = got.cas
		h.m.seq++
		st.next.seq = h.m.seq
	}
	if st.next == nil {
		delete(h.m.items, key)
	} else {
		if st.wrote || st.seen {
			st.next.lossMark = lostBefore
		}
		h.m.items[key] = st.next
	}
	for i, n := range st.d {
		h.m.n[i] += n
	}
}

// explain accepts a small-memory answer that differs from the model's when
// memory explains it: the key's item was evicted or reclaimed (counted)
// since the store last showed it, or an allocation failed (counted).
func (h *harness) explain(o *modelOp, cur *entry, cas uint64, exptime int64, got *outcome, lostBefore, oomBefore uint64) bool {
	h.t.Helper()
	lost, oom := losses(h.ts.Store)
	if got.err == ErrNoMemory {
		if oom == oomBefore {
			h.failf("%s: out of memory, but no allocation failure was counted", o)
		}
		h.noMem++
		if o.kind == opSet && cur != nil {
			// A failed set drops the old value.
			delete(h.m.items, o.key)
		}
		return true
	}
	if (o.kind == opAppend || o.kind == opPrepend) && got.res == NotStored && got.err == nil && oom > oomBefore && cur != nil {
		// The new item could not be allocated: NOT_STORED, and the old
		// one is kept, unless it was the one evicted meanwhile.
		h.noMem++
		probe := modelOp{kind: opGet, key: o.key}
		h.keyOp(&probe)
		return true
	}
	if cur == nil {
		return false
	}
	st := h.m.expect(o, nil, cas, exptime)
	if diff(o.kind, got, &st.want) != "" {
		return false
	}
	if lost <= cur.lossMark {
		h.failf("%s: %s, as if %q were gone, but nothing was evicted or reclaimed since the store last had it (count %d)",
			o, got, short(o.key), lost)
	}
	h.lost++
	h.commit(o, &st, got, lostBefore)
	return true
}

// checkCounters compares the store's counters and item count with the
// model's (exact mode only).
func (h *harness) checkCounters() {
	h.t.Helper()
	st := h.ts.Stats()
	if got := countersOf(&st); got != h.m.n {
		var b strings.Builder
		for i := range got {
			if got[i] != h.m.n[i] {
				fmt.Fprintf(&b, " %s %d (want %d)", counterNames[i], got[i], h.m.n[i])
			}
		}
		h.failf("counters differ:%s", b.String())
	}
	if st.CurrItems != int64(len(h.m.items)) {
		h.failf("curr_items %d, the model holds %d items", st.CurrItems, len(h.m.items))
	}
	if st.Evictions != 0 || st.Reclaimed != 0 {
		h.failf("evictions %d reclaimed %d with plenty of memory", st.Evictions, st.Reclaimed)
	}
}

// finish compares counters (exact mode) and then every key of the sequence.
func (h *harness) finish() {
	h.t.Helper()
	if !h.shared && !h.lossy {
		h.checkCounters()
	}
	for _, k := range h.keys {
		h.keyOp(&modelOp{kind: opGet, key: k})
	}
	if !h.shared && !h.lossy {
		h.checkCounters()
	}
	if h.lossy {
		if lost, _ := losses(h.ts.Store); uint64(h.lost) > lost {
			h.failf("%d items missed, only %d evicted or reclaimed", h.lost, lost)
		}
	}
}
