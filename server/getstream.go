package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
)

// A get or gets line may be as long as a client likes (memcached grows its
// read buffer for it without bound). Rather than hold the whole line,
// once 8 KB of one has arrived without its end, the keys are looked up
// as they arrive: only the last, incomplete key stays in the read buffer,
// so a line of misses costs no memory however long it gets. The replies are
// those memcached 1.6.45 gives when the line ends (END; CLIENT_ERROR bad
// command line format for no key, or for a key over 250 bytes, which drops
// the values before it; ERROR, unless the last word is noreply, for a line
// that starts with a space, which names no command): flush holds them back while the line goes on,
// until 64 KB are pending; then they are written, so the one difference
// from memcached is that values written before a too-long key further on
// stay written.
const streamGetFrom = bufSize / 2

// getStream is the state of a get line being streamed.
type getStream struct {
	active bool
	cas    bool // gets
	bad    bool // a key over 250 bytes: the rest of the line is skipped
	keys   int  // keys looked up
	// unknown: the line starts with a space, so memcached 1.6.45 finds no
	// command in it; its words are skipped and lastNoreply notes whether
	// the last was noreply (which silences the ERROR).
	unknown, lastNoreply bool
	start                int // where in c.out this get's unwritten replies begin
}

// startGetStream begins streaming the get line at the start of buf (which
// protocol.LineMayGrow accepted): the command word is consumed.
func (c *conn) startGetStream(buf []byte) {
	i := 0
	for buf[i] == ' ' {
		i++
	}
	cas := buf[i+3] == 's'
	i += 3
	if cas {
		i++
	}
	c.gs = getStream{active: true, cas: cas, start: len(c.out), unknown: buf[0] == ' '}
	c.noreply = false
	if c.s.verbosity.Load() > 1 {
		c.s.log.Debug("command (streamed get)")
	}
	c.r += i
}

// streamGet looks up the complete keys in rbuf[r:w] and consumes them. It
// reports whether the line ended (and its reply is complete).
func (c *conn) streamGet() bool {
	buf := c.rbuf[c.r:c.w]
	nl := bytes.IndexByte(buf, '\n')
	seg, final := buf, nl >= 0
	if final {
		seg = buf[:nl]
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
		}
	}
	consumed := c.getStreamKeys(seg, final)
	if !final {
		c.r += consumed
		return false
	}
	c.r += nl + 1
	gs := c.gs
	c.gs = getStream{}
	switch {
	case gs.unknown:
		if !gs.lastNoreply {
			c.out = append(c.out, protocol.Error...)
		}
	case gs.bad:
		// A streamed line's noreply does not count (memcached 1.6.45
		// looks for it among the tokens of a short line only).
		c.out = append(c.out, protocol.ErrGetKeyTooLong...)
	case gs.keys == 0:
		c.out = append(c.out, protocol.ErrBadFormat...)
	default:
		c.out = append(c.out, protocol.End...)
		c.markWritten()
	}
	return true
}

// getStreamKeys looks up the space-separated keys of seg; the last one only
// when final (else it may go on in bytes still to come). It returns how
// many bytes of seg are done with.
func (c *conn) getStreamKeys(seg []byte, final bool) int {
	pos := 0
	for {
		for pos < len(seg) && seg[pos] == ' ' {
			pos++
		}
		if pos == len(seg) {
			return pos
		}
		end := bytes.IndexByte(seg[pos:], ' ')
		if end < 0 {
			if !final {
				if len(seg)-pos > protocol.KeyMaxLength {
					c.getStreamKey(seg[pos:]) // too long already: bad
					return len(seg)
				}
				return pos // may go on
			}
			end = len(seg) - pos
		}
		c.getStreamKey(seg[pos : pos+end])
		pos += end
	}
}

func (c *conn) getStreamKey(key []byte) {
	if c.gs.unknown {
		c.gs.lastNoreply = string(key) == "noreply"
		return
	}
	if c.gs.bad {
		return
	}
	if len(key) > protocol.KeyMaxLength {
		c.out = c.out[:c.gs.start]
		c.gs.bad = true
		return
	}
	c.gs.keys++
	hit := c.s.store.Get(key, c.getFn(c.gs.cas))
	c.s.detail.recordGet(key, hit)
	if c.s.watch.on(protocol.WatchFetchers) {
		c.logGet(key, hit)
	}
}
