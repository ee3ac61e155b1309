package server

import (
	"math"
	"math/bits"
	"sort"
	"strconv"
	"sync/atomic"
	_ "unsafe" // go:linkname runtime.nanotime

	"github.com/gocached/gocached/internal/hotkeys"
	"github.com/gocached/gocached/protocol"
)

// Per-command latency: from a batch of requests read off the socket to
// their replies handed to it (or, for requests without a reply, to the
// end of the batch). A connection notes the kind of each command it
// finishes; at each flush it takes the clock once and adds every noted
// command, with the time since the batch began, to one bucket of its
// kind's histogram: two clock reads and a few atomic adds per batch, none
// per command.
//
// Clock reads are not free (about 50 ns each on a VM without a fast vDSO
// clock, as this project's machines are), so by default one batch in
// DefaultLatencySample is timed, at random, and each command in it counts
// DefaultLatencySample times: counts and sums are unbiased estimates, and
// the percentiles those of the sampled batches.

// nanotime is the runtime's monotonic clock: time.Now also reads the wall
// clock, which latency does not need.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// cmdKind is a command as the latency histograms count it.
type cmdKind uint8

const (
	kindGet cmdKind = iota
	kindGets
	kindGat
	kindGats
	kindSet
	kindAdd
	kindReplace
	kindAppend
	kindPrepend
	kindCas
	kindIncr
	kindDecr
	kindDelete
	kindTouch
	kindFlushAll
	kindStats
	kindMg
	kindMs
	kindMd
	kindMa
	kindMn
	kindMe
	kindNoop
	kindVersion
	kindOther
	numKinds
)

var kindNames = [numKinds]string{
	"get", "gets", "gat", "gats", "set", "add", "replace", "append", "prepend", "cas",
	"incr", "decr", "delete", "touch", "flush_all", "stats", "mg", "ms", "md", "ma", "mn", "me",
	"noop", "version", "other",
}

// textKind is the kind of a text command by its first token.
func textKind(cmd []byte) cmdKind {
	if len(cmd) == 2 && cmd[0] == 'm' {
		switch cmd[1] {
		case 'g':
			return kindMg
		case 's':
			return kindMs
		case 'd':
			return kindMd
		case 'a':
			return kindMa
		case 'n':
			return kindMn
		case 'e':
			return kindMe
		}
		return kindOther
	}
	switch string(cmd) {
	case "get":
		return kindGet
	case "gets":
		return kindGets
	case "gat":
		return kindGat
	case "gats":
		return kindGats
	case "set":
		return kindSet
	case "add":
		return kindAdd
	case "replace":
		return kindReplace
	case "append":
		return kindAppend
	case "prepend":
		return kindPrepend
	case "cas":
		return kindCas
	case "incr":
		return kindIncr
	case "decr":
		return kindDecr
	case "delete":
		return kindDelete
	case "touch":
		return kindTouch
	case "flush_all":
		return kindFlushAll
	case "stats":
		return kindStats
	case "version":
		return kindVersion
	}
	return kindOther
}

// binKinds maps a binary opcode (quiet variants already mapped to the
// base one) to its kind.
var binKinds = func() (k [256]cmdKind) {
	for i := range k {
		k[i] = kindOther
	}
	k[protocol.OpGet], k[protocol.OpGetK] = kindGet, kindGet
	k[protocol.OpSet], k[protocol.OpAdd], k[protocol.OpReplace] = kindSet, kindAdd, kindReplace
	k[protocol.OpAppend], k[protocol.OpPrepend] = kindAppend, kindPrepend
	k[protocol.OpDelete], k[protocol.OpIncrement], k[protocol.OpDecrement] = kindDelete, kindIncr, kindDecr
	k[protocol.OpTouch], k[protocol.OpGAT], k[protocol.OpGATK] = kindTouch, kindGat, kindGat
	k[protocol.OpFlush], k[protocol.OpStat], k[protocol.OpNoop], k[protocol.OpVersion] = kindFlushAll, kindStats, kindNoop, kindVersion
	return k
}()

// latBounds are the histogram's bucket upper bounds in nanoseconds:
// 12 a decade from 1 µs to 1 s (each about 20% wide, for percentiles),
// then +Inf. latExposed are those shown to Prometheus: 1-2-5 a decade.
var latBounds, latExposed = func() ([]int64, []int) {
	steps := []int64{10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90}
	var b []int64
	var exposed []int
	for dec := int64(100); dec < 1e8; dec *= 10 { // 1 µs = 10 × 100 ns
		for _, s := range steps {
			if s == 10 || s == 20 || s == 50 {
				exposed = append(exposed, len(b))
			}
			b = append(b, s*dec)
		}
	}
	exposed = append(exposed, len(b))
	b = append(b, 1e9)
	return b, exposed
}()

var numBuckets = len(latBounds) + 1 // the last is +Inf

