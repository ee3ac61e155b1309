package server

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gocached/gocached/internal/hotkeys"
	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
)

// drainGrace is how long shutdown waits for more of a request that has
// started arriving before it gives the request up.
const drainGrace = time.Second

// Connection states reported by `stats conns`, memcached's names.
const (
	stateWaiting int32 = iota // conn_waiting: idle, no buffer held
	stateRead                 // conn_read
	stateParse                // conn_parse_cmd
	stateWrite                // conn_mwrite
	stateClosing              // conn_closing
	stateNread                // conn_nread: waiting for the rest of a data block (or binary body)
	stateSwallow              // conn_swallow: waiting for the rest of a refused data block
)

var stateNames = [...]string{"conn_waiting", "conn_read", "conn_parse_cmd", "conn_mwrite", "conn_closing", "conn_nread", "conn_swallow"}

// waitState is the state `stats conns` shows while the connection waits
// for bytes: idle (the given state), or in the middle of a data block.
func (c *conn) waitState(idle int32) int32 {
	switch {
	case c.swallow > 0:
		return stateSwallow
	case c.need > 0:
		return stateNread
	}
	return idle
}

// Protocols a connection can speak; chosen from its first byte (-B auto).
const (
	protoUnknown uint8 = iota
	protoText
	protoBinary
)

// action is what the parser asks of the connection loop.
type action uint8

const (
	actMore  action = iota // parse again when more bytes arrive
	actClose               // flush what is pending, then close
)

type conn struct {
	s        *Server
	nc       net.Conn
	rc       syscall.RawConn // nil when nc is not a socket
	listener net.Addr
	id       int64

	rbuf []byte // nil while idle
	r, w int    // unparsed bytes are rbuf[r:w]
	need int    // bytes wanted from r before parsing can go on

	out []byte // replies not yet written; nil while idle

	acctR, acctW int64 // capacities of rbuf and out the buffer pool has counted (conn.account)

	swallow int64 // bytes of a refused data block still to discard

	authLen int // bytes of auth data awaited, 0 while reading the line

	bin *binState // binary protocol state (binary.go), nil until binary is spoken

	gs getStream // a long get line being looked up as it arrives (getstream.go)

	udp *udpReader // set on a UDP pseudo-connection (udp.go), else nil

	reqs int // commands since the last yield

	lat  *latBatch       // commands of this batch by kind (latency.go); nil when latency is off
	hotS hotkeys.Sampler // picks the requests sampled for hot keys (observe.go)

	onGet       func(*store.View)
	onGets      func(*store.View)
	onMetaGet   func(*store.Item, *store.MetaGetResult)
	onMetaDebug func(*store.Item)

	// pinned: CAS of the items that unwritten replies refer to. memcached's
	// replies hold a reference on their items until written, and incr/decr
	// rewrites a value in place only when no one else holds the item; reset
	// by markWritten.
	pinned []uint64

	// scratch is parse scratch, held only while process runs, so that an idle
	// connection does not carry it.
	scratch *scratch

	lastCmd atomic.Uint32 // store-clock second of the last read with data
	// tlsVersion is the negotiated TLS version; 0 for plaintext and before
	// the handshake. Atomic: `stats conns` reads it.
	tlsVersion atomic.Uint32
	state      atomic.Int32
	parkReq    atomic.Bool // the idler asks this idle connection to park
	parked     atomic.Bool // in the idler's epoll set, without a goroutine

	// Small fields together, so that an idle connection stays in a small
	// allocation size class.
	proto   uint8 // protoUnknown until the first byte arrives
	authed  bool  // ascii auth (-Y) passed, or not required
	noreply bool
	metaErr bool // the meta command's reply was replaced by an error
	outOOM  bool // read_buf_mem_limit refused reply memory: close (outRoom)
	// crowdPark: this read, finding nothing, returns errIdle instead of
	// waiting (the server is crowded and the connection holds nothing).
	crowdPark bool
	requested bool // a read has brought bytes
	sporadic  bool // the last read with bytes was the first, or came ≥ 1 s after the one before

	// watch: the streams asked for (the watcher starts once the OK is
	// written), then the watcher; closeReason is conn_close's reason.
	watchStreams uint32
	watching     *watcher
	closeReason  string

	readFn  func(uintptr) bool // readFD, bound on first use
	readN   int
	readErr error

	writeFn  func(uintptr) bool // writeFD, bound on first use
	writeBuf []byte             // what writeFD has still to write
	writeN   int
	writeErr error
}

