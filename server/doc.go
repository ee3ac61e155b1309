// Package server owns the daemon's network side: listeners (TCP, unix
// sockets, UDP, systemd-activated sockets), one goroutine per connection
// with its read and write buffers, connection limits and idle timeouts,
// authentication (ascii auth -Y and binary SASL PLAIN -S, one password
// file format), dispatch of requests parsed by package protocol (text,
// meta, binary, and UDP datagrams carrying either) to the store, the
// writing of replies, `stats` reporting, and graceful shutdown.
//
// It must not parse wire grammar itself (protocol does) nor decide cache
// semantics (store does). A connection handles every complete request
// already in its read buffer, then writes its replies; it never holds a
// store lock while doing I/O.
package server
