package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

// Idle connections are parked: a connection that has sent nothing for
// parkAfter gives up its goroutine (and the stack it grew while serving,
// 4 KB or more) and waits in the server's own epoll set instead; when it
// becomes readable a new goroutine serves it. So ten thousand idle
// connections cost their sockets and connection structures, about what
// memcached's cost, not ten thousand goroutines. A connection is parked
// only between requests (nothing buffered, nothing pending), so parking
// never delays a request under way, and connections that keep sending are
// never parked: the hot path does not change.
//
// One goroutine, the idler, waits on the epoll set and, once a second,
// asks the connections idle for parkAfter to park (it wakes their read, as
// shutdown does) and closes parked ones past idle_timeout.
//
// When more than crowdedAbove connections hold goroutines, a connection
// parks as soon as it has answered a sporadic request (its first, or one a
// second or more after the one before; conn.loop) and its next read finds
// nothing, without waiting for parkAfter: a burst of thousands of
// connections that each send a request and then wait costs a goroutine
// stack only for crowdedAbove of them, while busy connections keep theirs.
// Below that count nothing changes. A parked connection whose client hangs
// up with nothing left to read is closed here, without a goroutine.
const (
	parkAfter    = 2 // seconds of the store clock
	crowdedAbove = 2048
)

type idler struct {
	s        *Server
	epfd     int
	wakeR    int // read end of a pipe in the set: Shutdown writes to stop the idler
	wakeW    int
	mu       sync.Mutex
	parked   map[int32]*conn // by descriptor
	nParked  atomic.Int64    // len(parked), read without mu (crowded)
	stopped  bool
	done     chan struct{}
	closed   sync.Once
	lastScan time.Time
}

// startIdler makes the epoll set and starts the idler; on failure
// connections are simply never parked.
func (s *Server) startIdler() {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		s.log.Warn("no epoll set for idle connections; they keep their goroutines", zap.Error(err))
		return
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		s.log.Warn("no wake pipe for the idler; idle connections keep their goroutines", zap.Error(err))
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		s.log.Warn("no wake pipe for the idler; idle connections keep their goroutines", zap.Error(err))
		return
	}
	s.idle = &idler{s: s, epfd: epfd, wakeR: p[0], wakeW: p[1], parked: make(map[int32]*conn), done: make(chan struct{})}
	go s.idle.run()
}

func (d *idler) run() {
	defer close(d.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(d.epfd, events, 1000)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			d.s.log.Error("idle connections: epoll_wait failed; parking stops", zap.Error(err))
			d.stop()
			return
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == int32(d.wakeR) {
				return // Shutdown: it closes what is parked
			}
			if c := d.take(ev.Fd); c != nil {
				if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && c.peerGone() {
					c.finish() // no goroutine just to read the EOF
					continue
				}
				c.resume()
			}
		}
		if now := time.Now(); now.Sub(d.lastScan) >= time.Second {
			d.lastScan = now
			d.scan()
		}
	}
}

// scan asks connections idle for parkAfter to park, and closes parked ones
// idle past idle_timeout.
func (d *idler) scan() {
	s := d.s
	now := s.store.Now()
	idle := uint32(s.cfg.IdleTimeout / time.Second)
	var expired []*conn
	s.mu.Lock()
	for c := range s.conns {
		if c.rc == nil || c.parked.Load() || c.state.Load() != stateWaiting {
			continue
		}
		// Asked again at every scan while idle: a wake can be lost to
		// the connection setting its own deadline.
		if now-c.lastCmd.Load() >= parkAfter {
			c.parkReq.Store(true)
			c.wake()
		}
	}
	s.mu.Unlock()
	if idle > 0 {
		d.mu.Lock()
		for fd, c := range d.parked {
			if now-c.lastCmd.Load() > idle {
				d.unregister(fd)
				expired = append(expired, c)
			}
		}
		d.mu.Unlock()
		for _, c := range expired {
			s.stats.idleKicks.Add(1)
			c.finish()
		}
	}
}

// crowded reports whether more than crowdedAbove connections hold a
// goroutine, so that idle ones park at once.
func (s *Server) crowded() bool {
	d := s.idle
	if d == nil {
		return false
	}
	limit := int64(crowdedAbove)
	if s.cfg.crowdedAbove > 0 {
		limit = s.cfg.crowdedAbove
	}
	return s.holding() > limit
}

// holding counts the connections that hold a goroutine (open, not parked).
func (s *Server) holding() int64 {
	n := s.stats.currConns.Load()
	if d := s.idle; d != nil {
		n -= d.nParked.Load()
	}
	return n
}

// park puts c, between requests, into the epoll set; false when it cannot
// (the goroutine then goes on waiting itself). After true the caller's
// goroutine must not touch c: the idler may already be serving it again.
func (c *conn) park() bool {
	d := c.s.idle
	if d == nil {
		return false
	}
	c.parkReq.Store(false)
	c.release() // (parse scratch went when the last batch was done)
	ok := false
	_ = c.rc.Control(func(fd uintptr) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.stopped {
			return
		}
		c.parked.Store(true)
		d.parked[int32(fd)] = c
		// Level-triggered: bytes that arrived before this call are
		// reported at once. One shot: the idler owns the event.
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
		if err := syscall.EpollCtl(d.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
			delete(d.parked, int32(fd))
			c.parked.Store(false)
			return
		}
		d.nParked.Add(1)
		ok = true
	})
	return ok
}

// parkedStack is what a parked connection's goroutine stack is taken to
// have held (the stack grows to 4 KB or more while serving).
const parkedStack = 4 << 10

// take removes the connection parked on fd from the set, if it is still
// there (Shutdown or the idle scan may have taken it).
func (d *idler) take(fd int32) *conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.parked[fd]
	if c != nil {
		d.unregister(fd)
	}
	return c
}

// unregister drops fd from the set; d.mu is held.
func (d *idler) unregister(fd int32) {
	delete(d.parked, fd)
	d.nParked.Add(-1)
	_ = syscall.EpollCtl(d.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
}

// peerGone reports whether a parked connection whose peer hung up has
// nothing left to read: EOF (closeReason "normal", as the serving loop
// says) or an error such as a reset. Bytes sent before the hang-up are
// served as usual (false).
func (c *conn) peerGone() bool {
	var b [1]byte
	gone := false
	_ = c.rc.Control(func(fd uintptr) {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case e == 0 && n == 0:
			c.closeReason = "normal"
			gone = true
		case e != 0 && e != syscall.EAGAIN && e != syscall.EINTR:
			gone = true
		}
	})
	return gone
}

// resume serves a parked connection again on a new goroutine.
func (c *conn) resume() {
	c.parked.Store(false)
	_ = c.nc.SetReadDeadline(time.Time{}) // the wake that parked it
	go c.serve()
}

// stop ends parking: every parked connection is closed (each is between
// requests: nothing of it is lost), and the idler returns.
func (d *idler) stop() {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.stopped = true
	var cs []*conn
	for fd, c := range d.parked {
		d.unregister(fd)
		cs = append(cs, c)
	}
	d.mu.Unlock()
	_, _ = syscall.Write(d.wakeW, []byte{0})
	for _, c := range cs {
		c.finish()
	}
}

// close waits for the idler and releases its descriptors.
func (d *idler) close() {
	d.closed.Do(func() {
		d.stop()
		<-d.done
		syscall.Close(d.epfd)
		syscall.Close(d.wakeR)
		syscall.Close(d.wakeW)
	})
}

// parkedCount is how many connections are parked.
func (d *idler) parkedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.parked)
}
