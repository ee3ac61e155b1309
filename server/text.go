package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
)

// process handles every complete request in rbuf[r:w], appending replies
// to out. It stops when a request is incomplete or the connection must close.
func (c *conn) process() action {
	if c.out == nil && !c.takeOut() {
		return actClose
	}
	c.takeScratch()
	defer c.dropScratch()
	c.latStart()
	if c.proto == protoUnknown && c.r < c.w {
		switch {
		case c.s.cfg.Protocol == "binary" || c.s.cfg.SASL: // -S forces binary
			c.proto = protoBinary
		case c.s.cfg.Protocol == "ascii":
			c.proto = protoText
		case c.rbuf[c.r] == protocol.BinaryRequestMagic:
			c.proto = protoBinary
		default:
			c.proto = protoText
		}
	}
	if c.watchStreams != 0 {
		// A watcher's input is dropped, as memcached stops reading it.
		c.r, c.w = 0, 0
		return actMore
	}
	if c.proto == protoBinary {
		return c.processBinary()
	}
	if !c.authed {
		if act := c.processAuth(); act == actClose || !c.authed {
			return act
		}
	}
	for {
		if c.swallow > 0 && c.swallowBuffered() {
			return actMore
		}
		if c.r == c.w {
			c.need = 0
			return actMore
		}
		if c.gs.active {
			if !c.streamGet() {
				return actMore // the read loop's flush bounds the get's pending replies
			}
			c.latNote(kindGet)
			if !c.commandDone() {
				return actClose
			}
			continue
		}
		buf := c.rbuf[c.r:c.w]
		if c.need > len(buf) {
			return actMore
		}
		c.need = 0
		line, n, ok := protocol.Line(buf)
		if !ok {
			mayGrow := protocol.LineMayGrow(buf)
			if len(buf) > protocol.LineLimit && !mayGrow {
				return actClose
			}
			if mayGrow && len(buf) >= streamGetFrom && c.udp == nil {
				c.startGetStream(buf)
				continue
			}
			return actMore
		}
		if n > bufSize && c.udp == nil && !protocol.LineMayGrow(buf) {
			// memcached never finds the end of a line longer than its
			// read buffer, except for get/gets, and closes. (A UDP
			// datagram is read whole.)
			return actClose
		}
		act, done := c.dispatch(line, n)
		if c.outOOM {
			return actClose
		}
		if !done {
			return act
		}
		if c.lat != nil && c.lat.timing { // textKind only for a timed batch
			c.latNote(textKind(c.scratch.tok.T[0]))
		}
		if c.udp != nil {
			c.textCommandDone(act)
		}
		if act == actClose || !c.commandDone() {
			return actClose
		}
		if c.watchStreams != 0 {
			c.r, c.w = 0, 0 // what follows watch is not read
			return actMore
		}
	}
}

// commandDone ends a text command: the -R yield, and the write once the
// replies pass their bound; false when that write failed.
func (c *conn) commandDone() bool {
	c.yield()
	_, err := c.writeIfFull()
	return err == nil
}

