package store

import (
	"errors"
	"github.com/gocached/gocached/slab"
	"testing"
)

func TestSetGetOverwrite(t *testing.T) {
	ts := newTestStore(t, Options{})
	ts.mustMiss("k")
	c1 := ts.setX("k", "v1", 7, 0)
	it := ts.mustGet("k", "v1")
	if it.flags != 7 || it.cas != c1 || c1 == 0 {
		t.Fatalf("got flags %d cas %d, want flags 7 cas %d (non-zero)", it.flags, it.cas, c1)
	}
	if it.fetched {
		t.Error("first get reports the item as fetched before")
	}
	if it2 := ts.mustGet("k", "v1"); !it2.fetched {
		t.Error("second get does not report the item as fetched before")
	}
	c2 := ts.setX("k", "value two", 0, 0)
	if c2 <= c1 {
		t.Fatalf("overwrite CAS %d not above %d", c2, c1)
	}
	it = ts.mustGet("k", "value two")
	if it.flags != 0 || it.cas != c2 {
		t.Fatalf("overwrite kept flags %d / cas %d", it.flags, it.cas)
	}
	// Empty values and binary data round-trip.
	ts.set("empty", "")
	ts.mustGet("empty", "")
	ts.set("bin", "a\x00b\r\nc")
	ts.mustGet("bin", "a\x00b\r\nc")
	// Keys that share a prefix are distinct.
	ts.set("kk", "other")
	ts.mustGet("k", "value two")
	ts.mustGet("kk", "other")
	st := ts.Stats()
	if st.CurrItems != 4 || st.TotalItems != 5 {
		t.Fatalf("curr_items %d total_items %d, want 4 and 5", st.CurrItems, st.TotalItems)
	}
}

func TestStorageModes(t *testing.T) {
	type step struct {
		mode    Mode
		key     string
		val     string
		flags   uint32
		exptime int64
		casOf   string // use the CAS the previous step with this key got
		cas     uint64 // or this literal CAS
		want    Result
		// what the key holds afterwards ("" with missing)
		wantVal     string
		wantMissing bool
		wantFlags   uint32
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"add on missing stores", []step{
			{mode: ModeAdd, key: "a", val: "1", flags: 3, want: Stored, wantVal: "1", wantFlags: 3},
		}},
		{"add on existing is not stored", []step{
			{mode: ModeSet, key: "a", val: "old", flags: 1, want: Stored, wantVal: "old", wantFlags: 1},
			{mode: ModeAdd, key: "a", val: "new", flags: 2, want: NotStored, wantVal: "old", wantFlags: 1},
		}},
		{"replace on missing is not stored", []step{
			{mode: ModeReplace, key: "r", val: "x", want: NotStored, wantMissing: true},
		}},
		{"replace on existing stores", []step{
			{mode: ModeSet, key: "r", val: "old", want: Stored, wantVal: "old"},
			{mode: ModeReplace, key: "r", val: "new", flags: 9, want: Stored, wantVal: "new", wantFlags: 9},
		}},
		{"append on missing is not stored", []step{
			{mode: ModeAppend, key: "p", val: "x", want: NotStored, wantMissing: true},
		}},
		{"prepend on missing is not stored", []step{
			{mode: ModePrepend, key: "p", val: "x", want: NotStored, wantMissing: true},
		}},
		{"append and prepend keep the old flags", []step{
			{mode: ModeSet, key: "p", val: "mid", flags: 42, want: Stored, wantVal: "mid", wantFlags: 42},
			{mode: ModeAppend, key: "p", val: "-end", flags: 1, want: Stored, wantVal: "mid-end", wantFlags: 42},
			{mode: ModePrepend, key: "p", val: "start-", flags: 2, want: Stored, wantVal: "start-mid-end", wantFlags: 42},
			{mode: ModeAppend, key: "p", val: "", want: Stored, wantVal: "start-mid-end", wantFlags: 42},
		}},
		{"append with a stale cas", []step{
			{mode: ModeSet, key: "p", val: "a", want: Stored, wantVal: "a"},
			{mode: ModeAppend, key: "p", val: "b", cas: 1 << 40, want: Exists, wantVal: "a"},
			{mode: ModeAppend, key: "p", val: "b", casOf: "p", want: Stored, wantVal: "ab"},
		}},
		{"cas on missing is not found", []step{
			{mode: ModeCAS, key: "c", val: "x", cas: 1, want: NotFound, wantMissing: true},
		}},
		{"cas with a wrong value exists", []step{
			{mode: ModeSet, key: "c", val: "old", want: Stored, wantVal: "old"},
			{mode: ModeCAS, key: "c", val: "new", cas: 1 << 40, want: Exists, wantVal: "old"},
		}},
		{"cas with the right value stores", []step{
			{mode: ModeSet, key: "c", val: "old", want: Stored, wantVal: "old"},
			{mode: ModeCAS, key: "c", val: "new", flags: 5, casOf: "c", want: Stored, wantVal: "new", wantFlags: 5},
			{mode: ModeCAS, key: "c", val: "newer", casOf: "c", want: Stored, wantVal: "newer"},
		}},
		{"cas twice with the same value", []step{
			{mode: ModeSet, key: "c", val: "old", want: Stored, wantVal: "old"},
			{mode: ModeAdd, key: "other", val: "o", want: Stored, wantVal: "o"},
			{mode: ModeCAS, key: "c", val: "new", casOf: "c", want: Stored, wantVal: "new"},
			{mode: ModeCAS, key: "c", val: "again", casOf: "other", want: Exists, wantVal: "new"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestStore(t, Options{})
			casOf := map[string]uint64{}
			var last uint64
			for i, st := range tc.steps {
				cas := st.cas
				if st.casOf != "" {
					cas = casOf[st.casOf]
				}
				res, got, err := ts.store(st.mode, st.key, st.val, st.flags, st.exptime, cas)
				if err != nil || res != st.want {
					t.Fatalf("step %d: got %v, %v; want %v", i, res, err, st.want)
				}
				if res == Stored {
					if got <= last {
						t.Fatalf("step %d: CAS %d not above the previous %d", i, got, last)
					}
					last = got
					casOf[st.key] = got
				} else if got != 0 {
					t.Fatalf("step %d: %v returned CAS %d", i, res, got)
				}
				if st.wantMissing {
					ts.mustMiss(st.key)
					continue
				}
				it := ts.mustGet(st.key, st.wantVal)
				if it.flags != st.wantFlags {
					t.Fatalf("step %d: flags %d, want %d", i, it.flags, st.wantFlags)
				}
				if it.cas != casOf[st.key] {
					t.Fatalf("step %d: item CAS %d, want %d", i, it.cas, casOf[st.key])
				}
			}
		})
	}
}

