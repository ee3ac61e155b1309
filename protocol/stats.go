package protocol

import "strconv"

// AppendStat appends the text protocol's stat line "STAT <name> <value>\r\n".
func AppendStat(dst []byte, name, value string) []byte {
	dst = append(dst, "STAT "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendBinaryStat appends one binary Stat response packet, the name as key
// and the value as value, as memcached's append_stats; an empty name and
// value make the packet that ends a group.
func AppendBinaryStat(dst []byte, opaque uint32, name, value string) []byte {
	dst = AppendBinaryResponse(dst, OpStat, StatusOK, 0, uint16(len(name)), len(value), opaque, 0)
	dst = append(dst, name...)
	return append(dst, value...)
}

// CacheDumpLimit caps `stats cachedump` output as memcached does (2 MB).
const CacheDumpLimit = 2 << 20

// AppendCacheDumpItem appends a `stats cachedump` line,
// "ITEM <key> [<nbytes> b; <unix exptime> s]\r\n".
func AppendCacheDumpItem(dst, key []byte, nbytes int, unixExp int64) []byte {
	dst = append(dst, "ITEM "...)
	dst = append(dst, key...)
	dst = append(dst, " ["...)
	dst = strconv.AppendInt(dst, int64(nbytes), 10)
	dst = append(dst, " b; "...)
	dst = strconv.AppendInt(dst, unixExp, 10)
	return append(dst, " s]\r\n"...)
}

// AppendPrefixStat appends one line of `stats detail dump`, memcached's
// "PREFIX <prefix> get <n> hit <n> set <n> del <n>".
func AppendPrefixStat(dst, prefix []byte, gets, hits, sets, dels uint64) []byte {
	dst = append(dst, "PREFIX "...)
	dst = append(dst, prefix...)
	dst = append(dst, " get "...)
	dst = strconv.AppendUint(dst, gets, 10)
	dst = append(dst, " hit "...)
	dst = strconv.AppendUint(dst, hits, 10)
	dst = append(dst, " set "...)
	dst = strconv.AppendUint(dst, sets, 10)
	dst = append(dst, " del "...)
	dst = strconv.AppendUint(dst, dels, 10)
	return append(dst, '\r', '\n')
}

// ErrDetailUsage is `stats detail`'s reply to anything but on, off and
// dump (memcached compares as many letters as were sent: "o" is on).
var ErrDetailUsage = []byte("CLIENT_ERROR usage: stats detail on|off|dump\r\n")

// Stats detail subcommands.
const (
	DetailUsage = iota // anything else: ErrDetailUsage
	DetailOn
	DetailOff
	DetailDump
)

// ParseStatsDetail is memcached 1.6.45's process_stats_detail: the word
// after "detail" (the line's first word when there is none) is compared
// with on, off and dump over its own length, in that order.
func ParseStatsDetail(t *Tokens) int {
	word := t.T[0]
	if t.N >= 3 {
		word = t.T[2]
	}
	for i, w := range [...]string{"on", "off", "dump"} {
		if PrefixOf(word, w) {
			return DetailOn + i
		}
	}
	return DetailUsage
}

// StatsSubcommand names what "stats <sub>" asks for, as memcached 1.6.45's
// process_stat picks it: reset, detail, settings, cachedump, conns and
// extstore by any prefix (its strncmp over the letters sent), in that
// order, so "stats s" is settings and "stats c" cachedump; then items,
// slabs and sizes only whole (its get_stats); then gocached's own, whole.
// "" is none (ERROR).
func StatsSubcommand(sub []byte, own ...string) string {
	for _, name := range [...]string{"reset", "detail", "settings", "cachedump", "conns", "extstore"} {
		if PrefixOf(sub, name) {
			return name
		}
	}
	for _, name := range [...]string{"items", "slabs", "sizes"} {
		if string(sub) == name {
			return name
		}
	}
	for _, name := range own {
		if string(sub) == name {
			return name
		}
	}
	return ""
}
