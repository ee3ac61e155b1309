package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testServer starts a server on a loopback port and stops it at cleanup.
func testServer(t testing.TB, edit func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port = -1
	cfg.Listen = []string{"127.0.0.1"}
	cfg.MemoryLimitMB = 16
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if n := s.Panics(); n > 0 {
			t.Errorf("%d connection panics were recovered (see the log)", n)
		}
	})
	return s
}

// client is a raw text-protocol connection for tests.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	a := s.Addrs()[0]
	nc, err := net.Dial(a.Network(), a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// reply sends a request followed by the "mn" sentinel and returns every
// byte the server sent before the sentinel's MN.
func (c *client) reply(req string) string {
	c.t.Helper()
	c.send(req + "mn\r\n")
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	for {
		line, err := c.br.ReadBytes('\n')
		if err != nil {
			c.t.Fatalf("reading reply to %q: %v (got %q)", req, err, out)
		}
		if string(line) == "MN\r\n" {
			return string(out)
		}
		out = append(out, line...)
	}
}

// expect sends req and reads exactly len(want) bytes of reply (for
// sessions where the mn sentinel cannot be used).
func (c *client) expect(req, want string) string {
	c.t.Helper()
	c.send(req)
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(want))
	n, err := io.ReadFull(c.br, buf)
	if err != nil {
		return string(buf[:n]) + "<" + err.Error() + ">"
	}
	return string(buf)
}

// closed reports whether the server closed the connection (a close with
// unread input makes the kernel reset it).
func (c *client) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.br.ReadByte()
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET)
}

// pipeConn runs a connection of s over net.Pipe: each client write
// arrives as a separate read on the server side. The returned function
// sends the "mn" sentinel, waits for its reply, hangs up and returns
// everything the server sent before the sentinel.
func pipeConn(t testing.TB, s *Server) (net.Conn, func() string) {
	cli, finish := pipeWith(t, s, []byte("mn\r\n"), func(b []byte) int {
		if bytes.HasSuffix(b, []byte("MN\r\n")) {
			return len(b) - len("MN\r\n")
		}
		return -1
	})
	return cli, func() string { return string(finish()) }
}

// pipeWith runs a connection of s over net.Pipe for any protocol: finish
// writes sentinel, waits until end finds where its reply starts in the
// output (-1: not yet), hangs up and returns what came before it.
func pipeWith(t testing.TB, s *Server, sentinel []byte, end func([]byte) int) (net.Conn, func() []byte) {
	cli, srv := net.Pipe()
	serveConn(s, srv)
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := cli.Read(buf)
			out.Write(buf[:n])
			if err != nil || end(out.Bytes()) >= 0 {
				return
			}
		}
	}()
	finish := func() []byte {
		if _, err := cli.Write(sentinel); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("no reply to the sentinel")
		}
		cli.Close()
		b := out.Bytes()
		if i := end(b); i >= 0 {
			b = b[:i]
		}
		return b
	}
	return cli, finish
}

// serveConn serves nc as a connection of s, as if accepted.
func serveConn(s *Server, nc net.Conn) {
	c := newConn(s, nc, fakeListener{})
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.stats.currConns.Add(1)
	s.connWG.Add(1)
	s.mu.Unlock()
	go c.serve()
}

type fakeListener struct{}

func (fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (fakeListener) Close() error              { return nil }
func (fakeListener) Addr() net.Addr            { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// crlf turns "\n" into "\r\n" for readable test tables.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
