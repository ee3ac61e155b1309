package client

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// cannedConn is a net.Conn that answers each written request at once
// from memory: "get"/"gets" with one value, storage commands with
// STORED. Benchmarks on it measure the client's own CPU per request,
// without the kernel and the scheduler that dominate a loopback round
// trip.
type cannedConn struct {
	out bytes.Buffer
	get []byte // reply to get
	gts []byte // reply to gets
}

func newCannedConn() *cannedConn {
	v := string(benchValue)
	n := itoa(len(v))
	return &cannedConn{
		get: []byte("VALUE bench:key 0 " + n + "\r\n" + v + "\r\nEND\r\n"),
		gts: []byte("VALUE bench:key 0 " + n + " 42\r\n" + v + "\r\nEND\r\n"),
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func (c *cannedConn) Write(p []byte) (int, error) {
	switch {
	case bytes.HasPrefix(p, []byte("gets ")):
		c.out.Write(c.gts)
	case bytes.HasPrefix(p, []byte("get ")):
		c.out.Write(c.get)
	default:
		c.out.WriteString("STORED\r\n")
	}
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error)       { return c.out.Read(p) }
func (c *cannedConn) Close() error                     { return nil }
func (c *cannedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *cannedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *cannedConn) SetDeadline(time.Time) error      { return nil }
func (c *cannedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cannedConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkOverhead is the client's CPU per request on a canned
// connection, next to the bare bufio exchange ("raw") on the same.
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		cc := newCannedConn()
		br, bw := bufio.NewReaderSize(cc, readBufSize), bufio.NewWriterSize(cc, writeBufSize)
		buf := make([]byte, len(benchValue)+2)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			bw.WriteString("get bench:key\r\n")
			bw.Flush()
			if _, err := br.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
			if _, err := readFull(br, buf); err != nil {
				b.Fatal(err)
			}
			if _, err := br.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
		}
	})
	canned := func(b *testing.B) *Client {
		cc := newCannedConn()
		return newClient(b, Config{Servers: []string{"10.0.0.1:11211"}, MaxIdleConns: 1, MaxOpenConns: 1,
			DialContext: func(context.Context, string, string) (net.Conn, error) { return cc, nil }})
	}
	b.Run("GetValue", func(b *testing.B) {
		c := canned(b)
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := c.GetValue(ctx, "bench:key", buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		c := canned(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(ctx, "bench:key"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Set", func(b *testing.B) {
		c := canned(b)
		it := &Item{Key: "bench:key", Value: benchValue}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := c.Set(ctx, it); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetThreeNodes", func(b *testing.B) {
		conns := map[string]*cannedConn{}
		c := newClient(b, Config{Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}, MaxIdleConns: 1, MaxOpenConns: 1,
			DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
				conns[addr] = newCannedConn()
				return conns[addr], nil
			}})
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := c.GetValue(ctx, "bench:key", buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
