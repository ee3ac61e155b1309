package server

import (
	"encoding/binary"
	"runtime"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
)

// The binary protocol, as memcached 1.6.18's proto_bin.c answers it.
//
// memcached reads a request in two steps: the header, extras and key must
// fit its 16 KB read buffer; the value of set/add/replace/append/prepend
// and of SASL auth/step is then read straight into an item. Every other
// command consumes only header, extras and key, whatever the body length
// says (the rest is parsed as the next request).
//
// When replies reach the socket matters for one case only: a request with
// a bad magic byte closes the connection at once, dropping the replies
// memcached had not written yet. memcached writes its pending replies when
// it runs out of complete requests, after every error that does not
// swallow a body, after noop, quit and SASL continue, and every -R
// requests; it holds them while it reads a value or swallows a refused
// one. binState.mark and held mirror that.

const (
	saslMechMax = 32 // memcached's MAX_SASL_MECH_LEN
	binNoCreate = 0xffffffff
	binFlagsLen = 4
)

// binState is a connection's binary protocol state.
type binState struct {
	h     protocol.BinaryHeader // the request being handled
	op    uint8                 // its opcode, quiet variants mapped to the base one
	quiet bool

	mark  int    // c.out[:mark] is what memcached would have written by now
	held  []byte // replies memcached holds while it reads or swallows a body
	nreqs int    // requests left before the connection yields (-R)
	// waited: the body being read or swallowed did not all come with its
	// header. memcached then reads exactly the rest from the socket, so it
	// runs out of input, and writes its replies, when the body is done.
	waited bool

	writeFailed bool // a write inside the batch failed: close

	authed   bool // SASL: authenticated
	saslStep bool // SASL: an exchange waits for its next step

	onHit func(*store.View)
}

// processBinary handles every complete binary request in rbuf[r:w].
func (c *conn) processBinary() action {
	if c.bin == nil {
		c.bin = new(binState) // only binary connections carry it
	}
	b := c.bin
	if b.onHit == nil {
		b.onHit = c.binHit
	}
	b.mark = 0
	if len(b.held) == 0 {
		c.markWritten()
	} else {
		c.out = append(c.out, b.held...)
		if cap(b.held) > bufSize {
			b.held = nil
		} else {
			b.held = b.held[:0]
		}
	}
	b.nreqs = c.s.cfg.ReqsPerEvent
	var req protocol.BinaryRequest
	for {
		if b.writeFailed || c.outOOM {
			return actClose
		}
		if c.swallow > 0 {
			if c.swallowBuffered() {
				c.need = 0
				b.waited = true
				return c.binHold()
			}
			c.binNext()
		}
		buf := c.rbuf[c.r:c.w]
		v := protocol.ParseBinaryRequest(buf, &req)
		if v == protocol.BinaryBadMagic {
			c.out = c.out[:b.mark]
			return actClose
		}
		if req.HeadLen > bufSize {
			// memcached's read buffer fills up before the key is in.
			if len(buf) >= bufSize {
				return actClose
			}
			c.need = bufSize
			return actMore
		}
		if v == protocol.BinaryIncomplete {
			c.need = req.HeadLen
			if len(buf) == 0 {
				c.need = 0
			}
			return actMore
		}
		c.need = 0
		act, need := c.binDispatch(&req, v)
		if need > 0 {
			// The value is not all here yet: nothing was consumed.
			c.need = need
			b.waited = true
			return c.binHold()
		}
		if act == actClose {
			return actClose
		}
		if c.swallow == 0 {
			c.binNext()
		}
	}
}

// binHold keeps the replies memcached would not have written yet out of
// this flush.
func (c *conn) binHold() action {
	b := c.bin
	if len(c.out) > b.mark {
		b.held = append(b.held, c.out[b.mark:]...)
		c.out = c.out[:b.mark]
	}
	return actMore
}

// binNext is memcached's conn_new_cmd: one request done; after -R of them
// the connection writes what it has and lets others run.
func (c *conn) binNext() {
	b := c.bin
	if b.waited {
		b.waited = false
		c.binMarkWritten()
		b.nreqs = c.s.cfg.ReqsPerEvent
		return
	}
	b.nreqs--
	if b.nreqs < 0 {
		c.binMarkWritten()
		b.nreqs = c.s.cfg.ReqsPerEvent - 1
		c.s.stats.connYields.Add(1)
		c.binWriteBounded()
		runtime.Gosched()
		return
	}
	if len(c.out)-b.mark >= replyBound {
		// memcached holds up to -R replies by reference; copies of big
		// values must not pile up that long: this is a write point too.
		// (The one difference: a bad magic byte before memcached's next
		// write point would have dropped these replies.)
		c.binMarkWritten()
		c.binWriteBounded()
	}
}

