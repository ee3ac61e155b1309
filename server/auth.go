package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
)

// processAuth is memcached's ascii authentication (-Y): until a connection
// has sent "set <key> <flags> <exptime> <bytes>" with "user password" as
// its data, every line gets CLIENT_ERROR unauthenticated.
func (c *conn) processAuth() action {
	for !c.authed {
		buf := c.rbuf[c.r:c.w]
		if c.authLen == 0 {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				if len(buf) > protocol.LineLimit {
					return actClose
				}
				return actMore
			}
			c.r += i + 1
			size, ok := protocol.ParseAuthSetLine(buf[:i])
			if !ok {
				c.out = append(c.out, "CLIENT_ERROR unauthenticated\r\n"...)
				continue
			}
			if size > bufSize {
				return actClose // memcached's read buffer could never hold it
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
			c.out = append(c.out, "CLIENT_ERROR bad command line termination\r\n"...)
			continue
		}
		var t protocol.Tokens
		t.Tokenize(data[:len(data)-2])
		if t.N < 2 {
			c.out = append(c.out, "CLIENT_ERROR bad authentication token format\r\n"...)
			continue
		}
		c.s.stats.authCmds.Add(1)
		if c.s.asciiAuth.Load().check(t.T[0], t.T[1]) {
			c.authed = true
			c.out = append(c.out, protocol.Stored...)
		} else {
			c.s.stats.authErrors.Add(1)
			c.out = append(c.out, "CLIENT_ERROR authentication failure\r\n"...)
		}
	}
	return actMore
}
