package protocol

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// parse is ParseBinaryRequest into a fresh request.
func parse(buf []byte) (BinaryRequest, BinaryVerdict) {
	var req BinaryRequest
	v := ParseBinaryRequest(buf, &req)
	return req, v
}

// binReq builds a request whose header claims extlen, keylen and bodylen,
// followed by extlen+keylen bytes (extras 0x01.., key 'k'...) and no more.
func binReq(op uint8, extlen uint8, keylen uint16, bodylen uint32) []byte {
	b := AppendBinaryHeader(nil, BinaryRequestMagic, op, keylen, extlen, 0, bodylen, 0x11223344, 0x0102030405060708)
	for i := 0; i < int(extlen); i++ {
		b = append(b, byte(i+1))
	}
	return append(b, strings.Repeat("k", int(keylen))...)
}

func TestParseBinaryRequestLengths(t *testing.T) {
	type lens struct {
		ext  uint8
		key  uint16
		body uint32
	}
	// For each base opcode: lengths it takes, and lengths it refuses with
	// BinaryInvalid (each breaking one part of its rule). The quiet
	// variant, when there is one, must judge alike.
	tests := []struct {
		op      uint8
		quiet   uint8 // 0: none
		ok, bad []lens
	}{
		{OpVersion, 0, []lens{{0, 0, 0}}, []lens{{4, 0, 4}, {0, 1, 1}, {0, 0, 1}}},
		{OpNoop, 0, []lens{{0, 0, 0}}, []lens{{1, 0, 1}, {0, 3, 3}, {0, 0, 5}}},
		{OpQuit, OpQuitQ, []lens{{0, 0, 0}}, []lens{{1, 0, 1}, {0, 3, 3}, {0, 0, 5}}},
		{OpSASLList, 0, []lens{{0, 0, 0}}, []lens{{1, 0, 1}, {0, 3, 3}, {0, 0, 5}}},
		{OpFlush, OpFlushQ, []lens{{0, 0, 0}, {4, 0, 4}},
			[]lens{{0, 1, 1}, {4, 1, 5}, {0, 0, 1}, {4, 0, 5}, {1, 0, 1}, {8, 0, 8}}},
		{OpGet, OpGetQ, []lens{{0, 1, 1}, {0, 250, 250}},
			[]lens{{0, 0, 0}, {4, 3, 7}, {0, 3, 4}, {0, 251, 251}}},
		{OpGetK, OpGetKQ, []lens{{0, 3, 3}}, []lens{{0, 0, 0}, {4, 3, 7}, {0, 3, 4}}},
		{OpDelete, OpDeleteQ, []lens{{0, 3, 3}}, []lens{{0, 0, 0}, {4, 3, 7}, {0, 3, 4}}},
		{OpIncrement, OpIncrementQ, []lens{{20, 3, 23}},
			[]lens{{20, 0, 20}, {8, 3, 11}, {21, 3, 24}, {0, 3, 3}, {20, 3, 24}}},
		{OpDecrement, OpDecrementQ, []lens{{20, 3, 23}},
			[]lens{{20, 0, 20}, {8, 3, 11}, {21, 3, 24}, {0, 3, 3}, {20, 3, 24}}},
		{OpSet, OpSetQ, []lens{{8, 3, 11}, {8, 3, 100}, {8, 250, 1 << 30}},
			[]lens{{8, 0, 8}, {0, 3, 5}, {4, 3, 9}, {9, 3, 12}, {8, 251, 300}}},
		{OpAdd, OpAddQ, []lens{{8, 3, 11}, {8, 3, 100}}, []lens{{8, 0, 8}, {0, 3, 5}, {20, 3, 23}}},
		{OpReplace, OpReplaceQ, []lens{{8, 3, 11}, {8, 3, 100}}, []lens{{8, 0, 8}, {0, 3, 5}, {20, 3, 23}}},
		{OpAppend, OpAppendQ, []lens{{0, 3, 3}, {0, 3, 100}}, []lens{{0, 0, 5}, {8, 3, 11}}},
		{OpPrepend, OpPrependQ, []lens{{0, 3, 3}, {0, 3, 100}}, []lens{{0, 0, 5}, {8, 3, 11}}},
		{OpSASLAuth, 0, []lens{{0, 5, 5}, {0, 5, 20}}, []lens{{0, 0, 5}, {4, 5, 9}}},
		{OpSASLStep, 0, []lens{{0, 5, 5}, {0, 5, 20}}, []lens{{0, 0, 5}, {4, 5, 9}}},
		{OpTouch, 0, []lens{{4, 3, 7}, {4, 3, 50}}, []lens{{4, 0, 4}, {0, 3, 3}, {8, 3, 11}}},
		{OpGAT, OpGATQ, []lens{{4, 3, 7}, {4, 3, 50}}, []lens{{4, 0, 4}, {0, 3, 3}, {8, 3, 11}}},
		{OpGATK, OpGATKQ, []lens{{4, 3, 7}, {4, 3, 50}}, []lens{{4, 0, 4}, {0, 3, 3}, {8, 3, 11}}},
		{OpStat, 0, []lens{{0, 0, 0}, {0, 5, 5}, {0, 0, 9}}, []lens{{4, 0, 4}, {1, 5, 6}}},
	}
	for _, tc := range tests {
		ops := []uint8{tc.op}
		if tc.quiet != 0 {
			ops = append(ops, tc.quiet)
		}
		for _, op := range ops {
			for _, l := range tc.ok {
				buf := binReq(op, l.ext, l.key, l.body)
				req, v := parse(buf)
				if v != BinaryOK {
					t.Errorf("op %#x %+v: verdict %d, want BinaryOK", op, l, v)
					continue
				}
				if req.Op != tc.op || req.Quiet != (op != tc.op) {
					t.Errorf("op %#x: Op %#x Quiet %v, want %#x %v", op, req.Op, req.Quiet, tc.op, op != tc.op)
				}
				if req.HeadLen != len(buf) || len(req.Extras) != int(l.ext) || len(req.Key) != int(l.key) ||
					req.ValueLen != int32(l.body-uint32(l.ext)-uint32(l.key)) {
					t.Errorf("op %#x %+v: HeadLen %d Extras %d Key %d ValueLen %d", op, l, req.HeadLen, len(req.Extras), len(req.Key), req.ValueLen)
				}
			}
			for _, l := range tc.bad {
				if _, v := parse(binReq(op, l.ext, l.key, l.body)); v != BinaryInvalid {
					t.Errorf("op %#x %+v: verdict %d, want BinaryInvalid", op, l, v)
				}
			}
		}
	}
}

