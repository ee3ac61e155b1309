package protocol

import (
	"bytes"
	"fmt"
	"math"
	"testing"
)

func TestParseSlabs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want SlabsCommand
		err  []byte
	}{
		{"slabs reassign 1 2", SlabsCommand{Sub: SlabsReassign, Src: 1, Dst: 2}, nil},
		{"slabs reassign -1 2", SlabsCommand{Sub: SlabsReassign, Src: -1, Dst: 2}, nil},
		{"slabs reassign x 2", SlabsCommand{Sub: SlabsReassign}, ErrBadFormat},
		{"slabs reassign 1", SlabsCommand{}, Error},
		{"slabs reassign 1 2 3", SlabsCommand{}, Error},
		{"slabs automove 1", SlabsCommand{Sub: SlabsAutomove, Level: 1}, nil},
		{"slabs automove 2 noreply", SlabsCommand{Sub: SlabsAutomove, Level: 2, Noreply: true}, nil},
		{"slabs automove 3", SlabsCommand{Sub: SlabsAutomove, Level: 3}, Error},
		{"slabs automove x noreply", SlabsCommand{Sub: SlabsAutomove, Noreply: true}, ErrBadFormat},
		{"slabs automove", SlabsCommand{}, Error},
		{"slabs bogus 1 2", SlabsCommand{}, Error},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		var c SlabsCommand
		err := ParseSlabs(&tk, &c)
		if !bytes.Equal(err, tc.err) || c.Sub != tc.want.Sub || c.Noreply != tc.want.Noreply ||
			(err == nil && c != tc.want) {
			t.Errorf("ParseSlabs(%q) = %+v, %q; want %+v, %q", tc.line, c, err, tc.want, tc.err)
		}
	}
}

func TestParseCacheDump(t *testing.T) {
	for _, tc := range []struct {
		line         string
		class, limit uint32
		err          []byte
	}{
		{"stats cachedump 1 0", 1, 0, nil},
		{"stats cachedump 63 10", 63, 10, nil},
		{"stats cachedump 64 10", 0, 0, ErrIllegalSlab},
		{"stats cachedump 1", 0, 0, ErrCacheDumpUsage},
		{"stats cachedump x 1", 0, 0, ErrBadFormat},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		class, limit, err := ParseCacheDump(&tk)
		if class != tc.class || limit != tc.limit || !bytes.Equal(err, tc.err) {
			t.Errorf("ParseCacheDump(%q) = %d, %d, %q", tc.line, class, limit, err)
		}
	}
}

// TestParseDebugTime: memcached-debug 1.6.45's debugtime replies.
func TestParseDebugTime(t *testing.T) {
	for _, tc := range []struct {
		line string
		want DebugTime
		err  []byte
	}{
		{"debugtime", DebugTime{}, Error},
		{"debugtime x", DebugTime{}, Error},
		{"debugtime 5x", DebugTime{}, Error},
		{"debugtime 5", DebugTime{Seconds: 5}, nil},
		{"debugtime -5", DebugTime{Seconds: -5}, nil},
		{"debugtime 5 6", DebugTime{Seconds: 5}, nil},
		{"debugtime 4294967296", DebugTime{Seconds: 1 << 32}, nil},
		{"debugtime p", DebugTime{Pause: true}, nil},
		{"debugtime r", DebugTime{Resume: true}, nil},
	} {
		var d DebugTime
		if err := ParseDebugTime(tok(tc.line), &d); !bytes.Equal(err, tc.err) || d != tc.want {
			t.Errorf("ParseDebugTime(%q) = %+v, %q; want %+v, %q", tc.line, d, err, tc.want, tc.err)
		}
	}
}

