package protocol

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestBinaryRequestEncoding(t *testing.T) {
	tests := []struct {
		name               string
		op                 uint8
		extras, key, value string
		opaque             uint32
		cas                uint64
		want               string // hex
	}{
		{"noop", OpNoop, "", "", "", 0, 0,
			"800a0000" + "00000000" + "00000000" + "00000000" + "0000000000000000"},
		{"get", OpGet, "", "foo", "", 0xdeadbeef, 0,
			"80000003" + "00000000" + "00000003" + "deadbeef" + "0000000000000000" + "666f6f"},
		{"set", OpSet, "\x00\x00\x00\x05\x00\x00\x0e\x10", "k", "vv", 1, 0x0102030405060708,
			"80010001" + "08000000" + "0000000b" + "00000001" + "0102030405060708" + "0000000500000e10" + "6b" + "7676"},
	}
	for _, tc := range tests {
		got := AppendBinaryRequest(nil, tc.op, []byte(tc.extras), []byte(tc.key), []byte(tc.value), tc.opaque, tc.cas)
		if h := hex.EncodeToString(got); h != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, h, tc.want)
		}
		p, n, ok := ParseBinaryPacket(got)
		if !ok || n != len(got) {
			t.Fatalf("%s: ParseBinaryPacket = %v, %d", tc.name, ok, n)
		}
		if p.Magic != BinaryRequestMagic || p.Opcode != tc.op || p.Opaque != tc.opaque || p.CAS != tc.cas ||
			string(p.Extras) != tc.extras || string(p.Key) != tc.key || string(p.Value) != tc.value {
			t.Errorf("%s: round trip gave %+v", tc.name, p)
		}
	}
}

func TestBinaryResponseEncoding(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"ok with cas", AppendBinaryResponse(nil, OpSet, StatusOK, 0, 0, 0, 7, 42),
			"81010000" + "00000000" + "00000000" + "00000007" + "000000000000002a"},
		{"get hit header", AppendBinaryResponse(nil, OpGetK, StatusOK, 4, 3, 5, 0, 1),
			"810c0003" + "04000000" + "0000000c" + "00000000" + "0000000000000001"},
		{"not found", AppendBinaryError(nil, OpDelete, StatusKeyNotFound, 9, BinaryStatusText(StatusKeyNotFound)),
			"81040000" + "00000001" + "00000009" + "00000009" + "0000000000000000" + hex.EncodeToString([]byte("Not found"))},
		{"unknown command status", AppendBinaryError(nil, 0x40, StatusUnknown, 0, "x"),
			"81400000" + "00000081" + "00000001" + "00000000" + "0000000000000000" + "78"},
	}
	for _, tc := range tests {
		if h := hex.EncodeToString(tc.got); h != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, h, tc.want)
		}
	}
}

func TestParseBinaryHeader(t *testing.T) {
	b, _ := hex.DecodeString("80" + "21" + "0005" + "00" + "07" + "1234" + "00000010" + "cafebabe" + "ffffffffffffffff")
	h, ok := ParseBinaryHeader(b)
	want := BinaryHeader{Magic: 0x80, Opcode: OpSASLAuth, KeyLen: 5, ExtLen: 0, DataType: 7, Status: 0x1234,
		BodyLen: 16, Opaque: 0xcafebabe, CAS: ^uint64(0)}
	if !ok || h != want {
		t.Fatalf("ParseBinaryHeader = %+v, %v; want %+v", h, ok, want)
	}
	for n := 0; n < BinaryHeaderLen; n++ {
		if _, ok := ParseBinaryHeader(b[:n]); ok {
			t.Fatalf("header of %d bytes parsed", n)
		}
	}
}

func TestParseBinaryPacketRejects(t *testing.T) {
	full := AppendBinaryRequest(nil, OpSet, make([]byte, 8), []byte("key"), []byte("value"), 0, 0)
	for n := 0; n < len(full); n++ {
		if _, _, ok := ParseBinaryPacket(full[:n]); ok {
			t.Fatalf("truncated packet of %d bytes parsed", n)
		}
	}
	bad := AppendBinaryHeader(nil, BinaryRequestMagic, OpGet, 10, 4, 0, 8, 0, 0)
	bad = append(bad, make([]byte, 14)...)
	if _, _, ok := ParseBinaryPacket(bad); ok {
		t.Fatal("packet with extras+key longer than its body parsed")
	}
	two := append(append([]byte(nil), full...), full...)
	_, n, ok := ParseBinaryPacket(two)
	if !ok || n != len(full) || !bytes.Equal(two[n:], full) {
		t.Fatalf("pipelined packets: n=%d ok=%v", n, ok)
	}
}

func TestBinaryQuiet(t *testing.T) {
	quiet := map[uint8]uint8{
		OpGetQ: OpGet, OpGetKQ: OpGetK, OpSetQ: OpSet, OpAddQ: OpAdd, OpReplaceQ: OpReplace,
		OpDeleteQ: OpDelete, OpIncrementQ: OpIncrement, OpDecrementQ: OpDecrement, OpQuitQ: OpQuit,
		OpFlushQ: OpFlush, OpAppendQ: OpAppend, OpPrependQ: OpPrepend, OpGATQ: OpGAT, OpGATKQ: OpGATK,
	}
	for op := 0; op < 256; op++ {
		base, q := BinaryQuiet(uint8(op))
		want, wantQ := quiet[uint8(op)]
		if !wantQ {
			want = uint8(op)
		}
		if q != wantQ || base != want {
			t.Errorf("BinaryQuiet(%#x) = %#x, %v; want %#x, %v", op, base, q, want, wantQ)
		}
	}
}

func TestBinaryStatusText(t *testing.T) {
	want := map[uint16]string{
		StatusKeyNotFound: "Not found", StatusKeyExists: "Data exists for key.", StatusTooLarge: "Too large.",
		StatusInvalid: "Invalid arguments", StatusNotStored: "Not stored.",
		StatusDeltaBadVal: "Non-numeric server-side value for incr or decr", StatusAuthError: "Auth failure.",
		StatusUnknown: "Unknown command", StatusNoMemory: "Out of memory",
	}
	for st, text := range want {
		if got := BinaryStatusText(st); got != text {
			t.Errorf("status %#x: %q, want %q", st, got, text)
		}
	}
	if BinaryStatusText(StatusOK) != "" || BinaryStatusText(StatusAuthContinue) != "" {
		t.Error("success statuses have no error text")
	}
}

func BenchmarkBinaryParseHeader(b *testing.B) {
	req := AppendBinaryRequest(nil, OpGet, nil, []byte("user:12345:profile"), nil, 1, 0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, ok := ParseBinaryPacket(req); !ok {
			b.Fatal("parse")
		}
	}
}
