package protocol

// Number parsing with the rules of the C library functions memcached uses
// (strtoul, strtol, strtoull wrapped by its safe_* helpers): optional
// leading whitespace, an optional sign, decimal digits, and then the end
// of the token or whitespace.

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// scan parses [space*][+-]digits and reports the magnitude, sign, whether
// it overflowed 64 bits, and whether the token ended cleanly after it.
func scan(b []byte) (mag uint64, neg, overflow, ok bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		d := uint64(b[i] - '0')
		if mag > (^uint64(0)-d)/10 {
			overflow = true
		}
		mag = mag*10 + d
		i++
	}
	if i == start {
		return 0, false, false, false
	}
	if i < len(b) && !isSpace(b[i]) {
		return 0, false, false, false
	}
	return mag, neg, overflow, true
}

// TokUint64 is memcached 1.6.45's mcmc_toktou64, which its new parser
// uses for a storage line's length and cas unique and for meta flag
// arguments: decimal digits only (no sign, no space), at most 22 of them,
// no overflow; an empty token is 0.
func TokUint64(b []byte) (uint64, bool) {
	if len(b) > 22 {
		return 0, false
	}
	var sum uint64
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 || sum > (^uint64(0)-d)/10 {
			return 0, false
		}
		sum = sum*10 + d
	}
	return sum, true
}

// TokInt32 is mcmc_tokto32: an optional '-', decimal digits, at most 11
// characters, within the int32 range; an empty token is 0.
func TokInt32(b []byte) (int32, bool) {
	if len(b) > 11 {
		return 0, false
	}
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var sum int64
	for _, c := range b {
		d := int64(c - '0')
		if c < '0' || d > 9 {
			return 0, false
		}
		sum = sum*10 + d
		if sum > 1<<31 || (!neg && sum > 1<<31-1) {
			return 0, false
		}
	}
	if neg {
		sum = -sum
	}
	return int32(sum), true
}

// ParseUint64 is memcached's safe_strtoull: a negative number is refused
// unless it wraps below 2^63 ("-0" is 0).
func ParseUint64(b []byte) (uint64, bool) {
	mag, neg, overflow, ok := scan(b)
	if !ok || overflow {
		return 0, false
	}
	if neg {
		mag = -mag
		if int64(mag) < 0 {
			return 0, false
		}
	}
	return mag, true
}

// ParseUint32 is memcached's safe_strtoul into a 32-bit result: parsed as
// a 64-bit unsigned long, then truncated.
func ParseUint32(b []byte) (uint32, bool) {
	v, ok := ParseUint64(b)
	return uint32(v), ok
}

// ParseInt32 is memcached's safe_strtol into an int32: a 64-bit strtol
// (refusing values outside the int64 range), then truncated to 32 bits as
// memcached's assignment does, so 4294967296 reads as 0 and 2147483648 as
// -2147483648.
func ParseInt32(b []byte) (int32, bool) {
	v, ok := ParseInt64(b)
	return int32(v), ok
}

// ParseInt64 is a 64-bit strtol, refusing values outside the int64 range.
func ParseInt64(b []byte) (int64, bool) {
	mag, neg, overflow, ok := scan(b)
	if !ok || overflow {
		return 0, false
	}
	if neg {
		if mag > 1<<63 {
			return 0, false
		}
		return -int64(mag), true
	}
	if mag > 1<<63-1 {
		return 0, false
	}
	return int64(mag), true
}
