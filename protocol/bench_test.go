package protocol

import "testing"

func BenchmarkTokenizeGet(b *testing.B) {
	line := []byte("get user:1234567890:profile")
	var t Tokens
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t.Tokenize(line)
	}
}

func BenchmarkTokenizeSet(b *testing.B) {
	line := []byte("set user:1234567890:profile 0 3600 100 noreply")
	var t Tokens
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t.Tokenize(line)
		if _, ok := ParseUint32(t.T[2]); !ok {
			b.Fatal("flags")
		}
		if _, ok := ParseInt32(t.T[3]); !ok {
			b.Fatal("exptime")
		}
		if _, ok := ParseInt32(t.T[4]); !ok {
			b.Fatal("bytes")
		}
	}
}

func BenchmarkAppendValue(b *testing.B) {
	key := []byte("user:1234567890:profile")
	data := make([]byte, 100)
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = AppendValue(dst[:0], key, 0, data, true, uint64(i))
	}
}
