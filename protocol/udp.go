package protocol

import "encoding/binary"

// memcached's UDP framing: every datagram starts with an 8-byte frame
// header (request id, sequence number, datagram count, reserved), all
// big-endian. A request must fit one datagram; a reply is split into
// datagrams of at most UDPMaxPayload bytes, header included.
const (
	UDPHeaderLen  = 8
	UDPMaxPayload = 1400                         // UDP_MAX_PAYLOAD_SIZE
	UDPDataLen    = UDPMaxPayload - UDPHeaderLen // UDP_DATA_SIZE: reply bytes per datagram
)

// UDPHeader is a datagram's frame header.
type UDPHeader struct {
	RequestID uint16
	Seq       uint16 // this datagram's number, from 0
	Total     uint16 // datagrams in the message
	Reserved  uint16
}

// ParseUDPHeader reads the frame header of a request datagram. ok is
// false when the datagram carries no request after the header (memcached
// ignores it); Single reports whether memcached would run it.
func ParseUDPHeader(b []byte) (h UDPHeader, ok bool) {
	if len(b) <= UDPHeaderLen {
		return h, false
	}
	h.RequestID = binary.BigEndian.Uint16(b)
	h.Seq = binary.BigEndian.Uint16(b[2:])
	h.Total = binary.BigEndian.Uint16(b[4:])
	h.Reserved = binary.BigEndian.Uint16(b[6:])
	return h, true
}

// Single reports whether the request is one datagram: memcached drops a
// request of several (it never reassembles them) and looks at neither the
// sequence number nor the reserved field.
func (h UDPHeader) Single() bool { return h.Total == 1 }

// PutUDPHeader writes the frame header of datagram seq of a reply of total
// datagrams into p[:UDPHeaderLen].
func PutUDPHeader(p []byte, requestID uint16, seq, total int) {
	binary.BigEndian.PutUint16(p[0:], requestID)
	binary.BigEndian.PutUint16(p[2:], uint16(seq))
	binary.BigEndian.PutUint16(p[4:], uint16(total))
	p[6], p[7] = 0, 0
}

// UDPDatagrams is the number of datagrams a reply of n bytes takes, as the
// 16-bit count memcached writes (an empty reply is one bare header with a
// count of 0; a count past 65535 is capped, memcached saying no more).
func UDPDatagrams(n int) int {
	total := (n + UDPDataLen - 1) / UDPDataLen
	if total > 0xffff {
		total = 0xffff
	}
	return total
}
