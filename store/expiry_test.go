package store

import "testing"

func TestExpiry(t *testing.T) {
	start := testStart.Unix()
	tests := []struct {
		name     string
		exptime  int64 // as a client sends it
		aliveAt  int   // seconds after the set when it is still there (-1: never)
		deadAt   int   // seconds after the set when it is gone (-1: never)
		wantRel  uint32
		checkRel bool
	}{
		{name: "never", exptime: 0, aliveAt: 10 * 365 * 86400, deadAt: -1, wantRel: 0, checkRel: true},
		{name: "relative 1s", exptime: 1, aliveAt: 0, deadAt: 1},
		{name: "relative 10s", exptime: 10, aliveAt: 9, deadAt: 10},
		{name: "relative 30 days", exptime: 30 * 86400, aliveAt: 30*86400 - 1, deadAt: 30 * 86400},
		{name: "absolute unix time", exptime: start + 100, aliveAt: 99, deadAt: 100},
		{name: "absolute just past 30 days is long ago", exptime: 30*86400 + 1, aliveAt: -1, deadAt: 0, wantRel: expiredRelTime, checkRel: true},
		{name: "absolute before start", exptime: start - 100, aliveAt: -1, deadAt: 0, wantRel: expiredRelTime, checkRel: true},
		{name: "negative", exptime: -1, aliveAt: -1, deadAt: 0, wantRel: expiredRelTime, checkRel: true},
		{name: "very negative", exptime: -1 << 40, aliveAt: -1, deadAt: 0, wantRel: expiredRelTime, checkRel: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestStore(t, Options{})
			if tc.checkRel {
				if got := ts.RelTime(tc.exptime); got != tc.wantRel {
					t.Fatalf("RelTime(%d) = %d, want %d", tc.exptime, got, tc.wantRel)
				}
			}
			// A set with an exptime in the past is stored (STORED) but
			// invisible.
			ts.setX("k", "v", 0, tc.exptime)
			if tc.aliveAt >= 0 {
				ts.advance(tc.aliveAt)
				ts.mustGet("k", "v")
				ts.advance(-tc.aliveAt)
			}
			if tc.deadAt >= 0 {
				ts.advance(tc.deadAt)
				ts.mustMiss("k")
				st := ts.Stats()
				if st.GetExpired != 1 || st.CurrItems != 0 {
					t.Fatalf("get_expired %d curr_items %d after the miss, want 1 and 0", st.GetExpired, st.CurrItems)
				}
			}
		})
	}
}

func TestExpiredItemIsReplaceable(t *testing.T) {
	ts := newTestStore(t, Options{})
	ts.setX("k", "v", 0, 5)
	ts.advance(5)
	// add on an expired key stores, replace/append/incr/touch see nothing.
	if res, _, _ := ts.store(ModeReplace, "k", "r", 0, 0, 0); res != NotStored {
		t.Fatalf("replace of an expired key: %v", res)
	}
	ts.setX("k", "v", 0, 5)
	ts.advance(5)
	if res, _, _ := ts.store(ModeAppend, "k", "r", 0, 0, 0); res != NotStored {
		t.Fatalf("append to an expired key: %v", res)
	}
	ts.setX("k", "1", 0, 5)
	ts.advance(5)
	if _, res, _ := arith(ts.Store, []byte("k"), true, 1); res != NotFound {
		t.Fatalf("incr of an expired key: %v", res)
	}
	ts.setX("k", "v", 0, 5)
	ts.advance(5)
	if res := ts.Touch([]byte("k"), 0); res != NotFound {
		t.Fatalf("touch of an expired key: %v", res)
	}
	ts.setX("k", "v", 0, 5)
	ts.advance(5)
	if res, _, _ := ts.store(ModeAdd, "k", "new", 0, 0, 0); res != Stored {
		t.Fatalf("add over an expired key: %v", res)
	}
	ts.mustGet("k", "new")
	if st := ts.Stats(); st.CurrItems != 1 {
		t.Fatalf("curr_items %d, want 1", st.CurrItems)
	}
}

