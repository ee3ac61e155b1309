//go:build interop

package interop

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flag sets shared by the tests. Both servers get exactly these flags (the
// helper adds -p PORT -l 127.0.0.1 itself). memcached refuses `-I 2k`
// unless slab_chunk_max is at most -I, hence the -o for the small-item
// configuration: in kilobytes, as 1.6.45 reads it (1.6.18 read bytes; the
// reference is 1.6.45).
var (
	flagsDefault = []string{"-U", "0", "-m", "64", "-I", "1m", "-t", "2"}
	flagsSmall   = []string{"-U", "0", "-m", "64", "-I", "2k", "-o", "slab_chunk_max=2", "-t", "2"}
)

const (
	limitDefault = 1 << 20 // -I 1m
	limitSmall   = 2048    // -I 2k
)

// binary is a server executable plus the flags only it needs.
type binary struct {
	name  string   // "memcached" or "gocached", used in messages
	path  string   // absolute path
	extra []string // appended after the common flags
}

// memcachedBinary returns the reference memcached: $MEMCACHED_REF, the
// newest release (1.6.45, built by scripts/mc145.sh; scripts/interop.sh
// sets it), whose replies gocached follows where they differ from older
// ones; without it Debian's memcached from PATH (debianMemcached).
func memcachedBinary(t testing.TB) binary {
	t.Helper()
	if p := os.Getenv("MEMCACHED_REF"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MEMCACHED_REF=%q: %v", p, err)
		}
		return withMemcachedFlags(binary{name: "memcached", path: p})
	}
	return debianMemcached(t)
}

// diffReference is the reference of the differential tests: memcached
// 1.6.45 (memcachedBinary), or with DIFF_REF=1.6.18 Debian's 1.6.18, which
// they then feed only well-formed commands (wellFormed): 1.6.45's text
// parser answers malformed lines and meta commands differently, and
// gocached follows 1.6.45 there.
func diffReference(t testing.TB) (ref binary, wellFormed bool) {
	t.Helper()
	switch v := os.Getenv("DIFF_REF"); v {
	case "", "1.6.45":
		return memcachedBinary(t), false
	case "1.6.18":
		return debianMemcached(t), true
	default:
		t.Fatalf("DIFF_REF=%q: 1.6.45 (the default) or 1.6.18", v)
		return binary{}, false
	}
}

// smallFlags are flagsSmall for the differential tests' reference: memcached
// 1.6.18 (wellFormed) reads slab_chunk_max in bytes, and crashes on its
// first store with slab_chunk_max=2 (2 bytes); gocached reads values past
// 1024 as bytes too.
func smallFlags(wellFormed bool) []string {
	if !wellFormed {
		return flagsSmall
	}
	f := slices.Clone(flagsSmall)
	f[slices.Index(f, "slab_chunk_max=2")] = "slab_chunk_max=2048"
	return f
}

// debianMemcached returns Debian's memcached (1.6.18) from PATH;
// scripts/interop.sh installs it.
func debianMemcached(t testing.TB) binary {
	t.Helper()
	p, err := exec.LookPath("memcached")
	if err != nil {
		t.Fatal("memcached not on PATH (scripts/interop.sh installs it): ", err)
	}
	return withMemcachedFlags(binary{name: "memcached", path: p})
}

// withMemcachedFlags adds the flags every memcached of the tests runs with.
func withMemcachedFlags(b binary) binary {
	// memcached's LRU maintainer and crawler threads take short-lived
	// references on items. incr/decr rewrites a value in place (space-padded
	// to the old length) only while nothing else references the item, and
	// allocates an exact-length item otherwise; with those threads running,
	// which of the two happens is a race. Without them it is deterministic
	// (in place whenever the result fits). Neither thread changes any other
	// reply these tests look at.
	b.extra = []string{"-o", "no_lru_crawler,no_lru_maintainer"}
	// memcached exits with "can't run as root without the -u switch".
	if os.Geteuid() == 0 {
		b.extra = append(b.extra, "-u", "root")
	}
	return b
}

// selfMode reports whether DIFF_SELF=1 asks for memcached in place of
// gocached, which checks the harness itself.
func selfMode() bool { return os.Getenv("DIFF_SELF") == "1" }

// candidateBinary returns the server under test: gocached from
// $GOCACHED_BIN, or memcached when DIFF_SELF=1. It skips the test when
// GOCACHED_BIN is unset.
func candidateBinary(t testing.TB) binary {
	t.Helper()
	if selfMode() {
		b := memcachedBinary(t)
		b.name = "memcached(self)"
		return b
	}
	p := os.Getenv("GOCACHED_BIN")
	if p == "" {
		t.Fatal("GOCACHED_BIN is not set (scripts/interop.sh sets it; DIFF_SELF=1 uses memcached instead)")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("GOCACHED_BIN=%q: %v", p, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("GOCACHED_BIN=%q: %v", p, err)
	}
	return binary{name: "gocached", path: abs}
}

// server is one running server process.
type server struct {
	name string
	addr string // 127.0.0.1:PORT
	port int
	args []string
	cmd  *exec.Cmd
	out  *tailBuffer // stdout and stderr, last 64 KiB
	done chan struct{}
	err  error // Wait's result, valid once done is closed
}

// startServer starts b on a free 127.0.0.1 port with the given flags, waits
// until it accepts TCP connections and registers a cleanup that kills it.
// A port lost to another process between choosing and binding is retried.
func startServer(t testing.TB, b binary, flags ...string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(t, b, flags)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(strings.ToLower(err.Error()), "in use") {
			break
		}
	}
	t.Fatalf("start %s: %v", b.name, lastErr)
	return nil
}

