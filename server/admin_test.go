package server

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// textStep is one request and its reply, "\n" written for "\r\n".
type textStep struct{ req, want string }

// runText sends each step on c and compares the replies.
func runText(t *testing.T, c *client, steps []textStep) {
	t.Helper()
	for _, st := range steps {
		req, want := crlf(st.req), crlf(st.want)
		if got := c.reply(req); got != want {
			t.Errorf("%s:\n got %q\nwant %q", short(req), short(got), short(want))
		}
	}
}

// TestDebugTime: memcached-debug's debugtime moves the clock items expire
// by (t/expirations.t); without DebugCommands it is an unknown command, as
// in memcached's release build.
func TestDebugTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		debug bool
		steps []textStep
	}{
		{"release build", false, []textStep{
			{"debugtime 5\n", "ERROR\n"},
		}},
		{"expires after the move", true, []textStep{
			{"set k 0 100 1\nx\n", "STORED\n"},
			{"debugtime 50\n", "OK\n"},
			{"get k\n", "VALUE k 0 1\nx\nEND\n"},
			{"debugtime 60\n", "OK\n"},
			{"get k\n", "END\n"},
		}},
		{"paused clock", true, []textStep{
			{"debugtime p\n", "OK\n"},
			{"set k 0 3 1\nx\n", "STORED\n"},
			{"debugtime 4\n", "OK\n"},
			{"get k\n", "END\n"},
			{"debugtime r\n", "OK\n"},
		}},
		{"errors", true, []textStep{
			{"debugtime\n", "ERROR\n"},
			{"debugtime x\n", "ERROR\n"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, func(c *Config) { c.DebugCommands = tc.debug })
			runText(t, dial(t, s), tc.steps)
		})
	}
}

// TestLRUCrawler: memcached 1.6.45's lru_crawler replies (t/lru-crawler.t),
// and metadump and mgdump of one item each so that their order (index
// order in gocached, LRU or hash order in memcached) does not matter.
func TestLRUCrawler(t *testing.T) {
	disabled := func(c *Config) { c.Reported = map[string]string{"lru_crawler": "no"} }
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		steps []textStep
	}{
		{"crawl", nil, []textStep{
			{"lru_crawler crawl 1,2\n", "OK\n"},
			{"lru_crawler crawl 64\n", "BADCLASS invalid class id\n"},
			{"lru_crawler crawl ,\n", "NOTSTARTED no items to crawl\n"},
			{"lru_crawler crawl\n", "ERROR\n"},
			{"lru_crawler\n", "ERROR\n"},
			{"lru_crawler x\n", "ERROR\n"},
		}},
		{"tuning", nil, []textStep{
			{"lru_crawler sleep 2000000\n", "CLIENT_ERROR sleep must be one second or less\n"},
			{"lru_crawler sleep 50\n", "OK\n"},
			{"lru_crawler tocrawl x\n", "CLIENT_ERROR bad command line format\n"},
			{"lru_crawler tocrawl 7\n", "OK\n"},
		}},
		{"metadump", nil, []textStep{
			{"ms a:b 2 F5 E9\nok\n", "HD\n"},
			{"lru_crawler metadump 2\n", "OK\nEND\n"},
			{"lru_crawler metadump 64\n", "BADCLASS invalid class id\n"},
			{"lru_crawler mgdump hash\n", "OK\nmg a:b\nEN\n"},
			{"mg nope v\nlru_crawler metadump all\n", "EN\nERROR cannot pipeline other commands before metadump\n"},
		}},
		{"disabled", disabled, []textStep{
			{"lru_crawler crawl 1\n", "CLIENT_ERROR lru crawler disabled\n"},
			{"lru_crawler metadump all\n", "CLIENT_ERROR lru crawler disabled\n"},
			{"lru_crawler enable\n", "OK\n"},
			{"lru_crawler metadump 1\n", "OK\nEND\n"},
			{"lru_crawler disable\n", "OK\n"},
		}},
		{"-X", func(c *Config) { c.DumpDisabled = true }, []textStep{
			{"lru_crawler metadump all\n", "ERROR metadump not allowed\n"},
			{"lru_crawler mgdump all\n", "ERROR key dump not allowed\n"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runText(t, dial(t, testServer(t, tc.edit)), tc.steps)
		})
	}
	// A metadump line, whose la= is the store's clock and whose line ends
	// with a bare LF.
	s := testServer(t, nil)
	c := dial(t, s)
	c.reply("ms a:b 2 F5 E9\r\nok\r\n")
	want := "OK\r\nkey=a%3Ab exp=-1 la=" + strconv.FormatInt(s.store.Unix(s.store.Now()), 10) +
		" cas=9 fetch=no cls=1 size=68 flags=5 \nEND\r\n"
	if got := c.reply("lru_crawler metadump all\r\n"); got != want {
		t.Errorf("metadump: %q, want %q", got, want)
	}
}