func TestCASStrictlyIncreasing(t *testing.T) {
	ts := newTestStore(t, Options{})
	var last uint64
	check := func(what string, cas uint64) {
		t.Helper()
		if cas <= last {
			t.Fatalf("%s: CAS %d not above %d", what, cas, last)
		}
		last = cas
	}
	for i := 0; i < 200; i++ {
		k := "k" + itoa(i%7)
		check("set", ts.set(k, itoa(i)))
		if got := ts.mustGet(k, itoa(i)).cas; got != last {
			t.Fatalf("get: CAS %d, want the one set returned, %d", got, last)
		}
		if _, _, err := arith(ts.Store, []byte(k), true, 1); err != nil {
			t.Fatal(err)
		}
		it, _ := ts.get(k)
		check("incr", it.cas)
	}
}

func TestNoCAS(t *testing.T) {
	ts := newTestStore(t, Options{NoCAS: true})
	if cas := ts.set("k", "v"); cas != 0 {
		t.Fatalf("set with -C returned CAS %d", cas)
	}
	if it := ts.mustGet("k", "v"); it.cas != 0 {
		t.Fatalf("item CAS %d with -C", it.cas)
	}
}

func TestAppendExptimeKept(t *testing.T) {
	ts := newTestStore(t, Options{})
	ts.setX("k", "a", 0, 100)
	want := ts.RelTime(100)
	ts.advance(10)
	if res, _, _ := ts.store(ModeAppend, "k", "b", 0, 0, 0); res != Stored {
		t.Fatalf("append: %v", res)
	}
	if res, _, _ := ts.store(ModePrepend, "k", "c", 0, 5, 0); res != Stored {
		t.Fatalf("prepend: %v", res)
	}
	if it := ts.mustGet("k", "cab"); it.exptime != want {
		t.Fatalf("exptime %d after append, want the original %d", it.exptime, want)
	}
	ts.advance(89)
	ts.mustGet("k", "cab")
	ts.advance(1)
	ts.mustMiss("k")
}

