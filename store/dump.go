package store

import (
	"strconv"

	"github.com/gocached/gocached/slab"
)

// cacheDumpLimit caps `stats cachedump` output as memcached does (2 MB).
const cacheDumpLimit = 2 << 20

// CacheDump appends memcached's `stats cachedump` lines for class id, most
// recently used first: "ITEM <key> [<bytes> b; <unix exptime> s]". limit 0
// means all (within the output cap).
func (s *Store) CacheDump(dst []byte, id, limit int) []byte {
	if id <= 0 || id >= len(s.classes) {
		return dst
	}
	c := s.classes[id]
	start := len(dst)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for l := c.head; l != slab.Nil && (limit == 0 || n < limit); n++ {
		it := s.hdrAt(l)
		line := len(dst)
		dst = append(dst, "ITEM "...)
		dst = append(dst, it.key()...)
		dst = append(dst, " ["...)
		dst = strconv.AppendInt(dst, int64(it.nbytes()), 10)
		dst = append(dst, " b; "...)
		exp := int64(0)
		if e := it.exptime(); e != 0 {
			exp = s.clock.Unix(e)
		}
		dst = strconv.AppendInt(dst, exp, 10)
		dst = append(dst, " s]\r\n"...)
		if len(dst)-start > cacheDumpLimit {
			return dst[:line]
		}
		l = slab.Loc(it.next())
	}
	return dst
}
