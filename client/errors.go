package client

import (
	"errors"
	"fmt"
)

// Errors returned by the client. Test them with errors.Is: a failure
// talking to a server is a *NodeError that matches ErrServerDown, an error
// line from the server is a *ReplyError that matches ErrServerError or
// ErrClientError.
var (
	// ErrCacheMiss: the key is not in the cache (get, touch, delete,
	// incr/decr, and CompareAndSwap of a vanished item).
	ErrCacheMiss = errors.New("memcache: cache miss")
	// ErrNotStored: add of an existing key, replace/append/prepend of a
	// missing one.
	ErrNotStored = errors.New("memcache: item not stored")
	// ErrCASConflict: CompareAndSwap lost to another writer.
	ErrCASConflict = errors.New("memcache: compare-and-swap conflict")
	// ErrServerDown: the server could not be reached or broke the
	// connection; see *NodeError for which and why.
	ErrServerDown = errors.New("memcache: server down")
	// ErrNoServers: the ring is empty (no servers configured, or all
	// of them ejected).
	ErrNoServers = errors.New("memcache: no servers available")
	// ErrBadKey: empty, longer than 250 bytes, or containing a control
	// character or space.
	ErrBadKey = errors.New("memcache: key is empty, too long or has invalid characters")
	// ErrServerError: the server answered SERVER_ERROR (e.g. object too
	// large, out of memory).
	ErrServerError = errors.New("memcache: server error")
	// ErrClientError: the server answered ERROR or CLIENT_ERROR.
	ErrClientError = errors.New("memcache: client error")
	// ErrProtocol: the server's reply could not be understood; the
	// connection is dropped.
	ErrProtocol = errors.New("memcache: unexpected reply")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("memcache: client closed")
)

// NodeError is a failure talking to one server: dial, write, read,
// timeout, or a broken reply stream. It matches ErrServerDown and the
// underlying error.
type NodeError struct {
	Addr string // the server's name on the ring (host:port)
	Op   string // "dial", "write", "read"
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("memcache: %s %s: %v", e.Op, e.Addr, e.Err)
}

// Unwrap lets errors.Is match both ErrServerDown and the cause.
func (e *NodeError) Unwrap() []error { return []error{ErrServerDown, e.Err} }

// ReplyError is an error line sent by the server.
type ReplyError struct {
	Addr string
	Line string // the line without CRLF, e.g. "SERVER_ERROR out of memory"
	kind error  // ErrServerError or ErrClientError
}

func (e *ReplyError) Error() string { return "memcache: " + e.Addr + ": " + e.Line }

// Unwrap returns ErrServerError or ErrClientError.
func (e *ReplyError) Unwrap() error { return e.kind }

// ValidKey reports whether key can be sent: 1 to 250 bytes, none of them
// a control character, a space or DEL (memcached's and gomemcache's rule).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > 250 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
