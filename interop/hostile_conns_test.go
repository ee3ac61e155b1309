//go:build interop && reliability && linux

package interop

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Hostile clients that are many connections: a storm of connect/close, more
// connections than -c, and 10 000 at once.

// connStorm: perSec connections a second for the window, from 4 workers:
// a third closed at once, a third reset (SO_LINGER 0), a third closed
// right after sending "version" without reading the reply.
func connStorm(perSec int) hostile {
	const workers = 4
	return hostile{name: "conn storm", conns: workers * 4, // a few in flight on the server's side
		run: func(h *hostileRun) *outcome {
			tl := newTally()
			interval := time.Second * workers / time.Duration(perSec)
			var wg sync.WaitGroup
			start := time.Now()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					next := start.Add(interval * time.Duration(w) / workers)
					for k := 0; next.Before(h.until); k++ {
						sleepUntil(next)
						next = next.Add(interval)
						c, err := hostileDial(h.addr, false)
						if !tl.dialed(err) {
							continue
						}
						switch k % 3 {
						case 1:
							_ = c.(*net.TCPConn).SetLinger(0)
						case 2:
							m, _ := c.Write([]byte("version\r\n"))
							tl.addSent(m)
						}
						c.Close()
					}
				}()
			}
			wg.Wait()
			took := time.Since(start).Seconds()
			tl.mu.Lock()
			n := tl.conns
			tl.mu.Unlock()
			return &outcome{summary: fmt.Sprintf("%.0f connects/s: %s", float64(n)/took, tl)}
		},
	}
}

// overLimit: n connections at once against -c 1024 (the canary and the
// writer hold two). Each waits 300 ms for what the server says unasked;
// one that got nothing sends "mn" and must get "MN" (or, accepted late,
// the refusal). They are held until the window ends.
func overLimit(n int) hostile {
	return hostile{name: "over -c", conns: n,
		run: func(h *hostileRun) *outcome {
			tl := newTally()
			conns := dialMany(h.addr, n, 32, false, tl)
			o := &outcome{firsts: map[string]int{}}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, c := range conns {
				if c == nil {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					got := overLimitOne(c)
					mu.Lock()
					o.firsts[got]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			sleepUntil(h.until)
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			o.count = o.firsts["MN"]
			var parts []string
			for k, v := range o.firsts {
				parts = append(parts, fmt.Sprintf("%s ×%d", k, v))
			}
			o.summary = fmt.Sprintf("%s; answered: %s", tl, strings.Join(sortedCopy(parts), ", "))
			return o
		},
		check: func(got, _ *outcome) []string {
			// -c counts client connections: 1024 less the canary and the
			// writer are accepted (a few may still be counted for connections
			// of the setup that are closing), every other one is told why.
			var msgs []string
			accepted, refused := got.firsts["MN"], got.firsts["refused"]
			if accepted > 1022 || accepted < 1018 {
				msgs = append(msgs, fmt.Sprintf("over -c: %d of %d connections served with -c 1024 and 2 held by the canary and writer, want 1018-1022", accepted, n))
			}
			if accepted+refused != n {
				msgs = append(msgs, fmt.Sprintf("over -c: %d served + %d refused with %q of %d; all: %v", accepted, refused, tooManyConns, n, got.firsts))
			}
			return msgs
		},
	}
}

const tooManyConns = "ERROR Too many open connections\r\n"

// overLimitOne classifies one connection: "MN" when it was served,
// "refused" when the server sent tooManyConns (at once, or when it got to
// accepting the connection, which can be after the 300 ms), else what
// happened.
func overLimitOne(c net.Conn) string {
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	line, err := br.ReadString('\n')
	if line == "" && isTimeout(err) {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("mn\r\n")); err != nil {
			return "write failed"
		}
		line, err = br.ReadString('\n')
	}
	switch {
	case line == "MN\r\n":
		return "MN"
	case line == tooManyConns:
		return "refused"
	case line != "":
		return fmt.Sprintf("%q", clip(line, 40))
	case isTimeout(err):
		return "no answer in 2 s"
	default:
		return "closed"
	}
}

// manyConns: n connections, 32 dialing at a time, each sends "get k" and
// reads its "END"; once all are open, one second later, the server's RSS
// per connection is measured; they are held until the window ends.
func manyConns(n int) hostile {
	return hostile{name: "10k conns", conns: n, window: 4 * time.Second,
		run: func(h *hostileRun) *outcome {
			tl := newTally()
			conns := make([]net.Conn, n)
			var answered int
			var mu sync.Mutex
			var wg sync.WaitGroup
			next := make(chan int)
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 64)
					for i := range next {
						c, err := dialWithin(h.addr, false, 3*time.Second)
						if !tl.dialed(err) {
							continue
						}
						conns[i] = c
						_ = c.SetDeadline(time.Now().Add(2 * time.Second))
						if _, err := c.Write([]byte("get k\r\n")); err != nil {
							continue
						}
						k, _ := c.Read(buf)
						if string(buf[:k]) == "END\r\n" {
							mu.Lock()
							answered++
							mu.Unlock()
						}
					}
				}()
			}
			for i := range n {
				next <- i
			}
			close(next)
			wg.Wait()
			open := time.Now()
			time.Sleep(time.Second)
			perConn := float64(rssKB(h.pid)-h.baseKB) / float64(n)
			sleepUntil(h.until)
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			return &outcome{count: answered, summary: fmt.Sprintf("%s; %d answered END; all open after %v; server RSS +%.1f KB per conn",
				tl, answered, open.Sub(h.start).Round(10*time.Millisecond), perConn)}
		},
		check: func(got, _ *outcome) []string {
			if got.count != n {
				return []string{fmt.Sprintf("10k conns: %d of %d connections answered get with END", got.count, n)}
			}
			return nil
		},
	}
}
