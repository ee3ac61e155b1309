package server

import (
	"bytes"

	"github.com/gocached/gocached/protocol"
	"go.uber.org/zap"
)

// SASL PLAIN for the binary protocol (-S), checked against a password
// file (passwords.go), the format of memcached's MEMCACHED_SASL_PWDB.

// saslMechs is the LIST_MECHS reply.
const saslMechs = "PLAIN"

// checkPlain verifies a PLAIN message, [authzid] NUL authcid NUL password.
// An authorization id other than the user's own is refused, as Cyrus SASL
// does without a proxy policy. It returns the user for logging.
func (db *passwords) checkPlain(msg []byte) (user []byte, ok bool) {
	i := bytes.IndexByte(msg, 0)
	if i < 0 {
		return nil, false
	}
	authzid, rest := msg[:i], msg[i+1:]
	j := bytes.IndexByte(rest, 0)
	if j < 0 {
		return nil, false
	}
	user, pass := rest[:j], rest[j+1:]
	if len(user) == 0 || len(pass) == 0 || (len(authzid) > 0 && !bytes.Equal(authzid, user)) {
		return user, false
	}
	return user, db.check(user, pass)
}

// binSASLList is SASL_LIST_MECHS. As in memcached it also drops an
// earlier authentication.
func (c *conn) binSASLList() {
	if !c.s.cfg.SASL {
		c.binError(protocol.StatusUnknown, 0)
		return
	}
	c.bin.authed = false
	h := &c.bin.h
	c.out = protocol.AppendBinaryResponse(c.out, h.Opcode, protocol.StatusOK, 0, 0, len(saslMechs), h.Opaque, 0)
	c.out = append(c.out, saslMechs...)
}

// binSASLAuth is SASL_AUTH and SASL_STEP: the key is the mechanism, the
// value (req.ValueLen bytes at rbuf[r:], the header consumed) the client's
// data. PLAIN with no data asks for it in a step (status "auth continue").
// need > 0: the data is not all in, need bytes from the header are wanted.
func (c *conn) binSASLAuth(req *protocol.BinaryRequest) (need int) {
	b := c.bin
	mech, vlen := req.Key, req.ValueLen
	if !c.s.cfg.SASL {
		c.binError(protocol.StatusUnknown, int64(vlen))
		return 0
	}
	if len(mech) > saslMechMax {
		c.binError(protocol.StatusInvalid, int64(vlen))
		return 0
	}
	if vlen < 0 || !c.s.store.ItemSizeOK(len(mech), 0, int(vlen)) {
		// memcached reads the data into an item, and cannot get one
		// (nor swallows a body length past 2 GiB).
		c.binError(protocol.StatusNoMemory, int64(vlen))
		return 0
	}
	data, want := c.dataBlock(0, int(vlen))
	if want > 0 {
		return req.HeadLen + want // from the header, which is put back
	}
	if i := bytes.IndexByte(mech, 0); i >= 0 {
		mech = mech[:i] // memcached passes the mechanism as a C string
	}
	b.authed = false
	var user []byte
	ok := false
	switch {
	case b.op == protocol.OpSASLAuth && !bytes.EqualFold(mech, []byte(saslMechs)):
		b.saslStep = false
	case b.op == protocol.OpSASLAuth && len(data) == 0:
		b.saslStep = true
		h := &b.h
		c.out = protocol.AppendBinaryResponse(c.out, h.Opcode, protocol.StatusAuthContinue, 0, 0, 0, h.Opaque, 0)
		c.binMarkWritten()
		return 0
	case b.op == protocol.OpSASLAuth:
		user, ok = c.s.sasl.checkPlain(data)
		b.saslStep = false
	case b.saslStep && len(data) > 0:
		// A step after an empty PLAIN auth carries the credentials; a
		// failed step leaves the exchange open.
		user, ok = c.s.sasl.checkPlain(data)
		b.saslStep = !ok
	}
	c.s.stats.authCmds.Add(1)
	if !ok {
		c.s.stats.authErrors.Add(1)
		if c.s.verbosity.Load() > 0 {
			c.s.log.Info("SASL authentication failed", zap.Int64("conn", c.id), zap.ByteString("user", user))
		}
		c.binError(protocol.StatusAuthError, 0)
		return 0
	}
	b.authed = true
	if c.s.verbosity.Load() > 0 {
		c.s.log.Info("SASL authenticated", zap.Int64("conn", c.id), zap.ByteString("user", user))
	}
	h := &b.h
	const done = "Authenticated"
	c.out = protocol.AppendBinaryResponse(c.out, h.Opcode, protocol.StatusOK, 0, 0, len(done), h.Opaque, 0)
	c.out = append(c.out, done...)
	return 0
}
