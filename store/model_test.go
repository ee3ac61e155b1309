package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Model-based tests: random operation sequences run against the store and
// against a reference model of memcached's semantics (a map of key to value,
// flags, CAS order and exptime, with memcached's lazy expiry and flush_all
// rules on a clock the test moves), comparing every result. FuzzStoreOps
// (fuzz_test.go) drives the same model from fuzz bytes.
//
//	model_ref_test.go      the model: memcached's rules for each command
//	model_harness_test.go  runs each operation on the store and the model and compares
//	model_ops_test.go      operations, and their generation from a seed or fuzz bytes
//
// A failure prints the seed and the operations that led to it;
// STORE_MODEL_SEED=<seed> replays a sequence and STORE_MODEL_N=<n> sets its
// length.

// modelRun reads the seed and length of a sequence from the environment,
// or picks a new seed.
func modelRun(t *testing.T, n int) (uint64, int, string) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("STORE_MODEL_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("STORE_MODEL_SEED=%q: %v", v, err)
		}
		seed = s
	}
	if v := os.Getenv("STORE_MODEL_N"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			t.Fatalf("STORE_MODEL_N=%q: not a count", v)
		}
		n = k
	}
	run := "^" + strings.ReplaceAll(t.Name(), "/", "$/^") + "$"
	replay := fmt.Sprintf("seed %d (replay: STORE_MODEL_SEED=%d STORE_MODEL_N=%d go test -run '%s' ./store/)", seed, seed, n, run)
	t.Log(replay)
	return seed, n, replay
}

// TestStoreModel runs random sequences against the model: with plenty of
// memory every answer must be the model's; with a tiny memory the store may
// lose items (it must have counted an eviction or reclaim since it last had
// the key), but never return anything but the last value written.
func TestStoreModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lossy bool
		opts  Options
		nkeys int
		hot   int
		n     int // operations; fewer under the race detector, where page moves are slow
		raceN int
		// noFirstPages: no class page past the limit (slab.Arena), so
		// that pages keep moving between classes.
		noFirstPages bool
	}{
		{name: "exact", opts: Options{MemoryLimit: 256 << 20}, nkeys: 12, n: 5000, raceN: 5000},
		// Memory for one or two pages per class: items leave the LRU one by one.
		{name: "small memory", lossy: true, opts: Options{MemoryLimit: 6 << 20, GrowthFactor: 2}, nkeys: 300, hot: 16, n: 4000, raceN: 4000},
		// Fewer pages than classes in use: pages keep moving between classes.
		{name: "tiny memory", lossy: true, opts: Options{MemoryLimit: 2 << 20}, nkeys: 100, hot: 16, n: 3000, raceN: 800, noFirstPages: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if raceEnabled {
				n = tc.raceN
			}
			seed, n, replay := modelRun(t, n)
			ts := newTestStore(t, tc.opts)
			if tc.noFirstPages {
				ts.arena.SetClasses(0)
			}
			p := &profile{keys: modelKeys("", tc.nkeys), hot: tc.hot, global: true, large: tc.lossy}
			h := newHarness(t, ts, p.keys, tc.lossy, replay)
			src := rngSource{rand.New(rand.NewPCG(seed, uint64(len(tc.name))))}
			for i := 0; i < n; i++ {
				o := genOp(src, p)
				h.do(&o)
				if i%1000 == 999 {
					checkInvariants(t, ts.Store)
				}
			}
			h.finish()
			checkInvariants(t, ts.Store)
			st := ts.Stats()
			t.Logf("%d operations; get hits %d misses %d, items %d, evictions %d, reclaimed %d, slabs moved %d; misses from evictions %d, out of memory %d",
				n, st.GetHits, st.GetMisses, st.CurrItems, st.Evictions, st.Reclaimed, st.SlabsMoved, h.lost, h.noMem)
			if tc.lossy && n >= 500 && (st.Evictions == 0 || h.lost == 0) {
				t.Errorf("%s: evictions %d, misses from evictions %d: the sequence did not run out of memory", replay, st.Evictions, h.lost)
			}
		})
	}
}