// TestParseCrawlerClasses: lru_crawler's class argument, memcached 1.6.45's
// lru_crawler_crawl.
func TestParseCrawlerClasses(t *testing.T) {
	for _, tc := range []struct {
		arg       string
		ok        bool
		all, hash bool
		ids       []int
	}{
		{"all", true, true, false, nil},
		{"hash", true, false, true, nil},
		{"1", true, false, false, []int{1}},
		{"1,5,63", true, false, false, []int{1, 5, 63}},
		{"1,,2", true, false, false, []int{1, 2}},
		{",", true, false, false, nil},
		{"0", false, false, false, nil},
		{"64", false, false, false, nil},
		{"1,x", false, false, false, nil},
		{"-1", false, false, false, nil},
		{"ALL", false, false, false, nil},
	} {
		var c CrawlerClasses
		ok := ParseCrawlerClasses([]byte(tc.arg), &c)
		var ids []int
		for id, on := range c.IDs {
			if on {
				ids = append(ids, id)
			}
		}
		if ok != tc.ok || (ok && (c.All != tc.all || c.Hash != tc.hash || fmt.Sprint(ids) != fmt.Sprint(tc.ids))) {
			t.Errorf("ParseCrawlerClasses(%q) = %v %+v %v", tc.arg, ok, c, ids)
		}
	}
}

// TestAppendDumpLines: metadump's and mgdump's lines, byte for byte as
// memcached 1.6.45 writes them (metadump ends its lines with " \n").
func TestAppendDumpLines(t *testing.T) {
	for _, tc := range []struct {
		it   MetaDumpItem
		want string
	}{
		{MetaDumpItem{Key: []byte("a:b"), Exp: 1796293129, LastAccess: 1796293029, CAS: 1, Class: 1, Size: 68, Flags: 5},
			"key=a%3Ab exp=1796293129 la=1796293029 cas=1 fetch=no cls=1 size=68 flags=5 \n"},
		{MetaDumpItem{Key: []byte("e-._~Z9"), Exp: -1, LastAccess: 7, CAS: 2, Fetched: true, Class: 3, Size: 63},
			"key=e-._~Z9 exp=-1 la=7 cas=2 fetch=yes cls=3 size=63 flags=0 \n"},
		{MetaDumpItem{Key: []byte("sp ace\x00"), Exp: -1},
			"key=sp%20ace%00 exp=-1 la=0 cas=0 fetch=no cls=0 size=0 flags=0 \n"},
	} {
		if got := string(AppendMetaDump(nil, &tc.it)); got != tc.want {
			t.Errorf("AppendMetaDump = %q, want %q", got, tc.want)
		}
	}
	if got := string(AppendMgDump(nil, []byte("a:b"), false)); got != "mg a:b\r\n" {
		t.Errorf("AppendMgDump text: %q", got)
	}
	if got := string(AppendMgDump(nil, []byte("foo"), true)); got != "mg Zm9v b\r\n" {
		t.Errorf("AppendMgDump binary: %q", got)
	}
}

