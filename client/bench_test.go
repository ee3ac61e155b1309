package client

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"testing"
)

// Benchmarks of the client's overhead. They run against an in-process
// gocached, or against the server at $GOCACHED_BENCH_ADDR (e.g. a
// gocached or memcached process, to keep the server off the benchmark's
// profile).

func benchAddr(b *testing.B) string {
	if a := os.Getenv("GOCACHED_BENCH_ADDR"); a != "" {
		return a
	}
	return startNode(b).addr
}

var benchValue = []byte("a value of about a hundred bytes......................................................")

// BenchmarkRawGet is the floor: one "get" round trip on a bare
// connection with bufio, nothing else.
func BenchmarkRawGet(b *testing.B) {
	addr := benchAddr(b)
	c := newClient(b, Config{Servers: []string{addr}})
	if err := c.Set(context.Background(), &Item{Key: "bench:key", Value: benchValue}); err != nil {
		b.Fatal(err)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	br, bw := bufio.NewReader(nc), bufio.NewWriter(nc)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bw.WriteString("get bench:key\r\n")
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		l, err := br.ReadSlice('\n') // VALUE line
		if err != nil {
			b.Fatal(err)
		}
		f := len(l)
		_ = f
		buf = buf[:len(benchValue)+2]
		if _, err := readFull(br, buf); err != nil {
			b.Fatal(err)
		}
		if l, err = br.ReadSlice('\n'); err != nil || string(l) != "END\r\n" {
			b.Fatal(string(l), err)
		}
	}
}

func readFull(br *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := br.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func benchClient(b *testing.B, cfg Config) *Client {
	cfg.Servers = []string{benchAddr(b)}
	c := newClient(b, cfg)
	if err := c.Set(context.Background(), &Item{Key: "bench:key", Value: benchValue}); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkGetValue is the client's zero-allocation get path.
func BenchmarkGetValue(b *testing.B) {
	c := benchClient(b, Config{})
	ctx := context.Background()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, _, err := c.GetValue(ctx, "bench:key", buf[:0])
		if err != nil || len(v) != len(benchValue) {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet returns a fresh *Item (gomemcache's shape).
func BenchmarkGet(b *testing.B) {
	c := benchClient(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Get(ctx, "bench:key"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetCancelable: a context with a Done channel costs the
// AfterFunc that interrupts I/O on cancellation.
func BenchmarkGetCancelable(b *testing.B) {
	c := benchClient(b, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := c.GetValue(ctx, "bench:key", buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	c := benchClient(b, Config{})
	ctx := context.Background()
	it := &Item{Key: "bench:set", Value: benchValue}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Set(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetMulti100(b *testing.B) {
	c := benchClient(b, Config{})
	ctx := context.Background()
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "bench:m:" + strconv.Itoa(i)
		if err := c.Set(ctx, &Item{Key: keys[i], Value: benchValue}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m, err := c.GetMulti(ctx, keys); err != nil || len(m) != 100 {
			b.Fatal(len(m), err)
		}
	}
}

// BenchmarkNearHit is a get served by the near cache (GetValue into a
// buffer, and Get with its copy).
func BenchmarkNearHit(b *testing.B) {
	c := benchClient(b, Config{NearCache: &NearCacheConfig{TTL: 1 << 62}})
	ctx := context.Background()
	buf := make([]byte, 0, 256)
	if _, _, err := c.GetValue(ctx, "bench:key", buf); err != nil {
		b.Fatal(err)
	}
	c.near.cache.Wait()
	b.Run("GetValue", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := c.GetValue(ctx, "bench:key", buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(ctx, "bench:key"); err != nil {
				b.Fatal(err)
			}
		}
	})
	h := c.NearCacheStats()
	if h.Hits < uint64(b.N) {
		b.Fatalf("near cache hits %d", h.Hits)
	}
}

func BenchmarkKeyHash(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		KeyHash("user:12345:profile")
	}
}
