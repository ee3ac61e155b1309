package server

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// memcachedStatNames reads the names of one section of the reference
// output captured from memcached 1.6.18 (sections end with END).
func memcachedStatNames(t *testing.T, section int) []string {
	f, err := os.Open("testdata/memcached-1.6.18-stats.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sec := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			if sec == section {
				return names
			}
			sec++
			continue
		}
		if sec == section && strings.HasPrefix(line, "STAT ") {
			names = append(names, strings.Fields(line)[1])
		}
	}
	t.Fatalf("section %d not found", section)
	return nil
}

func statNames(reply string) []string {
	var names []string
	for _, line := range strings.Split(reply, "\r\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "STAT" {
			names = append(names, f[1])
		}
	}
	return names
}

// TestStatsNamesMatchMemcached compares `stats` and `stats settings` field
// names and order with memcached 1.6.18's (captured in testdata; the first
// section of the file is the reply to a set and a get).
func TestStatsNamesMatchMemcached(t *testing.T) {
	s := testServer(t, nil)
	c := dial(t, s)
	c.reply("set a 0 0 1\r\nx\r\nget a\r\n")
	tests := []struct {
		cmd     string
		section int
		skip    map[string]bool // memcached build-specific fields we do not have
		extra   []string        // gocached's own, after memcached's
	}{
		{"stats\r\n", 0, nil, []string{"recovered_panics"}},
		// client_flags_size: memcached 1.6.45's last line.
		{"stats settings\r\n", 1, map[string]bool{}, []string{"client_flags_size"}},
		{"stats items\r\n", 2, nil, nil},
		{"stats slabs\r\n", 3, nil, nil},
	}
	for _, tc := range tests {
		var want []string
		for _, n := range memcachedStatNames(t, tc.section+1) {
			if !tc.skip[n] {
				want = append(want, n)
			}
		}
		want = append(want, tc.extra...)
		got := statNames(c.reply(tc.cmd))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q names differ from memcached 1.6.18:\n got %v\nwant %v", tc.cmd, got, want)
		}
	}
}

func TestStatsCounters(t *testing.T) {
	s := testServer(t, nil)
	c := dial(t, s)
	c.reply("set a 0 0 1\r\nx\r\nget a\r\nget b\r\ndelete b\r\nincr a 1\r\ntouch a 0\r\nflush_all\r\n")
	got := c.reply("stats\r\n")
	for _, want := range []string{
		"STAT cmd_get 2", "STAT get_hits 1", "STAT get_misses 1", "STAT cmd_set 1",
		"STAT delete_misses 1", "STAT incr_misses 0", "STAT cmd_flush 1", "STAT touch_hits 1",
		"STAT curr_connections 1", "STAT threads 4", "STAT limit_maxbytes 16777216",
	} {
		if !strings.Contains(got, want+"\r\n") {
			t.Errorf("stats lacks %q", want)
		}
	}
	if got := c.reply("stats reset\r\n"); got != "RESET\r\n" {
		t.Fatalf("stats reset: %q", got)
	}
	if got := c.reply("stats\r\n"); !strings.Contains(got, "STAT cmd_get 0\r\n") {
		t.Fatal("stats reset did not zero cmd_get")
	}
	if got := c.reply("stats conns\r\n"); !strings.Contains(got, ":state conn_listening\r\n") || !strings.Contains(got, ":addr tcp:127.0.0.1:") {
		t.Fatalf("stats conns: %q", got)
	}
	c.reply("set d 0 0 1\r\nx\r\n")
	if got := c.reply("stats cachedump 1 0\r\n"); !strings.Contains(got, "ITEM d [1 b; 0 s]\r\n") {
		t.Fatalf("cachedump: %q", got)
	}
}