func TestFlushAll(t *testing.T) {
	start := testStart.Unix()
	type op struct {
		at    int    // seconds since the test started (the clock only moves forward)
		do    string // "set", "setE" (a client's CAS, meta E), "flush", "get", "miss"
		key   string
		delay int64 // flush_all argument
	}
	tests := []struct {
		name  string
		noCAS bool
		ops   []op
	}{
		{"immediate", false, []op{
			{at: 0, do: "set", key: "a"},
			{at: 1, do: "set", key: "b"},
			{at: 1, do: "flush"},
			{at: 1, do: "miss", key: "a"},
			{at: 1, do: "miss", key: "b"}, // set in the flush's second: the CAS decides
			{at: 1, do: "set", key: "c"},  // set after the flush in the same second
			{at: 1, do: "get", key: "c"},
			{at: 100, do: "get", key: "c"},
			{at: 100, do: "miss", key: "a"},
		}},
		// A client's CAS says nothing of when: the flush frees what is
		// there at once, as memcached 1.6.45 frees its second's items.
		{"immediate, client CAS", false, []op{
			{at: 0, do: "setE", key: "a"},
			{at: 1, do: "setE", key: "b"},
			{at: 1, do: "set", key: "c"},
			{at: 1, do: "flush"},
			{at: 1, do: "miss", key: "a"},
			{at: 1, do: "miss", key: "b"},
			{at: 1, do: "miss", key: "c"},
			{at: 1, do: "setE", key: "d"},
			{at: 1, do: "get", key: "d"},
			{at: 2, do: "flush"},
			{at: 2, do: "miss", key: "d"},
			{at: 2, do: "setE", key: "e"},
			{at: 100, do: "get", key: "e"},
		}},
		{"immediate, negative delay", false, []op{
			{at: 0, do: "set", key: "a"},
			{at: 0, do: "flush", delay: -5},
			{at: 0, do: "miss", key: "a"},
			{at: 0, do: "set", key: "b"},
			{at: 3, do: "get", key: "b"},
		}},
		// Without CAS memcached cannot tell apart items of the flush's
		// second: those set after it in the same second die too.
		{"immediate -C", true, []op{
			{at: 0, do: "set", key: "a"},
			{at: 2, do: "flush"},
			{at: 2, do: "set", key: "b"},
			{at: 2, do: "miss", key: "a"},
			{at: 2, do: "miss", key: "b"},
			{at: 3, do: "set", key: "c"},
			{at: 3, do: "get", key: "c"},
		}},
		{"delayed", false, []op{
			{at: 0, do: "set", key: "a"},
			{at: 0, do: "flush", delay: 10},
			{at: 0, do: "get", key: "a"},
			{at: 5, do: "set", key: "b"},
			{at: 8, do: "get", key: "a"},
			{at: 8, do: "get", key: "b"},
			{at: 10, do: "miss", key: "a"},
			{at: 10, do: "miss", key: "b"},
			{at: 10, do: "set", key: "c"}, // set at the deadline: survives
			{at: 11, do: "set", key: "d"},
			{at: 500, do: "get", key: "c"},
			{at: 500, do: "get", key: "d"},
		}},
		{"delayed -C", true, []op{
			{at: 0, do: "set", key: "a"},
			{at: 0, do: "flush", delay: 10},
			{at: 9, do: "get", key: "a"},
			{at: 9, do: "set", key: "b"},
			{at: 10, do: "miss", key: "a"},
			{at: 10, do: "miss", key: "b"},
			{at: 11, do: "set", key: "c"},
			{at: 500, do: "get", key: "c"},
		}},
		{"delayed to an absolute time", false, []op{
			{at: 0, do: "set", key: "a"},
			{at: 0, do: "flush", delay: start + 20},
			{at: 15, do: "get", key: "a"},
			{at: 20, do: "miss", key: "a"},
			{at: 20, do: "set", key: "b"},
			{at: 30, do: "get", key: "b"},
		}},
		{"a later flush catches items set after an earlier one", false, []op{
			{at: 0, do: "flush"},
			{at: 0, do: "set", key: "a"},
			{at: 5, do: "get", key: "a"},
			{at: 5, do: "set", key: "b"},
			{at: 6, do: "flush"},
			{at: 6, do: "miss", key: "a"},
			{at: 6, do: "miss", key: "b"},
		}},
		{"an immediate flush replaces a pending delayed one", false, []op{
			{at: 0, do: "set", key: "a"},
			{at: 0, do: "flush", delay: 100},
			{at: 1, do: "flush"},
			{at: 1, do: "miss", key: "a"},
			{at: 1, do: "set", key: "b"},
			{at: 200, do: "get", key: "b"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestStore(t, Options{NoCAS: tc.noCAS})
			now, flushes := 0, 0
			for i, o := range tc.ops {
				ts.advance(o.at - now)
				now = o.at
				switch o.do {
				case "set":
					ts.set(o.key, "v-"+o.key)
				case "setE":
					r := &Request{Mode: ModeSet, Key: []byte(o.key), Value: []byte("v"), HasNewCAS: true, NewCAS: 1}
					if res, _, err := ts.Store.Store(r); err != nil || res != Stored {
						t.Fatalf("op %d: set %q with a client CAS: %v, %v", i, o.key, res, err)
					}
				case "flush":
					ts.FlushAll(o.delay)
					flushes++
				case "get":
					if _, ok := ts.get(o.key); !ok {
						t.Fatalf("op %d at %ds: %q flushed, want it alive", i, o.at, o.key)
					}
				case "miss":
					if _, ok := ts.get(o.key); ok {
						t.Fatalf("op %d at %ds: %q alive, want it flushed", i, o.at, o.key)
					}
				}
			}
			if st := ts.Stats(); st.CmdFlush != uint64(flushes) {
				t.Fatalf("cmd_flush %d, want %d", st.CmdFlush, flushes)
			}
		})
	}
}

func TestFlushAllCounters(t *testing.T) {
	ts := newTestStore(t, Options{})
	for i := 0; i < 50; i++ {
		ts.set("k"+itoa(i), "v")
	}
	ts.advance(1)
	ts.FlushAll(0)
	ts.mustMiss("k0")
	ts.mustMiss("k1")
	st := ts.Stats()
	if st.GetFlushed != 2 || st.GetExpired != 0 || st.GetMisses != 2 {
		t.Fatalf("get_flushed %d get_expired %d get_misses %d, want 2, 0, 2", st.GetFlushed, st.GetExpired, st.GetMisses)
	}
	// The reclaimer frees the rest without them being fetched.
	ts.Crawl()
	st = ts.Stats()
	if st.CurrItems != 0 || st.Bytes != 0 {
		t.Fatalf("after a crawl curr_items %d bytes %d, want 0", st.CurrItems, st.Bytes)
	}
	if st.CrawlerReclaimed != 48 || st.GetFlushed != 2 {
		t.Fatalf("crawler_reclaimed %d get_flushed %d, want 48 and 2", st.CrawlerReclaimed, st.GetFlushed)
	}
}
