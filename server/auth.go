package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
)

// processAuth is memcached's ascii authentication (-Y): until a connection
// has sent "set <key> <flags> <exptime> <bytes>" with "user password" as
// its data, every line gets CLIENT_ERROR unauthenticated.
//
// memcached answers these lines in one response object that each answer
// resets, so of the answers to one read only the last is sent: authReply
// does the same.
func (c *conn) processAuth() action {
	for !c.authed {
		buf := c.rbuf[c.r:c.w]
		if c.authLen == 0 {
			if len(buf) < 3 {
				return actMore // memcached waits for 3 bytes before it looks
			}
			i := bytes.IndexByte(buf, '\n')
			if i < 0 && len(buf) <= protocol.LineLimit {
				return actMore
			}
			if i < 0 || i < protocol.AuthLineMin {
				// memcached closes without writing what is pending.
				c.out = c.out[:0]
				return actClose
			}
			c.r += i + 1
			size, ok := protocol.ParseAuthSetLine(buf[:i])
			if !ok {
				c.authReply("CLIENT_ERROR unauthenticated\r\n")
				continue
			}
			if size-2 > protocol.AuthTokenMax {
				c.authReply("CLIENT_ERROR auth token too long\r\n")
				continue
			}
			c.authLen = int(size)
			continue
		}
		data, want := c.dataBlock(0, c.authLen)
		if want > 0 {
			c.need = want
			return actMore
		}
		c.authLen, c.need = 0, 0
		if !bytes.HasSuffix(data, protocol.CRLF) {
			c.authReply("CLIENT_ERROR bad command line termination\r\n")
			continue
		}
		// memcached splits at the first space: the password is the rest,
		// spaces and all.
		user, pass, ok := bytes.Cut(data[:len(data)-2], []byte{' '})
		if !ok {
			c.authReply("CLIENT_ERROR bad authentication token format\r\n")
			continue
		}
		c.s.stats.authCmds.Add(1)
		if c.s.asciiAuth.Load().check(user, pass) {
			c.authed = true
			c.authReply(string(protocol.Stored))
		} else {
			c.s.stats.authErrors.Add(1)
			c.authReply("CLIENT_ERROR authentication failure\r\n")
		}
	}
	return actMore
}

// authReply replaces what is pending with reply (see processAuth).
func (c *conn) authReply(reply string) { c.out = append(c.out[:0], reply...) }
