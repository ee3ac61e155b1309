package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a store clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

// advance moves the clock and lets the store and the idler see it.
func (f *fakeClock) advance(s *Server, d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
	s.store.Tick()
	s.idle.scan()
}

// TestIdleConnectionsPark: connections idle for parkAfter give up their
// goroutines; each is served again as soon as it sends; one in the middle
// of a request is never parked; idle_timeout closes parked ones; shutdown
// closes them at once.
func TestIdleConnectionsPark(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	s := testServer(t, func(c *Config) { c.now = clk.Now; c.IdleTimeout = 100 * time.Second })
	const n = 200
	cs := dialStoring(t, s, n)
	partial := dial(t, s)
	partial.send("get k1") // no end of line yet
	waitFor(t, "partial request read", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			if c.state.Load() == stateWaiting && c.lastCmd.Load() != 0 {
				return true
			}
		}
		return false
	})
	before := runtime.NumGoroutine()
	clk.advance(s, parkAfter*time.Second)
	waitFor(t, "idle connections parked", func() bool { return s.idle.parkedCount() == n },
		func() string { return fmt.Sprintf("%d parked", s.idle.parkedCount()) })
	if after := runtime.NumGoroutine(); before-after < n-3 { // slack: runtime and test goroutines come and go
		t.Errorf("goroutines %d before parking, %d after: parking %d connections freed %d", before, after, n, before-after)
	}
	// Each parked connection is served again when it sends.
	for i, c := range cs {
		if got, want := c.reply(fmt.Sprintf("get k%d\r\n", i)), fmt.Sprintf("VALUE k%d 0 1\r\n%d\r\nEND\r\n", i, i%10); got != want {
			t.Fatalf("conn %d after parking: %q, want %q", i, got, want)
		}
	}
	if p := s.idle.parkedCount(); p != 0 {
		t.Errorf("%d still parked after all sent", p)
	}
	if got := partial.reply("\r\n"); got != "VALUE k1 0 1\r\n1\r\nEND\r\n" {
		t.Errorf("the request under way when the others parked: %q", got)
	}
	// Parked again, then past idle_timeout: closed and counted.
	clk.advance(s, parkAfter*time.Second)
	waitFor(t, "parked again", func() bool { return s.idle.parkedCount() == n+1 }, func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		req, waiting := 0, 0
		for c := range s.conns {
			if c.parkReq.Load() {
				req++
			}
			if c.state.Load() == stateWaiting {
				waiting++
			}
		}
		return fmt.Sprintf("%d parked, %d asked, %d waiting, %d conns", s.idle.parkedCount(), req, waiting, len(s.conns))
	})
	kicks := s.stats.idleKicks.Load()
	clk.advance(s, 101*time.Second)
	for i, c := range cs[:10] {
		if !c.closed() {
			t.Fatalf("parked conn %d still open past idle_timeout", i)
		}
	}
	if k := s.stats.idleKicks.Load() - kicks; k != n+1 {
		t.Errorf("idle_kicks grew by %d, want %d", k, n+1)
	}
}

