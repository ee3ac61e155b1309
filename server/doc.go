// Package server owns the daemon's network side: listeners (TCP, unix
// sockets), one goroutine per connection with its read and write buffers,
// connection limits and idle timeouts, the text protocol's command table
// dispatching to the store, `stats` reporting, and graceful shutdown.
//
// A connection handles every complete request already in its read buffer,
// then writes all replies with one syscall. It never holds a store lock
// while doing I/O.
package server
