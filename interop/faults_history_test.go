//go:build interop

package interop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
)

// The writers of TestClientFaults and the rule their histories are held to.

type opKind uint8

const (
	opSet opKind = iota
	opGet
	opDelete
)

type opOutcome uint8

const (
	outOK      opOutcome = iota // set stored, delete done (or the key was not there)
	outMiss                     // get: not found
	outValue                    // get: a value this writer stored for this key (got)
	outForeign                  // get: anything else (raw)
	outFailed                   // the call returned an error (err, on node)
)

// faultOp is one call of one writer.
type faultOp struct {
	start, end time.Duration // since the test's t0
	kind       opKind
	key        int // the writer's key index
	seq        int // the writer's call counter; a set stores faultValue(w, key, seq)
	outcome    opOutcome
	got        int    // outValue: the seq of the value read
	raw        string // outForeign: the value read
	node       int    // outFailed: the node the error names, -1 for none
	err        error  // outFailed
}

func (op faultOp) String() string {
	kind := [...]string{"set", "get", "delete"}[op.kind]
	return fmt.Sprintf("%s k%d #%d [%v, %v]", kind, op.key, op.seq, op.start, op.end)
}

func faultKey(w, k int) string { return "faults:w" + strconv.Itoa(w) + ":k" + strconv.Itoa(k) }

// faultValue is what writer w stores at its call seq for key k: the key,
// the writer and the sequence number, padded to a length that varies.
func faultValue(w, k, seq int) string {
	v := faultKey(w, k) + "|w" + strconv.Itoa(w) + "|s" + strconv.Itoa(seq) + "|"
	return v + strings.Repeat("x", seq%61)
}

// parseFaultValue returns the seq of a value writer w stored for key k, or
// false when v is not one.
func parseFaultValue(w, k int, v string) (int, bool) {
	f := strings.SplitN(v, "|", 4)
	if len(f) != 4 || len(f[2]) < 2 {
		return 0, false
	}
	seq, err := strconv.Atoi(f[2][1:])
	if err != nil || seq < 0 || faultValue(w, k, seq) != v {
		return 0, false
	}
	return seq, true
}

// runFaultWriter is one writer: set (40%), get (45%) or delete (15%) of a
// random one of its keys, until stop, faultMaxLoad or faultMaxOps.
func runFaultWriter(ctx context.Context, c *gcclient.Client, w int, rng *rand.Rand, nodeIndex map[string]int,
	since func() time.Duration, stop *atomic.Bool, recheck *timeoutRecheck) []faultOp {
	ops := make([]faultOp, 0, 16_000)
	end := since() + faultMaxLoad
	for seq := 0; seq < faultMaxOps && !stop.Load() && since() < end; seq++ {
		op := faultOp{key: rng.IntN(faultKeys), seq: seq}
		key := faultKey(w, op.key)
		var err error
		switch r := rng.IntN(100); {
		case r < 40:
			op.kind = opSet
			op.start = since()
			err = c.Set(ctx, &gcclient.Item{Key: key, Value: []byte(faultValue(w, op.key, seq))})
		case r < 85:
			op.kind = opGet
			op.start = since()
			var it *gcclient.Item
			if it, err = c.Get(ctx, key); err == nil {
				if got, ok := parseFaultValue(w, op.key, string(it.Value)); ok {
					op.outcome, op.got = outValue, got
				} else {
					op.outcome, op.raw = outForeign, string(it.Value)
				}
			} else if errors.Is(err, gcclient.ErrCacheMiss) {
				op.outcome, err = outMiss, nil
			}
		default:
			op.kind = opDelete
			op.start = since()
			if err = c.Delete(ctx, key); errors.Is(err, gcclient.ErrCacheMiss) {
				err = nil
			}
		}
		op.end = since()
		if err != nil {
			op.outcome, op.err, op.node = outFailed, err, -1
			var ne *gcclient.NodeError
			if errors.As(err, &ne) {
				if i, ok := nodeIndex[ne.Addr]; ok {
					op.node = i
				}
				if isTimeoutErr(err) {
					recheck.check(w, seq, ne.Addr)
				}
			}
		}
		ops = append(ops, op)
		time.Sleep(faultPace)
	}
	return ops
}

// ---------------------------------------------------------------------------
// What a read may return.

