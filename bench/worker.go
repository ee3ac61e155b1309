package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// counts are a connection's tallies; a session adds them up.
type counts struct {
	ops, gets, sets    uint64
	keysReq, hits, bad uint64
	errors             map[string]uint64
}

func (c *counts) add(o *counts) {
	c.ops += o.ops
	c.gets += o.gets
	c.sets += o.sets
	c.keysReq += o.keysReq
	c.hits += o.hits
	c.bad += o.bad
	for k, v := range o.errors {
		if c.errors == nil {
			c.errors = make(map[string]uint64)
		}
		c.errors[k] += v
	}
}

func (c *counts) fail(kind string) {
	if c.errors == nil {
		c.errors = make(map[string]uint64)
	}
	c.errors[kind]++
}

// pending is a request written and not yet answered.
type pending struct {
	kind  opKind
	nkeys int
	key   uint64 // the key of a set or of a single get
}

// source hands a worker its next request; ok is false when it has none.
type source interface {
	next(w *worker) (k opKind, keys []uint64, ok bool)
}

// worker is one connection and the goroutine that drives it: it writes a
// batch of Pipeline requests with one write, reads every reply, records
// each reply's latency from the write, and starts over.
type worker struct {
	id    int
	s     *session
	nc    net.Conn
	r     *reader
	out   []byte
	rng   *rand.Rand
	keys  []uint64
	batch []pending
	miss  []uint64 // set-on-miss: keys to set next
	hist  *Histogram
	c     counts
	hitFn func(key, value []byte)
	hitOf int // hits seen for the request being read
}

func newWorker(s *session, id int) *worker {
	w := &worker{
		id:   id,
		s:    s,
		rng:  rand.New(rand.NewPCG(s.wl.Seed, uint64(id)+1)),
		hist: NewHistogram(),
		out:  make([]byte, 0, 64<<10),
	}
	w.hitFn = w.onHit
	return w
}

// dial connects (or reconnects) and proves the server speaks the
// protocol.
func (w *worker) dial() error {
	if w.nc != nil {
		w.nc.Close()
		w.nc = nil
	}
	nc, err := w.s.t.dial(w.s.wl.Timeout)
	if err != nil {
		return err
	}
	w.nc = nc
	if w.r == nil {
		w.r = &reader{Reader: bufio.NewReaderSize(nc, 64<<10)}
	} else {
		w.r.Reset(nc)
	}
	w.out = w.s.codec.appendProbe(w.out[:0])
	_ = nc.SetDeadline(time.Now().Add(w.s.wl.Timeout))
	if _, err := nc.Write(w.out); err != nil {
		return &probeError{err}
	}
	if err := w.s.codec.readProbe(w.r); err != nil {
		if isTLSAlert(err) {
			return err // refused by the server's TLS, not the protocol
		}
		return &probeError{err}
	}
	return nil
}

// probeError is a connection that was accepted but did not answer the
// protocol probe as the protocol says.
type probeError struct{ err error }