// dispatch runs one command line of n bytes (terminator included). done is
// false when the command needs more bytes (its data block) and nothing was
// consumed; otherwise the line (and any data) has been consumed.
func (c *conn) dispatch(line []byte, n int) (action, bool) {
	t := &c.scratch.tok
	t.Tokenize(line)
	c.noreply = false
	if c.s.verbosity.Load() > 1 {
		c.s.log.Debug("command", zap.Int64("conn", c.id), zap.ByteString("line", line))
	}
	if errLine, known := protocol.CheckLine(line, n, t); !known {
		return c.unknown(t, n)
	} else if errLine != nil {
		c.r += n
		c.reply(errLine)
		return actMore, true
	}
	cmd := t.T[0]
	if cmd[0] == 'm' && len(cmd) == 2 {
		return c.cmdMeta(t, n)
	}
	switch string(cmd) {
	case "get":
		return c.consumed(n, c.cmdGet(t, false, false))
	case "gets":
		return c.consumed(n, c.cmdGet(t, true, false))
	case "gat":
		return c.consumed(n, c.cmdGet(t, false, true))
	case "gats":
		return c.consumed(n, c.cmdGet(t, true, true))
	case "set":
		return c.cmdUpdate(t, n, store.ModeSet, false)
	case "add":
		return c.cmdUpdate(t, n, store.ModeAdd, false)
	case "replace":
		return c.cmdUpdate(t, n, store.ModeReplace, false)
	case "append":
		return c.cmdUpdate(t, n, store.ModeAppend, false)
	case "prepend":
		return c.cmdUpdate(t, n, store.ModePrepend, false)
	case "cas":
		return c.cmdUpdate(t, n, store.ModeCAS, true)
	case "incr":
		return c.consumed(n, c.cmdArith(t, true))
	case "decr":
		return c.consumed(n, c.cmdArith(t, false))
	case "delete":
		return c.consumed(n, c.cmdDelete(t))
	case "touch":
		return c.consumed(n, c.cmdTouch(t))
	case "stats":
		return c.consumed(n, c.cmdStats(t))
	case "flush_all":
		return c.consumed(n, c.cmdFlushAll(t))
	case "version":
		c.r += n
		c.out = append(c.out, "VERSION "...)
		c.out = append(c.out, c.s.cfg.Version...)
		c.out = append(c.out, "\r\n"...)
		return actMore, true
	case "quit":
		c.r += n
		c.closeReason = "normal"
		return actClose, true
	case "shutdown":
		return c.consumed(n, c.cmdShutdown(t))
	case "verbosity":
		return c.consumed(n, c.cmdVerbosity(t))
	case "slabs":
		return c.consumed(n, c.cmdSlabs(t))
	case "lru_crawler":
		return c.consumed(n, c.cmdLRUCrawler(t))
	case "lru":
		return c.consumed(n, c.cmdLRU(t))
	case "cache_memlimit":
		return c.consumed(n, c.cmdMemlimit(t))
	case "config":
		return c.consumed(n, c.cmdConfig(t))
	case "refresh_certs":
		return c.consumed(n, c.cmdRefreshCerts())
	case "watch":
		return c.consumed(n, c.cmdWatch(t))
	case "debugtime":
		if c.s.cfg.DebugCommands {
			return c.consumed(n, c.cmdDebugTime(t))
		}
	}
	return c.unknown(t, n)
}

// unknown answers a line that names no command: an HTTP request line
// closes the connection, anything else is ERROR, silenced by a last token
// of noreply (memcached 1.6.45).
func (c *conn) unknown(t *protocol.Tokens, n int) (action, bool) {
	c.r += n
	if t.N > 1 && bytes.HasPrefix(t.T[t.N-1], []byte("HTTP/")) {
		return actClose, true
	}
	c.noreply = protocol.Noreply(t)
	c.reply(protocol.Error)
	return actMore, true
}

func (c *conn) consumed(n int, act action) (action, bool) {
	c.r += n
	return act, true
}

// valueHeadroom is more than a reply's bytes besides its key and value.
const valueHeadroom = 64

func (c *conn) appendGet(v *store.View) {
	c.outRoom(len(v.Key) + len(v.Value) + valueHeadroom)
	c.out = protocol.AppendValue(c.out, v.Key, v.Flags, v.Value, false, 0)
}

func (c *conn) appendGets(v *store.View) {
	c.outRoom(len(v.Key) + len(v.Value) + valueHeadroom)
	c.out = protocol.AppendValue(c.out, v.Key, v.Flags, v.Value, true, v.CAS)
}

// getFn is the store callback that appends a get (or gets) reply.
func (c *conn) getFn(withCAS bool) func(*store.View) {
	if c.onGet == nil {
		c.onGet, c.onGets = c.appendGet, c.appendGets // bound on first use: a method value allocates
	}
	if withCAS {
		return c.onGets
	}
	return c.onGet
}