// checkFaultHistory checks every read of writer w against its own calls,
// key by key, in call order (one writer per key, so they are sequential).
//
// The rule. Let L be the last set or delete of the key before the get that
// returned success ("acknowledged"; none at first, meaning a miss), and W
// the window from L's start to the get's end.
//
//  1. Always: a value read is one this writer stored for this key (its
//     bytes are exactly faultValue(w, key, s) for a set s of this key
//     issued before the get, acknowledged or not). A value of another key
//     or writer, or one never issued, is a failure, fault or not.
//  2. Exactly L's result (L's value; a miss after a delete or before any
//     write) unless W is disturbed. W is disturbed when
//     - the ring changed during W (a node ejected or readmitted, as the
//     ring monitor saw it): with ketama failover the key may have been
//     read from another node than L wrote to. In particular a node
//     readmitted after RetryTimeout serves whatever it held for the key
//     when it was ejected: an older value, or a value the writer has
//     deleted since (on the node that stood in for it), as memcached
//     clients do (libmemcached and twemproxy alike; neither flushes a
//     rejoining server). A restarted node serves misses;
//     - or a set or delete of the key failed less than faultSettle before
//     L started (or after it), counting a failure during a fault as ending
//     when the fault was undone: a request that timed out may have been
//     applied anyway, and on a stopped server it is applied only when the
//     server continues, possibly after L on another connection.
//     A disturbed read may return a miss or any value of rule 1, but
//     nothing else.
func checkFaultHistory(w int, ops []faultOp, events []ringEvent, phases []*faultPhase) (bad []string, st readStats) {
	keys := make([]faultKeyState, faultKeys)
	for i := range keys {
		keys[i].sets = map[int]bool{}
	}
	for _, op := range ops {
		ks := &keys[op.key]
		switch op.kind {
		case opSet, opDelete:
			if op.kind == opSet {
				ks.sets[op.seq] = true // issued: it may be on some server even if it failed
			}
			if op.outcome == outFailed {
				ks.taint = max(ks.taint, taintEnd(op, phases))
			} else {
				ks.last = &op
			}
			continue
		}
		switch op.outcome {
		case outFailed:
			continue
		case outForeign:
			bad = append(bad, fmt.Sprintf("writer %d: %s read %q, not a value it wrote for %s",
				w, op, op.raw, faultKey(w, op.key)))
			continue
		case outValue:
			if !ks.sets[op.got] {
				bad = append(bad, fmt.Sprintf("writer %d: %s read the value of #%d, which it never set for this key", w, op, op.got))
				continue
			}
		}
		exact, value := ks.expect(op)
		disturbed := ks.disturbed(op, events)
		switch {
		case !disturbed:
			st.clean++
			if !exact {
				bad = append(bad, fmt.Sprintf("writer %d: %s read %s, last acknowledged %s, with no ring change or failed write in between",
					w, op, op.result(), ks.lastString()))
			}
		case exact:
		case value && op.outcome == outMiss:
			st.lostMiss++
		default:
			st.stale++
		}
	}
	return bad, st
}

// readStats counts the reads whose window was not disturbed (they must be
// exact), and the disturbed ones that read a miss instead of the last
// acknowledged value or another value than the last acknowledged one.
type readStats struct{ clean, lostMiss, stale int }