// binWriteBounded is writeIfFull at memcached's write points, when every
// pending reply is one memcached has written by now. After a write error
// the connection parses nothing more and closes (writeFailed).
func (c *conn) binWriteBounded() {
	b := c.bin
	if b.mark != len(c.out) {
		return // some replies are still held back
	}
	wrote, err := c.writeIfFull()
	if wrote {
		b.mark = 0
	}
	if err != nil {
		b.writeFailed = true
	}
}

// binMarkWritten marks the replies so far as written: memcached would
// have written them by now (its conn_mwrite). Nothing is flushed here.
func (c *conn) binMarkWritten() {
	c.bin.mark = len(c.out)
	c.markWritten()
}

// binError appends an error reply with memcached's text for status. A
// positive swallow discards that many body bytes; otherwise the reply is
// written at once.
func (c *conn) binError(status uint16, swallow int64) {
	c.binErrorText(status, protocol.BinaryStatusText(status), swallow)
}

func (c *conn) binErrorText(status uint16, text string, swallow int64) {
	h := &c.bin.h
	c.out = protocol.AppendBinaryError(c.out, h.Opcode, status, h.Opaque, text)
	if swallow > 0 {
		c.swallow = swallow
	} else {
		c.binMarkWritten()
	}
}

// binReply appends a success reply with an optional value, unless the
// command is quiet.
func (c *conn) binReply(cas uint64, value []byte) {
	b := c.bin
	if b.quiet {
		return
	}
	c.outRoom(len(value) + protocol.BinaryHeaderLen)
	c.out = protocol.AppendBinaryResponse(c.out, b.h.Opcode, protocol.StatusOK, 0, 0, len(value), b.h.Opaque, cas)
	c.out = append(c.out, value...)
}

// binDispatch runs req, whose header, extras and key (req.HeadLen bytes)
// are at rbuf[r:] and which ParseBinaryRequest judged v. need > 0 means
// its value has not all arrived: nothing was consumed and need bytes from
// r are wanted.
func (c *conn) binDispatch(req *protocol.BinaryRequest, v protocol.BinaryVerdict) (act action, need int) {
	b := c.bin
	h := req.Header
	b.h, b.op, b.quiet = h, req.Op, req.Quiet
	if c.s.verbosity.Load() > 1 {
		c.s.log.Debug("binary command", zap.Int64("conn", c.id), zap.Uint8("opcode", h.Opcode), zap.ByteString("key", req.Key))
	}
	// The errors that close the connection, in memcached's order.
	var status uint16
	switch {
	case v == protocol.BinaryBodyTooShort:
		status = protocol.StatusUnknown
	case v == protocol.BinaryBodyTooLong:
		status = protocol.StatusInvalid // 1.6.45, before the SASL check
	case c.s.cfg.SASL && !b.authed && !binBeforeAuth(h.Opcode):
		status = protocol.StatusAuthError
	case v == protocol.BinaryInvalid:
		// memcached's handle_binary_protocol_error
		status = protocol.StatusInvalid
	}
	c.r += req.HeadLen
	if status != 0 {
		c.binError(status, 0)
		return actClose, 0
	}
	if v == protocol.BinaryUnknownCommand {
		// The body is swallowed whole, as a C int: none when negative.
		c.binError(protocol.StatusUnknown, int64(int32(h.BodyLen)))
		return actMore, 0
	}
	before := len(c.out)
	switch b.op {
	case protocol.OpVersion:
		c.out = protocol.AppendBinaryResponse(c.out, h.Opcode, protocol.StatusOK, 0, 0, len(c.s.cfg.Version), h.Opaque, 0)
		c.out = append(c.out, c.s.cfg.Version...)
	case protocol.OpNoop:
		c.binReply(0, nil)
		c.binMarkWritten()
	case protocol.OpQuit:
		c.binReply(0, nil)
		return actClose, 0
	case protocol.OpFlush:
		if c.s.cfg.FlushDisabled {
			c.binError(protocol.StatusAuthError, 0)
			break
		}
		c.s.store.FlushAll(int64(req.Delay))
		c.binReply(0, nil)
	case protocol.OpGet, protocol.OpGetK:
		c.binGet(req.Key, false, 0)
	case protocol.OpTouch, protocol.OpGAT, protocol.OpGATK:
		c.binGet(req.Key, true, c.s.store.RelTime(int64(req.Exptime)))
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend:
		need = c.binUpdate(req)
	case protocol.OpDelete:
		switch c.s.store.Delete(req.Key, h.CAS) {
		case store.Deleted:
			c.binReply(0, nil)
		case store.Exists:
			c.binError(protocol.StatusKeyExists, 0)
		default:
			c.binError(protocol.StatusKeyNotFound, 0)
		}
	case protocol.OpIncrement, protocol.OpDecrement:
		c.binArith(req)
	case protocol.OpStat:
		c.binStats(req.Key)
	case protocol.OpSASLList:
		c.binSASLList()
	case protocol.OpSASLAuth, protocol.OpSASLStep:
		need = c.binSASLAuth(req)
	}
	if need > 0 {
		// The value is not all here yet: the request stays unread until
		// it is.
		c.r -= req.HeadLen
		return actMore, need
	}
	c.latNote(binKinds[b.op])
	if len(req.Key) > 0 && b.op != protocol.OpStat {
		n := len(c.out) - before // a get's value
		if v := int(h.BodyLen) - int(h.ExtLen) - len(req.Key); v > 0 {
			n = v // a store's value
		}
		c.hot(req.Key, n)
	}
	return actMore, need
}

