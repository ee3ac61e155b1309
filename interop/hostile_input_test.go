//go:build interop && reliability && linux

package interop

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// Hostile clients that send what no command is: lines that never end,
// declared sizes that are huge or do not add up, and random bytes. Each is a
// stream: a few connections that send an opening, then a chunk every tick,
// until the server closes them, their byte budget is spent or the window
// ends; a connection the server closed is replaced, a bounded number of
// times.

// hostileSeed seeds the random-bytes client (one stream per connection).
const hostileSeed = 0x9e3779b97f4a7c15

// stream is the shape of those clients.
type stream struct {
	conns   int                           // connections at once
	open    []byte                        // sent first on every connection
	fill    func(worker int) func([]byte) // the chunk filler of one worker; nil: 'a' bytes
	chunk   int                           // bytes per tick
	every   time.Duration                 // the tick
	perConn int64                         // bytes per connection after the opening
	redials int                           // connections a worker opens after its first
}

func (s stream) run(h *hostileRun, tl *tally) {
	var wg sync.WaitGroup
	for w := range s.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fill := func(p []byte) {
				for i := range p {
					p[i] = 'a'
				}
			}
			if s.fill != nil {
				fill = s.fill(w)
			}
			buf := make([]byte, s.chunk)
			for k := 0; k <= s.redials && time.Now().Before(h.until); k++ {
				c, err := hostileDial(h.addr, false)
				if !tl.dialed(err) {
					time.Sleep(s.every)
					continue
				}
				s.one(h, c, tl, fill, buf)
			}
		}()
	}
	wg.Wait()
}

// one drives one connection to its end.
func (s stream) one(h *hostileRun, c net.Conn, tl *tally, fill func([]byte), buf []byte) {
	wt := tl.watch(c)
	defer func() {
		c.Close()
		<-wt.done
	}()
	_ = c.SetWriteDeadline(h.until)
	if len(s.open) > 0 {
		n, err := c.Write(s.open)
		tl.addSent(n)
		if err != nil {
			return
		}
	}
	next := time.Now()
	for sent := int64(0); sent < s.perConn && !wt.closedByServer(); {
		if next = next.Add(s.every); !next.Before(h.until) {
			break
		}
		sleepUntil(next)
		fill(buf)
		n, err := c.Write(buf)
		tl.addSent(n)
		sent += int64(n)
		if err != nil {
			return
		}
	}
	select { // budget spent: hold the connection until the window ends
	case <-wt.done:
	case <-time.After(time.Until(h.until)):
	}
}

// endlessLine: conns connections each send prefix and then 'a' bytes,
// 64 KB every 10 ms, up to 16 MB each: `get aaaa…` (prefix "get ") or
// `aaaa…` (no command word), a line that never ends.
func endlessLine(name, prefix string, conns int) hostile {
	s := stream{conns: conns, open: []byte(prefix), chunk: 64 << 10, every: 10 * time.Millisecond, perConn: 16 << 20, redials: 200}
	return hostile{name: name, conns: conns, run: func(h *hostileRun) *outcome {
		tl := newTally()
		s.run(h, tl)
		return &outcome{summary: tl.String(), firsts: tl.firstsCopy()}
	}}
}

// sizeVariant is one declared size that is too big or does not add up.
type sizeVariant struct {
	name string
	open []byte
}

func sizeVariants() []sizeVariant {
	ext := string([]byte{0, 0, 0, 0, 0, 0, 0, 0}) // flags and exptime of a binary set
	return []sizeVariant{
		{"set 2147483648", []byte("set k 0 0 2147483648\r\n")},
		{"set -1", []byte("set k 0 0 -1\r\n")},
		{"set 2^64", []byte("set k 0 0 18446744073709551616\r\n")},
		{"set 2^31-3", []byte("set k 0 0 2147483645\r\n")}, // parses, then is far over -I
		{"bin set body 0xFFFFFFF0", bpRaw(0x80, 0x01, 1, 8, 0xFFFFFFF0, ext+"k")},
		{"bin get body 0xFFFFFFF0", bpRaw(0x80, 0x00, 1, 0, 0xFFFFFFF0, "k")},
		{"bin get key 10 > body 4", bpRaw(0x80, 0x00, 10, 0, 4, "kkkk")},
		{"bin set ext+key 13 > body 6", bpRaw(0x80, 0x01, 5, 8, 6, ext[:6])},
		{"bin get ext 20 + key 1", bpRaw(0x80, 0x00, 1, 20, 21, strings.Repeat("e", 20)+"k")},
	}
}

// declaredSizes: one connection per variant sends its request line or
// header, then 'a' bytes, 64 KB every 10 ms, up to 8 MB a connection.
func declaredSizes() hostile {
	vs := sizeVariants()
	// No check of the replies: the differential tests compare them, and
	// gocached answers a refused storage command at once where memcached
	// answers after swallowing its data (README).
	return hostile{name: "declared sizes", conns: len(vs),
		run: func(h *hostileRun) *outcome {
			tls := make([]*tally, len(vs))
			var wg sync.WaitGroup
			for i, v := range vs {
				tls[i] = newTally()
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream{conns: 1, open: v.open, chunk: 64 << 10, every: 10 * time.Millisecond, perConn: 8 << 20, redials: 100}.run(h, tls[i])
				}()
			}
			wg.Wait()
			o := &outcome{firsts: map[string]int{}}
			var parts []string
			for i, v := range vs {
				fs := tls[i].firstsCopy()
				for k, n := range fs {
					o.firsts[v.name+": "+k] += n
				}
				parts = append(parts, fmt.Sprintf("%s: %s", v.name, tls[i].short()))
			}
			o.summary = strings.Join(parts, "; ")
			return o
		},
	}
}

// randomBytes: conns connections send seeded random bytes, 4 KB every
// 10 ms, up to 4 MB each, reading whatever comes back.
func randomBytes(conns int) hostile {
	s := stream{conns: conns, chunk: 4 << 10, every: 10 * time.Millisecond, perConn: 4 << 20, redials: 300,
		fill: func(w int) func([]byte) {
			r := rand.New(rand.NewPCG(hostileSeed, uint64(w)))
			return func(p []byte) {
				for i := range p {
					p[i] = byte(r.Uint32())
				}
			}
		}}
	return hostile{name: "random bytes", conns: conns, run: func(h *hostileRun) *outcome {
		tl := newTally()
		s.run(h, tl)
		return &outcome{summary: tl.String(), firsts: tl.firstsCopy()}
	}}
}
