package server

import (
	"strings"
	"testing"
)

// benchConn returns a parser-only connection (no socket) on a fresh server.
func benchConn(b *testing.B) *conn {
	s := fuzzServer(b)
	b.Cleanup(s.store.Close)
	return newConn(s, nopConn{}, fakeListener{})
}

// run parses req once as the read loop would and discards the replies.
func (c *conn) runOnce(req []byte) {
	c.prepareRead()
	c.w += copy(c.rbuf[c.w:], req)
	c.process()
	c.out = c.out[:0]
}

// benchLoop measures req, parsed and answered b.N times.
func benchLoop(b *testing.B, c *conn, req []byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.runOnce(req)
	}
}

func BenchmarkTextGetHit(b *testing.B) {
	c := benchConn(b)
	c.runOnce([]byte("set user:12345:profile 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n"))
	req := []byte("get user:12345:profile\r\n")
	benchLoop(b, c, req)
}

func BenchmarkTextSet(b *testing.B) {
	c := benchConn(b)
	req := []byte("set user:12345:profile 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n")
	benchLoop(b, c, req)
}

func BenchmarkTextMultiGet50(b *testing.B) {
	c := benchConn(b)
	var sb strings.Builder
	sb.WriteString("get")
	for i := 0; i < 50; i++ {
		k := "key:" + itoa(uint64(i))
		c.runOnce([]byte("set " + k + " 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n"))
		sb.WriteString(" " + k)
	}
	sb.WriteString("\r\n")
	req := []byte(sb.String())
	benchLoop(b, c, req)
}