// binBeforeAuth reports whether memcached runs opcode on a connection that
// has not authenticated yet when SASL is required (proto_bin.c
// authenticated).
func binBeforeAuth(opcode uint8) bool {
	switch opcode {
	case protocol.OpSASLList, protocol.OpSASLAuth, protocol.OpSASLStep, protocol.OpVersion:
		return true
	}
	return false
}

// binGet is get, getk, touch, gat and gatk with their quiet variants.
func (c *conn) binGet(key []byte, touch bool, exptime uint32) {
	b := c.bin
	var hit bool
	if touch {
		hit = c.s.store.GetAndTouch(key, exptime, b.onHit)
	} else {
		hit = c.s.store.Get(key, b.onHit)
	}
	switch {
	case hit || b.quiet:
	case b.op == protocol.OpGetK || b.op == protocol.OpGATK:
		// A miss of a key-returning get carries the key and no text.
		c.out = protocol.AppendBinaryResponse(c.out, b.h.Opcode, protocol.StatusKeyNotFound, 0, uint16(len(key)), 0, b.h.Opaque, 0)
		c.out = append(c.out, key...)
	default:
		c.binError(protocol.StatusKeyNotFound, 0)
	}
}

// binHit appends the reply to a get or touch hit: flags, then the key for
// getk/gatk, then the value (not for touch).
func (c *conn) binHit(v *store.View) {
	b := c.bin
	var key, value []byte
	if b.op == protocol.OpGetK || b.op == protocol.OpGATK {
		key = v.Key
	}
	if b.op != protocol.OpTouch {
		value = v.Value
	}
	if v.CAS != 0 { // under -C items cannot be told apart: never pinned
		c.pinned = append(c.pinned, v.CAS)
	}
	c.outRoom(protocol.BinaryHeaderLen + binFlagsLen + len(key) + len(value))
	c.out = protocol.AppendBinaryResponse(c.out, b.h.Opcode, protocol.StatusOK, binFlagsLen, uint16(len(key)), len(value), b.h.Opaque, v.CAS)
	c.out = binary.BigEndian.AppendUint32(c.out, v.Flags)
	c.out = append(c.out, key...)
	c.out = append(c.out, value...)
}

