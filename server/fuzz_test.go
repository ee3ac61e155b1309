package server

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// nopConn is a net.Conn that the parser never reads or writes directly.
type nopConn struct{}

func (nopConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (nopConn) Write(b []byte) (int, error)      { return len(b), nil }
func (nopConn) Close() error                     { return nil }
func (nopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (nopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }

func fuzzServer(t testing.TB) *Server {
	cfg := DefaultConfig()
	cfg.MemoryLimitMB = 4
	cfg.HashPower = 8
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feed runs input through a connection's parser in the given pieces, as
// the read loop would, and returns the replies; "<closed>" marks the
// connection being closed. A binary connection's replies still held at the
// end (those of a request whose body is being read or swallowed, which a
// later read would release) are included.
func feed(s *Server, pieces ...[]byte) []byte {
	c := newConn(s, nopConn{}, fakeListener{})
	defer c.release()
	var out []byte
	for _, p := range pieces {
		for len(p) > 0 {
			c.prepareRead()
			n := copy(c.rbuf[c.w:], p)
			c.w += n
			p = p[n:]
			act := c.process()
			out = append(out, c.out...)
			c.out = c.out[:0]
			if c.r > c.w || c.w > len(c.rbuf) {
				panic("buffer indexes out of range")
			}
			if act == actClose {
				return append(out, "<closed>"...)
			}
		}
	}
	if c.bin != nil {
		out = append(out, c.bin.held...)
	}
	return out
}

// comparable drops reply lines that depend on the clock or the process.
func comparable(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\r\n") {
		if strings.HasPrefix(l, "STAT ") || strings.HasPrefix(l, "ITEM ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\r\n")
}

// FuzzText feeds arbitrary bytes to the text protocol. The daemon must not
// panic, and the replies must not depend on how the bytes were split into
// reads.
func FuzzText(f *testing.F) {
	for _, seed := range []string{
		pipelineScript,
		"set a 0 0 1\r\nx\r\nget a\r\n",
		"set a 0 0 -1\r\n",
		"set a 0 0 4294967295\r\n",
		"set a 4294967296 0 1\r\nx\r\ngets a\r\n",
		"get " + strings.Repeat("k", 251) + "\r\n",
		"incr a 18446744073709551615\r\nincr a 1\r\n",
		"set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\nincr n 99999\r\n",
		"delete a 0 noreply\r\ndelete a junk\r\n",
		"gat -1 a b c\r\ngats 10\r\n",
		"flush_all -1\r\nflush_all 10 noreply\r\nflush_all x\r\n",
		"stats\r\nstats items\r\nstats slabs\r\nstats settings\r\nstats cachedump 1 1\r\nstats conns\r\n",
		"cas a 0 0 1 0\r\nx\r\nappend a 0 0 1\r\ny\r\nprepend a 0 0 1\r\nz\r\n",
		"\x00\r\n\n\r\n   \r\nset\x00 a\r\n",
		"GET / HTTP/1.1\r\n",
		"slabs reassign 1 2\r\nslabs automove 1\r\nlru_crawler crawl all\r\n",
		"verbosity 5 noreply\r\nversion\r\nquit\r\nget a\r\n",
		"ms a 3 T10 F5 c k O1\r\nabc\r\nmg a s v f t c k h l O2 q\r\nmg b N30 v t\r\nmd a I T5\r\nmg a v c\r\n",
		"ms a 2 I C1 MR\r\nxy\r\nma n N0 J5 v t T10 c\r\nma n MD D9 q\r\nme a\r\nme YQ== b\r\nmn\r\n",
		"mg Zm9v b k v\r\nms Zm9v 1 b k\r\nx\r\nmg Zm9v=Yg= b k\r\nmg a v v\r\nmg a E1\r\nms a S1\r\nz\r\n",
		strings.Repeat("x", 3000),
		"get " + strings.Repeat("a ", 2000),
	} {
		f.Add([]byte(seed), uint16(len(seed)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		if len(in) > 1<<16 {
			return
		}
		if len(in) > 0 && in[0] == 0x80 {
			return // a binary connection: FuzzBinary's domain (its stats carry clocks)
		}
		a, b := fuzzServer(t), fuzzServer(t)
		defer a.store.Close()
		defer b.store.Close()
		k := int(split)
		if k > len(in) {
			k = len(in)
		}
		whole := feed(a, in)
		parts := feed(b, in[:k], in[k:])
		if comparable(whole) != comparable(parts) {
			t.Fatalf("replies depend on the split at %d:\n whole %q\n split %q", k, whole, parts)
		}
		if bytes.Contains(whole, []byte("SERVER_ERROR Unhandled")) {
			t.Fatal("unhandled reply")
		}
	})
}