// memcached refuses an append or prepend whose result would exceed -I
// (NOT_STORED, the old value kept, no store_too_large).
func TestAppendPastItemSizeLimit(t *testing.T) {
	ts := newTestStore(t, Options{MemoryLimit: 4 << 20})
	big := repeat("x", 1048514) // the largest value with key "big" and flags 0
	ts.set("big", big)
	for _, mode := range []Mode{ModeAppend, ModePrepend} {
		res, _, err := ts.store(mode, "big", "y", 0, 0, 0)
		if err != nil || res != NotStored {
			t.Fatalf("mode %d past -I: %v, %v; want NotStored", mode, res, err)
		}
		ts.mustGet("big", big)
	}
	// The CAS is compared first, as memcached does before allocating.
	cas := ts.mustGet("big", big).cas
	for _, tc := range []struct {
		cas  uint64
		want Result
	}{{cas + 1, Exists}, {cas, NotStored}} {
		if res, _, err := ts.store(ModeAppend, "big", "y", 0, 0, tc.cas); err != nil || res != tc.want {
			t.Fatalf("append past -I with CAS %d (item's %d): %v, %v; want %v", tc.cas, cas, res, err, tc.want)
		}
	}
	ts.mustGet("big", big)
	// Non-zero flags on the old item count too.
	ts.setX("f", repeat("x", 1048510+2), 5, 0) // key "f" is 2 bytes shorter than "big"
	if res, _, _ := ts.store(ModeAppend, "f", "y", 0, 0, 0); res != NotStored {
		t.Fatalf("append past -I with flags: %v, want NotStored", res)
	}
	// Up to the limit it works.
	ts.set("small", "x")
	if res, _, err := ts.store(ModeAppend, "small", repeat("z", 1048513-2), 0, 0, 0); err != nil || res != Stored {
		t.Fatalf("append up to -I: %v, %v", res, err)
	}
	if st := ts.Stats(); st.StoreTooLarge != 0 {
		t.Fatalf("store_too_large %d, want 0", st.StoreTooLarge)
	}
}

