package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// panicConn is a connection whose reads panic.
type panicConn struct{ net.Conn }

func (panicConn) Read([]byte) (int, error) { panic("injected read panic") }

// TestPanicIsRecoveredAndCounted: a panic while serving a connection closes
// that connection only; it is counted in stats (recovered_panics), and
// every other test's server fails its test when the count is not 0.
func TestPanicIsRecoveredAndCounted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port, cfg.Listen, cfg.MemoryLimitMB = -1, []string{"127.0.0.1"}, 16
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	cli, srv := net.Pipe()
	defer cli.Close()
	serveConn(s, panicConn{srv})
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cli.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection that panicked got a reply")
	}
	other := dial(t, s)
	if got := other.reply("stats\r\n"); !strings.Contains(got, "STAT recovered_panics 1\r\n") {
		t.Errorf("stats after one panic lacks recovered_panics 1")
	}
	if s.Panics() != 1 {
		t.Errorf("Panics() = %d, want 1", s.Panics())
	}
}

// emfileListener fails its first fails accepts with EMFILE.
type emfileListener struct {
	net.Listener
	fails, calls atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.calls.Add(1) <= l.fails.Load() {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestAcceptPausesWhenOutOfFDs: when accept fails for want of file
// descriptors the listener pauses with a doubling backoff (no spinning),
// counts it in listen_disabled_num and time_in_listen_disabled_us as
// memcached does, and accepts again once it can.
func TestAcceptPausesWhenOutOfFDs(t *testing.T) {
	s := testServer(t, nil)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &emfileListener{Listener: inner}
	l.fails.Store(4)
	s.Serve(l)
	start := time.Now()
	nc, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	if got := c.reply("version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("after the pause: %q", got)
	}
	// 5, 10, 20 and 40 ms of backoff before the fifth accept.
	if d := time.Since(start); d < 70*time.Millisecond {
		t.Errorf("served after %v: the failing accepts did not back off", d)
	}
	// 4 failed, 1 served, and perhaps the next one waiting.
	if n := l.calls.Load(); n < 5 || n > 6 {
		t.Errorf("%d accepts, want 4 failed and then 1 or 2", n)
	}
	st := statsOf(t, c)
	if st["listen_disabled_num"] != 1 || st["time_in_listen_disabled_us"] < 70_000 {
		t.Errorf("listen_disabled_num %d time_in_listen_disabled_us %d, want 1 and ≥ 70000",
			st["listen_disabled_num"], st["time_in_listen_disabled_us"])
	}
}

// TestAcceptResumesWhenFDsFree: with the process's file descriptors really
// exhausted (RLIMIT_NOFILE lowered), a new connection waits in the backlog
// unserved, the accept loop backs off rather than spinning, and as soon as
// another connection closes the waiting one is served, without waiting out
// the backoff (by then a second).
func TestAcceptResumesWhenFDsFree(t *testing.T) {
	s := testServer(t, nil)
	addr := s.Addrs()[0].String()
	first := dial(t, s)
	if got := first.reply("version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("version: %q", got)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(countFDs(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var dups []int
	release := func() {
		for _, fd := range dups {
			syscall.Close(fd)
		}
		dups = nil
	}
	defer func() {
		release()
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	}()
	// Take every descriptor left but one, which the client's socket takes:
	// the server's accept then has none.
	for {
		fd, err := syscall.Dup(0)
		if err != nil {
			break
		}
		dups = append(dups, fd)
	}
	syscall.Close(dups[len(dups)-1])
	dups = dups[:len(dups)-1]
	waiting, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	if _, err := waiting.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "accept paused", func() bool { return s.stats.listenDisabled.Load() > 0 })
	// Long enough for the backoff to reach its second.
	_ = waiting.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	if _, err := waiting.Read(make([]byte, 64)); err == nil {
		t.Fatal("a connection past the descriptor limit was served")
	}
	// The first connection leaves: its descriptors free, and the waiting
	// one is accepted at once.
	first.nc.Close()
	start := time.Now()
	_ = waiting.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := waiting.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "VERSION ") {
		t.Fatalf("after descriptors were freed: %q, %v", buf[:n], err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("served %v after a connection closed: accepting did not resume at once", d)
	}
	if n := s.stats.listenDisabled.Load(); n != 1 {
		t.Errorf("listen_disabled_num %d, want 1 (one pause)", n)
	}
}

// waitFor polls cond for up to 5 s; show, if given, describes the state
// when it never held.
func waitFor(t *testing.T, what string, cond func() bool, show ...func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range show {
				what += "; " + f()
			}
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	n := 0
	for fd := 0; fd < 4096; fd++ {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err == nil {
			n = fd + 1
		} else if !errors.Is(err, syscall.EBADF) {
			t.Fatal(err)
		}
	}
	return n
}
