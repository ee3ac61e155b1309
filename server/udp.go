package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gocached/gocached/protocol"
	"go.uber.org/zap"
)

// UDP (-U) is memcached's datagram transport. Every datagram starts with an
// 8-byte frame header (request id, sequence number, datagram count,
// reserved; big-endian uint16 each) and a request must fit in one datagram.
// The payload is handled by a pseudo-connection's process, like a TCP read.
//
// Replies are framed per response object, as memcached's mc_resp: a command
// has one, a multi-key get one per key (END rides on the last). Each object
// is sent as its own message of datagrams of at most 1400 bytes, sequence
// 0..n-1 of total n, echoing the request id. Objects wait in a batch that is
// transmitted, as memcached 1.6.45 does, at mn, after quit, every -R
// commands, and when the datagram is used up (1.6.18 also wrote after
// every get); memcached's transmit sends the batch's first object even when
// it is empty (a header with total 0: a multi-get whose first key missed),
// then skips every empty object that follows a sent one, and never sends an
// object silenced by noreply. A connection close (an HTTP request line, a
// line over 2048 bytes without its end, shutdown) drops the objects not yet
// sent, an earlier get's included, and the rest of the datagram.
//
// Where memcached reads the next datagram into a command it could not
// finish (a data block cut short, or the rest of a refused oversized
// value), whoever sent it, gocached drops the unfinished command: the
// replies already made are sent and the next datagram starts afresh.
const (
	udpReadBufSize = 64 << 10 // UDP_READ_BUFFER_SIZE: every datagram fits
	udpSocketBuf   = 4 << 20  // asked for SO_RCVBUF and SO_SNDBUF; the kernel caps it
	udpOutKeep     = 2 << 20  // reply buffer kept between datagrams
)

// udpSocket is one bound UDP socket and the readers sharing it.
type udpSocket struct {
	pc      *net.UDPConn
	readers []*udpReader
}

// udpReader is one goroutine handling datagrams from a socket with its own
// pseudo-connection and buffers, as memcached gives each worker thread a
// UDP connection on the socket. It allocates nothing per datagram.
type udpReader struct {
	c     *conn
	pc    *net.UDPConn
	local net.Addr

	buf []byte // one datagram, header included; the conn's rbuf
	pkt []byte // one reply datagram being built

	reqID  uint16
	peerMu sync.Mutex     // peer is read by `stats conns` on other goroutines
	peer   netip.AddrPort // sender of the datagram being handled

	resps []udpResp // response objects not yet transmitted
	cur   int       // start in c.out of the open response object
	cmds  int       // commands run from this datagram
}

// udpResp is a response object: the replies c.out[start:end].
type udpResp struct {
	start, end int
	skip       bool // silenced (noreply, meta q): never sent
}

// udpAddrs turns -l and -U into listen addresses, as tcpAddrs does for -p.
func (c *Config) udpAddrs() []string { return c.listenAddrs(c.UDPPort) }

// listenUDP opens a socket on the UDP port of every -l address.
func (s *Server) listenUDP() ([]*udpSocket, error) {
	var socks []*udpSocket
	for _, addr := range s.cfg.udpAddrs() {
		var lc net.ListenConfig
		pc, err := lc.ListenPacket(context.Background(), ipNetwork("udp", addr), addr)
		if err != nil {
			for _, us := range socks {
				us.pc.Close()
			}
			return nil, fmt.Errorf("failed to listen on UDP %s: %w", addr, err)
		}
		uc := pc.(*net.UDPConn)
		// A reply of many datagrams is written in one burst, and requests
		// from many clients queue while the readers are busy.
		_ = uc.SetReadBuffer(udpSocketBuf)
		_ = uc.SetWriteBuffer(udpSocketBuf)
		socks = append(socks, &udpSocket{pc: uc})
	}
	return socks, nil
}

// ServeUDP serves memcached's UDP protocol on pc in the background until
// shutdown, as Serve does a listener (for sockets made elsewhere, such as
// systemd's). Shutdown closes pc.
func (s *Server) ServeUDP(pc *net.UDPConn) { s.serveUDP([]*udpSocket{{pc: pc}}) }

// serveUDP starts -t readers on every socket, memcached's
// num_threads_per_udp; each is a connection in stats.
func (s *Server) serveUDP(socks []*udpSocket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, us := range socks {
		for i := 0; i < s.cfg.Threads; i++ {
			s.nextID++
			u := newUDPReader(s, us.pc, s.nextID)
			us.readers = append(us.readers, u)
			s.stats.totalConns.Add(1)
			s.udpWG.Add(1)
			go u.run()
		}
		s.udp = append(s.udp, us)
	}
}

