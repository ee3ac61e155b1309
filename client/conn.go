package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/gocached/gocached/protocol"
)

// conn is one connection to a server with its buffers. It is used by one
// request at a time; the pool hands it out.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	node *node

	reused bool // it served a request before this one
	ctxDL  bool // this request's deadline is the caller's context's
	read   bool // this request read at least one reply byte
	bad    bool // the stream is out of step: close instead of reuse

	num [24]byte // scratch for formatting numbers
}

const (
	readBufSize  = 16 << 10
	writeBufSize = 4 << 10
)

func newConn(nc net.Conn, n *node) *conn {
	return &conn{
		nc:   nc,
		br:   bufio.NewReaderSize(nc, readBufSize),
		bw:   bufio.NewWriterSize(nc, writeBufSize),
		node: n,
	}
}

// aLongTimeAgo is a deadline in the past, to interrupt I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

// begin prepares the connection for one request: deadlines from the
// client's timeouts or ctx, whichever is sooner, and a hook that
// interrupts the I/O when ctx is cancelled. end must be called after.
func (cn *conn) begin(ctx context.Context) (stop func() bool) {
	cfg := &cn.node.c.cfg
	now := time.Now()
	rd, wd := now.Add(cfg.ReadTimeout), now.Add(cfg.WriteTimeout)
	cn.ctxDL = false
	if d, ok := ctx.Deadline(); ok && (d.Before(rd) || d.Before(wd)) {
		rd, wd = minTime(rd, d), minTime(wd, d)
		cn.ctxDL = true
	}
	if rd.Equal(wd) {
		_ = cn.nc.SetDeadline(rd)
	} else {
		_ = cn.nc.SetReadDeadline(rd)
		_ = cn.nc.SetWriteDeadline(wd)
	}
	cn.read = false
	if ctx.Done() == nil {
		return nil
	}
	nc := cn.nc
	return context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ioErr wraps an I/O failure of this connection; the connection is
// marked bad.
func (cn *conn) ioErr(op string, err error) error {
	cn.bad = true
	return &NodeError{Addr: cn.node.name, Op: op, Err: err}
}

// flush sends the buffered request.
func (cn *conn) flush() error {
	if err := cn.bw.Flush(); err != nil {
		return cn.ioErr("write", err)
	}
	return nil
}

// line reads one reply line without its CRLF. The slice is valid until
// the next read.
func (cn *conn) line() ([]byte, error) {
	l, err := cn.br.ReadSlice('\n')
	if len(l) > 0 {
		cn.read = true
	}
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, cn.ioErr("read", ErrProtocol)
		}
		if errors.Is(err, io.EOF) && len(l) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, cn.ioErr("read", err)
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

// readData appends an n-byte data block to dst and checks the CRLF that
// ends it.
func (cn *conn) readData(dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = grow(dst, n)
	if _, err := io.ReadFull(cn.br, dst[start:]); err != nil {
		return dst[:start], cn.ioErr("read", err)
	}
	cr, err1 := cn.br.ReadByte()
	lf, err2 := cn.br.ReadByte()
	if err := errors.Join(err1, err2); err != nil {
		return dst[:start], cn.ioErr("read", err)
	}
	if cr != '\r' || lf != '\n' {
		return dst[:start], cn.ioErr("read", ErrProtocol)
	}
	return dst, nil
}

// grow extends dst by n bytes, reallocating when needed.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst[:len(dst)+n]
	}
	nb := make([]byte, len(dst)+n, len(dst)+n+len(dst)/4)
	copy(nb, dst)
	return nb
}

// replyErr turns an ERROR / CLIENT_ERROR / SERVER_ERROR line into a
// *ReplyError, or reports a reply that fits nothing as ErrProtocol. After
// anything but SERVER_ERROR the stream may be out of step: the
// connection is not reused.
func (cn *conn) replyErr(l []byte) error {
	switch {
	case bytes.HasPrefix(l, []byte("SERVER_ERROR")):
		return &ReplyError{Addr: cn.node.name, Line: string(l), kind: ErrServerError}
	case bytes.HasPrefix(l, []byte("CLIENT_ERROR")), bytes.Equal(l, []byte("ERROR")):
		cn.bad = true
		return &ReplyError{Addr: cn.node.name, Line: string(l), kind: ErrClientError}
	}
	return cn.ioErr("read", ErrProtocol)
}

// valueHeader is a parsed "VALUE <key> <flags> <bytes>[ <cas>]" line.
type valueHeader struct {
	key   []byte
	flags uint32
	size  int
	cas   uint64
}

// parseValue parses a VALUE line; ok=false when it is not one.
func parseValue(l []byte) (h valueHeader, ok bool) {
	rest, found := bytes.CutPrefix(l, []byte("VALUE "))
	if !found {
		return h, false
	}
	var f [4][]byte
	n := 0
	for len(rest) > 0 && n < 4 {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			f[n], rest = rest, nil
		} else {
			f[n], rest = rest[:i], rest[i+1:]
		}
		n++
	}
	if n < 3 || len(rest) > 0 {
		return h, false
	}
	h.key = f[0]
	var ok1, ok2 bool
	h.flags, ok1 = protocol.ParseUint32(f[1])
	size, ok2 := protocol.ParseUint64(f[2])
	if !ok1 || !ok2 || size > 1<<31 {
		return h, false
	}
	h.size = int(size)
	if n == 4 {
		if h.cas, ok = protocol.ParseUint64(f[3]); !ok {
			return h, false
		}
	}
	return h, true
}

// writeKeyCmd buffers "<cmd> <key>[ <num>]\r\n".
func (cn *conn) writeCmd(cmd, key string, args ...uint64) {
	cn.bw.WriteString(cmd)
	cn.bw.WriteByte(' ')
	cn.bw.WriteString(key)
	for _, a := range args {
		cn.bw.WriteByte(' ')
		cn.bw.Write(strconv.AppendUint(cn.num[:0], a, 10))
	}
	cn.bw.WriteString("\r\n")
}

// writeUint buffers " <v>".
func (cn *conn) writeUint(v uint64) {
	cn.bw.WriteByte(' ')
	cn.bw.Write(strconv.AppendUint(cn.num[:0], v, 10))
}

// writeInt buffers " <v>".
func (cn *conn) writeInt(v int64) {
	cn.bw.WriteByte(' ')
	cn.bw.Write(strconv.AppendInt(cn.num[:0], v, 10))
}
