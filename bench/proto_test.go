package bench

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestTextAndMetaEncodings(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  []byte
		want string
	}{
		{"text get", textCodec{}.appendGet(nil, "k:", []uint64{7}), "get k:7\r\n"},
		{"text multi-get", textCodec{}.appendGet(nil, "k:", []uint64{1, 22, 333}), "get k:1 k:22 k:333\r\n"},
		{"text set", textCodec{}.appendSet(nil, "k:", 5, []byte("hello"), 60), "set k:5 0 60 5\r\nhello\r\n"},
		{"meta get", metaCodec{}.appendGet(nil, "k:", []uint64{7}), "mg k:7 v k\r\n"},
		{"meta multi-get", metaCodec{}.appendGet(nil, "k:", []uint64{1, 2}), "mg k:1 v k q\r\nmg k:2 v k q\r\nmn\r\n"},
		{"meta set", metaCodec{}.appendSet(nil, "k:", 5, []byte("hi"), 0), "ms k:5 2\r\nhi\r\n"},
		{"meta set ttl", metaCodec{}.appendSet(nil, "k:", 5, []byte("hi"), 30), "ms k:5 2 T30\r\nhi\r\n"},
	} {
		if string(tt.got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestBinaryEncoding(t *testing.T) {
	b := binaryCodec{}.appendSet(nil, "k:", 42, []byte("value"), 300)
	// header 24 + extras 8 + key "k:42" 4 + value 5
	if len(b) != 24+8+4+5 {
		t.Fatalf("set is %d bytes", len(b))
	}
	if b[0] != 0x80 || b[1] != binOpSet || binary.BigEndian.Uint16(b[2:]) != 4 || b[4] != 8 ||
		binary.BigEndian.Uint32(b[8:]) != 8+4+5 || binary.BigEndian.Uint32(b[28:]) != 300 ||
		string(b[32:36]) != "k:42" || string(b[36:]) != "value" {
		t.Fatalf("bad set encoding % x", b)
	}
	g := binaryCodec{}.appendGet(nil, "k:", []uint64{1, 2})
	if len(g) != 2*(24+3)+24 || g[1] != binOpGetKQ || g[27+1] != binOpGetKQ || g[54+1] != binOpNoop ||
		binary.BigEndian.Uint32(g[8:]) != 3 || string(g[24:27]) != "k:1" {
		t.Fatalf("bad multi-get encoding % x", g)
	}
	if one := (binaryCodec{}).appendGet(nil, "k:", []uint64{9}); one[1] != binOpGetK || len(one) != 27 {
		t.Fatalf("bad get encoding % x", one)
	}
}

func newTestReader(s string) *reader {
	return &reader{Reader: bufio.NewReaderSize(strings.NewReader(s), 64)}
}

func TestReplyParsing(t *testing.T) {
	type hit struct{ k, v string }
	for _, tt := range []struct {
		name    string
		c       codec
		reply   string
		nkeys   int
		set     bool
		hits    []hit
		errKind string
		desync  bool
	}{
		{name: "text hits", c: textCodec{}, nkeys: 3,
			reply: "VALUE a 0 3\r\nabc\r\nVALUE bb 5 100\r\n" + strings.Repeat("x", 100) + "\r\nEND\r\n",
			hits:  []hit{{"a", "abc"}, {"bb", strings.Repeat("x", 100)}}},
		{name: "text miss", c: textCodec{}, nkeys: 1, reply: "END\r\n"},
		{name: "text stored", c: textCodec{}, set: true, reply: "STORED\r\n"},
		{name: "text out of memory", c: textCodec{}, set: true, reply: "SERVER_ERROR out of memory storing object\r\n",
			errKind: "SERVER_ERROR out of memory storing object"},
		{name: "text not stored", c: textCodec{}, set: true, reply: "NOT_STORED\r\n", errKind: "NOT_STORED"},
		{name: "text garbage", c: textCodec{}, set: true, reply: "WHAT\r\n", errKind: `protocol: unexpected reply "WHAT"`, desync: true},
		{name: "text short value", c: textCodec{}, nkeys: 1, reply: "VALUE a 0 3\r\nabcd\r\nEND\r\n",
			errKind: "protocol: value not followed by CRLF", desync: true},
		{name: "text error in a get", c: textCodec{}, nkeys: 1, reply: "SERVER_ERROR busy\r\n", errKind: "SERVER_ERROR busy", desync: true},
		{name: "meta hit", c: metaCodec{}, nkeys: 1, reply: "VA 2 kfoo\r\nhi\r\n", hits: []hit{{"foo", "hi"}}},
		{name: "meta miss", c: metaCodec{}, nkeys: 1, reply: "EN\r\n"},
		{name: "meta multi", c: metaCodec{}, nkeys: 3, reply: "VA 1 ka\r\n1\r\nVA 1 kc\r\n3\r\nMN\r\n",
			hits: []hit{{"a", "1"}, {"c", "3"}}},
		{name: "meta set", c: metaCodec{}, set: true, reply: "HD\r\n"},
		{name: "meta not stored", c: metaCodec{}, set: true, reply: "NS\r\n", errKind: "NS (not stored)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReader(tt.reply)
			var got []hit
			var err error
			if tt.set {
				err = tt.c.readSet(r)
			} else {
				err = tt.c.readGet(r, tt.nkeys, func(k, v []byte) { got = append(got, hit{string(k), string(v)}) })
			}
			if tt.errKind == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.hits) {
					t.Fatalf("hits %v, want %v", got, tt.hits)
				}
				for i := range got {
					if got[i] != tt.hits[i] {
						t.Fatalf("hits %v, want %v", got, tt.hits)
					}
				}
				if _, err := r.ReadByte(); err != io.EOF {
					t.Fatal("reply not consumed to its end")
				}
				return
			}
			re, ok := err.(*replyError)
			if !ok || re.kind != tt.errKind || re.desync != tt.desync {
				t.Fatalf("error %#v, want kind %q desync %v", err, tt.errKind, tt.desync)
			}
		})
	}
}

