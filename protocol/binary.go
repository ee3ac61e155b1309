package protocol

import "encoding/binary"

// The memcached binary protocol (protocol_binary.h): a 24-byte header,
// then extras, key and value. Multi-byte fields are big-endian.

// BinaryRequestMagic is the first byte of every binary protocol request;
// a connection whose first byte is this speaks the binary protocol.
const BinaryRequestMagic = 0x80

// BinaryResponseMagic is the first byte of every binary response.
const BinaryResponseMagic = 0x81

// BinaryHeaderLen is the size of a request or response header.
const BinaryHeaderLen = 24

// Binary opcodes memcached 1.6.18 dispatches.
const (
	OpGet        = 0x00
	OpSet        = 0x01
	OpAdd        = 0x02
	OpReplace    = 0x03
	OpDelete     = 0x04
	OpIncrement  = 0x05
	OpDecrement  = 0x06
	OpQuit       = 0x07
	OpFlush      = 0x08
	OpGetQ       = 0x09
	OpNoop       = 0x0a
	OpVersion    = 0x0b
	OpGetK       = 0x0c
	OpGetKQ      = 0x0d
	OpAppend     = 0x0e
	OpPrepend    = 0x0f
	OpStat       = 0x10
	OpSetQ       = 0x11
	OpAddQ       = 0x12
	OpReplaceQ   = 0x13
	OpDeleteQ    = 0x14
	OpIncrementQ = 0x15
	OpDecrementQ = 0x16
	OpQuitQ      = 0x17
	OpFlushQ     = 0x18
	OpAppendQ    = 0x19
	OpPrependQ   = 0x1a
	OpTouch      = 0x1c
	OpGAT        = 0x1d
	OpGATQ       = 0x1e
	OpSASLList   = 0x20
	OpSASLAuth   = 0x21
	OpSASLStep   = 0x22
	OpGATK       = 0x23
	OpGATKQ      = 0x24
)

// Binary response status codes.
const (
	StatusOK           = 0x00
	StatusKeyNotFound  = 0x01
	StatusKeyExists    = 0x02
	StatusTooLarge     = 0x03
	StatusInvalid      = 0x04
	StatusNotStored    = 0x05
	StatusDeltaBadVal  = 0x06
	StatusAuthError    = 0x20
	StatusAuthContinue = 0x21
	StatusUnknown      = 0x81
	StatusNoMemory     = 0x82
)

// BinaryStatusText is the body memcached sends with an error status when
// it has no more specific text (proto_bin.c write_bin_error).
func BinaryStatusText(status uint16) string {
	switch status {
	case StatusKeyNotFound:
		return "Not found"
	case StatusKeyExists:
		return "Data exists for key."
	case StatusTooLarge:
		return "Too large."
	case StatusInvalid:
		return "Invalid arguments"
	case StatusNotStored:
		return "Not stored."
	case StatusDeltaBadVal:
		return "Non-numeric server-side value for incr or decr"
	case StatusAuthError:
		return "Auth failure."
	case StatusUnknown:
		return "Unknown command"
	case StatusNoMemory:
		return "Out of memory"
	}
	return ""
}

// BinaryQuiet maps a quiet opcode to its base opcode. quiet is false for
// every other opcode, which is returned unchanged.
func BinaryQuiet(op uint8) (base uint8, quiet bool) {
	switch op {
	case OpSetQ:
		return OpSet, true
	case OpAddQ:
		return OpAdd, true
	case OpReplaceQ:
		return OpReplace, true
	case OpDeleteQ:
		return OpDelete, true
	case OpIncrementQ:
		return OpIncrement, true
	case OpDecrementQ:
		return OpDecrement, true
	case OpQuitQ:
		return OpQuit, true
	case OpFlushQ:
		return OpFlush, true
	case OpAppendQ:
		return OpAppend, true
	case OpPrependQ:
		return OpPrepend, true
	case OpGetQ:
		return OpGet, true
	case OpGetKQ:
		return OpGetK, true
	case OpGATQ:
		return OpGAT, true
	case OpGATKQ:
		return OpGATK, true
	}
	return op, false
}

