// Package protocol owns memcached's wire formats, every request and reply:
//
//   - text: splitting and tokenizing command lines exactly as memcached 1.6
//     does (tokens.go), the grammar of the classic commands (text.go), the
//     meta commands' flags and their errors (meta.go), the numbers with the
//     C library's rules memcached relies on (numbers.go), fixed replies and
//     value lines (reply.go), base64 keys (base64.go);
//   - binary: the header, opcodes, status texts and each opcode's length
//     rules, ParseBinaryRequest (binary*.go);
//   - UDP: the frame header and how replies are split into datagrams (udp.go);
//   - stat lines of both protocols and `stats cachedump` lines (stats.go);
//   - the administrative commands slabs and stats cachedump (admin.go).
//
// Parsers are pure functions from bytes (or tokens) to a request value or
// memcached's exact error reply; encoders append to a caller's buffer.
// Nothing on their hot paths allocates, and each parser is fuzzed and
// benchmarked beside its code. The package must never know of sockets,
// connections or the store, and never decide cache semantics.
package protocol