func TestArith(t *testing.T) {
	const max = ^uint64(0)
	tests := []struct {
		name    string
		initial string
		incr    bool
		delta   uint64
		want    uint64
		wantVal string // the stored value afterwards
		wantErr error
	}{
		{"incr", "5", true, 3, 8, "8", nil},
		{"decr", "5", false, 3, 2, "2", nil},
		{"decr pads in place", "10", false, 1, 9, "9 ", nil},
		{"decr pads several", "1000", false, 999, 1, "1   ", nil},
		{"incr grows the value", "9", true, 1, 10, "10", nil},
		{"incr grows to 20 digits", "1", true, max - 1, max, "18446744073709551615", nil},
		{"incr wraps at 2^64", "18446744073709551615", true, 2, 1, "1" + repeat(" ", 19), nil},
		{"incr by 0", "7", true, 0, 7, "7", nil},
		{"decr floors at 0", "5", false, 10, 0, "0", nil},
		{"decr of 0", "0", false, 1, 0, "0", nil},
		{"leading space", " 12", true, 1, 13, "13 ", nil},
		{"trailing space", "12 ", true, 1, 13, "13 ", nil},
		{"padded value", "9 ", true, 1, 10, "10", nil},
		{"plus sign", "+4", true, 1, 5, "5 ", nil},
		{"leading zeros", "007", true, 1, 8, "8  ", nil},
		{"empty", "", true, 1, 0, "", ErrNonNumeric},
		{"letters", "abc", true, 1, 0, "abc", ErrNonNumeric},
		{"digits then letters", "12abc", true, 1, 0, "12abc", ErrNonNumeric},
		{"only spaces", "   ", false, 1, 0, "   ", ErrNonNumeric},
		{"negative", "-1", true, 1, 0, "-1", ErrNonNumeric},
		{"negative decr", "-5", false, 1, 0, "-5", ErrNonNumeric},
		{"overflowing number", "18446744073709551616", true, 1, 0, "18446744073709551616", ErrNonNumeric},
		// memcached chunks an item past its 512 KB slab_chunk_max and
		// refuses incr/decr on it; with key "n" and flags that is a value
		// past 524224 bytes.
		{"largest unchunked number", "1" + repeat(" ", 524223), true, 1, 2, "2" + repeat(" ", 524223), nil},
		{"chunked number", "1" + repeat(" ", 524224), true, 1, 0, "1" + repeat(" ", 524224), ErrNonNumeric},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestStore(t, Options{})
			c0 := ts.setX("n", tc.initial, 77, 1000)
			exp := ts.RelTime(1000)
			got, res, err := arith(ts.Store, []byte("n"), tc.incr, tc.delta)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			it := ts.mustGet("n", tc.wantVal)
			if tc.wantErr != nil {
				if res != NotStored || it.cas != c0 {
					t.Fatalf("refused arith: result %v, CAS %d -> %d", res, c0, it.cas)
				}
				return
			}
			if res != Stored || got != tc.want {
				t.Fatalf("got %d, %v; want %d, Stored", got, res, tc.want)
			}
			if it.cas <= c0 {
				t.Errorf("CAS %d not above %d after arith", it.cas, c0)
			}
			if it.flags != 77 || it.exptime != exp {
				t.Errorf("flags %d exptime %d, want the old 77 and %d", it.flags, it.exptime, exp)
			}
			st := ts.Stats()
			if st.CurrItems != 1 || st.Bytes != int64(ItemSize(1, len(tc.wantVal))) {
				t.Errorf("curr_items %d bytes %d, want 1 and %d", st.CurrItems, st.Bytes, ItemSize(1, len(tc.wantVal)))
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		ts := newTestStore(t, Options{})
		if _, res, err := arith(ts.Store, []byte("nope"), true, 1); res != NotFound || err != nil {
			t.Fatalf("incr of a missing key: %v, %v", res, err)
		}
		if _, res, err := arith(ts.Store, []byte("nope"), false, 1); res != NotFound || err != nil {
			t.Fatalf("decr of a missing key: %v, %v", res, err)
		}
		st := ts.Stats()
		if st.IncrMisses != 1 || st.DecrMisses != 1 {
			t.Fatalf("incr_misses %d decr_misses %d", st.IncrMisses, st.DecrMisses)
		}
	})
}

// TestArithChunked: memcached keeps an item larger than slab_chunk_max
// (ITEM_ntotal: 48 + 8 CAS + key+1 + 4 if flags != 0 + value+2) in chunks,
// and its incr/decr answer non-numeric for chunked items before looking at
// the CAS or the digits. Found by comparing with memcached 1.6.18 (-I 1m:
// a value of 524228 digits under key "n" with flags 0 is incremented,
// 524229 digits are refused).
func TestArithChunked(t *testing.T) {
	number := func(n int) string { return repeat("0", n-1) + "1" }
	tests := []struct {
		name    string
		opts    Options
		flags   uint32
		size    int    // value bytes
		cas     uint64 // ArithRequest.CAS; 999 never matches
		wantRes Result
		wantErr error
	}{
		{"default limit, largest unchunked", Options{}, 0, 524228, 0, Stored, nil},
		{"default limit, one byte over", Options{}, 0, 524229, 0, NotStored, ErrNonNumeric},
		{"flags count 4 bytes", Options{}, 9, 524224, 0, Stored, nil},
		{"flags count 4 bytes, over", Options{}, 9, 524225, 0, NotStored, ErrNonNumeric},
		{"-C: no CAS bytes", Options{NoCAS: true}, 0, 524236, 0, Stored, nil},
		{"-C: no CAS bytes, over", Options{NoCAS: true}, 0, 524237, 0, NotStored, ErrNonNumeric},
		{"-I 2m keeps the 512 KB default", Options{MaxItemSize: 2 << 20}, 0, 1048000, 0, NotStored, ErrNonNumeric},
		{"slab_chunk_max 128 KB", Options{MaxItemSize: 256 << 10, ChunkMax: 128 << 10}, 0, 131012, 0, Stored, nil},
		{"slab_chunk_max 128 KB, over", Options{MaxItemSize: 256 << 10, ChunkMax: 128 << 10}, 0, 131013, 0, NotStored, ErrNonNumeric},
		{"chunked wins over a CAS mismatch", Options{}, 0, 524229, 999, NotStored, ErrNonNumeric},
		{"CAS mismatch when not chunked", Options{}, 0, 524228, 999, Exists, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.MaxItemSize > 1<<20 {
				tc.opts.MemoryLimit = 16 << 20
			}
			ts := newTestStore(t, tc.opts)
			val := number(tc.size)
			ts.setX("n", val, tc.flags, 0)
			r := ArithRequest{Key: []byte("n"), Incr: true, Delta: 1, CAS: tc.cas}
			var out ArithResult
			res, err := ts.Arith(&r, &out)
			if res != tc.wantRes || !errors.Is(err, tc.wantErr) {
				t.Fatalf("incr of %d digits: %v, %v; want %v, %v", tc.size, res, err, tc.wantRes, tc.wantErr)
			}
			want := val
			if res == Stored {
				want = "2" + repeat(" ", tc.size-1) // in place, space padded
			}
			ts.mustGet("n", want)
		})
	}
}

