package protocol

import (
	"encoding/binary"
	"testing"
)

// sameRequest compares two requests, slices by where they point.
func sameRequest(a, b *BinaryRequest) bool {
	sameSlice := func(x, y []byte) bool {
		return len(x) == len(y) && cap(x) == cap(y) && (x == nil) == (y == nil) && (len(x) == 0 || &x[0] == &y[0])
	}
	return a.Header == b.Header && a.Op == b.Op && a.Quiet == b.Quiet && sameSlice(a.Extras, b.Extras) && sameSlice(a.Key, b.Key) &&
		a.HeadLen == b.HeadLen && a.ValueLen == b.ValueLen && a.Flags == b.Flags && a.Exptime == b.Exptime &&
		a.Delay == b.Delay && a.Delta == b.Delta && a.Initial == b.Initial
}

// FuzzBinaryRequest: ParseBinaryRequest never panics, its slices lie
// within the buffer where the header says, a request parsed over an
// earlier one keeps nothing of it, it judges as the old server switch did
// (legacyVerdict), and it decodes the extras it accepts.
func FuzzBinaryRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendBinaryRequest(nil, OpNoop, nil, nil, nil, 0, 0))
	f.Add(AppendBinaryRequest(nil, OpGetKQ, nil, []byte("key"), nil, 1, 0))
	f.Add(AppendBinaryRequest(nil, OpSet, make([]byte, 8), []byte("key"), []byte("value"), 2, 3))
	f.Add(AppendBinaryRequest(nil, OpIncrementQ, make([]byte, 20), []byte("n"), nil, 0, 0))
	f.Add(AppendBinaryRequest(nil, OpFlush, []byte{0, 0, 0, 9}, nil, nil, 0, 0))
	f.Add(AppendBinaryRequest(nil, OpGATK, []byte{0, 0, 1, 0}, []byte("k"), nil, 0, 0))
	f.Add(AppendBinaryRequest(nil, OpStat, nil, []byte("items"), nil, 0, 0))
	f.Add(AppendBinaryRequest(nil, OpSASLAuth, nil, []byte("PLAIN"), []byte("\x00u\x00p"), 0, 0))
	f.Add(AppendBinaryRequest(nil, 0x1b, []byte{1}, []byte("k"), []byte("body"), 0, 0))
	f.Add(AppendBinaryHeader(nil, BinaryRequestMagic, OpGet, 3, 0, 0, 2, 0, 0))
	f.Fuzz(func(t *testing.T, buf []byte) {
		req, v := parse(buf)
		// A request parsed over an earlier one keeps nothing of it.
		dirty := BinaryRequest{Op: 0xff, Quiet: true, Extras: buf, Key: buf, HeadLen: -1, ValueLen: -1,
			Flags: 1, Exptime: 2, Delay: 3, Delta: 4, Initial: 5, Header: BinaryHeader{Magic: 9, CAS: 9}}
		if dv := ParseBinaryRequest(buf, &dirty); dv != v || !sameRequest(&dirty, &req) {
			t.Fatalf("parsed over an earlier request: %d %+v, fresh: %d %+v", dv, dirty, v, req)
		}
		if len(buf) < BinaryHeaderLen {
			if v != BinaryIncomplete || req.HeadLen != BinaryHeaderLen {
				t.Fatalf("short buffer: verdict %d HeadLen %d", v, req.HeadLen)
			}
			return
		}
		if buf[0] != BinaryRequestMagic {
			if v != BinaryBadMagic {
				t.Fatalf("magic %#x: verdict %d", buf[0], v)
			}
			return
		}
		h, _ := ParseBinaryHeader(buf)
		if req.Header != h {
			t.Fatalf("header %+v, want %+v", req.Header, h)
		}
		headLen := BinaryHeaderLen + int(h.ExtLen) + int(h.KeyLen)
		if req.HeadLen != headLen {
			t.Fatalf("HeadLen %d, want %d", req.HeadLen, headLen)
		}
		if len(buf) < headLen {
			if v != BinaryIncomplete {
				t.Fatalf("%d of %d bytes: verdict %d", len(buf), headLen, v)
			}
			return
		}
		if want := legacyVerdict(h); v != want {
			t.Fatalf("verdict %d, legacy %d", v, want)
		}
		if len(req.Extras) != int(h.ExtLen) || len(req.Key) != int(h.KeyLen) ||
			(len(req.Extras) > 0 && &req.Extras[0] != &buf[BinaryHeaderLen]) ||
			(len(req.Key) > 0 && &req.Key[0] != &buf[BinaryHeaderLen+int(h.ExtLen)]) {
			t.Fatalf("extras %d key %d bytes not where the header says", len(req.Extras), len(req.Key))
		}
		if op, quiet := BinaryQuiet(h.Opcode); req.Op != op || req.Quiet != quiet {
			t.Fatalf("Op %#x Quiet %v, want %#x %v", req.Op, req.Quiet, op, quiet)
		}
		if v != BinaryOK {
			return
		}
		if req.ValueLen != int32(h.BodyLen-uint32(headLen-BinaryHeaderLen)) {
			t.Fatalf("ValueLen %d for body %d", req.ValueLen, h.BodyLen)
		}
		ext := req.Extras
		switch req.Op {
		case OpSet, OpAdd, OpReplace:
			if req.Flags != binary.BigEndian.Uint32(ext) || req.Exptime != binary.BigEndian.Uint32(ext[4:]) {
				t.Fatalf("set extras %x: flags %d exptime %d", ext, req.Flags, req.Exptime)
			}
		case OpIncrement, OpDecrement:
			if req.Delta != binary.BigEndian.Uint64(ext) || req.Initial != binary.BigEndian.Uint64(ext[8:]) ||
				req.Exptime != binary.BigEndian.Uint32(ext[16:]) {
				t.Fatalf("incr extras %x: delta %d initial %d exptime %d", ext, req.Delta, req.Initial, req.Exptime)
			}
		case OpTouch, OpGAT, OpGATK:
			if req.Exptime != binary.BigEndian.Uint32(ext) {
				t.Fatalf("touch extras %x: exptime %d", ext, req.Exptime)
			}
		case OpFlush:
			if len(ext) == 4 && req.Delay != binary.BigEndian.Uint32(ext) || len(ext) == 0 && req.Delay != 0 {
				t.Fatalf("flush extras %x: delay %d", ext, req.Delay)
			}
		}
	})
}
