package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Values of text keys are sequences of tokens "<key>:<writer>:<seq>;" so a
// reader can tell that every byte it sees was written for that key by some
// writer (sets repeat one token, append/prepend add one). Numeric keys only
// ever hold numbers.

type tokenCheck struct {
	seqs []atomic.Uint64 // highest sequence number each writer has issued
}

func appendToken(b []byte, key string, w int, seq uint64) []byte {
	b = append(b, key...)
	b = append(b, ':')
	b = appendUint(b, uint64(w))
	b = append(b, ':')
	b = appendUint(b, seq)
	return append(b, ';')
}

// check returns why v is not a value some writer wrote for key, or "".
func (tc *tokenCheck) check(key string, v []byte) string {
	if len(v) == 0 {
		return "empty value"
	}
	for len(v) > 0 {
		end := bytes.IndexByte(v, ';')
		if end < 0 {
			return fmt.Sprintf("truncated token %q", short(string(v)))
		}
		tok := v[:end]
		v = v[end+1:]
		if len(tok) < len(key)+4 || string(tok[:len(key)]) != key || tok[len(key)] != ':' {
			return fmt.Sprintf("token %q is not for key %q", tok, key)
		}
		rest := tok[len(key)+1:]
		colon := bytes.IndexByte(rest, ':')
		if colon < 0 {
			return fmt.Sprintf("malformed token %q", tok)
		}
		w, ok1 := ParseUint64Value(rest[:colon])
		seq, ok2 := ParseUint64Value(rest[colon+1:])
		if !ok1 || !ok2 || w >= uint64(len(tc.seqs)) {
			return fmt.Sprintf("malformed token %q", tok)
		}
		if seq > tc.seqs[w].Load() {
			return fmt.Sprintf("token %q from the future (writer %d is at %d)", tok, w, tc.seqs[w].Load())
		}
	}
	return ""
}

type stressConfig struct {
	workers  int
	duration time.Duration
	opts     Options
	// noFirstPages: no class page past the limit (slab.Arena.SetClasses(0)),
	// so that classes that come late take pages from the others: page
	// rescue and moves run under the workers.
	noFirstPages bool
}

