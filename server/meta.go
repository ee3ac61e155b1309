package server

import (
	"strconv"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

// The meta protocol (mg ms md ma mn me), as memcached 1.6.45's
// proto_parser.c: protocol.ParseMetaFlags parses the flags, the store decides
// (MetaGet, MetaDelete, Arith), and these functions write the replies:
// O (opaque) and k (key) echoed by appendMetaEcho, the requested fields in
// the order the flags were given.

// metaFlags parses the flags from token start into c.scratch.mf and turns
// their times into store times; it returns the error line, or "".
func (c *conn) metaFlags(t *protocol.Tokens, start int) string {
	f := &c.scratch.mf
	if e := protocol.ParseMetaFlags(t, start, c.scratch.keyBuf[:], f); e != "" {
		return e
	}
	st := c.s.store
	c.scratch.mopt = store.MetaGetOptions{
		Vivify: f.Vivify, SetVivifyTTL: f.Vivify, NoBump: f.NoUpdate, SetTTL: f.Has('T'),
		TTLAfterVivify: f.TTLAfterVivify(), Recache: f.Has('R'), TTLBeforeRecache: f.TTLBeforeRecache(),
	}
	o := &c.scratch.mopt
	o.HasNewCAS, o.NewCAS = f.HasNewCAS, f.NewCAS
	if f.Has('T') {
		o.TTL = st.RelTime(int64(f.TTL))
	}
	if f.Vivify {
		o.VivifyTTL = st.RelTime(int64(f.VivifyTTL))
	}
	if o.Recache {
		o.RecacheBelow = st.RelTime(int64(f.Recache))
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

// appendMetaEcho is the one echo of a reply's O (opaque) and k (key)
// flags: for token tok it appends " O..." or " k<key>" and ignores any
// other flag. It returns false, after replacing the reply from start with
// memcached's error, when an opaque token is too long.
func (c *conn) appendMetaEcho(tok []byte, key []byte, binary bool, start int) bool {
	switch tok[0] {
	case 'O':
		if len(tok) > protocol.MetaMaxOpaque {
			c.out = append(c.out[:start], protocol.MetaErrOpaqueLong...)
			return false
		}
		c.out = append(c.out, ' ')
		c.out = append(c.out, tok...)
	case 'k':
		c.appendMetaKey(key, binary)
	}
	return true
}

// appendOpaqueKey appends the O and k flags of a reply that has no item.
func (c *conn) appendOpaqueKey(t *protocol.Tokens, from, start int) bool {
	for i := from; i < t.N; i++ {
		if !c.appendMetaEcho(t.T[i], c.scratch.mf.Key, c.scratch.mf.KeyBinary, start) {
			return false
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

func (c *conn) cmdMetaGet(t *protocol.Tokens) {
	if e := c.metaFlags(t, 2); e != "" {
		c.out = append(c.out, e...)
		return
	}
	if f, o := &c.scratch.mf, &c.scratch.mopt; f.BadOpaque > 0 {
		// mg's reply stops at a too-long opaque (memcached sets what
		// the flags before it set, then answers the error): a T or N
		// after it never applies, and the store hands out no token,
		// bumps nothing and counts nothing (ReplyFailed).
		o.ReplyFailed = true
		o.SetTTL = o.SetTTL && f.BeforeBadOpaque(f.TPos)
		o.SetVivifyTTL = o.SetVivifyTTL && f.BeforeBadOpaque(f.NPos)
	}
	start := len(c.out)
	c.metaErr = false
	if c.onMetaGet == nil {
		c.onMetaGet = c.metaGetItem // bound once per connection, on first use
	}
	hit := c.s.store.MetaGet(c.scratch.mf.Key, &c.scratch.mopt, c.onMetaGet)
	if c.s.watch.on(protocol.WatchFetchers) {
		c.logGet(c.scratch.mf.Key, hit)
	}
	c.hot(c.scratch.mf.Key, len(c.out)-start)
	if c.metaErr || hit {
		return
	}
	c.out = append(c.out, "EN"...)
	if !c.appendOpaqueKey(t, 2, start) {
		return
	}
	if c.scratch.mf.NoReply {
		c.out = c.out[:start]
		return
	}
	c.out = append(c.out, protocol.CRLF...)
}

// metaGetItem writes mg's reply for a hit or a vivified item, under the
// item's lock, from what the store decided. Flags are written in the order
// given; t shows the TTL as the T and N before it left it.
func (c *conn) metaGetItem(it *store.Item, r *store.MetaGetResult) {
	f, t, o := &c.scratch.mf, &c.scratch.tok, &c.scratch.mopt
	// C: the value is sent only when the client's CAS is not the item's
	// (memcached 1.6.45's conditional fetch).
	value := f.Value && !(f.HasCAS && it.CAS() == f.CAS)
	if value {
		c.outRoom(len(it.Value()) + 2*len(it.Key()) + 256) // flags: a few numbers, the key, opaque
	}
	start := len(c.out)
	now := c.s.store.Now()
	if value {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(it.Value())), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	exp := r.OldExptime
	for i := 2; i < t.N; i++ {
		tok := t.T[i]
		switch tok[0] {
		case 'T':
			exp = o.TTL
		case 'N':
			if r.Created {
				exp = o.VivifyTTL
			}
		case 's':
			c.out = append(c.out, " s"...)
			c.out = strconv.AppendInt(c.out, int64(len(it.Value())), 10)
		case 't':
			c.out = append(c.out, " t"...)
			c.out = appendTTL(c.out, exp, now)
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
		case 'O', 'k':
			if !c.appendMetaEcho(tok, it.Key(), it.KeyBinary(), start) {
				c.metaErr = true
				return
			}
		}
	}
	if cas := it.CAS(); cas != 0 {
		// The unwritten mg reply holds the item in memcached: a later
		// incr/decr in this batch must not rewrite it in place.
		c.pinned = append(c.pinned, cas)
	}
	if r.TokenSent {
		c.out = append(c.out, " Z"...)
	}
	if r.Stale {
		c.out = append(c.out, " X"...)
	}
	if r.Won {
		c.out = append(c.out, " W"...)
	}
	c.out = append(c.out, protocol.CRLF...)
	if value {
		c.out = append(c.out, it.Value()...)
		c.out = append(c.out, protocol.CRLF...)
	}
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
	vlen, errLine := protocol.ParseMetaSetLine(t)
	if errLine != "" {
		c.r += n
		c.out = append(c.out, errLine...)
		return actMore, true
	}
	total := int(vlen) + 2
	errstr := c.metaFlags(t, 3)
	f := &c.scratch.mf
	mode := store.ModeSet
	exptime := c.scratch.mopt.TTL
	if errstr == "" {
		switch f.Mode {
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
			errstr = protocol.MetaErrSetMode
		}
		if (mode == store.ModeAppend || mode == store.ModePrepend) && f.Vivify {
			exptime = c.scratch.mopt.VivifyTTL // a vivified item's TTL is N's
		}
		if f.HasCAS && (mode == store.ModeSet || mode == store.ModeReplace) {
			mode = store.ModeCAS
		}
		if errstr == "" && !c.s.store.ItemSizeOK(len(f.Key), f.ClientFlags, int(vlen)) {
			errstr = string(protocol.ErrTooLarge)
			// memcached drops the old value whatever the mode.
			c.s.store.Refuse(f.Key, store.ErrTooLarge, true)
		}
		if errstr == "" && !c.fits(n+total) {
			errstr = string(protocol.ErrNoMemory)
			c.refuseBlock(f.Key, true)
		}
		if errstr == "" && protocol.MetaOpaqueTooLong(t, 3) {
			errstr = protocol.MetaErrOpaqueLong
		}
	}
	if errstr != "" {
		c.swallow = int64(total)
		c.r += n
		c.out = append(c.out, errstr...)
		return actMore, true
	}
	data, want := c.dataBlock(n, total)
	if want > 0 {
		c.need = want
		return actMore, false
	}
	if data[vlen] != '\r' || data[vlen+1] != '\n' {
		c.out = append(c.out, protocol.ErrBadChunk...)
		return actMore, true
	}
	c.scratch.req = store.Request{Mode: mode, Key: f.Key, Flags: f.ClientFlags, Exptime: exptime,
		Value: data[:vlen], KeyBinary: f.KeyBinary, Stale: f.SetStale && mode == store.ModeCAS,
		HasNewCAS: f.HasNewCAS, NewCAS: f.NewCAS, Vivify: f.Vivify}
	if f.HasCAS {
		c.scratch.req.CAS = f.CAS
	}
	watched := c.s.watch.streams.Load() != 0
	before := watched && c.beforeStore(f.Key)
	res, cas, err := c.s.store.Store(&c.scratch.req)
	if watched {
		c.logStorage(&c.scratch.req, before, res, err)
	}
	c.hot(f.Key, int(vlen))
	switch {
	case err == store.ErrTooLarge:
		c.out = append(c.out, protocol.ErrTooLarge...)
		return actMore, true
	case err != nil:
		c.out = append(c.out, protocol.ErrNoMemory...)
		return actMore, true
	}
	if res == store.Stored && f.NoReply {
		return actMore, true
	}
	start := len(c.out)
	c.out = append(c.out, metaStatus[res]...)
	for i := 3; i < t.N; i++ {
		switch tok := t.T[i]; tok[0] {
		case 'O', 'k':
			c.appendMetaEcho(tok, f.Key, f.KeyBinary, start) // O's length was checked
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, cas, 10)
		case 's':
			// The stored value's size (an append's whole value); memcached
			// shows the sent size when nothing was stored.
			size := int(vlen)
			if res == store.Stored {
				size = c.scratch.req.Len
			}
			c.out = append(c.out, " s"...)
			c.out = strconv.AppendInt(c.out, int64(size), 10)
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

// metaKeyAndFlags checks md's and ma's key and flags, replying with the
// error and returning false when they are bad. A non-empty anyErr is sent
// for every error (1.6.45's ma answers all of them with one message).
func (c *conn) metaKeyAndFlags(t *protocol.Tokens, anyErr string) bool {
	if e := c.metaFlags(t, 2); e != "" {
		if anyErr != "" {
			e = anyErr
		}
		c.out = append(c.out, e...)
		return false
	}
	c.hot(c.scratch.mf.Key, 0)
	return true
}

func (c *conn) cmdMetaDelete(t *protocol.Tokens) {
	if !c.metaKeyAndFlags(t, "") {
		return
	}
	f := &c.scratch.mf
	start := len(c.out)
	c.out = append(c.out, "HD"...)
	if !c.appendOpaqueKey(t, 2, start) {
		return
	}
	o := store.MetaDeleteOptions{HasCAS: f.HasCAS, CAS: f.CAS, Invalidate: f.SetStale,
		SetExptime: f.NewTTL, Exptime: c.scratch.mopt.TTL, MissOnExists: true,
		RemoveValue: f.RemoveValue, Flags: f.ClientFlags, HasNewCAS: f.HasNewCAS, NewCAS: f.NewCAS}
	var res store.Result
	if c.s.watch.streams.Load() == 0 {
		res = c.s.store.MetaDelete(f.Key, &o)
	} else {
		found, cls, size := c.itemInfo(f.Key)
		res = c.s.store.MetaDelete(f.Key, &o)
		if o.RemoveValue {
			size = 0 // memcached logs the emptied item
		}
		c.logDeletion(f.Key, "md", found, res == store.Deleted && !o.Invalidate, cls, size)
	}
	if res == store.Deleted && f.NoReply {
		c.out = c.out[:start]
		return
	}
	copy(c.out[start:], metaStatus[res])
	c.out = append(c.out, protocol.CRLF...)
}

func (c *conn) cmdMetaArith(t *protocol.Tokens) {
	if !c.metaKeyAndFlags(t, protocol.MetaErrBadFlag) {
		return
	}
	f, mo := &c.scratch.mf, &c.scratch.mopt
	incr := true
	switch f.Mode {
	case 0, 'I', '+':
	case 'D', '-':
		incr = false
	default:
		c.out = append(c.out, protocol.MetaErrArithMode...)
		return
	}
	// A created item's TTL is whichever of T and N comes last.
	createExp := uint32(0)
	switch {
	case mo.SetTTL && (!f.Vivify || f.TTLAfterVivify()):
		createExp = mo.TTL
	case f.Vivify:
		createExp = mo.VivifyTTL
	}
	r := store.ArithRequest{Key: f.Key, Incr: incr, Delta: f.Delta, Create: f.Vivify,
		Initial: f.Initial, Exptime: createExp, Touch: f.NewTTL, NewExptime: mo.TTL,
		HasNewCAS: f.HasNewCAS, NewCAS: f.NewCAS}
	if f.HasCAS {
		r.CAS = f.CAS
	}
	res, out, err := c.arith(r)
	start := len(c.out)
	switch {
	case err == store.ErrNonNumeric:
		c.out = append(c.out, protocol.ErrNonNumeric...)
		return
	case err != nil:
		c.out = append(c.out, protocol.ErrOutOfMemory...)
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
	if f.Value {
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
			exp = mo.TTL
		case 'N':
			if out.Created {
				exp = mo.VivifyTTL
			}
		case 'O', 'k':
			if !c.appendMetaEcho(tok, f.Key, f.KeyBinary, start) {
				return
			}
		}
	}
	if f.Value {
		c.out = append(c.out, protocol.CRLF...)
		c.out = append(c.out, digits...)
	}
	c.out = append(c.out, protocol.CRLF...)
	if f.NoReply { // 1.6.45 silences a created item's reply too
		c.out = c.out[:start]
	}
}

// cmdMetaDebug is `me <key> [b]`: memcached's item debug line.
func (c *conn) cmdMetaDebug(t *protocol.Tokens) {
	key, errLine := protocol.ParseMetaDebugKey(t, c.scratch.keyBuf[:])
	if errLine != "" {
		c.out = append(c.out, errLine...)
		return
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
		c.out = strconv.AppendInt(c.out, int64(int32(e-now)), 10) // 1.6.45: the seconds left
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