// latBucket is the bucket of d nanoseconds.
func latBucket(d int64) int {
	return sort.Search(len(latBounds), func(i int) bool { return d <= latBounds[i] })
}

const latStripes = 8 // a power of two

// latHist is one kind's histogram, striped by connection like
// stripedCounter so that cores do not share cache lines.
type latHist struct {
	stripes [latStripes]struct {
		count []atomic.Uint64 // per bucket
		sum   atomic.Uint64   // nanoseconds
		_     [56]byte
	}
}

// latencies is the server's histograms, one per kind.
type latencies struct{ h [numKinds]latHist }

func newLatencies() *latencies {
	l := new(latencies)
	for k := range l.h {
		for s := range l.h[k].stripes {
			l.h[k].stripes[s].count = make([]atomic.Uint64, numBuckets)
		}
	}
	return l
}

// add records n commands of kind k that took d nanoseconds each.
func (l *latencies) add(id int64, k cmdKind, d int64, n uint64) {
	if d < 0 {
		d = 0
	}
	st := &l.h[k].stripes[id&(latStripes-1)]
	st.count[latBucket(d)].Add(n)
	st.sum.Add(uint64(d) * n)
}

// latSnapshot is one kind's histogram summed over the stripes.
type latSnapshot struct {
	counts []uint64 // per bucket, not cumulative
	total  uint64
	sumNS  uint64
}

func (l *latencies) snapshot(k cmdKind) latSnapshot {
	s := latSnapshot{counts: make([]uint64, numBuckets)}
	for i := range l.h[k].stripes {
		st := &l.h[k].stripes[i]
		for b := range s.counts {
			v := st.count[b].Load()
			s.counts[b] += v
			s.total += v
		}
		s.sumNS += st.sum.Load()
	}
	return s
}

func (l *latencies) reset() {
	for k := range l.h {
		for i := range l.h[k].stripes {
			st := &l.h[k].stripes[i]
			for b := range st.count {
				st.count[b].Store(0)
			}
			st.sum.Store(0)
		}
	}
}

// quantile estimates the q-quantile in nanoseconds, interpolating inside
// its bucket; NaN without observations.
func (s latSnapshot) quantile(q float64) float64 {
	if s.total == 0 {
		return math.NaN()
	}
	rank := q * float64(s.total)
	var seen float64
	for b, c := range s.counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := 0.0
			if b > 0 {
				lo = float64(latBounds[b-1])
			}
			if b == len(latBounds) {
				return lo // +Inf bucket: its lower bound
			}
			hi := float64(latBounds[b])
			return lo + (hi-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	return float64(latBounds[len(latBounds)-1])
}

// DefaultLatencySample: one batch in 16 is timed.
const DefaultLatencySample = 16

// latBatch is a connection's commands since its last flush, by kind.
type latBatch struct {
	start  int64  // nanotime when the batch (or its part after a write) began
	used   uint32 // bit k: n[k] > 0
	timing bool   // this batch is sampled
	smp    hotkeys.Sampler
	n      [numKinds]uint16
}

// latStart marks the start of a batch (bytes were read) and decides
// whether it is timed.
func (c *conn) latStart() {
	b := c.lat
	if b == nil {
		return
	}
	if b.timing = b.smp.Sample(c.s.latRate); b.timing {
		b.start = nanotime()
	}
}

// latNote counts one finished command of kind k.
func (c *conn) latNote(k cmdKind) {
	b := c.lat
	if b == nil || !b.timing {
		return
	}
	b.n[k]++
	b.used |= 1 << k
	if b.n[k] == math.MaxUint16 {
		c.latFlush()
	}
}

// latFlush records the noted commands as done now, and starts the rest of
// the batch from now.
func (c *conn) latFlush() {
	b := c.lat
	if b == nil || b.used == 0 {
		return
	}
	now := nanotime()
	d := now - b.start
	for u := b.used; u != 0; u &= u - 1 {
		k := cmdKind(bits.TrailingZeros32(u))
		c.s.lat.add(c.id, k, d, uint64(b.n[k])*uint64(c.s.latRate))
		b.n[k] = 0
	}
	b.used = 0
	b.start = now
}

// writeLatency is `stats latency` (gocached only): per command seen, the
// count and the 50th, 90th, 99th and 99.9th percentiles in microseconds.
func (s *Server) writeLatency(w *statWriter) {
	if s.lat == nil {
		w.str("latency", "disabled")
		return
	}
	for k := cmdKind(0); k < numKinds; k++ {
		snap := s.lat.snapshot(k)
		if snap.total == 0 {
			continue
		}
		p := kindNames[k] + ":"
		w.u(p+"count", snap.total)
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50_us", 0.5}, {"p90_us", 0.9}, {"p99_us", 0.99}, {"p999_us", 0.999}} {
			w.str(p+q.name, formatMicros(snap.quantile(q.q)))
		}
	}
}

func formatMicros(ns float64) string { return strconv.FormatFloat(ns/1e3, 'f', 1, 64) }
