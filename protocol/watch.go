package protocol

import "strconv"

// The watch command's streams and log lines, as memcached 1.6.45's
// logger.c writes them.

// Watch streams (memcached's LOG_* bits).
const (
	WatchFetchers uint32 = 1 << iota
	WatchMutations
	WatchEvictions
	WatchConnEvents
	WatchDeletions
	WatchRawCmds
	WatchSysEvents
	WatchProxyReqs
	WatchProxyEvents
	WatchProxyUser
)

var watchNames = [...]struct {
	name string
	bit  uint32
}{
	{"rawcmds", WatchRawCmds}, {"evictions", WatchEvictions}, {"fetchers", WatchFetchers},
	{"mutations", WatchMutations}, {"sysevents", WatchSysEvents}, {"connevents", WatchConnEvents},
	{"proxyreqs", WatchProxyReqs}, {"proxyevents", WatchProxyEvents}, {"proxyuser", WatchProxyUser},
	{"deletions", WatchDeletions},
}

// ParseWatch parses "watch [stream...]": no stream is fetchers; a word
// names the first stream, in memcached's order, it begins. ok is false for
// a word that names none (ERROR).
func ParseWatch(t *Tokens) (streams uint32, ok bool) {
	if t.N < 2 {
		return WatchFetchers, true
	}
	for _, w := range t.T[1:t.N] {
		found := false
		for _, n := range watchNames {
			if PrefixOf(w, n.name) {
				streams |= n.bit
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return streams, true
}

// AppendLogHead appends a log line's "ts=<sec>.<usec> gid=<n> type=<kind>".
func AppendLogHead(dst []byte, sec int64, usec int, gid uint64, kind string) []byte {
	dst = append(dst, "ts="...)
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(usec), 10)
	dst = append(dst, " gid="...)
	dst = strconv.AppendUint(dst, gid, 10)
	dst = append(dst, " type="...)
	return append(dst, kind...)
}

// AppendURIKey appends " key=" and the key URI-encoded as memcached's
// uriencode does.
func AppendURIKey(dst, key []byte) []byte {
	return appendURI(append(dst, " key="...), key)
}

// appendURI appends key URI-encoded: letters, digits and -._~ as they
// are, any other byte as %XX.
func appendURI(dst, key []byte) []byte {
	for _, b := range key {
		if isUnreserved(b) {
			dst = append(dst, b)
			continue
		}
		const hex = "0123456789ABCDEF"
		dst = append(dst, '%', hex[b>>4], hex[b&15])
	}
	return dst
}

// AppendLogField appends " <name>=<v>".
func AppendLogField(dst []byte, name string, v int64) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, '=')
	return strconv.AppendInt(dst, v, 10)
}

// AppendLogWord appends " <name>=<word>".
func AppendLogWord(dst []byte, name, word string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, '=')
	return append(dst, word...)
}
