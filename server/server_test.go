package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gocached.sock")
	s := testServer(t, func(c *Config) { c.UnixSocket = path; c.UnixMask = 0o660 })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %o, want 660", fi.Mode().Perm())
	}
	c := dial(t, s)
	if got := c.reply("set u 0 0 1\r\nx\r\nget u\r\n"); got != "STORED\r\nVALUE u 0 1\r\nx\r\nEND\r\n" {
		t.Fatalf("over unix socket: %q", got)
	}
	if got := c.reply("stats settings\r\n"); !strings.Contains(got, "STAT domain_socket "+path+"\r\n") {
		t.Fatalf("stats settings lacks the socket path")
	}
}

func TestMaxConns(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MaxConns = 2 })
	a, b := dial(t, s), dial(t, s)
	a.reply("version\r\n")
	b.reply("version\r\n")
	c := dial(t, s)
	line, err := c.br.ReadString('\n')
	if err != nil || line != "ERROR Too many open connections\r\n" {
		t.Fatalf("third connection got %q, %v", line, err)
	}
	if !c.closed() {
		t.Fatal("rejected connection left open")
	}
	if got := a.reply("stats\r\n"); !strings.Contains(got, "STAT rejected_connections 1\r\n") {
		t.Fatal("rejected_connections not counted")
	}
	// Once one leaves, a new client gets in.
	b.nc.Close()
	deadline := time.Now().Add(2 * time.Second)
	for s.stats.currConns.Load() > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d := dial(t, s)
	if got := d.reply("version\r\n"); got != "VERSION 1.6.45\r\n" {
		t.Fatalf("after a slot freed: %q", got)
	}
}

func TestConcurrentClients(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 64 })
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			nc, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(nc)
			for i := 0; i < 300; i++ {
				key := fmt.Sprintf("g%d-k%d", g, i%20)
				val := fmt.Sprintf("%d-%d-%s", g, i, strings.Repeat("v", i%700))
				fmt.Fprintf(nc, "set %s 0 0 %d\r\n%s\r\nget %s\r\nincr shared 1\r\n", key, len(val), val, key)
				want := fmt.Sprintf("STORED\r\nVALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(val), val)
				got := make([]byte, len(want))
				if _, err := ioReadFull(br, got); err != nil || string(got) != want {
					errs <- fmt.Errorf("client %d op %d: got %q want %q (%v)", g, i, got, want, err)
					return
				}
				if _, err := br.ReadString('\n'); err != nil { // incr reply or NOT_FOUND
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEvictionUnderSmallMemory(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 2 })
	c := dial(t, s)
	val := strings.Repeat("x", 1000)
	var b strings.Builder
	for i := 0; i < 5000; i++ { // ~5 MB into 2 MB
		fmt.Fprintf(&b, "set key%d 0 0 %d noreply\r\n%s\r\n", i, len(val), val)
	}
	c.reply(b.String())
	if got := c.reply("get key4999\r\n"); !strings.HasPrefix(got, "VALUE key4999 ") {
		t.Fatalf("latest key missing: %q", short(got))
	}
	if got := c.reply("get key0\r\n"); got != "END\r\n" {
		t.Fatalf("oldest key still present after 5 MB written into 2 MB")
	}
	st := s.store.Stats()
	if st.Evictions == 0 {
		t.Fatal("no evictions counted")
	}
	if st.TotalMalloced > 2<<20 {
		t.Fatalf("item memory %d over -m 2", st.TotalMalloced)
	}
}

func TestNoEvictionsReportsOutOfMemory(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 2; c.NoEvictions = true })
	c := dial(t, s)
	val := strings.Repeat("x", 1000)
	var last string
	for i := 0; i < 5000; i++ {
		last = c.reply(fmt.Sprintf("set key%d 0 0 %d\r\n%s\r\n", i, len(val), val))
		if last != "STORED\r\n" {
			break
		}
	}
	if last != "SERVER_ERROR out of memory storing object\r\n" {
		t.Fatalf("with -M, filling memory ended with %q", last)
	}
	if got := c.reply("get key0\r\n"); !strings.HasPrefix(got, "VALUE key0 ") {
		t.Fatal("-M evicted the first key")
	}
	if got := c.reply("stats\r\n"); !strings.Contains(got, "STAT store_no_memory 1\r\n") || !strings.Contains(got, "STAT evictions 0\r\n") {
		t.Fatal("store_no_memory / evictions wrong")
	}
}

func TestExpiryWithClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := testServer(t, func(c *Config) { c.now = clock })
	c := dial(t, s)
	abs := now.Unix() + 100
	c.reply(fmt.Sprintf("set ttl 0 10 1\r\nx\r\nset abs 0 %d 1\r\ny\r\nset forever 0 0 1\r\nz\r\n", abs))
	advance(9 * time.Second)
	s.store.Tick()
	if got := c.reply("get ttl abs forever\r\n"); strings.Count(got, "VALUE") != 3 {
		t.Fatalf("before expiry: %q", got)
	}
	advance(2 * time.Second)
	s.store.Tick()
	if got := c.reply("get ttl abs forever\r\n"); strings.Count(got, "VALUE") != 2 || strings.Contains(got, "ttl") {
		t.Fatalf("after 11s: %q", got)
	}
	advance(100 * time.Second)
	s.store.Tick()
	if got := c.reply("get ttl abs forever\r\n"); got != "VALUE forever 0 1\r\nz\r\nEND\r\n" {
		t.Fatalf("after the absolute time: %q", got)
	}
	// Delayed flush_all: items set before the deadline go at it.
	c.reply("set a 0 0 1\r\nx\r\nflush_all 10\r\n")
	advance(5 * time.Second)
	s.store.Tick()
	c.reply("set b 0 0 1\r\nx\r\n")
	if got := c.reply("get a b\r\n"); strings.Count(got, "VALUE") != 2 {
		t.Fatalf("before the flush deadline: %q", got)
	}
	advance(6 * time.Second)
	s.store.Tick()
	if got := c.reply("get a b forever\r\n"); got != "END\r\n" {
		t.Fatalf("after the flush deadline: %q", got)
	}
	c.reply("set c 0 0 1\r\nx\r\n")
	if got := c.reply("get c\r\n"); got != "VALUE c 0 1\r\nx\r\nEND\r\n" {
		t.Fatalf("set after the flush deadline: %q", got)
	}
}

func TestSlabRebalancing(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 4 })
	c := dial(t, s)
	var b strings.Builder
	for i := 0; i < 60000; i++ { // small items fill every page
		fmt.Fprintf(&b, "set small%d 0 0 10 noreply\r\n0123456789\r\n", i)
	}
	c.reply(b.String())
	big := strings.Repeat("B", 200000)
	for i := 0; i < 5; i++ {
		if got := c.reply(fmt.Sprintf("set big%d 0 0 %d\r\n%s\r\n", i, len(big), big)); got != "STORED\r\n" {
			t.Fatalf("large item %d after small ones: %q", i, got)
		}
	}
	if got := c.reply("get big4\r\n"); !strings.HasPrefix(got, "VALUE big4 0 200000\r\n") {
		t.Fatal("large item not readable")
	}
	// The large items' class got its first page past the limit, as
	// memcached's does, rather than a page of the small ones.
	if st := s.store.Stats(); st.TotalMalloced != 5<<20 || st.SlabsMoved != 0 {
		t.Fatalf("total_malloced %d slabs_moved %d, want 5 MB and 0", st.TotalMalloced, st.SlabsMoved)
	}
	if got := c.reply("slabs reassign 1 1\r\n"); got != "SAME src and dst class are identical\r\n" {
		t.Fatalf("slabs reassign same: %q", got)
	}
	if got := c.reply("slabs reassign 999 1\r\n"); got != "BADCLASS invalid src or dst class id\r\n" {
		t.Fatalf("slabs reassign bad: %q", got)
	}
}

// unmanagedServer listens on a loopback port; the test shuts it down.
func unmanagedServer(t *testing.T) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port = -1
	cfg.Listen = []string{"127.0.0.1"}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGracefulShutdown(t *testing.T) {
	s := unmanagedServer(t)
	addr := s.Addrs()[0].String()
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A request whose data is still arriving when shutdown starts.
	fmt.Fprintf(busy, "set k 0 0 5\r\nab")
	time.Sleep(20 * time.Millisecond)
	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	time.Sleep(20 * time.Millisecond)
	fmt.Fprintf(busy, "cde\r\n")
	br := bufio.NewReader(busy)
	_ = busy.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := br.ReadString('\n')
	if err := <-done; err != nil {
		t.Fatalf("shutdown did not drain the connections: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still accepting after shutdown")
	}
	_ = idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle connection not closed by shutdown")
	}
	if line != "STORED\r\n" {
		t.Fatalf("in-flight request got %q", line)
	}
}

func TestIdleTimeout(t *testing.T) {
	s := testServer(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, s)
	c.reply("version\r\n")
	if !c.closed() {
		t.Fatal("idle connection not closed")
	}
	if s.stats.idleKicks.Load() != 1 {
		t.Fatalf("idle_kicks %d", s.stats.idleKicks.Load())
	}
}

// TestShutdownGivesUpStalledRequest: a client that stopped in the middle
// of a data block (memcached's t/ascii-auth.t leaves one behind) does not
// hold shutdown until its deadline: with no progress for drainGrace the
// request is given up, and the drain ends well before the context.
func TestShutdownGivesUpStalledRequest(t *testing.T) {
	s := unmanagedServer(t)
	stalled, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "set big 0 0 100000\r\nabc")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown waited for the stalled request until its context ended: %v", err)
	}
	_ = stalled.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := stalled.Read(make([]byte, 16)); err == nil {
		t.Fatalf("stalled connection got %d bytes instead of being closed", n)
	}
}

// TestListenWithNoListener: with -p 0 and no -U nor -s memcached 1.6.45
// runs with no listener (t/issue_67.t), and so does gocached.
func TestListenWithNoListener(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port, cfg.UDPPort = 0, 0
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen with no listener: %v", err)
	}
	if len(s.Addrs()) != 0 || len(s.UDPAddrs()) != 0 {
		t.Fatalf("listeners %v %v", s.Addrs(), s.UDPAddrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