func tryStart(t testing.TB, b binary, flags []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-p", strconv.Itoa(port), "-l", "127.0.0.1"}, flags...)
	args = append(args, b.extra...)
	s := &server{
		name: b.name,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port: port,
		args: args,
		out:  &tailBuffer{max: 64 << 10},
		done: make(chan struct{}),
	}
	s.cmd = exec.Command(b.path, args...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", b.path, strings.Join(args, " "), err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s %s exited before accepting (%v); output:\n%s",
				b.path, strings.Join(args, " "), s.err, s.out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			t.Logf("started %s: %s %s (pid %d)", b.name, b.path, strings.Join(args, " "), s.cmd.Process.Pid)
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s %s: not accepting on %s after 10s: %v; output:\n%s",
				b.path, strings.Join(args, " "), s.addr, err, s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireSentinel fails the test unless the server answers the meta no-op
// "mn" with "MN\r\n", which every exchange here relies on.
func requireSentinel(t testing.TB, s *server) {
	t.Helper()
	cl, err := dialClient(s.addr)
	if err != nil {
		t.Fatalf("connect %s at %s: %v", s.name, s.addr, err)
	}
	defer cl.close()
	if r := cl.exchange(nil, false, 1, replyTimeout); r.render() != sentinelReply {
		t.Fatalf("%s does not answer %q with %q (got %q); every interop exchange ends with it",
			s.name, sentinel, sentinelReply, r.render())
	}
}

// stop kills the process and waits for it; safe to call more than once.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer is a goroutine-safe writer that keeps the last max bytes.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// ---------------------------------------------------------------------------
// Client side: one TCP connection, one exchange at a time.

const (
	sentinel      = "mn\r\n" // meta no-op; its reply ends every exchange
	sentinelReply = "MN\r\n"
	replyTimeout  = 2 * time.Second
	splitPause    = 50 * time.Millisecond
)

// client is a raw text-protocol connection.
type client struct {
	addr string
	c    net.Conn
}

func dialClient(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &client{addr: addr, c: c}, nil
}

func (c *client) close() {
	if c != nil && c.c != nil {
		c.c.Close()
	}
}

// result is what one exchange read back.
type result struct {
	data    []byte
	closed  bool // the server closed (EOF or reset) or a write failed
	timeout bool // no sentinel reply (or close) within the deadline
}

// render gives the reply as compared: the bytes, then a marker for a
// closed connection or a missing sentinel reply.
func (r result) render() string {
	s := string(r.data)
	if r.closed {
		s += "<CLOSED>"
	}
	if r.timeout {
		s += "<TIMEOUT>"
	}
	return s
}

// exchange writes parts (pausing between them), then, unless waitClose,
// the sentinel; it reads until want sentinel replies have arrived, the
// server closes, or timeout passes. With waitClose it sends no sentinel and
// reads until the server closes (memcached closes on an over-long line).
// Writing runs concurrently with reading so that a long pipeline cannot
// deadlock on full socket buffers.
func (c *client) exchange(parts [][]byte, waitClose bool, want int, timeout time.Duration) result {
	var res result
	wdone := make(chan error, 1)
	go func() {
		for i, p := range parts {
			if i > 0 {
				time.Sleep(splitPause)
			}
			if err := c.writeAll(p, timeout); err != nil {
				wdone <- err
				return
			}
		}
		if !waitClose {
			if err := c.writeAll([]byte(sentinel), timeout); err != nil {
				wdone <- err
				return
			}
		}
		wdone <- nil
	}()
	deadline := time.Now().Add(timeout + time.Duration(max(0, len(parts)-1))*splitPause)
	_ = c.c.SetReadDeadline(deadline)
	buf := make([]byte, 64<<10)
	var data []byte
	seen, scan := 0, 0
	for waitClose || seen < want {
		n, err := c.c.Read(buf)
		data = append(data, buf[:n]...)
		for {
			i := bytes.Index(data[scan:], []byte(sentinelReply))
			if i < 0 {
				break
			}
			seen++
			scan += i + len(sentinelReply)
		}
		scan = max(scan, len(data)-len(sentinelReply)+1)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				res.timeout = true
			} else {
				res.closed = true
			}
			break
		}
	}
	if werr := <-wdone; werr != nil && !res.timeout {
		res.closed = true
	}
	res.data = data
	return res
}

// writeAll writes p with a write deadline.
func (c *client) writeAll(p []byte, timeout time.Duration) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.c.Write(p)
	return err
}
