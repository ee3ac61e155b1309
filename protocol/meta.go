package protocol

// The meta commands' grammar (mg ms md ma me mn), as memcached 1.6.45's
// proto_parser.c: flags are single letters with an optional argument,
// checked once by _meta_flag_preparse; the rest of the reply's shape
// follows the order the flags were given in, which the server walks again.

// Meta limits and error lines.
const (
	MetaMaxTokens = 20 // MFLAG_MAX_OPT_LENGTH: the most tokens, command and key included
	MetaMaxOpaque = 32 // MFLAG_MAX_OPAQUE_LENGTH, 'O' included

	MetaErrBadFormat  = "CLIENT_ERROR bad command line format\r\n"
	MetaErrBadToken   = "CLIENT_ERROR bad token in command line format\r\n"
	MetaErrBadFlag    = "CLIENT_ERROR invalid or duplicate flag\r\n" // ma's answer to every flag error
	MetaErrFlagsLong  = "CLIENT_ERROR options flags are too long\r\n"
	MetaErrOpaqueLong = "CLIENT_ERROR opaque token too long\r\n"
	MetaErrDuplicate  = "CLIENT_ERROR duplicate flag\r\n"
	MetaErrInvalid    = "CLIENT_ERROR invalid flag\r\n"
	MetaErrDecodeKey  = "CLIENT_ERROR error decoding key\r\n"
	MetaErrInitial    = "CLIENT_ERROR invalid numeric initial value\r\n"
	MetaErrDelta      = "CLIENT_ERROR invalid numeric delta value\r\n"
	MetaErrSetMode    = "CLIENT_ERROR invalid mode for ms M token\r\n"
	MetaErrArithMode  = "CLIENT_ERROR invalid mode for ma M token\r\n"
)

// MetaFlags is one meta command's parsed flags. Times are as sent (the
// server turns them into store times).
type MetaFlags struct {
	Seen        [2]uint64 // flag letters given
	Key         []byte    // the key, base64-decoded when b was given
	KeyBinary   bool      // b
	Vivify      bool      // N
	NoUpdate    bool      // u
	NoReply     bool      // q
	Value       bool      // v
	SetStale    bool      // I
	RemoveValue bool      // x (md: keep the item with an empty value)
	NewTTL      bool      // T given (and no flag before it failed)
	HasCAS      bool      // C
	HasNewCAS   bool      // E: the CAS an update or creation gives the item
	Mode        byte      // M (' ' for an M with no letter, which no mode accepts)
	TTL         int32     // T
	VivifyTTL   int32     // N
	Recache     int32     // R
	// TPos, NPos, RPos: the token index of T, N and R (0 when not given);
	// BadOpaque: that of the first O past MetaMaxOpaque (0 when none). mg
	// writes its reply flag by flag and stops at such an O, so what comes
	// after it never takes effect.
	TPos, NPos, RPos, BadOpaque int
	ClientFlags                 uint32 // F
	CAS                         uint64 // C
	NewCAS                      uint64 // E
	Delta                       uint64 // D, default 1
	Initial                     uint64 // J
}

// TTLAfterVivify reports that T came after N, so that when both apply T's
// TTL is the item's.
func (f *MetaFlags) TTLAfterVivify() bool { return f.NPos > 0 && f.TPos > f.NPos }

// TTLBeforeRecache reports that T came before R, so that R compares T's
// TTL.
func (f *MetaFlags) TTLBeforeRecache() bool { return f.TPos > 0 && f.TPos < f.RPos }

// BeforeBadOpaque reports whether the flag at token index pos comes before
// a too-long opaque (or there is none): only those take effect in mg.
func (f *MetaFlags) BeforeBadOpaque(pos int) bool { return f.BadOpaque == 0 || pos < f.BadOpaque }

// Has reports whether flag letter o was given.
func (f *MetaFlags) Has(o byte) bool { return o < 128 && f.Seen[o>>6]&(1<<(o&63)) != 0 }

// flagArg is a flag token's argument, mcmc_token_get_flag_arg_*'s rule:
// there must be one.
func flagArg(tok []byte) ([]byte, bool) { return tok[1:], len(tok) > 1 }

