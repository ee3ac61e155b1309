package server

import (
	"strings"
	"testing"
)

func BenchmarkBinaryGetHit(b *testing.B) {
	c := benchConn(b)
	c.runOnce(bstore(opSet, "user:12345:profile", strings.Repeat("v", 100), 0, 0, 0, 0))
	req := bget(opGet, "user:12345:profile", 1)
	benchLoop(b, c, req)
}

func BenchmarkBinarySet(b *testing.B) {
	c := benchConn(b)
	req := bstore(opSet, "user:12345:profile", strings.Repeat("v", 100), 0, 0, 1, 0)
	benchLoop(b, c, req)
}

// BenchmarkBinaryGetKQ50 is libmemcached's multi-get of 50 keys: GETKQ
// for each, then a noop.
func BenchmarkBinaryGetKQ50(b *testing.B) {
	c := benchConn(b)
	var req []byte
	for i := 0; i < 50; i++ {
		k := "key:" + itoa(uint64(i))
		c.runOnce(bstore(opSet, k, strings.Repeat("v", 100), 0, 0, 0, 0))
		req = append(req, bget(opGetKQ, k, uint32(i))...)
	}
	req = append(req, bget(opNoop, "", 0)...)
	benchLoop(b, c, req)
}

func BenchmarkBinaryIncr(b *testing.B) {
	c := benchConn(b)
	req := barith(opIncr, "counter", 1, 0, 0, 1, 0)
	benchLoop(b, c, req)
}
