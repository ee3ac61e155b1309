// Package protocol owns memcached's wire formats: splitting and tokenizing
// text command lines exactly as memcached 1.6 does, parsing its numbers
// with the C library's rules memcached relies on, judging binary requests
// by memcached's per-opcode length rules (ParseBinaryRequest), and
// appending replies to a caller's buffer. It knows nothing of sockets or
// of the store, and nothing on its hot paths allocates.
package protocol
