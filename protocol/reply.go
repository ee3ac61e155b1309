package protocol

import "strconv"

// Fixed text replies, terminators included.
var (
	Stored       = []byte("STORED\r\n")
	NotStored    = []byte("NOT_STORED\r\n")
	Exists       = []byte("EXISTS\r\n")
	NotFound     = []byte("NOT_FOUND\r\n")
	Deleted      = []byte("DELETED\r\n")
	Touched      = []byte("TOUCHED\r\n")
	End          = []byte("END\r\n")
	OK           = []byte("OK\r\n")
	Error        = []byte("ERROR\r\n")
	Reset        = []byte("RESET\r\n")
	CRLF         = []byte("\r\n")
	ErrBadFormat = []byte("CLIENT_ERROR bad command line format\r\n")
	ErrBadChunk  = []byte("CLIENT_ERROR bad data chunk\r\n")
	// ErrGetKeyTooLong is get's (and gat's) reply to a key over 250 bytes:
	// memcached 1.6.45 rescues the error line, CRLF included, and sends it
	// with another CRLF.
	ErrGetKeyTooLong = []byte("CLIENT_ERROR bad command line format\r\n\r\n")
	ErrBadExptime    = []byte("CLIENT_ERROR invalid exptime argument\r\n")
	ErrBadDelta      = []byte("CLIENT_ERROR invalid numeric delta argument\r\n")
	ErrNonNumeric    = []byte("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
	ErrTooLarge      = []byte("SERVER_ERROR object too large for cache\r\n")
	ErrNoMemory      = []byte("SERVER_ERROR out of memory storing object\r\n")
	ErrOutOfMemory   = []byte("SERVER_ERROR out of memory\r\n")
	ErrNoReadMemory  = []byte("SERVER_ERROR out of memory reading request\r\n")
	ErrFlushOff      = []byte("CLIENT_ERROR flush_all not allowed\r\n")
	ErrShutdownOff   = []byte("SERVER_ERROR: shutdown not enabled\r\n") // 1.6.18: "ERROR: ..."
	ErrShutdownMode  = []byte("CLIENT_ERROR invalid shutdown mode\r\n")
	ErrTooManyConns  = []byte("ERROR Too many open connections\r\n")
)

// AppendValue appends a get/gets reply line and data block:
// "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n".
func AppendValue(dst, key []byte, flags uint32, data []byte, withCAS bool, cas uint64) []byte {
	dst = append(dst, "VALUE "...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(flags), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(len(data)), 10)
	if withCAS {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cas, 10)
	}
	dst = append(dst, '\r', '\n')
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// AppendUintLine appends a number and CRLF (the incr/decr reply).
func AppendUintLine(dst []byte, v uint64) []byte {
	dst = strconv.AppendUint(dst, v, 10)
	return append(dst, '\r', '\n')
}
