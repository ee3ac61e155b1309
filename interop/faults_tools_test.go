//go:build interop

package interop

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
)

// What TestClientFaults watches the cluster with: the ring monitor, the
// stall meter, timeout rechecks, the goroutine check and the delaying proxy.

// ringEvent is a change of one node's Ejected flag in c.Servers(): it
// happened after `after` (the start of the poll before, which still showed
// the old state) and by `at` (the end of the poll that showed it).
type ringEvent struct {
	node      int
	ejected   bool
	after, at time.Duration
	failures  int // the node's consecutive failures in that poll
}

func (e ringEvent) String() string {
	what := "readmitted"
	if e.ejected {
		what = "ejected"
	}
	return fmt.Sprintf("node %d %s in [%v, %v] (%d failures)", e.node, what, e.after, e.at, e.failures)
}

// ringMonitor polls c.Servers() every millisecond and records changes.
// An ejection and a readmission are at least RetryTimeout apart, so none
// is missed.
type ringMonitor struct {
	mu     sync.Mutex
	events []ringEvent
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func startRingMonitor(c *gcclient.Client, nodeIndex map[string]int, since func() time.Duration) *ringMonitor {
	m := &ringMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		prev := make([]bool, len(nodeIndex))
		prevStart := time.Duration(0)
		for {
			start := since()
			st := c.Servers()
			end := since()
			for _, s := range st {
				i := nodeIndex[s.Addr]
				if s.Ejected != prev[i] {
					m.mu.Lock()
					m.events = append(m.events, ringEvent{node: i, ejected: s.Ejected, after: prevStart, at: end, failures: s.Failures})
					m.mu.Unlock()
					prev[i] = s.Ejected
				}
			}
			prevStart = start
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *ringMonitor) close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}

func (m *ringMonitor) snapshot() []ringEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ringEvent(nil), m.events...)
}

// waitFor returns the first event of node changing to ejected seen at or
// after from, waiting up to timeout; nil if none.
func (m *ringMonitor) waitFor(node int, ejected bool, from, timeout time.Duration) *ringEvent {
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range m.snapshot() {
			if e.node == node && e.ejected == ejected && e.at >= from {
				return &e
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stallMeter records when the test process itself was not run for a
// while: a 5ms sleep that took 50ms or more longer.
type stallMeter struct {
	list []stall
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type stall struct{ at, gap time.Duration } // not running during [at, at+gap]

func (s stall) String() string { return fmt.Sprintf("%v at %v", s.gap, s.at) }

// within is how long the test process was stalled during [from, to]. Read
// it after close.
func (m *stallMeter) within(from, to time.Duration) time.Duration {
	var d time.Duration
	for _, s := range m.list {
		d += max(0, min(to, s.at+s.gap)-max(from, s.at))
	}
	return d
}

func startStallMeter(since func() time.Duration) *stallMeter {
	m := &stallMeter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			before := since()
			select {
			case <-m.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if gap := since() - before - 5*time.Millisecond; gap >= 50*time.Millisecond {
				m.list = append(m.list, stall{before + 5*time.Millisecond, gap})
			}
		}
	}()
	return m
}

func (m *stallMeter) close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}

// timeoutRecheck measures, after a call times out, how long its server
// takes to answer "version" on a fresh connection (in the background, for
// at most 3s). It tells a stalled server, slow for everyone, from a client
// that gave up on a server that was answering.
type timeoutRecheck struct {
	mu  sync.Mutex
	got map[[2]int]time.Duration // (writer, seq): the answer's time, -1 for none
	wg  sync.WaitGroup
}

func (r *timeoutRecheck) check(w, seq int, addr string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		start := time.Now()
		d := time.Duration(-1)
		if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = nc.SetDeadline(start.Add(2 * time.Second))
			if _, err := nc.Write([]byte("version\r\n")); err == nil {
				if l, err := bufio.NewReader(nc).ReadString('\n'); err == nil && strings.HasPrefix(l, "VERSION ") {
					d = time.Since(start)
				}
			}
			nc.Close()
		}
		r.mu.Lock()
		r.got[[2]int{w, seq}] = d
		r.mu.Unlock()
	}()
}

func (r *timeoutRecheck) String(w, seq int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.got[[2]int{w, seq}]
	switch {
	case !ok:
		return "not rechecked"
	case d < 0:
		return "a fresh connection had no version within 2s either"
	}
	return fmt.Sprintf("a fresh connection had its version %v later", d)
}

// checkGoroutines waits up to 2s for the goroutine count to come back to
// baseline and fails with the goroutines' stacks if it does not.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Errorf("%d goroutines left, %d before the client, proxy and load started:\n%s",
				runtime.NumGoroutine(), baseline, b.String())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// The slow node's proxy.

// delayProxy forwards TCP connections to target: one goroutine per
// direction per connection. Requests pass at once; each chunk the server
// sends waits delay first. Either side closing closes both. close stops it
// and waits for its goroutines.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	once   sync.Once
}

func startDelayProxy(t *testing.T, target string) *delayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{ln: ln, target: target, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *delayProxy) addr() string { return p.ln.Addr().String() }

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		cc, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		sc, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			cc.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			cc.Close()
			sc.Close()
			return
		}
		p.conns[cc], p.conns[sc] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(sc, cc, false)
		go p.pipe(cc, sc, true)
	}
}

// pipe copies src to dst, delaying each chunk when delayed, until either
// fails; then it closes both.
func (p *delayProxy) pipe(dst, src net.Conn, delayed bool) {
	defer p.wg.Done()
	defer func() {
		src.Close()
		dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); delayed && d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-p.done:
					return
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *delayProxy) close() {
	p.once.Do(func() {
		close(p.done)
		p.ln.Close()
		p.mu.Lock()
		p.closed = true
		for cn := range p.conns {
			cn.Close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
}