// TestClientFaultsRule checks checkFaultHistory's rule on made-up
// histories of one writer and one key (no servers).
func TestClientFaultsRule(t *testing.T) {
	ms := time.Millisecond
	set := func(seq int, at time.Duration, failed bool) faultOp {
		op := faultOp{kind: opSet, seq: seq, start: at, end: at + ms}
		if failed {
			op.outcome = outFailed
		}
		return op
	}
	del := func(seq int, at time.Duration) faultOp {
		return faultOp{kind: opDelete, seq: seq, start: at, end: at + ms}
	}
	get := func(seq int, at time.Duration, got int) faultOp {
		op := faultOp{kind: opGet, seq: seq, start: at, end: at + ms, outcome: outValue, got: got}
		if got < 0 {
			op.outcome = outMiss
		}
		return op
	}
	ring := []ringEvent{{node: 0, ejected: true, after: 500 * ms, at: 501 * ms}}
	phase := []*faultPhase{{name: "p", fault: 1000 * ms, heal: 3000 * ms, end: 4000 * ms}}
	for _, tc := range []struct {
		name   string
		ops    []faultOp
		events []ringEvent
		ok     bool
	}{
		{"miss before any write", []faultOp{get(0, 0, -1)}, nil, true},
		{"exact", []faultOp{set(0, 0, false), get(1, 10*ms, 0)}, nil, true},
		{"older value, ring unchanged", []faultOp{set(0, 0, false), set(1, 10*ms, false), get(2, 20*ms, 0)}, nil, false},
		{"older value after a ring change", []faultOp{set(0, 0, false), set(1, 400*ms, false), get(2, 600*ms, 0)}, ring, true},
		{"ring change before the last write", []faultOp{set(0, 0, false), set(1, 600*ms, false), get(2, 700*ms, 0)}, ring, false},
		{"miss of an acknowledged value", []faultOp{set(0, 0, false), get(1, 10*ms, -1)}, nil, false},
		{"deleted value, ring unchanged", []faultOp{set(0, 0, false), del(1, 10*ms), get(2, 20*ms, 0)}, nil, false},
		{"deleted value after a ring change", []faultOp{set(0, 0, false), del(1, 400*ms), get(2, 600*ms, 0)}, ring, true},
		{"never set", []faultOp{set(0, 0, false), get(1, 600*ms, 1)}, ring, false},
		{"future value", []faultOp{get(0, 600*ms, 1), set(1, 700*ms, false)}, ring, false},
		{"failed set read", []faultOp{set(0, 0, false), set(1, 10*ms, true), get(2, 20*ms, 1)}, nil, true},
		{"failed set read after its retry", []faultOp{set(0, 0, false), set(1, 10*ms, true), set(2, 20*ms, false), get(3, 30*ms, 1)}, nil, true},
		{"failed set read long after", []faultOp{set(0, 0, false), set(1, 10*ms, true), set(2, faultSettle+20*ms, false), get(3, faultSettle+30*ms, 1)}, nil, false},
		{"failed during a fault, read before its settle", []faultOp{set(0, 900*ms, false), set(1, 1100*ms, true), set(2, 3000*ms+faultSettle-10*ms, false), get(3, 3000*ms+faultSettle, 1)}, nil, true},
		{"failed during a fault, read after its settle", []faultOp{set(0, 900*ms, false), set(1, 1100*ms, true), set(2, 3000*ms+faultSettle+10*ms, false), get(3, 3000*ms+faultSettle+20*ms, 1)}, nil, false},
		{"foreign value", []faultOp{set(0, 0, false), {kind: opGet, seq: 1, start: 600 * ms, end: 601 * ms, outcome: outForeign, raw: faultValue(1, 0, 0)}}, ring, false},
	} {
		bad, _ := checkFaultHistory(0, tc.ops, tc.events, phase)
		if (len(bad) == 0) != tc.ok {
			t.Errorf("%s: violations %q, want ok=%v", tc.name, bad, tc.ok)
		}
	}

	out := func(node int, from, to time.Duration) []ringEvent {
		return []ringEvent{{node: node, ejected: true, after: from, at: from + ms}, {node: node, after: to - ms, at: to}}
	}
	two := append(out(0, 100*ms, 700*ms), out(1, 300*ms, 900*ms)...)
	three := append(slices.Clone(two), ringEvent{node: 2, ejected: true, after: 600 * ms, at: 601 * ms})
	for _, tc := range []struct {
		events   []ringEvent
		from, to time.Duration
		want     bool
	}{
		{two, 0, time.Second, false},       // node 2 never out
		{three, 650 * ms, 660 * ms, true},  // all out then
		{three, 0, 590 * ms, false},        // before node 2 left
		{three, 710 * ms, 800 * ms, false}, // node 0 back (readmitted by 700ms)
		{three, 695 * ms, 710 * ms, true},  // node 0's readmission maybe not yet
		{three, 2 * time.Second, 3 * time.Second, false},
	} {
		if got := allOut(tc.events, 3, tc.from, tc.to); got != tc.want {
			t.Errorf("allOut over [%v, %v]: %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

type faultKeyState struct {
	last  *faultOp     // last acknowledged set or delete
	sets  map[int]bool // seqs of the sets issued
	taint time.Duration
}

// expect reports whether get op read exactly the result of the last
// acknowledged write, and whether that result is a value (else a miss).
func (ks *faultKeyState) expect(op faultOp) (exact, value bool) {
	if ks.last == nil || ks.last.kind == opDelete {
		return op.outcome == outMiss, false
	}
	return op.outcome == outValue && op.got == ks.last.seq, true
}

// disturbed reports whether get op's window is disturbed (rule 2).
func (ks *faultKeyState) disturbed(op faultOp, events []ringEvent) bool {
	from := time.Duration(0)
	if ks.last != nil {
		from = ks.last.start
	}
	if from < ks.taint {
		return true
	}
	for _, e := range events {
		if e.after <= op.end && e.at >= from {
			return true
		}
	}
	return false
}

func (ks *faultKeyState) lastString() string {
	if ks.last == nil {
		return "nothing"
	}
	return ks.last.String()
}

func (op faultOp) result() string {
	switch op.outcome {
	case outMiss:
		return "a miss"
	case outValue:
		return "#" + strconv.Itoa(op.got)
	}
	return "?"
}

// taintEnd is when a failed write may have taken effect at the latest.
func taintEnd(op faultOp, phases []*faultPhase) time.Duration {
	end := op.end
	for _, ph := range phases {
		if op.start >= ph.fault && op.start <= ph.heal {
			end = max(end, ph.heal)
		}
	}
	return end + faultSettle
}

// ---------------------------------------------------------------------------
// The faults and the ring.

// faultPhase is one fault on one node and what the ring did.
type faultPhase struct {
	name           string
	node           int
	fault          time.Duration // the fault injected
	heal           time.Duration // undoing the fault began
	healed         time.Duration // the fault undone (a restarted server accepts)
	end            time.Duration // the load ran on the full ring again for a while
	eject, readmit *ringEvent
}

// phaseOf returns the phase during which node was faulty at time at.
func phaseOf(phases []*faultPhase, node int, at time.Duration) *faultPhase {
	for _, ph := range phases {
		if ph.node == node && at >= ph.fault && (ph.end == 0 || at <= ph.end) {
			return ph
		}
	}
	return nil
}
