//go:build interop && reliability && linux

package interop

import (
	"bytes"
	be "encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// What a hostile client received: a tally per kind of client of the
// connections it opened, the bytes it sent and received, and the first
// reply each connection got ("what the hostile client received" in the
// report). The helpers here also dial the way hostile clients do.

// tally is shared by the goroutines of one hostile client.
type tally struct {
	mu       sync.Mutex
	conns    int   // connections opened
	dialErrs int   // dials that failed
	closed   int   // connections the server closed (EOF or reset) before we did
	sent     int64 // bytes written
	recv     int64 // bytes received
	firsts   map[string]int
}

func newTally() *tally { return &tally{firsts: map[string]int{}} }

// dialed counts a dial's outcome and reports whether it succeeded.
func (t *tally) dialed(err error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.dialErrs++
		return false
	}
	t.conns++
	return true
}

func (t *tally) addSent(n int) {
	t.mu.Lock()
	t.sent += int64(n)
	t.mu.Unlock()
}

// record notes what one connection received in all: n bytes beginning
// with first.
func (t *tally) record(first []byte, n int64, serverClosed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recv += n
	t.firsts[firstReply(first)]++
	if serverClosed {
		t.closed++
	}
}

// watch reads everything the server sends on c, in its own goroutine,
// until the connection fails or we close it; the returned watcher's done
// is closed once it has recorded what it saw.
func (t *tally) watch(c net.Conn) *watcher {
	w := &watcher{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		buf := make([]byte, 16<<10)
		var first []byte
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if len(first) < 64 {
				first = append(first, buf[:min(k, 64-len(first))]...)
			}
			if err != nil {
				w.serverClosed = !errors.Is(err, net.ErrClosed)
				break
			}
		}
		t.record(first, n, w.serverClosed)
	}()
	return w
}

// watcher is the reading side of one hostile connection.
type watcher struct {
	done         chan struct{}
	serverClosed bool // valid once done is closed
}

// closedByServer reports, without waiting, whether the server has closed
// the connection.
func (w *watcher) closedByServer() bool {
	select {
	case <-w.done:
		return w.serverClosed
	default:
		return false
	}
}

// String is the report's summary of the tally.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d conns", t.conns)
	if t.dialErrs > 0 {
		fmt.Fprintf(&b, " (+%d dials failed)", t.dialErrs)
	}
	fmt.Fprintf(&b, ", sent %s, got %s", sizeStr(t.sent), sizeStr(t.recv))
	if t.closed > 0 {
		fmt.Fprintf(&b, ", %d closed by server", t.closed)
	}
	if len(t.firsts) > 0 {
		fmt.Fprintf(&b, "; first: %s", topFirsts(t.firsts, 3))
	}
	return b.String()
}

// short is String without the byte counts.
func (t *tally) short() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := fmt.Sprintf("%d conns", t.conns)
	if t.dialErrs > 0 {
		s += fmt.Sprintf(" (+%d dials failed)", t.dialErrs)
	}
	if t.closed > 0 {
		s += fmt.Sprintf(", %d closed by server", t.closed)
	}
	return s + ", first: " + topFirsts(t.firsts, 2)
}

// firstsCopy returns the distinct first replies with their counts.
func (t *tally) firstsCopy() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]int, len(t.firsts))
	for k, v := range t.firsts {
		m[k] = v
	}
	return m
}

// topFirsts renders the n most frequent first replies.
func topFirsts(m map[string]int, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d other", len(keys)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// firstReply renders the beginning of what a connection received: its
// first text line (at most 40 bytes), or the header of a binary response.
func firstReply(b []byte) string {
	switch {
	case len(b) == 0:
		return "(nothing)"
	case b[0] == 0x81 && len(b) >= 24:
		return fmt.Sprintf("bin op=%#02x status=%#04x body=%d", b[1], be.BigEndian.Uint16(b[6:]), be.BigEndian.Uint32(b[8:]))
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	q := fmt.Sprintf("%q", b[:min(len(b), 40)])
	if len(b) > 40 {
		q += "…"
	}
	return q
}

func sizeStr(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// hostileDial dials addr within a second; smallRcv shrinks the socket's
// receive buffer to 4 KB first, so that a client that does not read stops
// the server's writes early.
func hostileDial(addr string, smallRcv bool) (net.Conn, error) {
	return dialWithin(addr, smallRcv, time.Second)
}

// dialWithin is hostileDial with another timeout. Clients whose every
// connection must get in use 3 s: a SYN the loaded machine dropped is sent
// again after one.
func dialWithin(addr string, smallRcv bool, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if smallRcv {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		}
	}
	return d.Dial("tcp", addr)
}

// dialMany opens n connections from workers goroutines (3 s each),
// tallying each dial; failed ones are nil in the result.
func dialMany(addr string, n, workers int, smallRcv bool, t *tally) []net.Conn {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dialWithin(addr, smallRcv, 3*time.Second)
				if t.dialed(err) {
					conns[i] = c
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns
}

// sleepUntil sleeps until t (not at all if it has passed).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
