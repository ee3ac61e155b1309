package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
)

// binStats is the binary Stat command: the key names the group, as
// memcached's process_bin_stat matches it ("reset", "settings" and
// "detail" by prefix, the others exactly). Each stat is one packet and an
// empty packet ends the group; an unknown group is "Not found".
func (c *conn) binStats(key []byte) {
	s := c.s
	w := statWriter{b: c.out, bin: true, opaque: c.bin.h.Opaque}
	switch {
	case len(key) == 0:
		s.writeGeneralStats(&w)
	case bytes.HasPrefix(key, []byte("reset")):
		s.resetStats()
	case bytes.HasPrefix(key, []byte("settings")):
		s.writeSettings(&w)
	case bytes.HasPrefix(key, []byte("detail")):
		// Per-prefix stats are never recorded here, so "detail on" and
		// "off" change nothing and "detail dump" is memcached's empty
		// dump.
		rest := key[len("detail"):]
		switch {
		case bytes.HasPrefix(rest, []byte(" dump")):
			w.str("detailed", "END\r\n")
		case bytes.HasPrefix(rest, []byte(" on")), bytes.HasPrefix(rest, []byte(" off")):
		default:
			c.binError(protocol.StatusKeyNotFound, 0)
			return
		}
	case string(key) == "items":
		s.writeItems(&w)
	case string(key) == "slabs":
		s.writeSlabs(&w)
	case string(key) == "sizes":
		w.str("sizes_status", "disabled")
	default:
		c.binError(protocol.StatusKeyNotFound, 0)
		return
	}
	w.end()
	c.out = w.b
}