// cmdGet is get, gets, gat and gats with any number of keys.
func (c *conn) cmdGet(t *protocol.Tokens, withCAS, touch bool) action {
	if t.Count() < 3 {
		c.reply(protocol.ErrBadFormat) // protocol.CheckLine has answered this already
		return actMore
	}
	fn := c.getFn(withCAS)
	first := 1
	var exptime uint32
	if touch {
		e, errLine := protocol.ParseGATExptime(t)
		if errLine != nil {
			c.out = append(c.out, errLine...)
			return actMore
		}
		exptime = c.s.store.RelTime(int64(e))
		first = 2
	}
	start := len(c.out)
	keys := 0
	get := func(key []byte) bool {
		if len(key) > protocol.KeyMaxLength {
			// When it is the first key of a get or gets, a last token of
			// noreply silences the error line but not the CRLF memcached
			// 1.6.45 sends after it (a later key's error is rescued from
			// the keys before, noreply or not; gat and gats ignore it).
			reply := protocol.ErrGetKeyTooLong
			if keys == 0 && !touch && protocol.Noreply(t) {
				reply = protocol.CRLF
			}
			c.out = append(c.dropReplies(start), reply...)
			return false
		}
		if keys > 0 && c.udp != nil {
			c.nextGetKey() // memcached: one response object per key
		}
		keys++
		before := len(c.out)
		var hit bool
		if touch {
			hit = c.s.store.GetAndTouch(key, exptime, fn)
		} else {
			hit = c.s.store.Get(key, fn)
		}
		c.s.detail.recordGet(key, hit)
		if c.s.watch.on(protocol.WatchFetchers) {
			c.logGet(key, hit)
		}
		c.hot(key, len(c.out)-before)
		return true
	}
	for i := first; i < t.N; i++ {
		if !get(t.T[i]) {
			return actMore
		}
	}
	for rest := t.Rest; len(rest) > 0; {
		var key []byte
		key, rest = protocol.NextKey(rest)
		if len(key) == 0 {
			continue
		}
		if !get(key) {
			return actMore
		}
	}
	c.out = append(c.out, protocol.End...)
	c.markWritten() // memcached writes its replies after a get
	return actMore
}

// cmdUpdate is set, add, replace, append, prepend and cas: the command
// line, then a data block of <bytes> bytes and CRLF.
func (c *conn) cmdUpdate(t *protocol.Tokens, n int, mode store.Mode, handleCAS bool) (action, bool) {
	cmd := &c.scratch.storage
	errLine := protocol.ParseStorage(t, handleCAS, cmd)
	c.noreply = cmd.Noreply
	if errLine != nil {
		c.r += n
		c.reply(errLine)
		if cmd.Swallow {
			c.swallow = int64(cmd.Bytes) + 2
		}
		return actMore, true
	}
	key, vlen := cmd.Key, cmd.Bytes
	total := int64(vlen) + 2
	c.s.detail.recordSet(key)
	if !c.s.store.ItemSizeOK(len(key), cmd.Flags, int(vlen)) {
		c.r += n
		c.reply(protocol.ErrTooLarge)
		c.s.store.Refuse(key, store.ErrTooLarge, mode == store.ModeSet)
		c.swallow = total
		return actMore, true
	}
	if !c.fits(n + int(total)) {
		c.r += n
		c.reply(protocol.ErrNoMemory)
		c.refuseBlock(key, mode == store.ModeSet)
		c.swallow = total
		return actMore, true
	}
	data, want := c.dataBlock(n, int(total))
	if want > 0 {
		c.need = want
		return actMore, false
	}
	if data[vlen] != '\r' || data[vlen+1] != '\n' {
		c.reply(protocol.ErrBadChunk)
		return actMore, true
	}
	c.scratch.req = store.Request{Mode: mode, Key: key, Flags: cmd.Flags, Exptime: c.s.store.RelTime(int64(cmd.Exptime)), Value: data[:vlen], CAS: cmd.CAS}
	watched := c.s.watch.streams.Load() != 0
	before := watched && c.beforeStore(key)
	res, _, err := c.s.store.Store(&c.scratch.req)
	if watched {
		c.logStorage(&c.scratch.req, before, res, err)
	}
	c.hot(key, int(vlen))
	switch {
	case err == store.ErrTooLarge:
		c.reply(protocol.ErrTooLarge)
	case err != nil:
		c.reply(protocol.ErrNoMemory)
	default:
		c.reply(storeReplies[res])
	}
	return actMore, true
}