func TestParseBinaryRequestVerdicts(t *testing.T) {
	get := binReq(OpGet, 0, 3, 3)
	badMagic := append([]byte{}, get...)
	badMagic[0] = BinaryResponseMagic
	tests := []struct {
		name    string
		buf     []byte
		want    BinaryVerdict
		headLen int
	}{
		{"empty", nil, BinaryIncomplete, BinaryHeaderLen},
		{"part of the header", get[:23], BinaryIncomplete, BinaryHeaderLen},
		{"header without its key", get[:25], BinaryIncomplete, 27},
		{"bad magic", badMagic, BinaryBadMagic, 0},
		{"bad magic, key not in", badMagic[:24], BinaryBadMagic, 0},
		{"whole", get, BinaryOK, 27},
		{"value need not be in", binReq(OpSet, 8, 3, 1000), BinaryOK, 35},
		// The body check comes before the key length and opcode checks.
		{"body shorter than key", binReq(OpGet, 0, 3, 2), BinaryBodyTooShort, 27},
		{"body shorter than extras", binReq(OpSet, 8, 3, 10), BinaryBodyTooShort, 35},
		{"body too short, key too long", binReq(OpGet, 0, 300, 2), BinaryBodyTooShort, 324},
		{"body too short, unknown opcode", binReq(0x1b, 0, 3, 0), BinaryBodyTooShort, 27},
		// The key length comes before the opcode.
		{"key too long", binReq(OpGet, 0, 251, 251), BinaryInvalid, 275},
		{"key too long, stat", binReq(OpStat, 0, 251, 251), BinaryInvalid, 275},
		{"key too long, unknown opcode", binReq(0x1b, 0, 251, 251), BinaryInvalid, 275},
		{"unknown opcode", binReq(0x1b, 2, 3, 100), BinaryUnknownCommand, 29},
		{"unknown opcode 0xff", binReq(0xff, 0, 0, 0), BinaryUnknownCommand, 24},
		{"unknown opcode, any lengths", binReq(0x30, 255, 250, 1<<30), BinaryUnknownCommand, 24 + 255 + 250},
		// A body past 1 GiB, whatever the opcode (1.6.45), after the
		// body-too-short check and before the key length.
		{"unknown opcode, body past 1 GiB", binReq(0x30, 255, 250, 1<<32-1), BinaryBodyTooLong, 24 + 255 + 250},
		{"set, body past 1 GiB", binReq(OpSet, 8, 3, 1<<30+1), BinaryBodyTooLong, 35},
		{"key too long, body past 1 GiB", binReq(OpGet, 0, 251, 1<<31), BinaryBodyTooLong, 275},
	}
	for _, tc := range tests {
		req, v := parse(tc.buf)
		if v != tc.want || req.HeadLen != tc.headLen {
			t.Errorf("%s: verdict %d HeadLen %d, want %d %d", tc.name, v, req.HeadLen, tc.want, tc.headLen)
		}
	}
}

