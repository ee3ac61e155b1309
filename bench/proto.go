package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// codec is the client side of one wire protocol: it encodes requests into
// a connection's output buffer and reads their replies. Encoding appends
// and never allocates; reading works on bufio's buffer in place.
type codec interface {
	name() string
	// appendGet asks for keys; one key is a plain get, more a multi-get.
	appendGet(b []byte, prefix string, keys []uint64) []byte
	appendSet(b []byte, prefix string, key uint64, value []byte, ttl uint32) []byte
	// appendProbe is a harmless request whose reply proves the server
	// speaks the protocol (version, or meta's no-op).
	appendProbe(b []byte) []byte
	readProbe(r *reader) error
	// readGet reads the reply to appendGet(keys), calling hit for each
	// value returned, with the key as the server named it when the
	// protocol names keys in replies (nil otherwise).
	readGet(r *reader, nkeys int, hit func(key, value []byte)) error
	readSet(r *reader) error
}

// newCodec returns the codec for "text", "meta" or "binary".
func newCodec(name string) (codec, error) {
	switch name {
	case "text", "ascii":
		return textCodec{}, nil
	case "meta":
		return metaCodec{}, nil
	case "binary", "bin":
		return binaryCodec{}, nil
	}
	return nil, fmt.Errorf("unknown protocol %q (text, meta, binary)", name)
}

// replyError is a request that failed. Kind names it in the error
// counts; desync means the reply stream can no longer be trusted and the
// connection must be redialled.
type replyError struct {
	kind   string
	desync bool
}

func (e *replyError) Error() string { return e.kind }

func protoErr(format string, args ...any) error {
	return &replyError{kind: "protocol: " + fmt.Sprintf(format, args...), desync: true}
}

// serverReply turns a text error line (SERVER_ERROR ..., CLIENT_ERROR
// ..., ERROR) into an error that keeps the stream in sync.
func serverReply(line []byte) error {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > 60 {
		line = line[:60]
	}
	switch {
	case bytes.HasPrefix(line, []byte("SERVER_ERROR")), bytes.HasPrefix(line, []byte("CLIENT_ERROR")),
		bytes.Equal(line, []byte("ERROR")):
		return &replyError{kind: string(line)}
	}
	return protoErr("unexpected reply %q", line)
}

// reader is a bufio.Reader with a scratch buffer for values larger than
// its own buffer.
type reader struct {
	*bufio.Reader
	scratch []byte
	key     [256]byte // a reply's key, copied out of bufio's buffer
}

// saveKey copies k (at most 250 bytes in memcached) into r.key.
func (r *reader) saveKey(k []byte) []byte { return r.key[:copy(r.key[:], k)] }

// line returns the next line, without copying; it stays valid until the
// next read.
func (r *reader) line() ([]byte, error) {
	l, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, protoErr("reply line longer than %d bytes", r.Size())
	}
	return l, err
}

// next returns the next n bytes, valid until the next read.
func (r *reader) next(n int) ([]byte, error) {
	if n <= r.Size() {
		b, err := r.Peek(n)
		if err != nil {
			return nil, err
		}
		_, _ = r.Discard(n)
		return b, nil
	}
	if cap(r.scratch) < n {
		r.scratch = make([]byte, n)
	}
	b := r.scratch[:n]
	_, err := io.ReadFull(r.Reader, b)
	return b, err
}

// fields splits a reply line at spaces into at most len(dst) fields,
// without allocating.
func fields(line []byte, dst [][]byte) [][]byte {
	line = bytes.TrimRight(line, "\r\n")
	out := dst[:0]
	for len(line) > 0 && len(out) < cap(dst) {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			out = append(out, line)
			break
		}
		if i > 0 {
			out = append(out, line[:i])
		}
		line = line[i+1:]
	}
	return out
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseUint reads a decimal key index without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// readValueBody reads n data bytes and the CRLF after them.
func readValueBody(r *reader, n int) ([]byte, error) {
	b, err := r.next(n + 2)
	if err != nil {
		return nil, err
	}
	if b[n] != '\r' || b[n+1] != '\n' {
		return nil, protoErr("value not followed by CRLF")
	}
	return b[:n], nil
}

// textCodec is memcached's classic text protocol: get k1 k2 ..., set.
type textCodec struct{}

func (textCodec) name() string { return "text" }

func (textCodec) appendGet(b []byte, prefix string, keys []uint64) []byte {
	b = append(b, "get"...)
	for _, k := range keys {
		b = append(b, ' ')
		b = appendKey(b, prefix, k)
	}
	return append(b, "\r\n"...)
}

