package protocol

import "encoding/binary"

// The binary request grammar, as memcached 1.6.18's proto_bin.c judges a
// request once its header, extras and key are read
// (try_read_command_binary, then dispatch_bin_command): which lengths
// each opcode takes, and what the client gets when they are wrong.

// BinaryVerdict is what ParseBinaryRequest makes of a request.
type BinaryVerdict uint8

const (
	// BinaryOK: a well-formed request of a known opcode; run it.
	BinaryOK BinaryVerdict = iota
	// BinaryIncomplete: the buffer does not yet hold the HeadLen bytes
	// (header, then extras and key) needed to judge the request.
	BinaryIncomplete
	// BinaryBadMagic: the first byte is not BinaryRequestMagic. memcached
	// closes the connection without a reply.
	BinaryBadMagic
	// BinaryBodyTooShort: the extras and key are longer than the body.
	// memcached answers StatusUnknown and closes the connection.
	BinaryBodyTooShort
	// BinaryBodyTooLong: a body past 1 GiB (memcached 1.6.45's
	// ITEM_SIZE_MAX_UPPER_LIMIT), whatever the opcode: StatusInvalid, then
	// close.
	BinaryBodyTooLong
	// BinaryInvalid: the key is longer than KeyMaxLength, or the lengths
	// break the opcode's rule (memcached's protocol_error): StatusInvalid,
	// then close.
	BinaryInvalid
	// BinaryUnknownCommand: an opcode memcached does not dispatch. It
	// answers StatusUnknown and swallows the body (after the extras and
	// key, which it has read); the connection stays open.
	BinaryUnknownCommand
)

// BinaryRequest is a binary request as far as its header, extras and key
// go; its slices point into the buffer it was parsed from. The value, for
// the opcodes that carry one, is the ValueLen bytes after the key.
type BinaryRequest struct {
	Header BinaryHeader
	Op     uint8 // Header.Opcode with quiet variants mapped to the base opcode
	Quiet  bool
	Extras []byte
	Key    []byte
	// HeadLen is the length of header, extras and key. With
	// BinaryIncomplete it is the number of bytes wanted before the request
	// can be judged (BinaryHeaderLen while the header is not all in).
	HeadLen int
	// ValueLen is the body after the extras and key (at most
	// BinaryBodyMax). Set with BinaryOK.
	ValueLen int32

	// The extras, decoded with BinaryOK.
	Flags   uint32 // set, add, replace
	Exptime uint32 // set, add, replace, incr/decr (0xffffffff: do not create), touch, gat, gatk
	Delay   uint32 // flush (0 without extras)
	Delta   uint64 // incr/decr
	Initial uint64 // incr/decr
}

// BinaryBodyMax is the longest body memcached 1.6.45 reads (1 GiB).
const BinaryBodyMax = 1 << 30

