package server

import (
	"strconv"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

// The meta protocol (mg ms md ma mn me), as memcached 1.6.18's
// proto_text.c: flags are single letters with an optional argument, parsed
// once by metaPreparse; replies echo O (opaque) and k (key) and add the
// requested fields in the order the flags were given.

const (
	metaMaxTokens  = 20 // memcached's MFLAG_MAX_OPT_LENGTH, compared with ntokens
	metaMaxOpaque  = 32 // MFLAG_MAX_OPAQUE_LENGTH, 'O' included
	errBadFormat   = "CLIENT_ERROR bad command line format\r\n"
	errBadToken    = "CLIENT_ERROR bad token in command line format\r\n"
	errBadFlag     = "CLIENT_ERROR invalid or duplicate flag\r\n"
	errFlagsLong   = "CLIENT_ERROR options flags too long\r\n"
	errOpaqueLong  = "CLIENT_ERROR opaque token too long\r\n"
	errNonNumeric  = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
	errOutOfMemory = "SERVER_ERROR out of memory\r\n"
)

// metaFlags is one meta command's parsed flags.
type metaFlags struct {
	seen       [2]uint64 // flag letters already given
	key        []byte    // the key, decoded when b was given
	keyBinary  bool
	vivify     bool
	noUpdate   bool
	noReply    bool
	value      bool
	setStale   bool
	newTTL     bool
	hasCAS     bool
	mode       byte
	exptime    uint32 // T, as rel time
	autoviv    uint32 // N
	recache    uint32 // R
	clientFlag uint32 // F
	cas        uint64 // C
	delta      uint64 // D, default 1
	initial    uint64 // J
}

// metaPreparse is memcached's _meta_flag_preparse: it checks every flag
// from token start on and records them in c.sc.mf. It returns the error line
// to send, or "" when the flags are good.
func (c *conn) metaPreparse(t *protocol.Tokens, start int) string {
	f := &c.sc.mf
	*f = metaFlags{key: t.T[1], delta: 1}
	errstr := errBadFormat
	hasErr := false
	relTime := func(tok []byte, dst *uint32) {
		v, ok := protocol.ParseInt32(tok[1:])
		if !ok {
			errstr, hasErr = errBadToken, true
			return
		}
		*dst = c.s.store.RelTime(int64(v))
	}
	for i := start; i < t.N; i++ {
		tok := t.T[i]
		o := tok[0]
		if o >= 127 || f.seen[o>>6]&(1<<(o&63)) != 0 {
			return "CLIENT_ERROR duplicate flag\r\n"
		}
		f.seen[o>>6] |= 1 << (o & 63)
		switch o {
		case 'b':
			n := protocol.DecodeBase64Key(c.sc.keyBuf[:], t.T[1])
			if n == 0 {
				errstr, hasErr = "CLIENT_ERROR error decoding key\r\n", true
			}
			f.key = c.sc.keyBuf[:n]
			f.keyBinary = true
		case 'N':
			f.vivify = true
			relTime(tok, &f.autoviv)
		case 'T':
			relTime(tok, &f.exptime)
			f.newTTL = !hasErr || f.newTTL
		case 'R':
			relTime(tok, &f.recache)
		case 'l', 'O', 'P', 'L', 'k', 's', 't', 'c', 'f', 'h':
		case 'v':
			f.value = true
		case 'u':
			f.noUpdate = true
		case 'q':
			f.noReply = true
		case 'F':
			v, ok := protocol.ParseUint32(tok[1:])
			if !ok {
				hasErr = true
			}
			f.clientFlag = v
		case 'C':
			v, ok := protocol.ParseUint64(tok[1:])
			if !ok {
				errstr, hasErr = errBadToken, true
			} else {
				f.cas, f.hasCAS = v, true
			}
		case 'M':
			if len(tok) != 2 {
				errstr, hasErr = "CLIENT_ERROR incorrect length for M token\r\n", true
			} else {
				f.mode = tok[1]
			}
		case 'J':
			v, ok := protocol.ParseUint64(tok[1:])
			if !ok {
				errstr, hasErr = "CLIENT_ERROR invalid numeric initial value\r\n", true
			}
			f.initial = v
		case 'D':
			v, ok := protocol.ParseUint64(tok[1:])
			if !ok {
				errstr, hasErr = "CLIENT_ERROR invalid numeric delta value\r\n", true
			}
			f.delta = v
		case 'I':
			f.setStale = true
		default:
			return "CLIENT_ERROR invalid flag\r\n"
		}
	}
	if hasErr {
		return errstr
	}
	return ""
}

// appendMetaKey appends " k<key>", base64 with " b" for binary keys.
func (c *conn) appendMetaKey(key []byte, binary bool) {
	c.out = append(c.out, " k"...)
	if !binary {
		c.out = append(c.out, key...)
		return
	}
	c.out = protocol.AppendBase64(c.out, key)
	c.out = append(c.out, " b"...)
}

// appendOpaqueKey appends the O and k flags of a reply that has no item.
// It returns false (after replacing the reply from start with the error)
// when an opaque token is too long.
func (c *conn) appendOpaqueKey(t *protocol.Tokens, from, start int) bool {
	for i := from; i < t.N; i++ {
		switch tok := t.T[i]; tok[0] {
		case 'O':
			if len(tok) > metaMaxOpaque {
				c.out = append(c.out[:start], errOpaqueLong...)
				return false
			}
			c.out = append(c.out, ' ')
			c.out = append(c.out, tok...)
		case 'k':
			c.appendMetaKey(c.sc.mf.key, c.sc.mf.keyBinary)
		}
	}
	return true
}

// cmdMeta dispatches a two-letter m command.
func (c *conn) cmdMeta(t *protocol.Tokens, n int) (action, bool) {
	c.s.stats.cmdMeta.Add(c.id, 1)
	switch t.T[0][1] {
	case 'g':
		c.cmdMetaGet(t)
	case 's':
		return c.cmdMetaSet(t, n)
	case 'd':
		c.cmdMetaDelete(t)
	case 'a':
		c.cmdMetaArith(t)
	case 'e':
		c.cmdMetaDebug(t)
	case 'n':
		c.out = append(c.out, "MN\r\n"...)
		c.markWritten() // mn makes memcached write its replies
	default:
		c.out = append(c.out, protocol.Error...)
	}
	c.r += n
	return actMore, true
}

// metaCheck is what mg, md and ma check first; it returns false after
// replying with the error.
func (c *conn) metaCheck(t *protocol.Tokens, tooLong string) bool {
	switch {
	case t.Count() < 3:
		c.out = append(c.out, protocol.Error...)
	case len(t.T[1]) > protocol.KeyMaxLength:
		c.out = append(c.out, errBadFormat...)
	case t.Count() > metaMaxTokens:
		c.out = append(c.out, tooLong...)
	default:
		return true
	}
	return false
}

func (c *conn) cmdMetaGet(t *protocol.Tokens) {
	if !c.metaCheck(t, "CLIENT_ERROR options flags are too long\r\n") {
		return
	}
	if e := c.metaPreparse(t, 2); e != "" {
		c.out = append(c.out, e...)
		return
	}
	start := len(c.out)
	c.metaErr = false
	if c.onMetaGet == nil {
		c.onMetaGet = c.metaGetItem // bound once per connection, on first use
	}
	hit := c.s.store.MetaGet(c.sc.mf.key, c.sc.mf.vivify, c.sc.mf.noUpdate, c.onMetaGet)
	if c.metaErr {
		return
	}
	if hit {
		return
	}
	c.out = append(c.out, "EN"...)
	if !c.appendOpaqueKey(t, 2, start) {
		return
	}
	if c.sc.mf.noReply {
		c.out = c.out[:start]
		return
	}
	c.out = append(c.out, protocol.CRLF...)
}

// metaGetItem builds mg's reply for a hit or a vivified item, under the
// item's lock. It reports whether the TTL was set (T).
func (c *conn) metaGetItem(it *store.Item) bool {
	f, t := &c.sc.mf, &c.sc.tok
	start := len(c.out)
	now := c.s.store.Now()
	won, touched := false, false
	if f.value {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(it.Value())), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	for i := 2; i < t.N; i++ {
		tok := t.T[i]
		switch tok[0] {
		case 'T':
			touched = true
			it.SetExptime(f.exptime)
		case 'N':
			if it.Created() {
				it.SetExptime(f.autoviv)
				won = true
			}
		case 'R':
			if !it.TokenSent() && !it.Created() && it.Exptime() != 0 && it.Exptime() < f.recache {
				won = true
			}
		case 's':
			c.out = append(c.out, " s"...)
			c.out = strconv.AppendInt(c.out, int64(len(it.Value())), 10)
		case 't':
			c.out = append(c.out, " t"...)
			c.out = appendTTL(c.out, it.Exptime(), now)
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, it.CAS(), 10)
		case 'f':
			c.out = append(c.out, " f"...)
			c.out = strconv.AppendUint(c.out, uint64(it.Flags()), 10)
		case 'l':
			c.out = append(c.out, " l"...)
			c.out = strconv.AppendUint(c.out, uint64(now-it.Atime()), 10)
		case 'h':
			if it.Fetched() {
				c.out = append(c.out, " h1"...)
			} else {
				c.out = append(c.out, " h0"...)
			}
		case 'O':
			if len(tok) > metaMaxOpaque {
				c.out = append(c.out[:start], errOpaqueLong...)
				c.metaErr = true
				return touched
			}
			c.out = append(c.out, ' ')
			c.out = append(c.out, tok...)
		case 'k':
			c.appendMetaKey(it.Key(), it.KeyBinary())
		}
	}
	if cas := it.CAS(); cas != 0 {
		// The unwritten mg reply holds the item in memcached: a later
		// incr/decr in this batch must not rewrite it in place.
		c.pinned = append(c.pinned, cas)
	}
	if it.TokenSent() {
		c.out = append(c.out, " Z"...)
	}
	if it.Stale() {
		c.out = append(c.out, " X"...)
		if !it.TokenSent() {
			won = true
		}
	}
	if won {
		c.out = append(c.out, " W"...)
		it.MarkTokenSent()
	}
	c.out = append(c.out, protocol.CRLF...)
	if f.value {
		c.out = append(c.out, it.Value()...)
		c.out = append(c.out, protocol.CRLF...)
	}
	return touched
}