func (textCodec) appendSet(b []byte, prefix string, key uint64, value []byte, ttl uint32) []byte {
	b = append(b, "set "...)
	b = appendKey(b, prefix, key)
	b = append(b, " 0 "...)
	b = strconv.AppendUint(b, uint64(ttl), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, "\r\n"...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func (textCodec) appendProbe(b []byte) []byte { return append(b, "version\r\n"...) }

func (textCodec) readProbe(r *reader) error { return readProbeLine(r, "version", "VERSION ") }

// readProbeLine reads the reply line to a probe command, which must start
// with want.
func readProbeLine(r *reader, cmd, want string) error {
	l, err := r.line()
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(l, []byte(want)) {
		return protoErr("%s: %q", cmd, bytes.TrimSpace(l))
	}
	return nil
}

func (textCodec) readGet(r *reader, _ int, hit func(key, value []byte)) error {
	var f [5][]byte
	for {
		l, err := r.line()
		if err != nil {
			return err
		}
		if bytes.Equal(l, []byte("END\r\n")) {
			return nil
		}
		if !bytes.HasPrefix(l, []byte("VALUE ")) {
			if e := serverReply(l); e != nil {
				// An error in place of a get reply: whether END still
				// follows is not known, so start over.
				e.(*replyError).desync = true
				return e
			}
		}
		fs := fields(l, f[:])
		if len(fs) < 4 {
			return protoErr("bad VALUE line %q", bytes.TrimSpace(l))
		}
		n, ok := atoi(fs[3])
		if !ok {
			return protoErr("bad VALUE length %q", fs[3])
		}
		// The key is in bufio's buffer and reading the value may move it.
		k := r.saveKey(fs[1])
		v, err := readValueBody(r, n)
		if err != nil {
			return err
		}
		hit(k, v)
	}
}

func (textCodec) readSet(r *reader) error {
	l, err := r.line()
	if err != nil {
		return err
	}
	switch {
	case bytes.Equal(l, []byte("STORED\r\n")):
		return nil
	case bytes.Equal(l, []byte("NOT_STORED\r\n")):
		return &replyError{kind: "NOT_STORED"}
	}
	return serverReply(l)
}

// metaCodec is the meta protocol: mg with v and k for gets (quiet mode
// and a closing mn for multi-gets), ms for sets.
type metaCodec struct{}

func (metaCodec) name() string { return "meta" }

func (metaCodec) appendGet(b []byte, prefix string, keys []uint64) []byte {
	if len(keys) == 1 {
		b = append(b, "mg "...)
		b = appendKey(b, prefix, keys[0])
		return append(b, " v k\r\n"...)
	}
	for _, k := range keys {
		b = append(b, "mg "...)
		b = appendKey(b, prefix, k)
		b = append(b, " v k q\r\n"...)
	}
	return append(b, "mn\r\n"...)
}

func (metaCodec) appendSet(b []byte, prefix string, key uint64, value []byte, ttl uint32) []byte {
	b = append(b, "ms "...)
	b = appendKey(b, prefix, key)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(value)), 10)
	if ttl != 0 {
		b = append(b, " T"...)
		b = strconv.AppendUint(b, uint64(ttl), 10)
	}
	b = append(b, "\r\n"...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func (metaCodec) appendProbe(b []byte) []byte { return append(b, "mn\r\n"...) }

func (metaCodec) readProbe(r *reader) error { return readProbeLine(r, "mn", "MN\r\n") }

func (metaCodec) readGet(r *reader, nkeys int, hit func(key, value []byte)) error {
	var f [8][]byte
	for {
		l, err := r.line()
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(l, []byte("MN\r\n")) && nkeys > 1:
			return nil
		case bytes.HasPrefix(l, []byte("EN")) && nkeys == 1:
			return nil
		case bytes.HasPrefix(l, []byte("VA ")):
		default:
			e := serverReply(l)
			e.(*replyError).desync = true
			return e
		}
		fs := fields(l, f[:])
		n, ok := atoi(fs[1])
		if !ok {
			return protoErr("bad VA length %q", fs[1])
		}
		var k []byte
		for _, fl := range fs[2:] {
			if len(fl) > 0 && fl[0] == 'k' {
				k = r.saveKey(fl[1:])
			}
		}
		v, err := readValueBody(r, n)
		if err != nil {
			return err
		}
		hit(k, v)
		if nkeys == 1 {
			return nil
		}
	}
}

func (metaCodec) readSet(r *reader) error {
	l, err := r.line()
	if err != nil {
		return err
	}
	switch {
	case bytes.Equal(l, []byte("HD\r\n")):
		return nil
	case bytes.Equal(l, []byte("NS\r\n")):
		return &replyError{kind: "NS (not stored)"}
	}
	return serverReply(l)
}

// binaryCodec is memcached's binary protocol: GETK for one key, GETKQ
// for each key of a multi-get closed by a NOOP, SET.
type binaryCodec struct{}

const (
	binReqMagic  = 0x80
	binRespMagic = 0x81
	binOpGet     = 0x00
	binOpSet     = 0x01
	binOpNoop    = 0x0a
	binOpVersion = 0x0b
	binOpGetK    = 0x0c
	binOpGetKQ   = 0x0d
	binHeaderLen = 24
)

func (binaryCodec) name() string { return "binary" }

// appendBinHeader writes a request header.
func appendBinHeader(b []byte, op byte, keyLen, extLen, bodyLen int) []byte {
	return append(b, binReqMagic, op,
		byte(keyLen>>8), byte(keyLen), byte(extLen), 0, 0, 0,
		byte(bodyLen>>24), byte(bodyLen>>16), byte(bodyLen>>8), byte(bodyLen),
		0, 0, 0, 0, // opaque
		0, 0, 0, 0, 0, 0, 0, 0) // cas
}

// appendBinKeyed writes a request with no extras or value for key.
func appendBinKeyed(b []byte, op byte, prefix string, key uint64) []byte {
	start := len(b)
	b = appendBinHeader(b, op, 0, 0, 0)
	b = appendKey(b, prefix, key)
	klen := len(b) - start - binHeaderLen
	b[start+2], b[start+3] = byte(klen>>8), byte(klen)
	b[start+8], b[start+9], b[start+10], b[start+11] = byte(klen>>24), byte(klen>>16), byte(klen>>8), byte(klen)
	return b
}

func (binaryCodec) appendGet(b []byte, prefix string, keys []uint64) []byte {
	if len(keys) == 1 {
		return appendBinKeyed(b, binOpGetK, prefix, keys[0])
	}
	for _, k := range keys {
		b = appendBinKeyed(b, binOpGetKQ, prefix, k)
	}
	return appendBinHeader(b, binOpNoop, 0, 0, 0)
}

func (binaryCodec) appendSet(b []byte, prefix string, key uint64, value []byte, ttl uint32) []byte {
	start := len(b)
	b = appendBinHeader(b, binOpSet, 0, 8, 0)
	b = append(b, 0, 0, 0, 0, byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl))
	b = appendKey(b, prefix, key)
	klen := len(b) - start - binHeaderLen - 8
	b = append(b, value...)
	body := 8 + klen + len(value)
	b[start+2], b[start+3] = byte(klen>>8), byte(klen)
	b[start+8], b[start+9], b[start+10], b[start+11] = byte(body>>24), byte(body>>16), byte(body>>8), byte(body)
	return b
}