// ParseMetaFlags is memcached 1.6.45's _meta_flag_preparse: it checks the
// key's length and the number of tokens, then every flag from token start
// on, and records them in f, decoding a base64 key (b) into keyBuf. It
// returns the error line to send, or "" when the flags are good. As
// memcached, a flag error does not stop the scan: a later duplicate or
// unknown flag still wins, and the last numeric error's text is the one
// reported (F's keeps the text before it).
func ParseMetaFlags(t *Tokens, start int, keyBuf []byte, f *MetaFlags) string {
	*f = MetaFlags{Key: t.T[1], Delta: 1}
	if len(t.T[1]) > KeyMaxLength {
		return MetaErrBadFormat
	}
	if t.N > MetaMaxTokens {
		return MetaErrFlagsLong
	}
	errstr := MetaErrBadFormat
	hasErr := false
	ttl := func(tok []byte, dst *int32) bool {
		arg, ok := flagArg(tok)
		v, ok2 := TokInt32(arg)
		if !ok || !ok2 {
			errstr, hasErr = MetaErrBadToken, true
			return false
		}
		*dst = v
		return true
	}
	u64 := func(tok []byte, dst *uint64, bad string) bool {
		arg, ok := flagArg(tok)
		v, ok2 := TokUint64(arg)
		if !ok || !ok2 {
			if bad != "" {
				errstr = bad
			}
			hasErr = true
			return false
		}
		*dst = v
		return true
	}
	for i := start; i < t.N; i++ {
		tok := t.T[i]
		o := tok[0]
		if o >= 127 || f.Has(o) {
			return MetaErrDuplicate
		}
		f.Seen[o>>6] |= 1 << (o & 63)
		switch o {
		case 'b':
			n := DecodeBase64Key(keyBuf, t.T[1])
			if n == 0 {
				errstr, hasErr = MetaErrDecodeKey, true
			}
			f.Key = keyBuf[:n]
			f.KeyBinary = true
		case 'N':
			f.Vivify, f.NPos = true, i
			ttl(tok, &f.VivifyTTL)
		case 'T':
			f.TPos = i
			if ttl(tok, &f.TTL) {
				f.NewTTL = true
			}
		case 'R':
			f.RPos = i
			ttl(tok, &f.Recache)
		case 'O':
			if len(tok) > MetaMaxOpaque && f.BadOpaque == 0 {
				f.BadOpaque = i
			}
		case 'l', 'P', 'L', 'k', 's', 't', 'c', 'f', 'h':
		case 'v':
			f.Value = true
		case 'u':
			f.NoUpdate = true
		case 'q':
			f.NoReply = true
		case 'x':
			f.RemoveValue = true
		case 'F':
			var v uint64
			if u64(tok, &v, "") && v > 1<<32-1 {
				hasErr = true
			}
			f.ClientFlags = uint32(v)
		case 'C':
			f.HasCAS = u64(tok, &f.CAS, MetaErrBadToken)
		case 'E':
			f.HasNewCAS = u64(tok, &f.NewCAS, MetaErrBadToken)
		case 'M':
			f.Mode = ' '
			if len(tok) > 1 {
				f.Mode = tok[1]
			}
		case 'J':
			u64(tok, &f.Initial, MetaErrInitial)
		case 'D':
			u64(tok, &f.Delta, MetaErrDelta)
		case 'I':
			f.SetStale = true
		default:
			return MetaErrInvalid
		}
	}
	if hasErr {
		return errstr
	}
	return ""
}

// ParseMetaSetLine checks ms's "<key> <datalen>" before its flags and
// returns the data block's length (CRLF not included), or the error line
// (the data is not read then: memcached cannot know its length).
func ParseMetaSetLine(t *Tokens) (vlen int32, errLine string) {
	if t.N < 3 {
		return 0, MetaErrBadFormat
	}
	vlen, ok := TokInt32(t.T[2])
	if !ok || vlen < 0 || vlen > 1<<31-1-2 {
		return 0, MetaErrBadFormat
	}
	return vlen, ""
}

// MetaOpaqueTooLong reports an O token past MetaMaxOpaque among the flags
// from start on (ms refuses its data then).
func MetaOpaqueTooLong(t *Tokens, start int) bool {
	for i := start; i < t.N; i++ {
		if t.T[i][0] == 'O' && len(t.T[i]) > MetaMaxOpaque {
			return true
		}
	}
	return false
}

// ParseMetaDebugKey parses "me <key> [b]", decoding a base64 key into
// keyBuf; the error line is "" when the key is good.
func ParseMetaDebugKey(t *Tokens, keyBuf []byte) (key []byte, errLine string) {
	if t.N < 2 || len(t.T[1]) > KeyMaxLength {
		return nil, MetaErrBadFormat
	}
	key = t.T[1]
	// memcached 1.6.45 decodes only when another token follows the b.
	if t.N >= 4 && string(t.T[2]) == "b" {
		n := DecodeBase64Key(keyBuf, key)
		if n == 0 {
			return nil, MetaErrBadFormat
		}
		key = keyBuf[:n]
	}
	return key, ""
}