func TestParseBinaryRequestExtras(t *testing.T) {
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name                  string
		op                    uint8
		extras                []byte
		value                 string
		flags, exptime, delay uint32
		delta, initial        uint64
	}{
		{name: "set", op: OpSet, extras: cat(be32(0xdeadbeef), be32(3600)), value: "hello", flags: 0xdeadbeef, exptime: 3600},
		{name: "addq", op: OpAddQ, extras: cat(be32(1), be32(0xffffffff)), flags: 1, exptime: 0xffffffff},
		{name: "replace", op: OpReplace, extras: cat(be32(7), be32(0)), value: "v", flags: 7},
		{name: "incr", op: OpIncrement, extras: cat(be64(1<<63|5), be64(42), be32(0xffffffff)), delta: 1<<63 | 5, initial: 42, exptime: 0xffffffff},
		{name: "decrq", op: OpDecrementQ, extras: cat(be64(1), be64(0), be32(100)), delta: 1, exptime: 100},
		{name: "flush", op: OpFlush},
		{name: "flush delay", op: OpFlushQ, extras: be32(30), delay: 30},
		{name: "touch", op: OpTouch, extras: be32(60), exptime: 60},
		{name: "gatq", op: OpGATQ, extras: be32(2592001), exptime: 2592001},
		{name: "gatk", op: OpGATK, extras: be32(1), exptime: 1},
		{name: "append", op: OpAppend, value: "tail"},
	}
	for _, tc := range tests {
		key := []byte("key")
		if tc.op == OpFlush || tc.op == OpFlushQ {
			key = nil
		}
		buf := AppendBinaryRequest(nil, tc.op, tc.extras, key, []byte(tc.value), 9, 0)
		req, v := parse(buf)
		if v != BinaryOK {
			t.Errorf("%s: verdict %d", tc.name, v)
			continue
		}
		if req.Flags != tc.flags || req.Exptime != tc.exptime || req.Delay != tc.delay || req.Delta != tc.delta || req.Initial != tc.initial {
			t.Errorf("%s: got flags %d exptime %d delay %d delta %d initial %d", tc.name, req.Flags, req.Exptime, req.Delay, req.Delta, req.Initial)
		}
		if !bytes.Equal(req.Extras, tc.extras) || !bytes.Equal(req.Key, key) || int(req.ValueLen) != len(tc.value) ||
			string(buf[req.HeadLen:req.HeadLen+int(req.ValueLen)]) != tc.value {
			t.Errorf("%s: extras %x key %q value %d bytes", tc.name, req.Extras, req.Key, req.ValueLen)
		}
		if req.Header.Opaque != 9 || req.Header.Opcode != tc.op {
			t.Errorf("%s: header %+v", tc.name, req.Header)
		}
	}
}

// TestParseBinaryRequestValueLen: the longest body memcached 1.6.45 reads
// (1 GiB) gives its value's length; a byte more is BinaryBodyTooLong.
func TestParseBinaryRequestValueLen(t *testing.T) {
	req, v := parse(binReq(OpSet, 8, 3, BinaryBodyMax))
	if v != BinaryOK || req.ValueLen != BinaryBodyMax-11 {
		t.Errorf("verdict %d ValueLen %d", v, req.ValueLen)
	}
	if _, v := parse(binReq(OpSet, 8, 3, BinaryBodyMax+1)); v != BinaryBodyTooLong {
		t.Errorf("body of 1 GiB + 1: verdict %d", v)
	}
}

// TestParseBinaryRequestSlicesCapped: appending to Extras or Key cannot
// overwrite the buffer after them.
func TestParseBinaryRequestSlicesCapped(t *testing.T) {
	buf := AppendBinaryRequest(nil, OpSet, make([]byte, 8), []byte("key"), []byte("value"), 0, 0)
	req, _ := parse(buf)
	if cap(req.Extras) != 8 || cap(req.Key) != 3 {
		t.Errorf("cap(Extras) %d cap(Key) %d", cap(req.Extras), cap(req.Key))
	}
}

