package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/casorder"

	"github.com/gocached/gocached/protocol"
)

// Request builders for binary tests.

func breq(op uint8, key, ext, val string, opaque uint32, cas uint64) []byte {
	return protocol.AppendBinaryRequest(nil, op, []byte(ext), []byte(key), []byte(val), opaque, cas)
}

func bget(op uint8, key string, opaque uint32) []byte { return breq(op, key, "", "", opaque, 0) }

func bstore(op uint8, key, val string, flags, exptime uint32, opaque uint32, cas uint64) []byte {
	ext := binary.BigEndian.AppendUint32(nil, flags)
	ext = binary.BigEndian.AppendUint32(ext, exptime)
	return breq(op, key, string(ext), val, opaque, cas)
}

func barith(op uint8, key string, delta, initial uint64, exptime uint32, opaque uint32, cas uint64) []byte {
	ext := binary.BigEndian.AppendUint64(nil, delta)
	ext = binary.BigEndian.AppendUint64(ext, initial)
	ext = binary.BigEndian.AppendUint32(ext, exptime)
	return breq(op, key, string(ext), "", opaque, cas)
}

func btouch(op uint8, key string, exptime uint32, opaque uint32) []byte {
	return breq(op, key, string(binary.BigEndian.AppendUint32(nil, exptime)), "", opaque, 0)
}

// braw builds a request with explicit header lengths, for malformed ones.
func braw(magic, op uint8, keyLen uint16, extLen uint8, bodyLen uint32, body string) []byte {
	b := protocol.AppendBinaryHeader(nil, magic, op, keyLen, extLen, 0, bodyLen, 0, 0)
	return append(b, body...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var statusNames = map[uint16]string{
	protocol.StatusOK: "OK", protocol.StatusKeyNotFound: "NOT_FOUND", protocol.StatusKeyExists: "EXISTS",
	protocol.StatusTooLarge: "TOO_LARGE", protocol.StatusInvalid: "EINVAL", protocol.StatusNotStored: "NOT_STORED",
	protocol.StatusDeltaBadVal: "BADVAL", protocol.StatusAuthError: "AUTH_ERROR",
	protocol.StatusAuthContinue: "AUTH_CONTINUE", protocol.StatusUnknown: "UNKNOWN", protocol.StatusNoMemory: "ENOMEM",
}

// casOrder renders CAS values as #N by order of first appearance.
type casOrder = casorder.Order

// renderBinary turns a response stream into one line per packet, e.g.
// `00 OK o=8 c=#1 e=00000005 v="hello"`; stat values are shown as "*"
// when statValues is false. Bytes that are not a whole packet are shown
// as `rest "..."`.
func renderBinary(b []byte, cas casOrder, statValues bool) []string {
	var out []string
	for len(b) > 0 {
		p, n, ok := protocol.ParseBinaryPacket(b)
		if !ok || p.Magic != protocol.BinaryResponseMagic {
			out = append(out, fmt.Sprintf("rest %q", b))
			break
		}
		b = b[n:]
		st, ok := statusNames[p.Status]
		if !ok {
			st = fmt.Sprintf("status=%#x", p.Status)
		}
		s := fmt.Sprintf("%02x %s", p.Opcode, st)
		if p.Opaque != 0 {
			s += fmt.Sprintf(" o=%d", p.Opaque)
		}
		if p.CAS != 0 {
			s += " c=" + cas.Name(p.CAS)
		}
		if p.DataType != 0 {
			s += fmt.Sprintf(" dt=%d", p.DataType)
		}
		if len(p.Extras) > 0 {
			s += fmt.Sprintf(" e=%x", p.Extras)
		}
		if len(p.Key) > 0 {
			s += fmt.Sprintf(" k=%q", p.Key)
		}
		if len(p.Value) > 0 {
			if p.Opcode == protocol.OpStat && !statValues && len(p.Key) > 0 {
				s += " v=*"
			} else if len(p.Value) > 64 {
				s += fmt.Sprintf(" v=%q...(%d)", p.Value[:16], len(p.Value))
			} else {
				s += fmt.Sprintf(" v=%q", p.Value)
			}
		}
		out = append(out, s)
	}
	return out
}

const sentinelOpaque = 0xfeedface

var binSentinel = breq(protocol.OpNoop, "", "", "", sentinelOpaque, 0)

// bclient is a raw binary-protocol connection for tests.
type bclient struct {
	t   testing.TB
	nc  net.Conn
	cas casOrder
	buf []byte
}

func bdial(t testing.TB, s *Server) *bclient {
	t.Helper()
	a := s.Addrs()[0]
	nc, err := net.Dial(a.Network(), a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &bclient{t: t, nc: nc, cas: casOrder{}}
}

// raw sends req and a noop sentinel and returns every byte before the
// sentinel's reply, plus whether the server closed the connection first.
func (c *bclient) raw(req []byte) ([]byte, bool) {
	c.t.Helper()
	go func() { _, _ = c.nc.Write(cat(req, binSentinel)) }()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	tmp := make([]byte, 64<<10)
	for {
		if i := sentinelAt(c.buf); i >= 0 {
			out := append([]byte(nil), c.buf[:i]...)
			c.buf = c.buf[i+len(binSentinel):]
			return out, false
		}
		n, err := c.nc.Read(tmp)
		c.buf = append(c.buf, tmp[:n]...)
		if err == io.EOF || (err != nil && strings.Contains(err.Error(), "reset")) {
			out := c.buf
			c.buf = nil
			return out, true
		}
		if err != nil {
			c.t.Fatalf("reading reply: %v (got %q)", err, c.buf)
		}
	}
}

// sentinelAt finds the sentinel's reply at a packet boundary of b.
func sentinelAt(b []byte) int {
	want := protocol.AppendBinaryResponse(nil, protocol.OpNoop, 0, 0, 0, 0, sentinelOpaque, 0)
	off := 0
	for {
		if bytes.HasPrefix(b[off:], want) {
			return off
		}
		p, n, ok := protocol.ParseBinaryPacket(b[off:])
		if !ok || p.Magic != protocol.BinaryResponseMagic {
			return -1
		}
		off += n
	}
}

// do sends requests and returns the rendered replies; "<closed>" ends them
// when the server closed the connection.
func (c *bclient) do(reqs ...[]byte) []string {
	c.t.Helper()
	out, closed := c.raw(cat(reqs...))
	lines := renderBinary(out, c.cas, false)
	if closed {
		lines = append(lines, "<closed>")
	}
	return lines
}

// step is one exchange of a scripted binary conversation.
type step struct {
	name string
	req  []byte
	want []string
}

func runSteps(t *testing.T, c *bclient, steps []step) {
	t.Helper()
	for _, st := range steps {
		got := c.do(st.req)
		if strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", st.name, strings.Join(got, "\n     "), strings.Join(st.want, "\n     "))
		}
	}
}

// binPipe is pipeConn for the binary protocol: each client write is a
// separate read on the server; finish sends the noop sentinel and returns
// what came before its reply.
func binPipe(t testing.TB, s *Server) (net.Conn, func() []byte) {
	return pipeWith(t, s, binSentinel, sentinelAt)
}
