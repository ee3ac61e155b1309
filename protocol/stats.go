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