func runStress(t *testing.T, cfg stressConfig, maintain func(ts *testStore, rng *rand.Rand)) *testStore {
	ts := newTestStore(t, cfg.opts)
	if cfg.noFirstPages {
		ts.arena.SetClasses(0)
	}
	const textKeys, numKeys = 96, 16
	text := make([]string, textKeys)
	for i := range text {
		text[i] = "t" + itoa(i)
	}
	nums := make([]string, numKeys)
	for i := range nums {
		nums[i] = "n" + itoa(i)
	}
	sizes := []int{1, 5, 60, 400, 3000, 20000, 90000}
	tc := &tokenCheck{seqs: make([]atomic.Uint64, cfg.workers)}

	var failures atomic.Int32
	var failMu sync.Mutex
	var failMsgs []string
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			failMu.Lock()
			failMsgs = append(failMsgs, fmt.Sprintf(format, args...))
			failMu.Unlock()
		}
	}

	var stop atomic.Bool
	var ops, noMem atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < cfg.workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var buf, tok []byte
			var seen []byte
			var seenKey string
			var bad string
			check := func(v *View) {
				if string(v.Key) != seenKey {
					bad = fmt.Sprintf("got key %q", v.Key)
					return
				}
				seen = append(seen[:0], v.Value...)
			}
			var casSeen uint64
			casOf := func(v *View) { casSeen = v.CAS }
			n := 0
			for ; !stop.Load(); n++ {
				if rng.IntN(4) == 0 {
					key := nums[rng.IntN(numKeys)]
					switch rng.IntN(6) {
					case 0:
						res, _, err := ts.Store.Store(&Request{Mode: ModeSet, Key: []byte(key), Value: appendUint(buf[:0], rng.Uint64()>>rng.IntN(64))})
						if err == ErrNoMemory {
							noMem.Add(1)
						} else if err != nil || res != Stored {
							fail("set %s: %v %v", key, res, err)
						}
					case 1, 2, 3:
						_, res, err := arith(ts.Store, []byte(key), rng.IntN(2) == 0, rng.Uint64()>>rng.IntN(64))
						if errors.Is(err, ErrNonNumeric) {
							fail("incr %s: %v", key, err)
						} else if err == ErrNoMemory {
							noMem.Add(1)
						} else if err == nil && res != Stored && res != NotFound {
							fail("incr %s: %v", key, res)
						}
					default:
						seenKey, bad = key, ""
						if ts.Get([]byte(key), check) {
							if bad != "" {
								fail("get %s: %s", key, bad)
							} else if _, ok := ParseUint64Value(seen); !ok {
								fail("get %s: non-numeric %q", key, seen)
							}
						}
					}
					continue
				}
				key := text[rng.IntN(textKeys)]
				seq := tc.seqs[w].Add(1)
				tok = appendToken(tok[:0], key, w, seq)
				op := rng.IntN(20)
				switch {
				case op < 5: // set, add, replace, with an occasional short TTL
					size := sizes[rng.IntN(len(sizes))]
					buf = buf[:0]
					for len(buf) < size {
						buf = append(buf, tok...)
					}
					mode := []Mode{ModeSet, ModeSet, ModeSet, ModeAdd, ModeReplace}[op]
					var exp uint32
					if rng.IntN(8) == 0 {
						exp = ts.RelTime(int64(1 + rng.IntN(3)))
					}
					res, _, err := ts.Store.Store(&Request{Mode: mode, Key: []byte(key), Value: buf, Flags: uint32(w), Exptime: exp})
					if err == ErrNoMemory {
						noMem.Add(1)
					} else if err != nil || (mode == ModeSet && res != Stored) {
						fail("store %d %s: %v %v", mode, key, res, err)
					}
				case op < 8: // append / prepend
					mode := ModeAppend
					if op == 7 {
						mode = ModePrepend
					}
					if _, _, err := ts.Store.Store(&Request{Mode: mode, Key: []byte(key), Value: tok}); err != nil {
						fail("append %s: %v", key, err)
					}
				case op < 9: // cas on what we saw
					casSeen = 0
					if ts.Get([]byte(key), casOf) {
						res, _, err := ts.Store.Store(&Request{Mode: ModeCAS, Key: []byte(key), Value: tok, CAS: casSeen})
						if err == ErrNoMemory {
							noMem.Add(1)
						} else if err != nil || (res != Stored && res != Exists && res != NotFound) {
							fail("cas %s: %v %v", key, res, err)
						}
					}
				case op < 10:
					ts.Delete([]byte(key), 0)
				case op < 11:
					ts.Touch([]byte(key), ts.RelTime(int64(rng.IntN(5))))
				case op < 12:
					seenKey, bad = key, ""
					if ts.GetAndTouch([]byte(key), 0, check) {
						if bad == "" {
							bad = tc.check(key, seen)
						}
						if bad != "" {
							fail("gat %s: %s", key, bad)
						}
					}
				default:
					seenKey, bad = key, ""
					if ts.Get([]byte(key), check) {
						if bad == "" {
							bad = tc.check(key, seen)
						}
						if bad != "" {
							fail("get %s: %s", key, bad)
						}
					}
				}
			}
			ops.Add(int64(n))
		}(w)
	}

	// The maintenance goroutine plays the clock, the crawler and the mover.
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		rng := rand.New(rand.NewPCG(7, 7))
		for !stop.Load() {
			time.Sleep(2 * time.Millisecond)
			maintain(ts, rng)
		}
	}()

	// A watchdog turns a deadlock into a failure with every stack.
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(cfg.duration + 20*time.Second):
			buf := make([]byte, 1<<20)
			panic("stress test deadlocked:\n" + string(buf[:runtime.Stack(buf, true)]))
		}
	}()
	time.Sleep(cfg.duration)
	stop.Store(true)
	wg.Wait()
	mwg.Wait()
	ts.wg.Wait() // background page moves started by Reassign
	close(done)

	for _, m := range failMsgs {
		t.Error(m)
	}
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d failures", n)
	}
	st := ts.Stats()
	t.Logf("%d ops, %d out of memory; items %d, evictions %d, reclaimed %d, slabs moved %d, crawler reclaimed %d",
		ops.Load(), noMem.Load(), st.CurrItems, st.Evictions, st.Reclaimed, st.SlabsMoved, st.CrawlerReclaimed)
	if ops.Load() < 1000 {
		t.Fatalf("only %d ops ran", ops.Load())
	}
	return ts
}