// ParseBinaryRequest judges the request at the start of buf and fills req
// (all of it: nothing of an earlier request is left). It writes through a
// pointer because a BinaryRequest returned by value costs a copy per
// request on the server's hot path. Checks run in
// memcached's order: a whole header; the magic byte; header, extras and
// key all in buf; extras and key within the body; the body at most
// BinaryBodyMax; the key length; then the opcode's own rule (binaryRules). Unless the verdict is BinaryIncomplete
// or BinaryBadMagic, Header, Op, Quiet, Extras, Key and HeadLen are set.
//
// A server that requires SASL authentication refuses unauthenticated
// requests after the BinaryBodyTooShort check and before the others; that
// gate is the caller's: on BinaryBodyTooShort it must answer that first.
func ParseBinaryRequest(buf []byte, req *BinaryRequest) BinaryVerdict {
	*req = BinaryRequest{}
	if len(buf) < BinaryHeaderLen {
		req.HeadLen = BinaryHeaderLen
		return BinaryIncomplete
	}
	if buf[0] != BinaryRequestMagic {
		return BinaryBadMagic
	}
	req.Header, _ = ParseBinaryHeader(buf)
	h := &req.Header
	extlen, keylen := int(h.ExtLen), int(h.KeyLen)
	req.HeadLen = BinaryHeaderLen + extlen + keylen
	if len(buf) < req.HeadLen {
		return BinaryIncomplete
	}
	req.Extras = buf[BinaryHeaderLen : BinaryHeaderLen+extlen : BinaryHeaderLen+extlen]
	req.Key = buf[BinaryHeaderLen+extlen : req.HeadLen : req.HeadLen]
	req.Op, req.Quiet = BinaryQuiet(h.Opcode)
	if uint32(extlen+keylen) > h.BodyLen {
		return BinaryBodyTooShort
	}
	if h.BodyLen > BinaryBodyMax {
		return BinaryBodyTooLong
	}
	if keylen > KeyMaxLength {
		return BinaryInvalid
	}
	rule := &binaryRules[req.Op]
	if !rule.known {
		return BinaryUnknownCommand
	}
	if !rule.allows(h.ExtLen, h.KeyLen, h.BodyLen) {
		return BinaryInvalid
	}
	req.ValueLen = int32(h.BodyLen - uint32(extlen+keylen))
	ext := req.Extras
	switch req.Op {
	case OpSet, OpAdd, OpReplace:
		req.Flags = binary.BigEndian.Uint32(ext)
		req.Exptime = binary.BigEndian.Uint32(ext[4:])
	case OpIncrement, OpDecrement:
		req.Delta = binary.BigEndian.Uint64(ext)
		req.Initial = binary.BigEndian.Uint64(ext[8:])
		req.Exptime = binary.BigEndian.Uint32(ext[16:])
	case OpTouch, OpGAT, OpGATK:
		req.Exptime = binary.BigEndian.Uint32(ext)
	case OpFlush:
		if len(ext) == 4 {
			req.Delay = binary.BigEndian.Uint32(ext)
		}
	}
	return BinaryOK
}

// binaryRule is the lengths one base opcode takes.
type binaryRule struct {
	known bool
	ext   uint8 // the extras length it takes...
	ext0  bool  // ...or none at all
	key   keyRule
	// exact: the body is the extras and key, nothing more. Otherwise any
	// body at least that long (the BinaryBodyTooShort check) will do.
	exact bool
}

type keyRule uint8

const (
	keyNone     keyRule = iota // no key
	keyRequired                // a key of at least one byte
	keyAny                     // a key or none
)

func (r *binaryRule) allows(extlen uint8, keylen uint16, bodylen uint32) bool {
	if extlen != r.ext && !(r.ext0 && extlen == 0) {
		return false
	}
	switch r.key {
	case keyNone:
		if keylen != 0 {
			return false
		}
	case keyRequired:
		if keylen == 0 {
			return false
		}
	}
	return !r.exact || bodylen == uint32(extlen)+uint32(keylen)
}

// binaryRules is dispatch_bin_command's switch, indexed by base opcode;
// quiet opcodes take the rule of their base (BinaryQuiet). An opcode
// without a rule is BinaryUnknownCommand.
var binaryRules = [256]binaryRule{
	OpVersion:   {known: true, key: keyNone, exact: true},
	OpNoop:      {known: true, key: keyNone, exact: true},
	OpQuit:      {known: true, key: keyNone, exact: true},
	OpSASLList:  {known: true, key: keyNone, exact: true},
	OpFlush:     {known: true, ext: 4, ext0: true, key: keyNone, exact: true},
	OpGet:       {known: true, key: keyRequired, exact: true},
	OpGetK:      {known: true, key: keyRequired, exact: true},
	OpDelete:    {known: true, key: keyRequired, exact: true},
	OpIncrement: {known: true, ext: 20, key: keyRequired, exact: true},
	OpDecrement: {known: true, ext: 20, key: keyRequired, exact: true},
	// memcached also asks set, add and replace for a body of at least
	// key+8, which the BinaryBodyTooShort check has already ensured.
	OpSet:      {known: true, ext: 8, key: keyRequired},
	OpAdd:      {known: true, ext: 8, key: keyRequired},
	OpReplace:  {known: true, ext: 8, key: keyRequired},
	OpAppend:   {known: true, key: keyRequired},
	OpPrepend:  {known: true, key: keyRequired},
	OpSASLAuth: {known: true, key: keyRequired},
	OpSASLStep: {known: true, key: keyRequired},
	OpTouch:    {known: true, ext: 4, key: keyRequired},
	OpGAT:      {known: true, ext: 4, key: keyRequired},
	OpGATK:     {known: true, ext: 4, key: keyRequired},
	OpStat:     {known: true, key: keyAny},
}