// fakeBinary is a memcached binary-protocol server just big enough for
// the codec: version, get/getk/getkq, noop and set, over a map.
func fakeBinary(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	data := map[string][]byte{}
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				w := bufio.NewWriter(nc)
				reply := func(op byte, status uint16, key, value []byte) {
					ext := 0
					if op == binOpGetK || op == binOpGetKQ || op == binOpGet {
						if status == 0 {
							ext = 4
						}
					}
					h := make([]byte, 24+ext)
					h[0], h[1] = binRespMagic, op
					binary.BigEndian.PutUint16(h[2:], uint16(len(key)))
					h[4] = byte(ext)
					binary.BigEndian.PutUint16(h[6:], status)
					binary.BigEndian.PutUint32(h[8:], uint32(ext+len(key)+len(value)))
					w.Write(h)
					w.Write(key)
					w.Write(value)
				}
				for {
					h := make([]byte, 24)
					if _, err := io.ReadFull(r, h); err != nil {
						return
					}
					klen := int(binary.BigEndian.Uint16(h[2:]))
					elen := int(h[4])
					body := make([]byte, binary.BigEndian.Uint32(h[8:]))
					if _, err := io.ReadFull(r, body); err != nil {
						return
					}
					key := body[elen : elen+klen]
					mu.Lock()
					switch h[1] {
					case binOpVersion:
						reply(binOpVersion, 0, nil, []byte("1.6.18"))
					case binOpNoop:
						reply(binOpNoop, 0, nil, nil)
					case binOpSet:
						data[string(key)] = append([]byte(nil), body[elen+klen:]...)
						reply(binOpSet, 0, nil, nil)
					case binOpGetK, binOpGetKQ:
						if v, ok := data[string(key)]; ok {
							reply(h[1], 0, key, v)
						} else if h[1] == binOpGetK {
							reply(h[1], 1, key, nil)
						}
					default:
						reply(h[1], 0x81, nil, []byte("Unknown command"))
					}
					mu.Unlock()
					if r.Buffered() == 0 {
						w.Flush()
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}