func newConn(s *Server, nc net.Conn, l net.Listener) *conn {
	c := &conn{s: s, nc: nc, listener: l.Addr()}
	if sysc, ok := nc.(syscall.Conn); ok {
		if rc, err := sysc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	s.mu.Lock()
	s.nextID++
	c.id = s.nextID
	s.mu.Unlock()
	c.authed = s.asciiAuth.Load() == nil
	c.lastCmd.Store(s.store.Now())
	if s.lat != nil {
		c.lat = &latBatch{smp: hotkeys.NewSampler(uint64(c.id) ^ 0x6c6174)}
	}
	c.hotS = hotkeys.NewSampler(uint64(c.id))
	return c
}

// wake interrupts a blocked read so the connection notices shutdown.
func (c *conn) wake() { _ = c.nc.SetReadDeadline(time.Now()) }

// serve runs the connection until it closes or is parked (park.go).
func (c *conn) serve() {
	parked := false
	defer func() {
		if r := recover(); r != nil {
			c.s.notePanic("connection", r)
			parked = false
		}
		if !parked {
			c.finish()
		}
	}()
	if c.s.watch.on(protocol.WatchConnEvents) {
		c.logConn("")
	}
	if !c.handshake() {
		return
	}
	parked = c.loop()
}

// finish closes the connection and gives back what it holds.
func (c *conn) finish() {
	c.state.Store(stateClosing)
	if c.watching != nil {
		c.s.watch.remove(c.watching)
	}
	if c.s.watch.on(protocol.WatchConnEvents) {
		reason := c.closeReason
		switch {
		case reason != "":
		case c.s.shutting.Load():
			reason = "shutdown"
		default:
			reason = "error"
		}
		c.logConn(reason)
	}
	c.nc.Close()
	c.release()
	c.s.forget(c)
	noteBigFree(closedConn)
}

// closedConn is what a closed connection is taken to leave as garbage: its
// structures and its goroutine's stack (buffers are counted apart).
const closedConn = 4 << 10

// midRequest: part of a request has been read (bytes not yet parsed, or
// a streamed get line that has not ended).
func (c *conn) midRequest() bool { return c.r != c.w || c.gs.active }

// parkable: the connection is between requests, holding nothing.
func (c *conn) parkable() bool {
	return !c.midRequest() && c.need == 0 && c.swallow == 0 && len(c.out) == 0 && c.authLen == 0 && c.watchStreams == 0 &&
		(c.bin == nil || len(c.bin.held) == 0)
}

// yieldAtMost is the number of connections holding goroutines, per thread,
// up to which a connection yields before its next read (loop). Go's
// scheduler polls the network only when no goroutine is runnable (or every
// 10 ms, from sysmon): past a few dozen busy connections per thread the
// yielding ones keep the run queue from ever emptying, and those waiting
// on the poller starve. Measured pinned with -t 1 (text, one request per
// round trip), no yield ÷ yield: 16 connections 0.93× throughput and
// 0.96× p99, 32: 0.95× and 0.79×, 64: 0.98× and 0.88×, 512: 1.02-1.06×
// and 0.75-0.78×.
const yieldAtMost = 32

// loop reads and serves requests; true when the connection was parked
// (from then on another goroutine may own it).
func (c *conn) loop() (parked bool) {
	idle := c.s.cfg.IdleTimeout
	// During shutdown a request still arriving gets drainGrace to make
	// progress, again and again while bytes keep coming (Shutdown's context
	// bounds the whole), and is given up when none came: a client that
	// stopped mid data block does not hold the daemon.
	var total, drained int64 = 0, -1
	var idleFrom time.Time // when the idle_timeout deadline was last set
	served := false        // the last read brought requests, now answered
	mayPark := true        // false after the epoll set refused a crowded park
	for {
		if idle > 0 && !c.midRequest() {
			idleFrom = time.Now()
			_ = c.nc.SetReadDeadline(idleFrom.Add(idle))
		}
		// Checked after setting the idle deadline, so that a wake from
		// Shutdown is never overwritten by it.
		if c.s.shutting.Load() && !c.midRequest() {
			return false
		}
		if served && c.rc != nil && c.r == c.w && c.s.holding() <= yieldAtMost*int64(c.s.cfg.Threads) {
			// The batch is answered and nothing more has arrived: let the
			// connections that are ready run first. By the time this one
			// reads again its client has usually sent the next request,
			// so the read finds it instead of failing with EAGAIN and
			// parking (two reads and a netpoller round per request
			// otherwise, where memcached's event loop makes one read).
			// Alone, the yield returns at once. Not past yieldAtMost.
			runtime.Gosched()
		}
		served = false
		// Only a sporadic connection crowd-parks: one that has sent its
		// first request, or whose last request came a second or more after
		// the one before. A busy one (a writer, a pool connection under
		// load) keeps its goroutine, or it would pay a park and a resume on
		// every request while the server is crowded; the idle scan parks it
		// when it stops.
		c.crowdPark = mayPark && c.sporadic && c.rc != nil && c.s.crowded() && c.parkable()
		n, err := c.fill()
		c.crowdPark = false
		if n > 0 {
			served, mayPark = true, true
			total += int64(n)
			c.s.stats.bytesRead.Add(c.id, uint64(n))
			c.state.Store(stateParse)
			now := c.s.store.Now()
			c.sporadic = !c.requested || now-c.lastCmd.Swap(now) >= 1
			c.requested = true
			act := c.process()
			if c.outOOM {
				return false // memcached closes without the replies
			}
			if werr := c.flush(); werr != nil {
				return false
			}
			if act == actClose {
				return false
			}
			if c.watchStreams != 0 && c.watching == nil {
				// The replies before are out: from now on the watcher
				// writes, its OK first.
				if c.watching = c.s.watch.add(c.nc, c.watchStreams); c.watching == nil {
					return false
				}
			}
			continue
		}
		if err == errIdle {
			if c.park() {
				return true
			}
			mayPark = false // the epoll set refused it: wait here
			continue
		}
		if err != nil {
			if err == errReadBufGrow && c.proto == protoText {
				_ = c.write(protocol.ErrNoReadMemory)
			}
			var ne net.Error
			timeout := errors.As(err, &ne) && ne.Timeout()
			if timeout && c.s.shutting.Load() && (c.midRequest() || c.swallow > 0) {
				// Shutdown woke us in the middle of a request: let it
				// arrive while it makes progress.
				if total == drained {
					return false
				}
				drained = total
				_ = c.nc.SetReadDeadline(time.Now().Add(drainGrace))
				continue
			}
			if timeout && !c.s.shutting.Load() {
				// The idler asks an idle connection to park.
				if c.parkReq.Swap(false) && c.parkable() && c.park() {
					// Its stack goes at the next collection; count it
					// with the big buffers, whose memory goes back to
					// the OS. (Not the crowded parks below: their
					// stacks are taken again by the next resumes.)
					noteBigFree(parkedStack)
					return true
				}
				if idle == 0 || time.Since(idleFrom) < idle {
					// A wake to park that found a request under way,
					// or that came late: wait on.
					var d time.Time
					if idle > 0 {
						d = idleFrom.Add(idle)
					}
					_ = c.nc.SetReadDeadline(d)
					continue
				}
			}
			if timeout && !c.s.shutting.Load() && idle > 0 {
				c.s.stats.idleKicks.Add(1)
				c.closeReason = "idle_timeout"
				if c.s.verbosity.Load() > 0 {
					c.s.log.Info("closing idle connection", zap.Stringer("remote", c.nc.RemoteAddr()))
				}
			} else if err == io.EOF {
				c.closeReason = "normal"
			} else if err != io.EOF && !c.s.shutting.Load() && !errors.Is(err, net.ErrClosed) && c.s.verbosity.Load() > 0 {
				c.s.log.Info("connection read error", zap.Error(err))
			}
			c.noteTLSError(err)
			return false
		}
	}
}

// release returns the connection's buffers to the pool.
func (c *conn) release() {
	c.dropRead()
	c.dropOut()
}

func (c *conn) dropRead() {
	if c.rbuf != nil {
		c.s.bufs.put(c.id, c.rbuf)
		c.rbuf = nil
		c.account()
	}
}

func (c *conn) dropOut() {
	if c.out != nil {
		c.s.bufs.put(c.id, c.out)
		c.out = nil
		c.account()
	}
}

// takeOut gives the connection an empty reply buffer; false when
// read_buf_mem_limit leaves none, and memcached closes the connection.
func (c *conn) takeOut() bool {
	if c.out = c.s.bufs.get(c.id); c.out == nil {
		c.s.bufs.replyOOM.Add(1)
		return false
	}
	c.out = c.out[:0]
	c.account()
	return true
}

// errIdle: fill found nothing to read while the server is crowded and the
// connection holds nothing; loop parks it.
var errIdle = errors.New("idle while crowded")

// Errors of prepareRead when read_buf_mem_limit refuses a buffer.
var (
	// No buffer to read the next request into: memcached closes.
	errNoReadBuf = errors.New("read_buf_mem_limit: no read buffer")
	// No room to grow the buffer for a long line: memcached answers
	// "SERVER_ERROR out of memory reading request" and closes.
	errReadBufGrow = errors.New("read_buf_mem_limit: no room for a longer request")
)

// fits reports whether the read buffer can hold want bytes from r, growing
// it within read_buf_mem_limit if need be. A data block that cannot fit is
// refused before it is read, as memcached refuses one it has no memory for.
func (c *conn) fits(want int) bool {
	return want <= len(c.rbuf)-c.r || c.s.bufs.room(int64(want-len(c.rbuf)))
}

// refuseBlock counts a data block refused by read_buf_mem_limit; with
// dropOld the key's old value goes, as after memcached's failed set.
func (c *conn) refuseBlock(key []byte, dropOld bool) {
	c.s.bufs.readOOM.Add(1)
	c.s.store.Refuse(key, nil, dropOld)
}

// prepareRead makes room after w for at least one more read, keeping
// rbuf[r:w] and growing the buffer to hold c.need bytes from r.
func (c *conn) prepareRead() error {
	if c.rbuf == nil {
		if c.rbuf = c.s.bufs.get(c.id); c.rbuf == nil {
			c.s.bufs.readOOM.Add(1)
			return errNoReadBuf
		}
		c.account()
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	want := c.need
	if want < bufSize {
		want = bufSize
	}
	if c.r > 0 && (c.w == len(c.rbuf) || len(c.rbuf)-c.r < want) {
		n := copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r, c.w = 0, n
	}
	if len(c.rbuf)-c.r < want || c.w == len(c.rbuf) {
		size := 2 * len(c.rbuf)
		if len(c.rbuf) >= bigGrowFrom {
			// Past the pooled sizes (an endless get line) grow by half:
			// old and new buffer are both alive while it is copied.
			size = len(c.rbuf) + len(c.rbuf)/2
		}
		if size < want {
			size = want
		}
		nb := c.s.bufs.grow(c.id, c.rbuf, c.r, c.w, size)
		if nb == nil {
			c.s.bufs.readOOM.Add(1)
			return errReadBufGrow
		}
		c.w -= c.r
		c.r = 0
		c.rbuf = nb
		c.account()
	}
	return nil
}

// fill reads more bytes into rbuf[w:]. On a socket it takes the read
// buffer only once data is there to read, so a connection waiting for its
// next request holds no buffer.
func (c *conn) fill() (int, error) {
	if c.rc == nil {
		if err := c.prepareRead(); err != nil {
			return 0, err
		}
		c.state.Store(c.waitState(stateRead))
		n, err := c.nc.Read(c.rbuf[c.w:])
		c.w += n
		return n, err
	}
	c.readN, c.readErr = 0, nil
	c.state.Store(c.waitState(stateWaiting))
	if c.readFn == nil {
		c.readFn = c.readFD // bound once: a closure per read would allocate
	}
	if err := c.rc.Read(c.readFn); err != nil {
		return 0, err
	}
	return c.readN, c.readErr
}

// readFD is the RawConn read callback: it takes the read buffer only when
// the socket has data, and gives it back when it turns out not to.
func (c *conn) readFD(fd uintptr) bool {
	if err := c.prepareRead(); err != nil {
		c.readErr = err
		return true
	}
	for {
		m, e := rawIO(syscall.SYS_RECVFROM, fd, c.rbuf[c.w:])
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			if c.r == c.w && c.need == 0 {
				c.dropRead()
				c.r, c.w = 0, 0
			}
			if c.crowdPark {
				c.readErr = errIdle // crowded: park rather than wait
				return true
			}
			return false
		case e != 0:
			c.readErr = os.NewSyscallError("recvfrom", e)
		case m == 0:
			c.readErr = io.EOF
		default:
			c.state.Store(c.waitState(stateRead))
			c.readN = m
			c.w += m
		}
		return true
	}
}

// writeRaw writes b to the socket through its RawConn: the netpoller
// waits while the socket is full (and the write deadline applies), and
// the writes themselves are raw system calls (rawIO).
func (c *conn) writeRaw(b []byte) (int, error) {
	if c.writeFn == nil {
		c.writeFn = c.writeFD // bound once: a closure per write would allocate
	}
	c.writeBuf, c.writeN, c.writeErr = b, 0, nil
	err := c.rc.Write(c.writeFn)
	c.writeBuf = nil
	if err == nil {
		err = c.writeErr
	}
	return c.writeN, err
}

// writeFD is the RawConn write callback: false asks the netpoller to wait
// until the socket takes more.
func (c *conn) writeFD(fd uintptr) bool {
	for len(c.writeBuf) > 0 {
		m, e := rawIO(syscall.SYS_SENDTO, fd, c.writeBuf)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			c.writeErr = os.NewSyscallError("sendto", e)
			return true
		}
		c.writeN += m
		c.writeBuf = c.writeBuf[m:]
	}
	return true
}

