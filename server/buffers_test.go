package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsOf parses the reply to `stats` into name → value.
func statsOf(t *testing.T, c *client) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, line := range strings.Split(c.reply("stats\r\n"), "\r\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			if n, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				out[f[1]] = n
			}
		}
	}
	return out
}

// waitStat polls stats until cond holds for them, or fails after 5 s.
func waitStat(t *testing.T, c *client, what string, cond func(map[string]int64) bool) map[string]int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := statsOf(t, c)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never held; last stats: read_buf_count %d read_buf_bytes %d read_buf_bytes_free %d read_buf_oom %d response_obj_count %d response_obj_bytes %d response_obj_oom %d",
				what, st["read_buf_count"], st["read_buf_bytes"], st["read_buf_bytes_free"], st["read_buf_oom"],
				st["response_obj_count"], st["response_obj_bytes"], st["response_obj_oom"])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// held is the read buffer memory connections hold (the one asking for
// stats holds its own 16 KB while it is answered).
func held(st map[string]int64) int64 { return st["read_buf_bytes"] - st["read_buf_bytes_free"] }

// TestBufferStats: the read_buf_* and response_obj_* lines follow what
// connections hold: a growing multi-get line, replies a client does not
// read, and nothing once they are gone.
func TestBufferStats(t *testing.T) {
	s := testServer(t, nil)
	obs := dial(t, s)
	base := waitStat(t, obs, "idle", func(st map[string]int64) bool { return held(st) == bufSize })
	if base["response_obj_count"] != 1 || base["response_obj_bytes"] < bufSize {
		t.Errorf("the stats reply itself holds one reply buffer: count %d bytes %d", base["response_obj_count"], base["response_obj_bytes"])
	}

	// Half of a 100 KB value: the read buffer grows to hold all of it.
	long := dial(t, s)
	long.send("set half 0 0 100000\r\n" + strings.Repeat("v", 50_000))
	waitStat(t, obs, "value buffer held", func(st map[string]int64) bool { return held(st) >= bufSize+100_000 })
	long.nc.Close()
	waitStat(t, obs, "value buffer gone", func(st map[string]int64) bool { return held(st) == bufSize })

	// A client that does not read a 500 KB value fetched 20 times: its
	// replies are held, within the reply bound plus one value.
	value := strings.Repeat("v", 500_000)
	if got := obs.reply("set big 0 0 500000\r\n" + value + "\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	stuck := dial(t, s)
	_ = stuck.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)
	stuck.send(strings.Repeat("get big\r\n", 20))
	st := waitStat(t, obs, "unread replies held", func(st map[string]int64) bool { return st["response_obj_bytes"] >= 500_000 })
	if max := int64(2*bufSize + replyBound + 2*500_100); st["response_obj_bytes"] > max {
		t.Errorf("response_obj_bytes %d past the bound %d", st["response_obj_bytes"], max)
	}
	stuck.nc.Close()
	waitStat(t, obs, "unread replies gone", func(st map[string]int64) bool {
		return st["response_obj_count"] == 1 && held(st) == bufSize
	})
	if st := statsOf(t, obs); st["read_buf_oom"] != 0 || st["response_obj_oom"] != 0 {
		t.Errorf("no limit, yet read_buf_oom %d response_obj_oom %d", st["read_buf_oom"], st["response_obj_oom"])
	}
}

// TestReadBufMemLimit: with -o read_buf_mem_limit the buffers of all
// connections stay under it, and what it refuses gets memcached's answers:
// a connection with no read buffer is closed, a value with no room is
// refused and swallowed ("SERVER_ERROR out of memory storing object"; a
// set drops the old value), a line with no room to grow is answered
// "SERVER_ERROR out of memory reading request" and closed.
func TestReadBufMemLimit(t *testing.T) {
	s := testServer(t, func(c *Config) { c.ReadBufLimitMB, c.MaxItemSize = 1, 2<<20 })
	obs := dial(t, s)
	if got := obs.reply("stats settings\r\n"); !strings.Contains(got, "STAT read_buf_mem_limit 1048576\r\n") {
		t.Errorf("stats settings lacks read_buf_mem_limit 1048576")
	}
	if got := obs.reply("set old 0 0 3\r\nold\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}

	// A value bigger than the whole limit is refused before it is read,
	// and the connection goes on.
	value := strings.Repeat("v", 1100_000)
	setter := dial(t, s)
	if got := setter.reply("set old 0 0 1100000\r\n" + value + "\r\nget old\r\n"); got != "SERVER_ERROR out of memory storing object\r\nEND\r\n" {
		t.Fatalf("set past the limit: %q", got)
	}
	if got := setter.reply("ms m 1100000 T0\r\n" + value + "\r\n"); got != "SERVER_ERROR out of memory storing object\r\n" {
		t.Fatalf("ms past the limit: %q", got)
	}

	// A get line longer than the limit: looked up as it arrives, it needs
	// no more than the read buffer (getstream.go).
	long := dial(t, s)
	go func() { _, _ = long.nc.Write([]byte("get " + strings.Repeat("k ", 700_000) + "\r\n")) }()
	if got := long.expect("", "END\r\n"); got != "END\r\n" {
		t.Fatalf("1.4 MB get line under a 1 MB limit: %q", got)
	}

	// Connections that each hold a read buffer (a request not yet
	// complete) until the limit leaves none: the next one is closed.
	// (Figures from the pool itself: with every buffer taken, a stats
	// request would be refused one too.)
	var holders []*client
	oom := statsOf(t, obs)["read_buf_oom"]
	if oom != 2 {
		t.Errorf("read_buf_oom %d after two refused values, want 2", oom)
	}
	closed := false
	for i := 0; i < 100 && !closed; i++ {
		h := dial(t, s)
		h.send("get partial")
		holders = append(holders, h)
		waitFor(t, "buffer taken or refused", func() bool {
			st := s.bufs.stats()
			return st.readOOM > oom || st.replyOOM > 0 || st.readBytes-st.readFree >= int64(len(holders))*bufSize
		}, func() string { return fmt.Sprintf("%d holders: %+v", len(holders), s.bufs.stats()) })
		st := s.bufs.stats()
		if st.readBytes+st.replyBytes > 1<<20+2*bufSize {
			t.Fatalf("read_buf_bytes %d + response_obj_bytes %d past the limit", st.readBytes, st.replyBytes)
		}
		// Refused a read buffer, or one for its reply: closed either way.
		closed = st.readOOM > oom || st.replyOOM > 0
	}
	if !closed {
		t.Fatal("100 connections holding buffers never reached the 1 MB limit")
	}
	if !holders[len(holders)-1].closed() {
		t.Error("the connection refused a buffer stays open")
	}
	for _, h := range holders {
		h.nc.Close()
	}
	obs = dial(t, s)
	st := waitStat(t, obs, "holders gone", func(st map[string]int64) bool { return held(st) == bufSize })
	if st["read_buf_bytes"] > 1<<20 {
		t.Errorf("read_buf_bytes %d past the limit", st["read_buf_bytes"])
	}
	if got := obs.reply("get old\r\n"); got != "END\r\n" {
		t.Errorf("a refused set leaves the old value: %q", got)
	}
	if got := obs.reply("set after 0 0 1\r\nx\r\nget after\r\n"); got != "STORED\r\nVALUE after 0 1\r\nx\r\nEND\r\n" {
		t.Errorf("after the limit was hit: %q", got)
	}
}
