package protocol

import (
	"bytes"
	"testing"
)

func TestParseUDPHeader(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		single bool
		id     uint16
	}{
		{"\x12\x34\x00\x00\x00\x01\x00\x00get a\r\n", true, true, 0x1234},
		{"\x00\x01\x00\x05\x00\x01\xff\xffget a\r\n", true, true, 1}, // seq and reserved are not looked at
		{"\x00\x01\x00\x00\x00\x02\x00\x00get a\r\n", true, false, 1},
		{"\x00\x01\x00\x00\x00\x00\x00\x00x", true, false, 1},
		{"\x00\x01\x00\x00\x00\x01\x00\x00", false, false, 0}, // header only
		{"\x00\x01", false, false, 0},
	} {
		h, ok := ParseUDPHeader([]byte(tc.in))
		if ok != tc.ok || (ok && (h.Single() != tc.single || h.RequestID != tc.id)) {
			t.Errorf("ParseUDPHeader(%q) = %+v, %v; want ok %v single %v id %d", tc.in, h, ok, tc.ok, tc.single, tc.id)
		}
	}
}

func TestPutUDPHeader(t *testing.T) {
	p := bytes.Repeat([]byte{0xee}, UDPHeaderLen+1)
	PutUDPHeader(p, 0xbeef, 3, 7)
	if want := []byte{0xbe, 0xef, 0, 3, 0, 7, 0, 0, 0xee}; !bytes.Equal(p, want) {
		t.Fatalf("header % x, want % x", p, want)
	}
	h, ok := ParseUDPHeader(p)
	if !ok || h != (UDPHeader{RequestID: 0xbeef, Seq: 3, Total: 7}) {
		t.Fatalf("round trip %+v %v", h, ok)
	}
}

func TestUDPDatagrams(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {UDPDataLen, 1}, {UDPDataLen + 1, 2}, {UDPDataLen * 0xffff, 0xffff}, {UDPDataLen*0xffff + 1, 0xffff},
	} {
		if got := UDPDatagrams(tc.n); got != tc.want {
			t.Errorf("UDPDatagrams(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func FuzzUDPHeader(f *testing.F) {
	f.Add([]byte("\x12\x34\x00\x00\x00\x01\x00\x00get a\r\n"))
	f.Add([]byte("\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := ParseUDPHeader(b)
		if ok != (len(b) > UDPHeaderLen) {
			t.Fatalf("ok %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		p := make([]byte, UDPHeaderLen)
		PutUDPHeader(p, h.RequestID, int(h.Seq), int(h.Total))
		if !bytes.Equal(p[:6], b[:6]) {
			t.Fatalf("header % x does not round-trip: % x", b[:UDPHeaderLen], p)
		}
	})
}