func TestParseUint64Value(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false}, {"", 0, false}, {" ", 0, false}, {"x", 0, false},
		{"\t7\r", 7, true}, {"1 2", 1, true}, {"12\x00z", 12, true}, {"12z", 0, false},
		{"-0", 0, true}, {"-1", 0, false}, {"-9223372036854775808", 0, false},
		// memcached's safe_strtoull: a negative that wraps below 2^63 passes.
		{"-9223372036854775809", 1<<63 - 1, true},
		{"+3", 3, true}, {"+", 0, false}, {"--1", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseUint64Value([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseUint64Value(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTouchAndGetAndTouch(t *testing.T) {
	ts := newTestStore(t, Options{})
	if res := ts.Touch([]byte("missing"), 0); res != NotFound {
		t.Fatalf("touch of a missing key: %v", res)
	}
	if ts.GetAndTouch([]byte("missing"), 0, nil) {
		t.Fatal("gat of a missing key hit")
	}
	ts.setX("k", "v", 0, 10)
	if res := ts.Touch([]byte("k"), ts.RelTime(100)); res != Touched {
		t.Fatalf("touch: %v", res)
	}
	ts.advance(50)
	ts.mustGet("k", "v")
	var seen string
	var seenExp uint32
	if !ts.GetAndTouch([]byte("k"), ts.RelTime(5), func(v *View) { seen, seenExp = string(v.Value), v.Exptime }) {
		t.Fatal("gat missed")
	}
	if seen != "v" || seenExp != ts.RelTime(5) {
		t.Fatalf("gat saw %q exptime %d, want %q and the new exptime %d", seen, seenExp, "v", ts.RelTime(5))
	}
	ts.advance(4)
	ts.mustGet("k", "v")
	ts.advance(1)
	ts.mustMiss("k")
	// Touch to 0 makes an item immortal.
	ts.setX("k2", "v", 0, 10)
	ts.Touch([]byte("k2"), 0)
	ts.advance(1000)
	ts.mustGet("k2", "v")
	st := ts.Stats()
	if st.TouchHits != 3 || st.TouchMisses != 2 || st.CmdTouch != 5 {
		t.Fatalf("touch_hits %d touch_misses %d cmd_touch %d, want 3, 2, 5", st.TouchHits, st.TouchMisses, st.CmdTouch)
	}
}

func TestDelete(t *testing.T) {
	ts := newTestStore(t, Options{})
	if res := ts.Delete([]byte("k"), 0); res != NotFound {
		t.Fatalf("delete of a missing key: %v", res)
	}
	cas := ts.set("k", "v")
	if res := ts.Delete([]byte("k"), cas+1); res != Exists {
		t.Fatalf("delete with a wrong CAS: %v", res)
	}
	ts.mustGet("k", "v")
	if res := ts.Delete([]byte("k"), cas); res != Deleted {
		t.Fatalf("delete with the right CAS: %v", res)
	}
	ts.mustMiss("k")
	ts.set("k", "v2")
	if res := ts.Delete([]byte("k"), 0); res != Deleted {
		t.Fatalf("delete: %v", res)
	}
	ts.mustMiss("k")
	st := ts.Stats()
	if st.CurrItems != 0 || st.Bytes != 0 || st.DeleteHits != 2 || st.DeleteMisses != 1 {
		t.Fatalf("curr_items %d bytes %d delete_hits %d delete_misses %d", st.CurrItems, st.Bytes, st.DeleteHits, st.DeleteMisses)
	}
}

func TestItemSizeOK(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		key     string
		flags   uint32
		nbytes  int
		want    bool
		storeIt bool // also check that Store accepts it
	}{
		{"largest value", Options{}, "big", 0, 1048514, true, true},
		{"one byte too many", Options{}, "big", 0, 1048515, false, false},
		{"flags cost 4 bytes", Options{}, "big", 1, 1048510, true, true},
		{"flags, one too many", Options{}, "big", 1, 1048511, false, false},
		{"-C saves 8 bytes", Options{NoCAS: true}, "big", 0, 1048522, true, true},
		{"-C, one too many", Options{NoCAS: true}, "big", 0, 1048523, false, false},
		{"longer key", Options{}, "bigger", 0, 1048511, true, true},
		{"longer key, one too many", Options{}, "bigger", 0, 1048512, false, false},
		{"-I 2m", Options{MaxItemSize: 2 << 20}, "big", 0, 2<<20 - 62, true, true},
		{"-I 2m, one too many", Options{MaxItemSize: 2 << 20}, "big", 0, 2<<20 - 61, false, false},
		{"-I 512k", Options{MaxItemSize: 512 << 10}, "big", 0, 512<<10 - 62, true, true},
		{"-I 512k, one too many", Options{MaxItemSize: 512 << 10}, "big", 0, 512<<10 - 61, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.MemoryLimit = 8 << 20
			ts := newTestStore(t, tc.o)
			if got := ts.ItemSizeOK(len(tc.key), tc.flags, tc.nbytes); got != tc.want {
				t.Fatalf("ItemSizeOK(%d, %d, %d) = %v, want %v", len(tc.key), tc.flags, tc.nbytes, got, tc.want)
			}
			if tc.storeIt {
				v := repeat("v", tc.nbytes)
				ts.setX(tc.key, v, tc.flags, 0)
				ts.mustGet(tc.key, v)
			}
		})
	}
}

func TestStoreTooLarge(t *testing.T) {
	ts := newTestStore(t, Options{})
	ts.set("k", "old")
	res, _, err := ts.store(ModeSet, "k", repeat("x", 2<<20), 0, 0, 0)
	if err != ErrTooLarge || res != NotStored {
		t.Fatalf("set of 2 MB: %v, %v; want NotStored, ErrTooLarge", res, err)
	}
	// memcached drops the old value of a set that failed.
	ts.mustMiss("k")
	ts.set("k", "old")
	ts.Refuse([]byte("k"), ErrTooLarge, true)
	ts.mustMiss("k")
	// Other modes keep it.
	ts.set("k", "old")
	ts.Refuse([]byte("k"), ErrTooLarge, false)
	ts.mustGet("k", "old")
	if st := ts.Stats(); st.StoreTooLarge != 3 {
		t.Fatalf("store_too_large %d, want 3", st.StoreTooLarge)
	}
}

// Every class must be usable, including the largest ones, whatever the
// growth factor (class ids index fixed-size counter arrays).
func TestEveryClassUsable(t *testing.T) {
	for _, f := range []float64{1.25, 2, 1.05, 1.01} {
		ts := newTestStore(t, Options{GrowthFactor: f, MemoryLimit: 4 << 20})
		sizes := ts.Sizes()
		for i, size := range sizes {
			key := "c" + itoa(i)
			n := size - HeaderSize - len(key)
			if n > 1<<20-100 {
				n = 1<<20 - 100
			}
			v := repeat("x", n)
			ts.set(key, v)
			if it := ts.mustGet(key, v); int(it.class) != i+1 {
				t.Fatalf("factor %v: item of %d bytes in class %d, want %d", f, ItemSize(len(key), n), it.class, i+1)
			}
			ts.Delete([]byte(key), 0)
		}
		st := ts.Stats()
		if len(st.Classes) != len(sizes) || len(sizes) > slab.MaxClasses-1 {
			t.Fatalf("factor %v: %d classes in stats, %d sizes", f, len(st.Classes), len(sizes))
		}
	}
}