// rawIO is recvfrom(2) or sendto(2) of b on a non-blocking connected
// socket, with no flags and no address: read(2) and write(2) as far as the
// socket goes, without the file layer around them (vfs_read's checks and
// fsnotify; an EAGAIN read costs ~0.9 µs instead of ~1.15 on this
// machine). A raw system call: it never blocks (EAGAIN instead), so it
// needs none of the scheduler's bookkeeping around a call that might
// (syscall.Read's entersyscall and exitsyscall, two per request
// otherwise).
func rawIO(trap, fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	return int(n), e
}

// markWritten is the one place that marks the replies so far as written,
// where memcached would write them (conn_mwrite): after a get, mn, the
// binary protocol's rules, every -R commands, and each flush.
func (c *conn) markWritten() {
	c.pinned = c.pinned[:0]
}

// flush writes every pending reply with one write. Replies the binary
// protocol holds back (binState.held) are not among them: their items stay
// pinned.
func (c *conn) flush() error {
	err := c.flushReplies()
	c.latFlush()
	return err
}

func (c *conn) flushReplies() error {
	if c.gs.active && len(c.out)-c.gs.start < replyBound {
		return c.flushBeforeGet()
	}
	c.gs.start = 0
	if c.bin == nil || len(c.bin.held) == 0 {
		c.markWritten()
	}
	if len(c.out) == 0 {
		c.dropOut()
		return nil
	}
	err := c.write(c.out)
	c.dropOut()
	return err
}