func stressDuration() time.Duration {
	if testing.Short() {
		return 500 * time.Millisecond
	}
	return 2 * time.Second
}

// Many goroutines on overlapping keys with a tiny memory limit, so eviction,
// reclaim, page rescue and page moves run under them; then the store must
// be consistent.
func TestConcurrentMixed(t *testing.T) {
	ts := runStress(t, stressConfig{
		workers:      8,
		duration:     stressDuration(),
		opts:         Options{MemoryLimit: 4 << 20, Shards: 8, HashPower: 5},
		noFirstPages: true,
	}, func(ts *testStore, rng *rand.Rand) {
		ts.advance(1)
		switch rng.IntN(10) {
		case 0:
			ts.Crawl()
		case 1:
			ts.Reassign(-1, 1+rng.IntN(len(ts.classes)-1))
		case 2:
			ts.automove()
		case 3:
			ts.SetAutomove(2 * rng.IntN(2)) // level 2 balances on every eviction
		case 4:
			ts.Stats()
		case 5:
			ts.CacheDump(1+rng.IntN(len(ts.classes)-1), 100, func([]byte, int, int64) bool { return true })
		}
	})
	st := ts.Stats()
	if st.Evictions == 0 || st.SlabsMoved == 0 {
		t.Errorf("evictions %d, slabs moved %d: the test did not stress memory", st.Evictions, st.SlabsMoved)
	}
	checkInvariants(t, ts.Store)
	ts.FlushAll(0)
	ts.Crawl()
	if st := ts.Stats(); st.CurrItems != 0 {
		t.Fatalf("curr_items %d after flush_all and a crawl", st.CurrItems)
	}
	checkInvariants(t, ts.Store)
}

// The same with -M: no evictions, out-of-memory errors instead, and
// expired items reclaimed.
func TestConcurrentNoEvictions(t *testing.T) {
	ts := runStress(t, stressConfig{
		workers:  6,
		duration: stressDuration() / 2,
		opts:     Options{MemoryLimit: 4 << 20, Shards: 4, HashPower: 4, NoEvictions: true},
	}, func(ts *testStore, rng *rand.Rand) {
		ts.advance(1)
		if rng.IntN(5) == 0 {
			ts.Crawl()
		}
	})
	if st := ts.Stats(); st.Evictions != 0 {
		t.Errorf("evictions %d with -M", st.Evictions)
	}
	checkInvariants(t, ts.Store)
}

// With the real background goroutines (clock, crawler, automove) running.
func TestConcurrentWithMaintainer(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 3 << 20, CrawlInterval: 5 * time.Millisecond, SlabAutomove: 1, Now: time.Now})
	var wg sync.WaitGroup
	deadline := time.Now().Add(stressDuration() / 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for i := 0; time.Now().Before(deadline); i++ {
				k := "k" + itoa(rng.IntN(500))
				v := val(k, []int{10, 1000, 50000}[rng.IntN(3)])
				if _, _, err := ts.Store.Store(&Request{Key: []byte(k), Value: []byte(v), Exptime: ts.RelTime(int64(rng.IntN(3)))}); err != nil && err != ErrNoMemory {
					t.Errorf("set: %v", err)
					return
				}
				ts.Get([]byte(k), func(v *View) {
					if string(v.Value) != val(k, len(v.Value)) {
						t.Errorf("get %s: wrong value", k)
					}
				})
				if i%100 == 0 {
					ts.KickCrawler()
				}
			}
		}(w)
	}
	wg.Wait()
	for wait := time.Now().Add(5 * time.Second); ts.Stats().CrawlerStarts == 0; {
		if time.Now().After(wait) {
			t.Fatal("the background crawler never ran")
		}
		time.Sleep(time.Millisecond)
	}
}
