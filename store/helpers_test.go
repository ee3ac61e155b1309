package store

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// testStart is the fake clock's start: a fixed unix time, so that absolute
// exptimes in tests are exact.
var testStart = time.Unix(1_700_000_000, 0)

// fakeClock is a time source the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testStore is a store on a fake clock with the background goroutines off.
type testStore struct {
	*Store
	t     testing.TB
	clock *fakeClock
}

// newTestStore builds a store for a test. Unset options get small test
// defaults: 8 MB of memory, background goroutines off, a fake clock.
func newTestStore(t testing.TB, o Options) *testStore {
	t.Helper()
	fc := &fakeClock{t: testStart}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = 8 << 20
	}
	if o.CrawlInterval == 0 {
		o.CrawlInterval = -1
	}
	if o.Now == nil {
		o.Now = fc.Now
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &testStore{Store: s, t: t, clock: fc}
}

// advance moves the fake clock on by sec seconds and lets the store see it.
func (ts *testStore) advance(sec int) {
	ts.clock.Add(time.Duration(sec) * time.Second)
	ts.Tick()
}

// store runs a storage command with a client exptime (converted as the
// protocol layer does).
func (ts *testStore) store(mode Mode, key, val string, flags uint32, exptime int64, cas uint64) (Result, uint64, error) {
	return ts.Store.Store(&Request{Mode: mode, Key: []byte(key), Value: []byte(val), Flags: flags, Exptime: ts.RelTime(exptime), CAS: cas})
}

// set stores key and fails the test unless it is stored; it returns the CAS.
func (ts *testStore) set(key, val string) uint64 {
	ts.t.Helper()
	return ts.setX(key, val, 0, 0)
}

func (ts *testStore) setX(key, val string, flags uint32, exptime int64) uint64 {
	ts.t.Helper()
	res, cas, err := ts.store(ModeSet, key, val, flags, exptime, 0)
	if err != nil || res != Stored {
		ts.t.Fatalf("set %q: %v, %v", key, res, err)
	}
	return cas
}

// item is a copy of what Get saw.
type item struct {
	val     string
	flags   uint32
	cas     uint64
	exptime uint32
	fetched bool
	class   uint8
}

func (ts *testStore) get(key string) (item, bool) {
	var it item
	ok := ts.Get([]byte(key), func(v *View) {
		if string(v.Key) != key {
			ts.t.Errorf("Get(%q) saw key %q", key, v.Key)
		}
		it = item{val: string(v.Value), flags: v.Flags, cas: v.CAS, exptime: v.Exptime, fetched: v.Fetched, class: v.Class}
	})
	return it, ok
}

// mustGet fails the test unless key holds val.
func (ts *testStore) mustGet(key, val string) item {
	ts.t.Helper()
	it, ok := ts.get(key)
	if !ok {
		ts.t.Fatalf("get %q: miss, want %q", key, short(val))
	}
	if it.val != val {
		ts.t.Fatalf("get %q = %q, want %q", key, short(it.val), short(val))
	}
	return it
}

func (ts *testStore) mustMiss(key string) {
	ts.t.Helper()
	if it, ok := ts.get(key); ok {
		ts.t.Fatalf("get %q = %q, want a miss", key, short(it.val))
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:20] + "..." + s[len(s)-10:] + " (" + itoa(len(s)) + " bytes)"
	}
	return s
}

func itoa(n int) string { return string(appendUint(nil, uint64(n))) }

func repeat(c string, n int) string { return strings.Repeat(c, n) }

// arith is incr (incr=true) or decr of delta, nothing else asked.
func arith(s *Store, key []byte, incr bool, delta uint64) (uint64, Result, error) {
	r := ArithRequest{Key: key, Incr: incr, Delta: delta}
	var out ArithResult
	res, err := s.Arith(&r, &out)
	return out.Value, res, err
}
