package protocol

import "bytes"

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
	// Swallow: the line's error comes once its data block (Bytes and
	// CRLF) has been read and discarded, as memcached 1.6.45 does for
	// every error found after the length.
	Swallow bool
}

// Noreply is memcached's set_noreply_maybe: a last token of "noreply".
func Noreply(t *Tokens) bool { return t.N > 0 && string(t.T[t.N-1]) == "noreply" }

// ParseStorage parses "<cmd> <key> <flags> <exptime> <bytes> [<cas
// unique>] ...", as memcached 1.6.45's parser: at least five tokens and a
// length (CLIENT_ERROR, not silenced, data not swallowed), then noreply
// (the last token, whatever comes between), then the key, flags, exptime
// and, with withCAS, the unique (CLIENT_ERROR, silenced by noreply, the
// data block swallowed). Tokens past those are ignored.
func ParseStorage(t *Tokens, withCAS bool, c *StorageCommand) []byte {
	*c = StorageCommand{}
	if t.N < 5 {
		return ErrBadFormat
	}
	var ok bool
	if c.Bytes, ok = TokInt32(t.T[4]); !ok || c.Bytes < 0 || c.Bytes > 1<<31-1-2 {
		c.Bytes = 0
		return ErrBadFormat
	}
	c.Noreply = Noreply(t)
	c.Key = t.T[1]
	c.Swallow = true
	if len(c.Key) > KeyMaxLength {
		return ErrBadFormat
	}
	var ok1, ok2 bool
	c.Flags, ok1 = ParseUint32(t.T[2])
	c.Exptime, ok2 = ParseInt32(t.T[3])
	if !ok1 || !ok2 {
		return ErrBadFormat
	}
	if withCAS {
		if t.N < 6 {
			return ErrBadFormat
		}
		if c.CAS, ok = TokUint64(t.T[5]); !ok {
			return ErrBadFormat
		}
	}
	c.Swallow = false
	return nil
}

// KeyCommand is a parsed incr/decr/touch/delete line.
type KeyCommand struct {
	Key     []byte
	Delta   uint64 // incr, decr
	Exptime int32  // touch
	Noreply bool
}

// parseKeyLine checks what incr, decr, touch and delete share, as
// memcached 1.6.45: at least min tokens (a bad format, not silenced),
// noreply (the last token), the key's length. Tokens past those the
// command reads are ignored.
func parseKeyLine(t *Tokens, min int, c *KeyCommand) []byte {
	*c = KeyCommand{}
	if t.N < min {
		return ErrBadFormat
	}
	c.Noreply = Noreply(t)
	c.Key = t.T[1]
	if len(c.Key) > KeyMaxLength {
		return ErrBadFormat
	}
	return nil
}

// ParseArith parses "incr|decr <key> <delta> [noreply]"; the delta is an
// mcmc number (digits only).
func ParseArith(t *Tokens, c *KeyCommand) []byte {
	if e := parseKeyLine(t, 3, c); e != nil {
		return e
	}
	var ok bool
	if c.Delta, ok = TokUint64(t.T[2]); !ok {
		return ErrBadDelta
	}
	return nil
}

// ParseTouch parses "touch <key> <exptime> [noreply]"; the exptime is an
// mcmc number (an optional '-', digits, within int32).
func ParseTouch(t *Tokens, c *KeyCommand) []byte {
	if e := parseKeyLine(t, 3, c); e != nil {
		return e
	}
	var ok bool
	if c.Exptime, ok = TokInt32(t.T[2]); !ok {
		return ErrBadExptime
	}
	return nil
}

// ParseDelete parses "delete <key> [noreply]": memcached 1.6.45 ignores
// any other token (1.6.18 refused all but a hold time of 0).
func ParseDelete(t *Tokens, c *KeyCommand) []byte {
	return parseKeyLine(t, 2, c)
}

// ParseFlushAll parses "flush_all [delay] [noreply]" as memcached 1.6.45:
// any number of tokens; unless the line is "flush_all" or "flush_all
// noreply", the first argument must be an mcmc number. memcached refuses a
// disabled flush_all (-F) before it looks at the delay.
func ParseFlushAll(t *Tokens) (delay int32, noreplyOn bool, errLine []byte) {
	noreplyOn = Noreply(t)
	want := 1
	if noreplyOn {
		want = 2
	}
	if t.N != want {
		var ok bool
		if delay, ok = TokInt32(t.T[1]); !ok {
			return 0, noreplyOn, ErrBadExptime
		}
	}
	return delay, noreplyOn, nil
}

// ParseVerbosity parses "verbosity <level> ..." as memcached 1.6.45: the
// level is an mcmc number (else a bad format), levels past 2 are 2, and a
// last token of noreply silences the reply.
func ParseVerbosity(t *Tokens) (level uint32, noreplyOn bool, errLine []byte) {
	noreplyOn = Noreply(t)
	v, ok := TokUint64(TokenAt(t, 1))
	if !ok || t.N < 2 || v > 1<<32-1 {
		return 0, noreplyOn, ErrBadFormat
	}
	return min(uint32(v), 2), noreplyOn, nil
}

// PrefixOf reports whether tok is a non-empty prefix of word: how
// memcached matches subcommands and stream names (its strncmp over the
// letters sent).
func PrefixOf(tok []byte, word string) bool {
	return len(tok) > 0 && len(tok) <= len(word) && string(tok) == word[:len(tok)]
}

// TokenAt is token i, or nil past the last.
func TokenAt(t *Tokens, i int) []byte {
	if i < t.N {
		return t.T[i]
	}
	return nil
}

// ParseGATExptime parses the exptime of "gat|gats <exptime> <key>...".
func ParseGATExptime(t *Tokens) (int32, []byte) {
	e, ok := TokInt32(t.T[1])
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

// Limits of memcached's ascii authentication: a line shorter than
// AuthLineMin (before its LF) closes the connection; a token longer than
// AuthTokenMax gets "CLIENT_ERROR auth token too long".
const (
	AuthLineMin  = 6     // memcached's MIN_AUTH_REQ_LEN
	AuthTokenMax = 16384 // memcached's MAX_AUTH_REQ_LEN
)

// ParseAuthSetLine parses the line that starts memcached's ascii
// authentication (-Y), "set <key> <flags> <exptime> <bytes>" (the rest is
// ignored), into the length of its data block, CRLF included. ok is false
// for any other line, which memcached answers "CLIENT_ERROR
// unauthenticated". The line keeps its CR, as memcached leaves it; as
// memcached's, the check is that the line starts with "set".
func ParseAuthSetLine(line []byte) (blockLen int64, ok bool) {
	var t Tokens
	t.Tokenize(line)
	if t.N < 5 || !bytes.HasPrefix(line, []byte("set")) {
		return 0, false
	}
	size, ok := ParseUint32(t.T[4])
	return int64(size) + 2, ok
}