// TestParseWatch: watch's stream words, memcached 1.6.45's (a word names
// the first stream, in its order, that it begins).
func TestParseWatch(t *testing.T) {
	for _, tc := range []struct {
		line string
		want uint32
		ok   bool
	}{
		{"watch", WatchFetchers, true},
		{"watch fetchers mutations", WatchFetchers | WatchMutations, true},
		{"watch evictions connevents deletions", WatchEvictions | WatchConnEvents | WatchDeletions, true},
		{"watch f", WatchFetchers, true},
		{"watch r", WatchRawCmds, true},
		{"watch bogus", 0, false},
		{"watch fetchers x", 0, false},
	} {
		got, ok := ParseWatch(tok(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseWatch(%q) = %b, %v; want %b, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
	if got := string(AppendURIKey(AppendLogHead(nil, 12, 345, 6, "item_get"), []byte("a:b#"))); got != "ts=12.345 gid=6 type=item_get key=a%3Ab%23" {
		t.Errorf("log head: %q", got)
	}
}

func TestParseMemlimit(t *testing.T) {
	for _, tc := range []struct {
		line    string
		mb      uint32
		noreply bool
		err     []byte
	}{
		{"cache_memlimit 8", 8, false, nil},
		{"cache_memlimit 1000000000", 1000000000, false, nil},
		{"cache_memlimit 64 noreply", 64, true, nil},
		{"cache_memlimit 8 x y", 8, false, nil},
		{"cache_memlimit", 0, false, Error},
		{"cache_memlimit abc", 0, false, Error},
		{"cache_memlimit -1", 0, false, Error},
		{"cache_memlimit 8k", 0, false, Error},
		{"cache_memlimit 4294967296", 0, false, Error},
		{"cache_memlimit 7", 0, false, MemlimitTooSmall},
		{"cache_memlimit 0 noreply", 0, true, MemlimitTooSmall},
		{"cache_memlimit 1000000001", 0, false, MemlimitNotBytes},
	} {
		mb, nr, err := ParseMemlimit(tok(tc.line))
		if mb != tc.mb || nr != tc.noreply || !bytes.Equal(err, tc.err) {
			t.Errorf("ParseMemlimit(%q) = %d, %v, %q", tc.line, mb, nr, err)
		}
	}
}

func TestParseLRU(t *testing.T) {
	for _, tc := range []struct {
		line       string
		maintainer bool
		want       LRUCommand
		err        []byte
	}{
		{"lru tune 10 25 0.1 2.0", false, LRUCommand{Sub: LRUTune, HotPct: 10, WarmPct: 25, HotFactor: 0.1, WarmFactor: 2}, nil},
		{"lru t 10 25 1e1 2 noreply", false, LRUCommand{Sub: LRUTune, HotPct: 10, WarmPct: 25, HotFactor: 10, WarmFactor: 2, Noreply: true}, nil},
		{"lru tune 4294967295 2 1 1", false, LRUCommand{Sub: LRUTune, HotPct: 4294967295, WarmPct: 2, HotFactor: 1, WarmFactor: 1}, nil}, // memcached's uint32 sum
		{"lru tune 50 40 0.1 2", false, LRUCommand{}, LRUPctsTooHigh},
		{"lru tune 10 25 0 2", false, LRUCommand{}, LRUBadFactor},
		{"lru tune 10 25 0.1 -1", false, LRUCommand{}, LRUBadFactor},
		{"lru tune 10 25 x 2", false, LRUCommand{}, Error},
		{"lru tune 10 25 0.1 2.0x", false, LRUCommand{}, Error},
		{"lru tune -1 2 1 1", false, LRUCommand{}, Error},
		{"lru tune 10", false, LRUCommand{}, Error},
		{"lru mode flat", false, LRUCommand{}, Error}, // no maintainer
		{"lru mode flat extra", true, LRUCommand{Sub: LRUMode}, nil},
		{"lru m segmented", true, LRUCommand{Sub: LRUMode, Segmented: true}, nil},
		{"lru mode x", true, LRUCommand{}, Error},
		{"lru te 30", true, LRUCommand{Sub: LRUTempTTL, TempTTL: 30}, nil},
		{"lru temp_ttl -5", true, LRUCommand{Sub: LRUTempTTL, TempTTL: -5}, nil},
		{"lru temp_ttl 2147483648", true, LRUCommand{}, Error},
		{"lru temp_ttl 30", false, LRUCommand{}, Error},
		{"lru", false, LRUCommand{}, Error},
		{"lru x", true, LRUCommand{}, Error},
	} {
		var c LRUCommand
		err := ParseLRU(tok(tc.line), tc.maintainer, &c)
		if !bytes.Equal(err, tc.err) || (err == nil && c != tc.want) {
			t.Errorf("ParseLRU(%q, %v) = %+v, %q", tc.line, tc.maintainer, c, err)
		}
	}
	for f, want := range map[float64]string{0.123456: "0.12", 3.999: "4.00", math.Inf(1): "inf", math.NaN(): "nan"} {
		if got := FormatCFactor(f); got != want {
			t.Errorf("FormatCFactor(%v) = %q, want %q", f, got, want)
		}
	}
}