// binUpdate is set, add, replace (with flags and exptime), append and
// prepend, with a value of req.ValueLen bytes at rbuf[r:], the header
// consumed. need > 0: the value is not all in, need bytes from the header
// are wanted.
func (c *conn) binUpdate(req *protocol.BinaryRequest) (need int) {
	b := c.bin
	key, flags, vlen := req.Key, req.Flags, req.ValueLen
	if vlen < 0 || !c.s.store.ItemSizeOK(len(key), flags, int(vlen)) {
		// memcached cannot get an item: "Too large.", then it swallows
		// the body (none when its length, as a C int, is negative) and
		// writes the reply only once it needs more input.
		c.out = protocol.AppendBinaryError(c.out, b.h.Opcode, protocol.StatusTooLarge, b.h.Opaque, protocol.BinaryStatusText(protocol.StatusTooLarge))
		if vlen > 0 {
			c.swallow = int64(vlen)
		}
		if b.op == protocol.OpSet {
			// A failed set must not leave the old value behind.
			c.s.store.Refuse(key, store.ErrTooLarge, true)
		}
		return 0
	}
	if !c.fits(req.HeadLen + int(vlen)) {
		// As memcached when it has no memory for the item: the error,
		// and the body swallowed.
		c.out = protocol.AppendBinaryError(c.out, b.h.Opcode, protocol.StatusNoMemory, b.h.Opaque, "Out of memory allocating item")
		c.swallow = int64(vlen)
		c.refuseBlock(key, b.op == protocol.OpSet)
		return 0
	}
	value, want := c.dataBlock(0, int(vlen))
	if want > 0 {
		return req.HeadLen + want // from the header, which is put back
	}
	var mode store.Mode
	switch b.op {
	case protocol.OpSet:
		mode = store.ModeSet
	case protocol.OpAdd:
		mode = store.ModeAdd
	case protocol.OpReplace:
		mode = store.ModeReplace
	case protocol.OpAppend:
		mode = store.ModeAppend
	default:
		mode = store.ModePrepend
	}
	cas := b.h.CAS
	if c.s.cfg.NoCAS {
		// memcached stores the request's CAS in the new item, which
		// under -C has no room for one: it is ignored.
		cas = 0
	}
	if cas != 0 && mode != store.ModeAppend && mode != store.ModePrepend {
		// A CAS on set, add or replace makes it a compare-and-swap.
		mode = store.ModeCAS
	}
	c.scratch.req = store.Request{Mode: mode, Key: key, Flags: flags, Exptime: c.s.store.RelTime(int64(req.Exptime)), Value: value, CAS: cas}
	res, cas, err := c.s.store.Store(&c.scratch.req)
	c.scratch.req = store.Request{}
	switch {
	case err == store.ErrTooLarge:
		c.out = protocol.AppendBinaryError(c.out, b.h.Opcode, protocol.StatusTooLarge, b.h.Opaque, protocol.BinaryStatusText(protocol.StatusTooLarge))
	case err != nil:
		// memcached fails to allocate before it reads the body, which it
		// then swallows: the reply is not written at once.
		c.out = protocol.AppendBinaryError(c.out, b.h.Opcode, protocol.StatusNoMemory, b.h.Opaque, "Out of memory allocating item")
	case res == store.Stored:
		c.binReply(cas, nil)
	case res == store.Exists:
		c.binError(protocol.StatusKeyExists, 0)
	case res == store.NotFound:
		c.binError(protocol.StatusKeyNotFound, 0)
	case b.op == protocol.OpAdd:
		c.binError(protocol.StatusKeyExists, 0)
	case b.op == protocol.OpReplace:
		c.binError(protocol.StatusKeyNotFound, 0)
	default:
		c.binError(protocol.StatusNotStored, 0)
	}
	return 0
}

// binArith is increment and decrement: extras delta, initial, expiration;
// an expiration of 0xffffffff means a missing key is not created.
func (c *conn) binArith(req *protocol.BinaryRequest) {
	b := c.bin
	r := store.ArithRequest{
		Key:     req.Key,
		Incr:    b.op == protocol.OpIncrement,
		Delta:   req.Delta,
		CAS:     b.h.CAS,
		Create:  req.Exptime != binNoCreate,
		Initial: req.Initial,
	}
	if r.Create {
		r.Exptime = c.s.store.RelTime(int64(req.Exptime))
	}
	res, out, err := c.arith(r)
	switch {
	case err == store.ErrNonNumeric:
		c.binError(protocol.StatusDeltaBadVal, 0)
	case err != nil:
		c.binErrorText(protocol.StatusNoMemory, "Out of memory incrementing value", 0)
	case res == store.NotFound:
		c.binError(protocol.StatusKeyNotFound, 0)
	case res == store.Exists:
		c.binError(protocol.StatusKeyExists, 0)
	case !b.quiet:
		c.out = protocol.AppendBinaryResponse(c.out, b.h.Opcode, protocol.StatusOK, 0, 0, 8, b.h.Opaque, out.CAS)
		c.out = binary.BigEndian.AppendUint64(c.out, out.Value)
	}
}