// appendTTL appends the seconds left, -1 for never, computed in uint32 as
// memcached does (an item expired by this very command shows a wrapped
// number).
func appendTTL(dst []byte, exptime, now uint32) []byte {
	if exptime == 0 {
		return append(dst, "-1"...)
	}
	return strconv.AppendUint(dst, uint64(exptime-now), 10)
}

func (c *conn) cmdMetaSet(t *protocol.Tokens, n int) (action, bool) {
	switch {
	case t.Count() < 3:
		return c.consumed(n, c.metaReply(protocol.Error))
	case len(t.T[1]) > protocol.KeyMaxLength, t.Count() == 3:
		return c.consumed(n, c.metaReply([]byte(errBadFormat)))
	case t.Count() > metaMaxTokens:
		return c.consumed(n, c.metaReply([]byte(errFlagsLong)))
	}
	vlen, ok := protocol.ParseInt32(t.T[2])
	if !ok || vlen < 0 || vlen > 1<<31-1-2 {
		return c.consumed(n, c.metaReply([]byte(errBadFormat)))
	}
	total := int(vlen) + 2
	errstr := c.metaPreparse(t, 3)
	f := &c.sc.mf
	mode := store.ModeSet
	if errstr == "" {
		for i := 3; i < t.N; i++ {
			if t.T[i][0] == 'O' && len(t.T[i]) > metaMaxOpaque {
				errstr = errOpaqueLong
			}
		}
		switch f.mode {
		case 0, 'S':
		case 'E':
			mode = store.ModeAdd
		case 'A':
			mode = store.ModeAppend
		case 'P':
			mode = store.ModePrepend
		case 'R':
			mode = store.ModeReplace
		default:
			errstr = "CLIENT_ERROR invalid mode for ms M token\r\n"
		}
		if f.hasCAS && (mode == store.ModeSet || mode == store.ModeReplace) {
			mode = store.ModeCAS
		}
		if errstr == "" && !c.s.store.ItemSizeOK(len(f.key), f.clientFlag, int(vlen)) {
			errstr = string(protocol.ErrTooLarge)
			// memcached drops the old value whatever the mode.
			c.s.store.Refuse(f.key, store.ErrTooLarge, true)
		}
	}
	if errstr != "" {
		c.swallow = int64(total)
		return c.consumed(n, c.metaReply([]byte(errstr)))
	}
	if c.w-c.r < n+total {
		c.need = n + total
		return actMore, false
	}
	data := c.rbuf[c.r+n : c.r+n+total]
	c.r += n + total
	if data[vlen] != '\r' || data[vlen+1] != '\n' {
		c.out = append(c.out, protocol.ErrBadChunk...)
		return actMore, true
	}
	c.sc.req = store.Request{Mode: mode, Key: f.key, Flags: f.clientFlag, Exptime: f.exptime,
		Value: data[:vlen], KeyBinary: f.keyBinary, Stale: f.setStale && mode == store.ModeCAS}
	if f.hasCAS {
		c.sc.req.CAS = f.cas
	}
	res, cas, err := c.s.store.Store(&c.sc.req)
	switch {
	case err == store.ErrTooLarge:
		c.out = append(c.out, protocol.ErrTooLarge...)
		return actMore, true
	case err != nil:
		c.out = append(c.out, protocol.ErrNoMemory...)
		return actMore, true
	}
	if res == store.Stored && f.noReply {
		return actMore, true
	}
	c.out = append(c.out, metaStatus[res]...)
	for i := 3; i < t.N; i++ {
		switch tok := t.T[i]; tok[0] {
		case 'O':
			c.out = append(c.out, ' ')
			c.out = append(c.out, tok...)
		case 'k':
			c.appendMetaKey(f.key, f.keyBinary)
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, cas, 10)
		}
	}
	c.out = append(c.out, protocol.CRLF...)
	return actMore, true
}