// BinaryHeader is a decoded request or response header. Status is the
// response status; in a request the same two bytes are the vbucket id.
type BinaryHeader struct {
	Magic    uint8
	Opcode   uint8
	KeyLen   uint16
	ExtLen   uint8
	DataType uint8
	Status   uint16
	BodyLen  uint32
	Opaque   uint32
	CAS      uint64
}

// ParseBinaryHeader decodes the header at the start of b. ok is false when
// b holds fewer than 24 bytes. The magic byte is not checked.
func ParseBinaryHeader(b []byte) (h BinaryHeader, ok bool) {
	if len(b) < BinaryHeaderLen {
		return h, false
	}
	h.Magic = b[0]
	h.Opcode = b[1]
	h.KeyLen = binary.BigEndian.Uint16(b[2:])
	h.ExtLen = b[4]
	h.DataType = b[5]
	h.Status = binary.BigEndian.Uint16(b[6:])
	h.BodyLen = binary.BigEndian.Uint32(b[8:])
	h.Opaque = binary.BigEndian.Uint32(b[12:])
	h.CAS = binary.BigEndian.Uint64(b[16:])
	return h, true
}

// AppendBinaryHeader appends a header with the given fields.
func AppendBinaryHeader(dst []byte, magic, opcode uint8, keyLen uint16, extLen uint8, status uint16, bodyLen, opaque uint32, cas uint64) []byte {
	dst = append(dst, magic, opcode, byte(keyLen>>8), byte(keyLen), extLen, 0, byte(status>>8), byte(status))
	dst = binary.BigEndian.AppendUint32(dst, bodyLen)
	dst = binary.BigEndian.AppendUint32(dst, opaque)
	return binary.BigEndian.AppendUint64(dst, cas)
}

// AppendBinaryResponse appends a response header (datatype 0) for a body
// of extLen extras, keyLen key bytes and valueLen value bytes; the caller
// appends the body.
func AppendBinaryResponse(dst []byte, opcode uint8, status uint16, extLen uint8, keyLen uint16, valueLen int, opaque uint32, cas uint64) []byte {
	body := uint32(extLen) + uint32(keyLen) + uint32(valueLen)
	return AppendBinaryHeader(dst, BinaryResponseMagic, opcode, keyLen, extLen, status, body, opaque, cas)
}

// AppendBinaryError appends an error response whose body is text (no
// extras or key, CAS 0), as memcached's write_bin_error.
func AppendBinaryError(dst []byte, opcode uint8, status uint16, opaque uint32, text string) []byte {
	dst = AppendBinaryResponse(dst, opcode, status, 0, 0, len(text), opaque, 0)
	return append(dst, text...)
}

// AppendBinaryRequest appends a complete request packet.
func AppendBinaryRequest(dst []byte, opcode uint8, extras, key, value []byte, opaque uint32, cas uint64) []byte {
	body := uint32(len(extras) + len(key) + len(value))
	dst = AppendBinaryHeader(dst, BinaryRequestMagic, opcode, uint16(len(key)), uint8(len(extras)), 0, body, opaque, cas)
	dst = append(dst, extras...)
	dst = append(dst, key...)
	return append(dst, value...)
}

// BinaryPacket is one decoded packet; its slices point into the input.
type BinaryPacket struct {
	BinaryHeader
	Extras, Key, Value []byte
}

// ParseBinaryPacket decodes one whole packet from the start of b and
// returns it with the number of bytes it took. ok is false when b does not
// hold the whole packet or its lengths are inconsistent (extras and key
// longer than the body).
func ParseBinaryPacket(b []byte) (p BinaryPacket, n int, ok bool) {
	h, ok := ParseBinaryHeader(b)
	if !ok {
		return p, 0, false
	}
	if uint32(h.ExtLen)+uint32(h.KeyLen) > h.BodyLen || uint64(len(b)-BinaryHeaderLen) < uint64(h.BodyLen) {
		return p, 0, false
	}
	p.BinaryHeader = h
	body := b[BinaryHeaderLen : BinaryHeaderLen+int(h.BodyLen)]
	p.Extras = body[:h.ExtLen]
	p.Key = body[h.ExtLen : int(h.ExtLen)+int(h.KeyLen)]
	p.Value = body[int(h.ExtLen)+int(h.KeyLen):]
	return p, BinaryHeaderLen + int(h.BodyLen), true
}