// flushBeforeGet writes the replies before a streamed get's and keeps its
// own pending: a too-long key later in its line drops them (getstream.go).
func (c *conn) flushBeforeGet() error {
	n := c.gs.start
	if n == 0 {
		return nil
	}
	err := c.write(c.out[:n])
	c.out = c.out[:copy(c.out, c.out[n:])]
	c.gs.start = 0
	return err
}

// write is the one socket write of replies.
func (c *conn) write(b []byte) error {
	c.state.Store(stateWrite)
	c.account() // the replies may have grown the buffer
	if idle := c.s.cfg.IdleTimeout; idle > 0 {
		// A client that reads nothing for idle_timeout is dropped, as one
		// that sends nothing is (memcached only times out the latter).
		_ = c.nc.SetWriteDeadline(time.Now().Add(idle))
	}
	var n int
	var err error
	switch {
	case c.tlsVersion.Load() != 0:
		n, err = c.writeTLS(b)
	case c.rc != nil:
		n, err = c.writeRaw(b)
	default:
		n, err = c.nc.Write(b)
	}
	c.s.stats.bytesWritten.Add(c.id, uint64(n))
	c.s.stats.writes.Add(c.id, 1)
	return err
}

// writeIfFull writes the pending replies once they pass replyBound, so
// that a client that does not read stalls in its own write and is no longer
// read from (backpressure). UDP replies are datagrams and are left alone.
func (c *conn) writeIfFull() (wrote bool, err error) {
	if c.udp != nil || len(c.out) < replyBound {
		return false, nil
	}
	if err = c.flush(); err != nil {
		return true, err
	}
	if c.out == nil && !c.takeOut() {
		return true, errNoReplyBuf
	}
	return true, nil
}

