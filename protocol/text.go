package protocol

// The classic text commands' line grammar, as memcached 1.6's
// proto_text.c checks it: the token count first (ERROR), then noreply,
// then the key length and each number (CLIENT_ERROR). Each parser takes
// the tokenized line and returns nil, or the exact error reply; noreply is
// reported as soon as the token count is right, because memcached silences
// the errors that follow too.

// StorageCommand is a parsed set/add/replace/append/prepend/cas line.
type StorageCommand struct {
	Key     []byte
	Flags   uint32
	Exptime int32 // as sent: relative, absolute or negative
	Bytes   int32 // length of the data block, CRLF not included
	CAS     uint64
	Noreply bool
}

// Noreply is memcached's set_noreply_maybe: a last token of "noreply".
func Noreply(t *Tokens) bool { return t.N > 0 && string(t.T[t.N-1]) == "noreply" }

// ParseStorage parses "<cmd> <key> <flags> <exptime> <bytes> [noreply]",
// with "<cas unique>" before noreply when withCAS.
func ParseStorage(t *Tokens, withCAS bool, c *StorageCommand) []byte {
	lo, hi := 6, 7
	if withCAS {
		lo, hi = 7, 8
	}
	*c = StorageCommand{}
	if n := t.Count(); n < lo || n > hi {
		return Error
	}
	c.Noreply = Noreply(t)
	c.Key = t.T[1]
	if len(c.Key) > KeyMaxLength {
		return ErrBadFormat
	}
	var ok1, ok2, ok3 bool
	c.Flags, ok1 = ParseUint32(t.T[2])
	c.Exptime, ok2 = ParseInt32(t.T[3])
	c.Bytes, ok3 = ParseInt32(t.T[4])
	if !ok1 || !ok2 || !ok3 {
		return ErrBadFormat
	}
	if withCAS {
		var ok bool
		if c.CAS, ok = ParseUint64(t.T[5]); !ok {
			return ErrBadFormat
		}
	}
	if c.Bytes < 0 || c.Bytes > 1<<31-1-2 {
		return ErrBadFormat
	}
	return nil
}

// KeyCommand is a parsed incr/decr/touch/delete line.
type KeyCommand struct {
	Key     []byte
	Delta   uint64 // incr, decr
	Exptime int32  // touch
	Noreply bool
}

// parseKeyLine checks what incr, decr and touch share, in memcached's
// order: "<cmd> <key> <number> [noreply]" (4 or 5 tokens with the
// terminal one), noreply, and the key length.
func parseKeyLine(t *Tokens, c *KeyCommand) []byte {
	*c = KeyCommand{}
	if n := t.Count(); n < 4 || n > 5 {
		return Error
	}
	c.Noreply = Noreply(t)
	c.Key = t.T[1]
	if len(c.Key) > KeyMaxLength {
		return ErrBadFormat
	}
	return nil
}

// ParseArith parses "incr|decr <key> <delta> [noreply]".
func ParseArith(t *Tokens, c *KeyCommand) []byte {
	if e := parseKeyLine(t, c); e != nil {
		return e
	}
	var ok bool
	if c.Delta, ok = ParseUint64(t.T[2]); !ok {
		return ErrBadDelta
	}
	return nil
}

// ParseTouch parses "touch <key> <exptime> [noreply]".
func ParseTouch(t *Tokens, c *KeyCommand) []byte {
	if e := parseKeyLine(t, c); e != nil {
		return e
	}
	var ok bool
	if c.Exptime, ok = ParseInt32(t.T[2]); !ok {
		return ErrBadExptime
	}
	return nil
}

// ErrDeleteUsage is delete's reply to extra tokens other than "0" and
// noreply.
var ErrDeleteUsage = []byte("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")

// ParseDelete parses "delete <key> [0] [noreply]" (a hold time of 0 is the
// only one memcached still accepts).
func ParseDelete(t *Tokens, c *KeyCommand) []byte {
	*c = KeyCommand{}
	nt := t.Count()
	if nt < 3 || nt > 5 {
		return Error
	}
	if nt > 3 {
		holdZero := string(t.T[2]) == "0"
		c.Noreply = Noreply(t)
		if !((nt == 4 && (holdZero || c.Noreply)) || (nt == 5 && holdZero && c.Noreply)) {
			return ErrDeleteUsage
		}
	}
	c.Key = t.T[1]
	if len(c.Key) > KeyMaxLength {
		return ErrBadFormat
	}
	return nil
}

// ParseFlushAll parses "flush_all [delay] [noreply]". memcached refuses a
// disabled flush_all (-F) after the token count and noreply but before it
// looks at the delay: a caller that checks -F does so when the error is
// anything but Error.
func ParseFlushAll(t *Tokens) (delay int32, noreplyOn bool, errLine []byte) {
	nt := t.Count()
	if nt < 2 || nt > 4 {
		return 0, false, Error
	}
	noreplyOn = Noreply(t)
	want := 2
	if noreplyOn {
		want = 3
	}
	if nt != want {
		var ok bool
		if delay, ok = ParseInt32(t.T[1]); !ok {
			return 0, noreplyOn, ErrBadExptime
		}
	}
	return delay, noreplyOn, nil
}

// ParseVerbosity parses "verbosity <level> [noreply]"; levels past 2 are 2.
func ParseVerbosity(t *Tokens) (level uint32, noreplyOn bool, errLine []byte) {
	nt := t.Count()
	if nt < 3 || nt > 4 {
		return 0, false, Error
	}
	noreplyOn = Noreply(t)
	level, ok := ParseUint32(t.T[1])
	if !ok {
		return 0, noreplyOn, ErrBadFormat
	}
	return min(level, 2), noreplyOn, nil
}

// ParseGATExptime parses the exptime of "gat|gats <exptime> <key>...".
func ParseGATExptime(t *Tokens) (int32, []byte) {
	e, ok := ParseInt32(t.T[1])
	if !ok {
		return 0, ErrBadExptime
	}
	return e, nil
}

// ParseShutdown parses "shutdown [graceful]" into its mode.
func ParseShutdown(t *Tokens) (mode string, errLine []byte) {
	switch {
	case t.Count() == 2:
		return "shutdown", nil
	case t.Count() == 3 && string(t.T[1]) == "graceful":
		return "graceful", nil
	}
	return "", ErrShutdownMode
}

// ParseAuthSetLine parses the line that starts memcached's ascii
// authentication (-Y), "set <key> <flags> <exptime> <bytes>" (the rest is
// ignored), into the length of its data block, CRLF included. ok is false
// for any other line, which memcached answers "CLIENT_ERROR
// unauthenticated". The line keeps its CR, as memcached leaves it.
func ParseAuthSetLine(line []byte) (blockLen int64, ok bool) {
	var t Tokens
	t.Tokenize(line)
	if t.N < 5 || string(t.T[0]) != "set" {
		return 0, false
	}
	size, ok := ParseUint32(t.T[4])
	return int64(size) + 2, ok
}