func newUDPReader(s *Server, pc *net.UDPConn, id int64) *udpReader {
	u := &udpReader{
		pc:    pc,
		local: pc.LocalAddr(),
		buf:   make([]byte, udpReadBufSize),
		pkt:   make([]byte, protocol.UDPMaxPayload),
	}
	c := &conn{s: s, listener: u.local, id: id, udp: u}
	c.rbuf = u.buf
	c.out = make([]byte, 0, bufSize)
	c.authed = s.asciiAuth.Load() == nil // Validate refuses -Y with -U
	c.onGet = c.appendGet
	c.onGets = c.appendGets
	c.onMetaGet = c.metaGetItem
	c.onMetaDebug = c.metaDebugItem
	c.state.Store(stateRead)
	c.lastCmd.Store(s.store.Now())
	u.c = c
	return u
}

// UDPAddrs returns the UDP sockets' addresses (none unless -U is set).
func (s *Server) UDPAddrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, us := range s.udp {
		out = append(out, us.pc.LocalAddr())
	}
	return out
}

// wakeUDP makes every reader's pending read return so that it sees the
// shutdown; a datagram being handled is finished first. Called with s.mu.
func (s *Server) wakeUDP() {
	for _, us := range s.udp {
		_ = us.pc.SetReadDeadline(time.Now())
	}
}

// closeUDP waits for the readers woken by wakeUDP and closes the sockets.
func (s *Server) closeUDP() {
	s.udpWG.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, us := range s.udp {
		us.pc.Close()
	}
}

// udpReaders counts the UDP pseudo-connections. Called with s.mu.
func (s *Server) udpReaders() int64 {
	n := 0
	for _, us := range s.udp {
		n += len(us.readers)
	}
	return int64(n)
}

// writeUDPConns is the UDP part of `stats conns`, as memcached shows its
// UDP connections: the socket's address while waiting, the sender's while
// handling a datagram. Called with s.mu.
func (s *Server) writeUDPConns(w *statWriter, now uint32) {
	for _, us := range s.udp {
		for _, u := range us.readers {
			id := strconv.FormatInt(u.c.id, 10)
			state := u.c.state.Load()
			w.str(id+":UDP", "UDP")
			if state == stateRead {
				w.str(id+":addr", udpAddrString(u.local))
			} else {
				u.peerMu.Lock()
				peer := u.peer
				u.peerMu.Unlock()
				w.str(id+":addr", udpAddrPortString(peer))
				w.str(id+":listen_addr", udpAddrString(u.local))
			}
			w.str(id+":state", stateNames[state])
			w.u(id+":secs_since_last_cmd", uint64(now-u.c.lastCmd.Load()))
		}
	}
}

func udpAddrString(a net.Addr) string {
	if ua, ok := a.(*net.UDPAddr); ok {
		return udpAddrPortString(ua.AddrPort())
	}
	return addrString(a)
}

// udpAddrPortString is memcached's "udp:1.2.3.4:5" or "udp6:[::1]:5".
func udpAddrPortString(ap netip.AddrPort) string {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().Is6() {
		return "udp6:" + ap.String()
	}
	return "udp:" + ap.String()
}

func (u *udpReader) run() {
	defer u.c.s.udpWG.Done()
	s := u.c.s
	var delay time.Duration
	for !s.shutting.Load() {
		u.c.state.Store(stateRead)
		n, peer, err := u.pc.ReadFromUDPAddrPort(u.buf)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, net.ErrClosed):
				return
			case errors.As(err, &ne) && ne.Timeout():
				continue // woken by Shutdown: the loop condition decides
			}
			if delay < time.Second {
				delay += 5 * time.Millisecond
			}
			if s.verbosity.Load() > 0 {
				s.log.Info("udp read failed", zap.Error(err), zap.Duration("retry_in", delay))
			}
			time.Sleep(delay)
			continue
		}
		delay = 0
		h, ok := protocol.ParseUDPHeader(u.buf[:n])
		if !ok {
			continue // memcached ignores datagrams with no request
		}
		u.peerMu.Lock()
		u.peer = peer
		u.peerMu.Unlock()
		u.c.state.Store(stateParse)
		u.c.lastCmd.Store(u.c.s.store.Now())
		u.handle(h, n)
	}
}