var metaStatus = [...]string{
	store.Stored:    "HD",
	store.NotStored: "NS",
	store.Exists:    "EX",
	store.NotFound:  "NF",
	store.Deleted:   "HD",
	store.Touched:   "HD",
}

// metaReply appends a reply that meta commands always send.
func (c *conn) metaReply(b []byte) action {
	c.out = append(c.out, b...)
	return actMore
}

// metaBegin is what md and ma check first: memcached answers every flag
// error of theirs with one message. It returns false after replying.
func (c *conn) metaBegin(t *protocol.Tokens) bool {
	if !c.metaCheck(t, errFlagsLong) {
		return false
	}
	if c.metaPreparse(t, 2) != "" {
		c.out = append(c.out, errBadFlag...)
		return false
	}
	return true
}

func (c *conn) cmdMetaDelete(t *protocol.Tokens) {
	if !c.metaBegin(t) {
		return
	}
	f := &c.sc.mf
	start := len(c.out)
	c.out = append(c.out, "HD"...)
	if !c.appendOpaqueKey(t, 2, start) {
		return
	}
	o := store.MetaDeleteOptions{HasCAS: f.hasCAS, CAS: f.cas, Invalidate: f.setStale,
		SetExptime: f.newTTL, Exptime: f.exptime, MissOnExists: true}
	res := c.s.store.MetaDelete(f.key, &o)
	if res == store.Deleted && f.noReply {
		c.out = c.out[:start]
		return
	}
	copy(c.out[start:], metaStatus[res])
	c.out = append(c.out, protocol.CRLF...)
}