func (binaryCodec) appendProbe(b []byte) []byte { return appendBinHeader(b, binOpVersion, 0, 0, 0) }

// binResponse is a parsed response header.
type binResponse struct {
	op      byte
	keyLen  int
	extLen  int
	status  uint16
	bodyLen int
}

func readBinResponse(r *reader) (binResponse, error) {
	h, err := r.next(binHeaderLen)
	if err != nil {
		return binResponse{}, err
	}
	if h[0] != binRespMagic {
		return binResponse{}, protoErr("binary response magic 0x%02x", h[0])
	}
	resp := binResponse{
		op:      h[1],
		keyLen:  int(h[2])<<8 | int(h[3]),
		extLen:  int(h[4]),
		status:  uint16(h[6])<<8 | uint16(h[7]),
		bodyLen: int(h[8])<<24 | int(h[9])<<16 | int(h[10])<<8 | int(h[11]),
	}
	if resp.keyLen+resp.extLen > resp.bodyLen {
		return binResponse{}, protoErr("binary response body %d shorter than key and extras", resp.bodyLen)
	}
	return resp, nil
}

// binStatusError names a non-zero status; the body was consumed, so the
// stream stays in sync.
func binStatusError(resp binResponse, body []byte) error {
	if len(body) > 40 {
		body = body[:40]
	}
	return &replyError{kind: fmt.Sprintf("binary status 0x%02x %s", resp.status, body)}
}

func (binaryCodec) readProbe(r *reader) error {
	resp, err := readBinResponse(r)
	if err != nil {
		return err
	}
	body, err := r.next(resp.bodyLen)
	if err != nil {
		return err
	}
	if resp.op != binOpVersion || resp.status != 0 {
		return protoErr("binary version: op 0x%02x status 0x%02x %q", resp.op, resp.status, body)
	}
	return nil
}

func (binaryCodec) readGet(r *reader, nkeys int, hit func(key, value []byte)) error {
	for {
		resp, err := readBinResponse(r)
		if err != nil {
			return err
		}
		body, err := r.next(resp.bodyLen)
		if err != nil {
			return err
		}
		switch resp.op {
		case binOpNoop:
			if nkeys > 1 {
				return nil
			}
			return protoErr("binary: noop reply to a single get")
		case binOpGetK, binOpGetKQ:
		default:
			return protoErr("binary: reply opcode 0x%02x to a get", resp.op)
		}
		switch resp.status {
		case 0:
			key := body[resp.extLen : resp.extLen+resp.keyLen]
			hit(key, body[resp.extLen+resp.keyLen:])
		case 1: // not found: only GETK says so
		default:
			err := binStatusError(resp, body[resp.extLen+resp.keyLen:])
			if nkeys > 1 {
				err.(*replyError).desync = true
			}
			return err
		}
		if nkeys == 1 {
			return nil
		}
	}
}

func (binaryCodec) readSet(r *reader) error {
	resp, err := readBinResponse(r)
	if err != nil {
		return err
	}
	body, err := r.next(resp.bodyLen)
	if err != nil {
		return err
	}
	if resp.op != binOpSet {
		return protoErr("binary: reply opcode 0x%02x to a set", resp.op)
	}
	if resp.status != 0 {
		return binStatusError(resp, body)
	}
	return nil
}
