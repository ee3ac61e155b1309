package server

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/gocached/gocached/store"
)

// Replies copy values out of item memory into the connection's reply
// buffer (rather than pinning the items and writing from item memory, as
// memcached does). These two benchmarks measure what the copy costs, per
// value size: BenchmarkGetReplyBuild is the parse and the reply built
// (copy included, no socket); BenchmarkGetRoundTrip is the whole round
// trip over loopback TCP. BENCHMARKS.md records the ratio.
var copyBenchSizes = []int{100, 1 << 10, 16 << 10, 100 << 10, 500 << 10}

func BenchmarkGetReplyBuild(b *testing.B) {
	for _, size := range copyBenchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.MemoryLimitMB = 64
			s, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(s.store.Close)
			c := newConn(s, nopConn{}, fakeListener{})
			if _, _, err := s.store.Store(&store.Request{Mode: store.ModeSet, Key: []byte("v"), Value: []byte(strings.Repeat("v", size))}); err != nil {
				b.Fatal(err)
			}
			_ = c.prepareRead()
			c.w += copy(c.rbuf[c.w:], "get v\r\n")
			c.process()
			// Past the reply bound the reply is written (to nopConn) at once.
			got := int(s.stats.bytesWritten.Load()) + len(c.out)
			if want := len("VALUE v 0 "+strconv.Itoa(size)+"\r\n") + size + len("\r\nEND\r\n"); got != want {
				b.Fatalf("get replied %d bytes, want %d", got, want)
			}
			c.out = c.out[:0]
			b.SetBytes(int64(size))
			benchLoop(b, c, []byte("get v\r\n"))
		})
	}
}

func BenchmarkGetRoundTrip(b *testing.B) {
	for _, size := range copyBenchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s := testServer(b, func(c *Config) { c.MemoryLimitMB = 64 })
			nc, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			br := bufio.NewReaderSize(nc, 64<<10)
			val := strings.Repeat("v", size)
			if _, err := nc.Write([]byte("set v 0 0 " + strconv.Itoa(size) + "\r\n" + val + "\r\n")); err != nil {
				b.Fatal(err)
			}
			if line, err := br.ReadString('\n'); err != nil || line != "STORED\r\n" {
				b.Fatalf("set: %q %v", line, err)
			}
			reply := len("VALUE v 0 "+strconv.Itoa(size)+"\r\n") + size + len("\r\nEND\r\n")
			req := []byte("get v\r\n")
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := nc.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := br.Discard(reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