// handle runs the request in buf[:n], whose frame header is h, and sends
// its replies.
func (u *udpReader) handle(h protocol.UDPHeader, n int) {
	c := u.c
	defer func() {
		if r := recover(); r != nil {
			c.s.notePanic("udp request", r)
			u.discard()
		}
	}()
	c.s.stats.bytesRead.Add(c.id, uint64(n))
	if !h.Single() {
		return // a request of several datagrams: memcached drops it
	}
	u.reqID = h.RequestID
	c.r, c.w = protocol.UDPHeaderLen, n
	c.need, c.swallow, c.reqs = 0, 0, 0
	c.noreply = false
	// The protocol is the datagram's, whatever -B says, as in memcached.
	c.proto = protoText
	if u.buf[protocol.UDPHeaderLen] == protocol.BinaryRequestMagic {
		c.proto = protoBinary
	}
	if c.bin != nil {
		c.bin.waited = false
	}
	u.cmds = 0
	act := c.process()
	// Replies the binary protocol holds back while a value is missing are
	// this datagram's: they go now. Nothing carries over to the next
	// datagram, which may come from anyone.
	if c.bin != nil && len(c.bin.held) > 0 {
		c.out = append(c.out, c.bin.held...)
		c.bin.held = c.bin.held[:0]
	}
	if act == actClose {
		u.discard()
	} else {
		if len(c.out) > u.cur {
			// Binary replies: one object, until the binary protocol
			// closes one per command with endResponse as the text
			// protocol does (memcached: one per request, quiet ones
			// silenced).
			u.endResponse(false)
		}
		u.transmit()
	}
	if cap(c.out) > udpOutKeep {
		c.out = make([]byte, 0, bufSize)
	}
}

// textCommandDone closes the response object of the text command just run
// and transmits the batch where memcached does. Called from process.
func (c *conn) textCommandDone(act action) {
	u := c.udp
	var cmd []byte
	if c.scratch.tok.N > 0 {
		cmd = c.scratch.tok.T[0]
	}
	meta := len(cmd) == 2 && cmd[0] == 'm'
	// An empty reply is a silenced one for noreply and meta's q flag.
	u.endResponse(c.noreply || meta)
	u.cmds++
	if act == actClose {
		if string(cmd) == "quit" {
			u.transmit() // memcached writes what it has, then closes
		}
		return
	}
	if string(cmd) == "mn" {
		u.transmit()
		return
	}
	// memcached yields after -R+1 commands of an event and every -R after,
	// writing what it has.
	r := c.s.cfg.ReqsPerEvent
	if u.cmds > r && (u.cmds-r-1)%r == 0 {
		u.transmit()
	}
}

// nextGetKey starts the response object of a get's next key. Called from
// cmdGet before every key but the first.
func (c *conn) nextGetKey() {
	u := c.udp
	u.resps = append(u.resps, udpResp{start: u.cur, end: len(c.out)})
	u.cur = len(c.out)
}

// dropReplies discards the replies of a failing command from start on and
// returns c.out for its error. Over UDP memcached discards every response
// object not yet sent, those of earlier commands included.
func (c *conn) dropReplies(start int) []byte {
	if c.udp != nil {
		c.udp.discard()
		return c.out
	}
	return c.out[:start]
}

// endResponse closes the open response object if it holds replies, or if
// it is empty and not silenced.
func (u *udpReader) endResponse(silent bool) {
	end := len(u.c.out)
	if end == u.cur && silent {
		u.resps = append(u.resps, udpResp{start: end, end: end, skip: true})
		return
	}
	if end > u.cur || !silent {
		u.resps = append(u.resps, udpResp{start: u.cur, end: end})
	}
	u.cur = end
}

// discard drops every reply not yet sent.
func (u *udpReader) discard() {
	u.resps = u.resps[:0]
	u.c.out = u.c.out[:0]
	u.cur = 0
}

// transmit sends the batch of response objects as memcached's
// transmit_udp: the first object that is not silenced is sent even when
// empty, then every empty object right after a sent one is passed over.
func (u *udpReader) transmit() {
	out := u.c.out
	for i := 0; i < len(u.resps); {
		r := u.resps[i]
		i++
		if r.skip {
			continue
		}
		u.send(out[r.start:r.end])
		for i < len(u.resps) && u.resps[i].start == u.resps[i].end {
			i++
		}
	}
	u.discard()
}

// send writes one response object as datagrams of at most protocol.UDPMaxPayload
// bytes. An empty object is one bare header with a total of 0.
func (u *udpReader) send(data []byte) {
	s := u.c.s
	total := protocol.UDPDatagrams(len(data))
	u.c.state.Store(stateWrite)
	defer u.c.state.Store(stateParse)
	for seq := 0; ; seq++ {
		p := u.pkt
		protocol.PutUDPHeader(p, u.reqID, seq, total)
		n := copy(p[protocol.UDPHeaderLen:], data)
		data = data[n:]
		m, err := u.pc.WriteToUDPAddrPort(p[:protocol.UDPHeaderLen+n], u.peer)
		s.stats.bytesWritten.Add(u.c.id, uint64(m))
		s.stats.writes.Add(u.c.id, 1)
		if err != nil {
			if s.verbosity.Load() > 0 && !s.shutting.Load() {
				s.log.Info("udp write failed", zap.Error(err))
			}
			return
		}
		if len(data) == 0 {
			return
		}
	}
}