// errNoReplyBuf: read_buf_mem_limit leaves no reply buffer; memcached
// closes the connection.
var errNoReplyBuf = errors.New("read_buf_mem_limit: no reply buffer")

// dataBlock takes the size bytes that follow skip bytes from r: the one
// wait for a data block of every protocol (text and meta values, binary
// values and SASL data, ascii auth). When they have not all arrived it
// consumes nothing and returns how many bytes from r it wants.
func (c *conn) dataBlock(skip, size int) (data []byte, want int) {
	if c.w-c.r < skip+size {
		return nil, skip + size
	}
	data = c.rbuf[c.r+skip : c.r+skip+size]
	c.r += skip + size
	return data, 0
}

// swallowBuffered discards what has arrived of a refused data block and
// reports whether more of it is still to come.
func (c *conn) swallowBuffered() bool {
	n := int64(c.w - c.r)
	if n > c.swallow {
		n = c.swallow
	}
	c.r += int(n)
	c.swallow -= n
	return c.swallow > 0
}

// reply appends a fixed reply unless the command was sent with noreply.
func (c *conn) reply(b []byte) {
	if c.noreply {
		return
	}
	c.out = append(c.out, b...)
}

// yield lets other goroutines run after -R commands in one batch, as
// memcached hands the worker thread to other connections.
func (c *conn) yield() {
	c.reqs++
	if c.reqs >= c.s.cfg.ReqsPerEvent {
		c.reqs = 0
		c.markWritten()
		c.s.stats.connYields.Add(1)
		runtime.Gosched()
	}
}