func (c *conn) cmdMetaArith(t *protocol.Tokens) {
	if !c.metaBegin(t) {
		return
	}
	f := &c.sc.mf
	incr := true
	switch f.mode {
	case 0, 'I', '+':
	case 'D', '-':
		incr = false
	default:
		c.out = append(c.out, "CLIENT_ERROR invalid mode for ma M token\r\n"...)
		return
	}
	// A created item's TTL is whichever of T and N comes last.
	createExp := uint32(0)
	for i := 2; i < t.N; i++ {
		switch t.T[i][0] {
		case 'T':
			createExp = f.exptime
		case 'N':
			createExp = f.autoviv
		}
	}
	r := store.ArithRequest{Key: f.key, Incr: incr, Delta: f.delta, Create: f.vivify,
		Initial: f.initial, Exptime: createExp, Touch: f.newTTL, NewExptime: f.exptime, Pinned: c.pinned}
	if f.hasCAS {
		r.CAS = f.cas
	}
	var out store.ArithResult
	res, err := c.s.store.Arith(&r, &out)
	start := len(c.out)
	switch {
	case err == store.ErrNonNumeric:
		c.out = append(c.out, errNonNumeric...)
		return
	case err != nil:
		c.out = append(c.out, errOutOfMemory...)
		return
	case res == store.NotFound || res == store.Exists:
		c.out = append(c.out, metaStatus[res]...)
		if c.appendOpaqueKey(t, 2, start) {
			c.out = append(c.out, protocol.CRLF...)
		}
		return
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], out.Value, 10)
	if f.value {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(digits)), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	now := c.s.store.Now()
	exp := out.OldExptime
	for i := 2; i < t.N; i++ {
		switch tok := t.T[i]; tok[0] {
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, out.CAS, 10)
		case 't':
			c.out = append(c.out, " t"...)
			c.out = appendTTL(c.out, exp, now)
		case 'T':
			exp = f.exptime
		case 'N':
			if out.Created {
				exp = f.autoviv
			}
		case 'O':
			if len(tok) > metaMaxOpaque {
				c.out = append(c.out[:start], errOpaqueLong...)
				return
			}
			c.out = append(c.out, ' ')
			c.out = append(c.out, tok...)
		case 'k':
			c.appendMetaKey(f.key, f.keyBinary)
		}
	}
	if f.value {
		c.out = append(c.out, protocol.CRLF...)
		c.out = append(c.out, digits...)
	}
	c.out = append(c.out, protocol.CRLF...)
	if f.noReply && !out.Created {
		c.out = c.out[:start]
	}
}