// TestShutdownClosesParked: parked connections do not hold shutdown, and
// are closed by it.
func TestShutdownClosesParked(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	s := testServer(t, func(c *Config) { c.now = clk.Now })
	var cs []*client
	for i := 0; i < 20; i++ {
		c := dial(t, s)
		if got := c.reply("version\r\n"); !strings.HasPrefix(got, "VERSION ") {
			t.Fatal(got)
		}
		cs = append(cs, c)
	}
	clk.advance(s, parkAfter*time.Second)
	waitFor(t, "parked", func() bool { return s.idle.parkedCount() == 20 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown with parked connections took %v", d)
	}
	for i, c := range cs {
		if !c.closed() {
			t.Fatalf("parked conn %d open after shutdown", i)
		}
	}
}

// TestCrowdedConnectionsPark: past crowdedAbove connections with
// goroutines, a connection parks as soon as it has answered its first
// request and finds nothing more to read, with no parkAfter wait (the
// store clock does not move here); each is served again when it sends and,
// busy now, is not parked again; a connection in the middle of a request
// keeps its goroutine.
func TestCrowdedConnectionsPark(t *testing.T) {
	const limit, n = 8, 60
	clk := &fakeClock{now: time.Now()}
	s := testServer(t, func(c *Config) { c.now = clk.Now; c.crowdedAbove = limit })
	partial := dial(t, s)
	partial.send("set kp 0 0 5\r\nab") // mid data block: never parked
	cs := dialStoring(t, s, n)
	// All but limit of the n+1 connections park, whatever their order.
	waitFor(t, "crowded connections parked", func() bool { return s.idle.parkedCount() >= n-limit },
		func() string { return fmt.Sprintf("%d parked", s.idle.parkedCount()) })
	if p := s.idle.parkedCount(); p > n {
		t.Errorf("%d parked of %d idle connections", p, n)
	}
	for i, c := range cs {
		if got, want := c.reply(fmt.Sprintf("get k%d\r\n", i)), fmt.Sprintf("VALUE k%d 0 1\r\n%d\r\nEND\r\n", i, i%10); got != want {
			t.Fatalf("conn %d after parking: %q, want %q", i, got, want)
		}
	}
	// A second request in the same second is not sporadic: none of them
	// parks again, crowded as the server is.
	time.Sleep(50 * time.Millisecond)
	if p := s.idle.parkedCount(); p != 0 {
		t.Errorf("%d connections parked again after a second request in the same second", p)
	}
	if got := partial.reply("cde\r\n"); got != "STORED\r\n" {
		t.Errorf("the set under way while the others parked: %q", got)
	}
	if got := cs[0].reply("get kp\r\n"); got != "VALUE kp 0 5\r\nabcde\r\nEND\r\n" {
		t.Errorf("get kp: %q", got)
	}
	// Fewer connections than the limit: none parks before parkAfter.
	for _, c := range cs {
		c.nc.Close()
	}
	partial.nc.Close()
	waitFor(t, "connections gone", func() bool { return s.stats.currConns.Load() == 0 && s.idle.parkedCount() == 0 })
	few := dial(t, s)
	if got := few.reply("get k1\r\n"); got != "VALUE k1 0 1\r\n1\r\nEND\r\n" {
		t.Fatal(got)
	}
	time.Sleep(100 * time.Millisecond)
	if p := s.idle.parkedCount(); p != 0 {
		t.Errorf("%d parked with one connection", p)
	}
}

// dialStoring opens n connections; the i-th sets k<i> to the digit i%10,
// and the reply of each get after parking is checked against it.
func dialStoring(t *testing.T, s *Server, n int) []*client {
	t.Helper()
	var cs []*client
	for i := 0; i < n; i++ {
		c := dial(t, s)
		if got := c.reply(fmt.Sprintf("set k%d 0 0 1\r\n%d\r\n", i, i%10)); got != "STORED\r\n" {
			t.Fatalf("set: %q", got)
		}
		cs = append(cs, c)
	}
	return cs
}

// TestParkedHangUp: a parked connection whose client closes is finished by
// the idler itself; one whose client sends a request and then shuts its
// side still gets the reply; one reset by its client goes too.
func TestParkedHangUp(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	s := testServer(t, func(c *Config) { c.now = clk.Now })
	cs := dialStoring(t, s, 3)
	clk.advance(s, parkAfter*time.Second)
	waitFor(t, "parked", func() bool { return s.idle.parkedCount() == 3 })
	cs[0].nc.Close()
	cs[1].send("get k1\r\n")
	if err := cs[1].nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = cs[2].nc.(*net.TCPConn).SetLinger(0)
	cs[2].nc.Close()
	b, err := io.ReadAll(cs[1].br)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "VALUE k1 0 1\r\n1\r\nEND\r\n" {
		t.Errorf("request before the hang-up: %q", got)
	}
	waitFor(t, "connections finished", func() bool { return s.stats.currConns.Load() == 0 && s.idle.parkedCount() == 0 },
		func() string {
			return fmt.Sprintf("%d conns, %d parked", s.stats.currConns.Load(), s.idle.parkedCount())
		})
}