// TestStoreModelConcurrent runs a model sequence in each of several
// goroutines, on disjoint keys of one store, while others hammer shared keys
// and check only that what they read was written for that key.
func TestStoreModelConcurrent(t *testing.T) {
	n := 1500
	if raceEnabled {
		n = 1000
	}
	seed, n, replay := modelRun(t, n)
	ts := newTestStore(t, Options{MemoryLimit: 256 << 20, Shards: 16, HashPower: 6})
	const workers, hammers = 4, 2
	shared := modelKeys("shared-", 6)
	tc := &tokenCheck{seqs: make([]atomic.Uint64, hammers)}

	hs := make([]*harness, workers)
	var wg sync.WaitGroup
	for g := range hs {
		p := &profile{keys: modelKeys("g"+itoa(g)+"-", 8)}
		h := newHarness(t, ts, p.keys, false, fmt.Sprintf("%s, goroutine %d", replay, g))
		h.shared, h.bg = true, true
		hs[g] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := rngSource{rand.New(rand.NewPCG(seed, uint64(g)))}
			for i := 0; i < n; i++ {
				o := genOp(src, p)
				h.do(&o)
			}
		}()
	}
	var stop atomic.Bool
	var hwg sync.WaitGroup
	var hammered atomic.Int64
	for w := 0; w < hammers; w++ {
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			hammered.Add(int64(hammer(t, ts, w, hammers, shared, tc, seed, &stop)))
		}()
	}
	wg.Wait()
	stop.Store(true)
	hwg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, h := range hs {
		h.bg = false
		h.finish()
	}
	checkInvariants(t, ts.Store)
	t.Logf("%d model operations in each of %d goroutines, %d on shared keys", n, workers, hammered.Load())
}

// hammer runs storage commands and reads on shared keys until stop (or a
// bound), checking that every value read is made of tokens some writer
// wrote for that key, with that writer's flags. It returns its count.
func hammer(t *testing.T, ts *testStore, w, writers int, keys []string, tc *tokenCheck, seed uint64, stop *atomic.Bool) int {
	rng := rand.New(rand.NewPCG(seed, 1000+uint64(w)))
	var buf []byte
	for i := 0; i < 50000; i++ {
		if stop.Load() {
			return i
		}
		key := keys[rng.IntN(len(keys))]
		tok := appendToken(nil, key, w, tc.seqs[w].Add(1))
		var bad string
		var cas uint64
		check := func(v *View) {
			cas = v.CAS
			if bad = tc.check(key, v.Value); bad == "" && v.Flags >= uint32(writers) {
				bad = fmt.Sprintf("flags %d, no writer's", v.Flags)
			}
		}
		req := &Request{Key: []byte(key), Value: tok, Flags: uint32(w)}
		switch op := rng.IntN(12); op {
		case 0, 1, 2, 3, 4, 5:
			req.Mode = []Mode{ModeSet, ModeSet, ModeAdd, ModeReplace, ModeAppend, ModePrepend}[op]
			if op < 4 {
				buf = buf[:0]
				for n := []int{1, 10, 200, 3000}[rng.IntN(4)]; len(buf) < n; {
					buf = append(buf, tok...)
				}
				req.Value = buf
			}
			if _, _, err := ts.Store.Store(req); err != nil {
				t.Errorf("hammer %d: %v %q: %v", w, req.Mode, key, err)
				return i
			}
		case 6:
			if ts.Get(req.Key, check) && bad == "" {
				req.Mode, req.CAS = ModeCAS, cas
				if _, _, err := ts.Store.Store(req); err != nil {
					t.Errorf("hammer %d: cas %q: %v", w, key, err)
					return i
				}
			}
		case 7:
			ts.Delete(req.Key, 0)
		case 8:
			ts.Touch(req.Key, ts.RelTime(int64(rng.IntN(100))))
		case 9:
			ts.GetAndTouch(req.Key, 0, check)
		default:
			ts.Get(req.Key, check)
		}
		if bad != "" {
			t.Errorf("hammer %d: read of %q: %s", w, key, bad)
			return i
		}
	}
	return 50000
}