// cmdMetaDebug is `me <key> [b]`: memcached's item debug line.
func (c *conn) cmdMetaDebug(t *protocol.Tokens) {
	if t.Count() < 3 || len(t.T[1]) > protocol.KeyMaxLength {
		c.out = append(c.out, errBadFormat...)
		return
	}
	key := t.T[1]
	if t.Count() >= 4 && string(t.T[2]) == "b" {
		n := protocol.DecodeBase64Key(c.sc.keyBuf[:], key)
		if n == 0 {
			c.out = append(c.out, errBadFormat...)
			return
		}
		key = c.sc.keyBuf[:n]
	}
	if c.onMetaDebug == nil {
		c.onMetaDebug = c.metaDebugItem
	}
	if !c.s.store.Peek(key, c.onMetaDebug) {
		c.out = append(c.out, "EN\r\n"...)
	}
}

func (c *conn) metaDebugItem(it *store.Item) {
	now := c.s.store.Now()
	c.out = append(c.out, "ME "...)
	if it.KeyBinary() {
		c.out = protocol.AppendBase64(c.out, it.Key())
	} else {
		c.out = append(c.out, it.Key()...)
	}
	c.out = append(c.out, " exp="...)
	if e := it.Exptime(); e == 0 {
		c.out = append(c.out, "-1"...)
	} else {
		c.out = strconv.AppendInt(c.out, int64(int32(now-e)), 10)
	}
	c.out = append(c.out, " la="...)
	c.out = strconv.AppendUint(c.out, uint64(now-it.Atime()), 10)
	c.out = append(c.out, " cas="...)
	c.out = strconv.AppendUint(c.out, it.CAS(), 10)
	if it.Fetched() {
		c.out = append(c.out, " fetch=yes"...)
	} else {
		c.out = append(c.out, " fetch=no"...)
	}
	c.out = append(c.out, " cls="...)
	c.out = strconv.AppendInt(c.out, int64(it.MemcachedClass()), 10)
	c.out = append(c.out, " size="...)
	c.out = strconv.AppendInt(c.out, int64(it.MemcachedSize()), 10)
	c.out = append(c.out, protocol.CRLF...)
}