func (e *probeError) Error() string { return e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

func (w *worker) close() {
	if w.nc != nil {
		w.nc.Close()
		w.nc = nil
	}
}

// onHit counts a value and, with Verify, checks it is the one its key
// was set to.
func (w *worker) onHit(key, value []byte) {
	w.hitOf++
	if !w.s.wl.Verify {
		return
	}
	// Every codec asks for the key back (text always names it, meta's k
	// flag, binary's GETK): the value must be the one set for that key.
	rest, ok := bytes.CutPrefix(key, w.s.prefix)
	i, isNum := parseUint(rest)
	if !ok || !isNum || !bytes.Equal(value, w.s.vals.of(i)) {
		w.c.bad++
	}
}

// stopper ends a round: at a deadline, or when its op budget is spent.
type stopper struct {
	deadline time.Time
	budget   atomic.Int64 // requests left; unlimited when limited is false
	limited  bool
	cancel   atomic.Bool // the run's context ended
	progress *atomic.Uint64
}

// take reserves up to n requests.
func (st *stopper) take(n int) int {
	if st.cancel.Load() {
		return 0
	}
	if !st.deadline.IsZero() && !time.Now().Before(st.deadline) {
		return 0
	}
	if !st.limited {
		return n
	}
	left := st.budget.Add(-int64(n))
	if left >= 0 {
		return n
	}
	if got := int64(n) + left; got > 0 {
		return int(got)
	}
	return 0
}

// run drives the connection until st says stop or src runs dry.
func (w *worker) run(src source, st *stopper) {
	pipeline := w.s.wl.Pipeline
	if _, ok := src.(*prefillSource); ok && pipeline < 64 {
		pipeline = 64
	}
	for {
		n := st.take(pipeline)
		if n == 0 {
			return
		}
		w.out, w.batch = w.out[:0], w.batch[:0]
		for range n {
			k, keys, ok := src.next(w)
			if !ok {
				break
			}
			if k == opSet {
				w.out = w.s.codec.appendSet(w.out, w.s.wl.KeyPrefix, keys[0], w.s.vals.of(keys[0]), w.s.wl.TTL)
			} else {
				w.out = w.s.codec.appendGet(w.out, w.s.wl.KeyPrefix, keys)
			}
			w.batch = append(w.batch, pending{kind: k, nkeys: len(keys), key: keys[0]})
		}
		if len(w.batch) == 0 {
			return
		}
		err := w.exchange()
		if st.progress != nil {
			st.progress.Add(uint64(len(w.batch)))
		}
		if err != nil && !w.recover(err, st) {
			return
		}
	}
}

// exchange writes the batch and reads its replies.
func (w *worker) exchange() error {
	t0 := time.Now()
	_ = w.nc.SetDeadline(t0.Add(w.s.wl.Timeout))
	if _, err := w.nc.Write(w.out); err != nil {
		return err
	}
	for _, p := range w.batch {
		var err error
		if p.kind == opSet {
			err = w.s.codec.readSet(w.r)
			w.c.sets++
		} else {
			w.hitOf = 0
			err = w.s.codec.readGet(w.r, p.nkeys, w.hitFn)
			w.c.gets++
			w.c.keysReq += uint64(p.nkeys)
			w.c.hits += uint64(w.hitOf)
			if w.hitOf == 0 && p.nkeys == 1 && w.s.wl.SetOnMiss && err == nil {
				w.miss = append(w.miss, p.key)
			}
		}
		if err != nil {
			var re *replyError
			if errors.As(err, &re) && !re.desync {
				w.c.ops++
				w.c.fail(re.kind)
				w.hist.Record(time.Since(t0))
				continue
			}
			return err
		}
		w.c.ops++
		w.hist.Record(time.Since(t0))
	}
	return nil
}

// recover counts a failed batch and reconnects; false when the round
// should end for this connection.
func (w *worker) recover(err error, st *stopper) bool {
	w.c.fail(errKind(err))
	w.miss = w.miss[:0]
	for attempt := 0; ; attempt++ {
		if !st.deadline.IsZero() && !time.Now().Before(st.deadline) {
			return false
		}
		if err := w.dial(); err == nil {
			return true
		} else if attempt >= 3 {
			w.c.fail("dial: " + errKind(err))
			w.close()
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errKind names an error for the error table without addresses or
// ports, so equal failures on different connections add up.
func errKind(err error) string {
	var re *replyError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return re.kind
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "out of file descriptors"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "out of local ports"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "io error"
}

// workloadSource draws requests by the workload's ratio and key
// distribution; with SetOnMiss, missed keys are set first.
type workloadSource struct{ p *picker }

func (ws workloadSource) next(w *worker) (opKind, []uint64, bool) {
	if n := len(w.miss); n > 0 {
		w.keys = append(w.keys[:0], w.miss[n-1])
		w.miss = w.miss[:n-1]
		return opSet, w.keys, true
	}
	k := ws.p.kind(w.rng)
	w.keys = ws.p.keys(w.rng, k, w.keys)
	return k, w.keys, true
}

// prefillSource sets keys 0..n-1 once, shared by all connections.
type prefillSource struct {
	n      uint64
	cursor atomic.Uint64
}

func (ps *prefillSource) next(w *worker) (opKind, []uint64, bool) {
	i := ps.cursor.Add(1) - 1
	if i >= ps.n {
		return opSet, nil, false
	}
	w.keys = append(w.keys[:0], i)
	return opSet, w.keys, true
}
