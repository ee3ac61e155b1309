package protocol

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