// TestCacheMemlimit: cache_memlimit's replies as memcached 1.6.45's, the
// new limit in stats and stats settings, and the refusal for a memory file
// (-e), whose mapping is fixed.
func TestCacheMemlimit(t *testing.T) {
	s := testServer(t, nil)
	c := dial(t, s)
	runText(t, c, []textStep{
		{"cache_memlimit\n", "ERROR\n"},
		{"cache_memlimit x\n", "ERROR\n"},
		{"cache_memlimit 7\n", "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\n"},
		{"cache_memlimit 1000000001\n", "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\n"},
		{"cache_memlimit 1000000000\n", "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\n"}, // past 32 GiB
		{"cache_memlimit 24 noreply\ncache_memlimit 32\n", "OK\n"},
	})
	if got := c.reply("stats\r\n"); !strings.Contains(got, "STAT limit_maxbytes 33554432\r\n") {
		t.Errorf("stats after cache_memlimit 32:\n%s", got)
	}
	if got := c.reply("stats settings\r\n"); !strings.Contains(got, "STAT maxbytes 33554432\r\n") {
		t.Errorf("stats settings after cache_memlimit 32:\n%s", got)
	}
	file := filepath.Join(t.TempDir(), "mem")
	ef := testServer(t, func(c *Config) { c.MemoryFile = file })
	runText(t, dial(t, ef), []textStep{
		{"cache_memlimit 32\n", "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\n"},
	})
}

// TestLRUCommand: memcached 1.6.45's lru replies; what tune sets is shown
// by stats settings (and has no effect on eviction), temp_ttl turns the
// temporary queue on and off; mode and
// temp_ttl exist only while the LRU maintainer is not turned off (-o
// no_lru_maintainer), as in memcached.
func TestLRUCommand(t *testing.T) {
	settings := func(c *client) string { return c.reply("stats settings\r\n") }
	s := testServer(t, nil)
	c := dial(t, s)
	runText(t, c, []textStep{
		{"lru tune 50 40 0.1 2\n", "ERROR hot and warm pcts must not exceed 80\n"},
		{"lru tune 10 25 0 2\n", "ERROR hot/warm age factors must be greater than 0\n"},
		{"lru tune 10 25 0.123 3.999\n", "OK\n"},
		{"lru mode segmented\n", "OK\n"},
		{"lru mode x\n", "ERROR\n"},
		{"lru temp_ttl 30\n", "OK\n"},
		{"set short 0 20 1\nx\n", "STORED\n"}, // to the temporary queue
	})
	if got := c.reply("stats items\r\n"); !strings.Contains(got, ":number_temp 1\r\n") {
		t.Errorf("stats items after a short TTL with lru temp_ttl 30:\n%s", got)
	}
	if got := settings(c); !strings.Contains(got, "STAT temp_lru yes\r\n") {
		t.Errorf("stats settings after lru temp_ttl 30: no temp_lru yes")
	}
	runText(t, c, []textStep{
		{"lru temp_ttl -1\n", "OK\n"}, // temp LRU off: temporary_ttl stays
	})
	got := settings(c)
	for _, want := range []string{"STAT hot_lru_pct 10\r\n", "STAT warm_lru_pct 25\r\n", "STAT hot_max_factor 0.12\r\n", "STAT warm_max_factor 4.00\r\n", "STAT lru_segmented no\r\n", "STAT temporary_ttl 30\r\n", "STAT temp_lru no\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("stats settings after lru tune lacks %q", want)
		}
	}
	off := testServer(t, func(c *Config) { c.Reported = map[string]string{"lru_maintainer_thread": "no"} })
	runText(t, dial(t, off), []textStep{
		{"lru mode flat\n", "ERROR\n"},
		{"lru temp_ttl 30\n", "ERROR\n"},
		{"lru tune 10 25 1 2\n", "OK\n"},
	})
}
