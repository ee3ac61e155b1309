package server

import (
	"net"
	"runtime"
	"strings"
	"testing"
)

// TestNoAllocationPerRequest runs sets and gets over a real loopback
// socket and counts the process's heap allocations: the read, parse,
// store and write path must not allocate in steady state (GC pauses and
// GC CPU must not grow with traffic).
func TestNoAllocationPerRequest(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testServer(t, nil)
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
	run(500) // warm up pools and buffers
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const n = 5000
	run(n)
	runtime.ReadMemStats(&m1)
	if per := float64(m1.Mallocs-m0.Mallocs) / (n * float64(len(reqs))); per > 0.05 {
		t.Fatalf("%.2f allocations per request", per)
	}
}
