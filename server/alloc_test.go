package server

import (
	"bufio"
	"encoding/binary"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNoAllocationPerRequest runs sets and gets over a real loopback
// socket and counts the process's heap allocations: the read, parse,
// store and write path must not allocate in steady state (GC pauses and
// GC CPU must not grow with traffic).
func TestNoAllocationPerRequest(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"plain", nil},
		// Latency histograms, hot keys sampling every request (the
		// sketch's worst case) and the metrics endpoint, scraped during
		// the warm-up so that its first-use allocations are done.
		{"observed", func(c *Config) { c.Latency, c.HotKeySample, c.MetricsListen = true, 1, "127.0.0.1:0" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, tc.edit)
			c, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			reqs := [][]byte{
				[]byte("set k1234567 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n"),
				[]byte("get k1234567\r\n"),
				[]byte("mg k1234567 v f c\r\n"),
				[]byte("incr n 1\r\n"),
			}
			buf := make([]byte, 4096)
			run := func(n int) {
				for i := 0; i < n; i++ {
					for _, r := range reqs {
						if _, err := c.Write(r); err != nil {
							t.Fatal(err)
						}
						if _, err := c.Read(buf); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if s.MetricsAddr() != nil {
				run(100)
				scrape(t, s)
			}
			requireNoAllocs(t, run, 500, 5000, len(reqs), 0)
		})
	}
}

// requireNoAllocs warms up with run(warm), then fails the test unless
// run(rounds) of perRound requests each allocates (almost) nothing: at
// most 0.05 allocations per request, and at most maxBytes in all when
// maxBytes > 0.
func requireNoAllocs(t *testing.T, run func(int), warm, rounds, perRound int, maxBytes uint64) {
	t.Helper()
	run(warm)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run(rounds)
	runtime.ReadMemStats(&m1)
	if per := float64(m1.Mallocs-m0.Mallocs) / float64(rounds*perRound); per > 0.05 {
		t.Fatalf("%.2f allocations per request", per)
	}
	if grew := m1.TotalAlloc - m0.TotalAlloc; maxBytes > 0 && grew > maxBytes {
		t.Fatalf("%d bytes allocated in %d requests", grew, rounds*perRound)
	}
}

// TestBigValuesDoNotAllocate: setting and getting 100 KB and 500 KB values
// (text, meta and binary) reuses pooled big buffers for the read and the
// reply instead of allocating per request.
func TestBigValuesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 64 })
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A connection speaks the protocol of its first byte: binary on its own.
	bc, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	br, bbr := bufio.NewReaderSize(c, 1<<20), bufio.NewReaderSize(bc, 1<<20)
	type exchange struct {
		req    []byte
		reply  int // bytes
		binary bool
	}
	var ex []exchange
	for _, size := range []int{100 << 10, 500 << 10} {
		n := strconv.Itoa(size)
		v := strings.Repeat("v", size)
		ex = append(ex,
			exchange{[]byte("set big" + n + " 0 0 " + n + "\r\n" + v + "\r\n"), len("STORED\r\n"), false},
			exchange{[]byte("get big" + n + "\r\n"), len("VALUE big"+n+" 0 "+n+"\r\n") + size + len("\r\nEND\r\n"), false},
			exchange{[]byte("mg big" + n + " v\r\n"), len("VA "+n+"\r\n") + size + 2, false},
			exchange{binaryGet("big" + n), 24 + 4 + size, true},
		)
	}
	run := func(rounds int) {
		for i := 0; i < rounds; i++ {
			for _, e := range ex {
				w, r := c, br
				if e.binary {
					w, r = bc, bbr
				}
				_ = w.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := w.Write(e.req); err != nil {
					t.Fatal(err)
				}
				if _, err := r.Discard(e.reply); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// A few buffers of a class first needed during the run may still be
	// allocated once; per request it would be hundreds of megabytes.
	requireNoAllocs(t, run, 20, 200, len(ex), 8<<20)
}

// binaryGet is a binary protocol GET request for key.
func binaryGet(key string) []byte {
	h := make([]byte, 24, 24+len(key))
	h[0], h[1] = 0x80, 0x00
	binary.BigEndian.PutUint16(h[2:], uint16(len(key)))
	binary.BigEndian.PutUint32(h[8:], uint32(len(key)))
	return append(h, key...)
}