var storeReplies = [...][]byte{
	store.Stored:    protocol.Stored,
	store.NotStored: protocol.NotStored,
	store.Exists:    protocol.Exists,
	store.NotFound:  protocol.NotFound,
	store.Deleted:   protocol.Deleted,
	store.Touched:   protocol.Touched,
}

// arith runs incr/decr for any protocol: the request lives in the
// connection's scratch (no allocation), with the items unwritten replies
// pin; the result is valid until the next call.
func (c *conn) arith(r store.ArithRequest) (store.Result, *store.ArithResult, error) {
	scr := c.scratch
	scr.arith = r
	scr.arith.Pinned = c.pinned
	res, err := c.s.store.Arith(&scr.arith, &scr.arithOut)
	scr.arith = store.ArithRequest{}
	return res, &scr.arithOut, err
}

// keyLine runs a key command's parser and replies with its error, if any.
func (c *conn) keyLine(t *protocol.Tokens, parse func(*protocol.Tokens, *protocol.KeyCommand) []byte) (*protocol.KeyCommand, bool) {
	k := &c.scratch.keyCmd
	errLine := parse(t, k)
	c.noreply = k.Noreply
	if errLine != nil {
		c.reply(errLine)
		return nil, false
	}
	c.hot(k.Key, 0)
	return k, true
}

func (c *conn) cmdArith(t *protocol.Tokens, incr bool) action {
	k, ok := c.keyLine(t, protocol.ParseArith)
	if !ok {
		return actMore
	}
	res, out, err := c.arith(store.ArithRequest{Key: k.Key, Incr: incr, Delta: k.Delta})
	v := out.Value
	switch {
	case err == store.ErrNonNumeric:
		c.reply(protocol.ErrNonNumeric)
	case err != nil:
		c.reply(protocol.ErrOutOfMemory)
	case res == store.NotFound:
		c.reply(protocol.NotFound)
	case !c.noreply:
		c.out = protocol.AppendUintLine(c.out, v)
	}
	return actMore
}

func (c *conn) cmdDelete(t *protocol.Tokens) action {
	if k, ok := c.keyLine(t, protocol.ParseDelete); ok {
		c.s.detail.recordDelete(k.Key)
		if c.s.watch.streams.Load() == 0 {
			c.reply(storeReplies[c.s.store.Delete(k.Key, 0)])
			return actMore
		}
		found, cls, size := c.itemInfo(k.Key)
		res := c.s.store.Delete(k.Key, 0)
		c.logDeletion(k.Key, "delete", found, res == store.Deleted, cls, size)
		c.reply(storeReplies[res])
	}
	return actMore
}

func (c *conn) cmdTouch(t *protocol.Tokens) action {
	if k, ok := c.keyLine(t, protocol.ParseTouch); ok {
		c.reply(storeReplies[c.s.store.Touch(k.Key, c.s.store.RelTime(int64(k.Exptime)))])
	}
	return actMore
}

func (c *conn) cmdFlushAll(t *protocol.Tokens) action {
	delay, noreply, errLine := protocol.ParseFlushAll(t)
	c.noreply = noreply
	switch {
	case c.s.cfg.FlushDisabled:
		c.s.store.CountFlush()
		c.reply(protocol.ErrFlushOff)
	case errLine != nil:
		c.reply(errLine)
	default:
		c.s.store.FlushAll(int64(delay))
		c.reply(protocol.OK)
	}
	return actMore
}

func (c *conn) cmdVerbosity(t *protocol.Tokens) action {
	level, noreply, errLine := protocol.ParseVerbosity(t)
	c.noreply = noreply
	if errLine != nil {
		c.reply(errLine)
		return actMore
	}
	c.s.verbosity.Store(int32(level))
	c.reply(protocol.OK)
	return actMore
}

func (c *conn) cmdShutdown(t *protocol.Tokens) action {
	if !c.s.cfg.EnableShutdown {
		c.reply(protocol.ErrShutdownOff)
		return actMore
	}
	mode, errLine := protocol.ParseShutdown(t)
	if errLine != nil {
		c.reply(errLine)
		return actMore
	}
	c.s.requestShutdown(mode)
	return actClose
}
