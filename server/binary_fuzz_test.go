package server

import (
	"bytes"
	"strings"
	"testing"
)

func fuzzBinaryServer(t testing.TB) *Server {
	cfg := DefaultConfig()
	cfg.MemoryLimitMB = 4
	cfg.HashPower = 8
	cfg.MaxItemSize = 1024
	cfg.Protocol = "binary"
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// comparableBinary renders replies with stat values hidden (they depend on
// the clock and the process).
func comparableBinary(b []byte) string {
	closed := bytes.HasSuffix(b, []byte("<closed>"))
	b = bytes.TrimSuffix(b, []byte("<closed>"))
	lines := renderBinary(b, casOrder{}, false)
	if closed {
		lines = append(lines, "<closed>")
	}
	return strings.Join(lines, "\n")
}

// FuzzBinary feeds arbitrary bytes to the binary protocol. The daemon must
// not panic, and the replies must not depend on how the bytes were split
// into reads, except for what memcached itself makes depend on it: a bad
// magic byte drops the replies not yet written, and memcached writes them
// whenever it runs out of input, so a split can only save some.
func FuzzBinary(f *testing.F) {
	seeds := [][]byte{
		binaryScript(),
		cat(bstore(opSet, "a", "v", 0, 0, 0, 0), bget(opGet, "a", 0)),
		cat(bget(opGetK, "miss", 1), bstore(opSet, "k", "v", 0, 0, 2, 0), braw(0x00, opNoop, 0, 0, 0, "")),
		cat(bget(0x40, "kk", 0), bget(opNoop, "", 5)),
		braw(0x80, opSet, 3, 8, 0x80000010, "\x00\x00\x00\x00\x00\x00\x00\x00big"),
		cat(braw(0x80, opGet, 3, 0, 2, "abc"), bget(opNoop, "", 1)),
		cat(bstore(opSet, "big", strings.Repeat("x", 2000), 0, 0, 4, 0), bget(opGet, "big", 5)),
		cat(barith(opIncr, "n", 1, 10, 0, 0, 0), barith(opDecrQ, "n", 3, 0, noCreate, 0, 0), bget(opGet, "n", 0)),
		cat(bget(opStat, "", 0), bget(opStat, "settings", 0), bget(opStat, "items", 0), bget(opStat, "slabs", 0), bget(opStat, "detail dump", 0)),
		cat(btouch(opGATKQ, "a", 10, 0), btouch(opTouch, "a", 0, 0), bget(opFlushQ, "", 0), bget(opQuitQ, "", 0)),
		cat(breq(opSASLAuth, "PLAIN", "", "\x00a\x00b", 0, 0), bget(opSASLList, "", 0)),
		bget(opGet, strings.Repeat("k", 300), 0),
	}
	for _, seed := range seeds {
		f.Add(seed, uint16(len(seed)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		if len(in) > 1<<16 {
			return
		}
		a, b := fuzzBinaryServer(t), fuzzBinaryServer(t)
		defer a.store.Close()
		defer b.store.Close()
		k := int(split)
		if k > len(in) {
			k = len(in)
		}
		whole := comparableBinary(feed(a, in))
		parts := comparableBinary(feed(b, in[:k], in[k:]))
		if whole == parts {
			return
		}
		w := strings.TrimSuffix(whole, "<closed>")
		if strings.HasSuffix(whole, "<closed>") && strings.HasSuffix(parts, "<closed>") && strings.HasPrefix(parts, w) {
			return
		}
		t.Fatalf("replies depend on the split at %d:\n whole %s\n split %s", k, whole, parts)
	})
}