// legacyVerdict is the switch server.binDispatch held before the rules
// moved here (the checks of proto_bin.c's dispatch_bin_command, without
// the SASL gate): the table must judge every header as it did.
func legacyVerdict(h BinaryHeader) BinaryVerdict {
	extlen, keylen, bodylen := uint32(h.ExtLen), uint32(h.KeyLen), h.BodyLen
	if keylen+extlen > bodylen {
		return BinaryBodyTooShort
	}
	if bodylen > BinaryBodyMax {
		return BinaryBodyTooLong
	}
	if keylen > KeyMaxLength {
		return BinaryInvalid
	}
	bad := false
	op, _ := BinaryQuiet(h.Opcode)
	switch op {
	case OpVersion, OpNoop, OpQuit, OpSASLList:
		bad = extlen != 0 || keylen != 0 || bodylen != 0
	case OpFlush:
		bad = keylen != 0 || bodylen != extlen || (extlen != 0 && extlen != 4)
	case OpGet, OpGetK:
		bad = extlen != 0 || bodylen != keylen || keylen == 0
	case OpTouch, OpGAT, OpGATK:
		bad = extlen != 4 || keylen == 0
	case OpSet, OpAdd, OpReplace:
		bad = extlen != 8 || keylen == 0 || bodylen < keylen+8
	case OpAppend, OpPrepend:
		bad = extlen != 0 || keylen == 0
	case OpDelete:
		bad = keylen == 0 || extlen != 0 || bodylen != keylen
	case OpIncrement, OpDecrement:
		bad = keylen == 0 || extlen != 20 || bodylen != keylen+extlen
	case OpStat:
		bad = extlen != 0
	case OpSASLAuth, OpSASLStep:
		bad = extlen != 0 || keylen == 0
	default:
		return BinaryUnknownCommand
	}
	if bad {
		return BinaryInvalid
	}
	return BinaryOK
}

// TestParseBinaryRequestMatchesLegacy compares the table with the old
// switch for every opcode over lengths around each rule's edges.
func TestParseBinaryRequestMatchesLegacy(t *testing.T) {
	exts := []uint8{0, 1, 3, 4, 5, 7, 8, 9, 16, 19, 20, 21, 255}
	keys := []uint16{0, 1, 2, 249, 250, 251, 1000}
	n := 0
	for op := 0; op < 256; op++ {
		for _, e := range exts {
			for _, k := range keys {
				base := uint32(e) + uint32(k)
				bodies := []uint32{0, 1, 4, 8, 20, base + 1, base + 8, base + 20, 1 << 31, 1<<32 - 1}
				if base > 0 {
					bodies = append(bodies, base-1, base)
				} else {
					bodies = append(bodies, base)
				}
				for _, body := range bodies {
					buf := binReq(uint8(op), e, k, body)
					req, v := parse(buf)
					if want := legacyVerdict(req.Header); v != want {
						t.Fatalf("op %#x ext %d key %d body %d: verdict %d, legacy %d", op, e, k, body, v, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d headers", n)
}

func TestParseBinaryRequestDoesNotAllocate(t *testing.T) {
	get := binReq(OpGetK, 0, 20, 20)
	set := AppendBinaryRequest(nil, OpSet, make([]byte, 8), []byte("user:1234567890:profile"), make([]byte, 100), 1, 0)
	var req BinaryRequest
	allocs := testing.AllocsPerRun(100, func() {
		ParseBinaryRequest(get, &req)
		ParseBinaryRequest(set, &req)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per run, want 0", allocs)
	}
}

func BenchmarkParseBinaryRequestGet(b *testing.B) {
	buf := AppendBinaryRequest(nil, OpGetK, nil, []byte("user:1234567890:profile"), nil, 1, 0)
	var req BinaryRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v := ParseBinaryRequest(buf, &req); v != BinaryOK {
			b.Fatal(v)
		}
	}
}

func BenchmarkParseBinaryRequestSet(b *testing.B) {
	buf := AppendBinaryRequest(nil, OpSetQ, make([]byte, 8), []byte("user:1234567890:profile"), make([]byte, 100), 1, 0)
	var req BinaryRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v := ParseBinaryRequest(buf, &req); v != BinaryOK {
			b.Fatal(v)
		}
	}
}

func BenchmarkParseBinaryRequestIncr(b *testing.B) {
	buf := AppendBinaryRequest(nil, OpIncrement, make([]byte, 20), []byte("counter"), nil, 1, 0)
	var req BinaryRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v := ParseBinaryRequest(buf, &req); v != BinaryOK {
			b.Fatal(v)
		}
	}
}
