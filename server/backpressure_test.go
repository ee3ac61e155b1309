package server

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/protocol"
)

// hostileHeapGrowth stores a 500 KB value, sends req (pipelined gets of
// it) on a connection that never reads, and returns how much the heap grew
// meanwhile; it then checks that another client is still served.
func hostileHeapGrowth(t *testing.T, req []byte) int64 {
	t.Helper()
	s := testServer(t, func(c *Config) { c.MemoryLimitMB = 64 })
	honest := dial(t, s)
	value := strings.Repeat("v", 500_000)
	if got := honest.reply("set big 0 0 500000\r\n" + value + "\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	nc, err := net.DialTCP("tcp", nil, s.Addrs()[0].(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadBuffer(4096)
	_ = nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = nc.Write(req) // stops when the daemon stops reading
	time.Sleep(200 * time.Millisecond)
	grown := int64(heap()) - int64(before)
	if got := honest.reply("get big\r\n"); !strings.HasPrefix(got, "VALUE big 0 500000\r\n") {
		t.Fatalf("honest client: %.40q", got)
	}
	return grown
}

// TestReaderThatNeverReadsStaysBounded: a client that pipelines gets of a
// large value and never reads its replies stalls itself only. The
// daemon's heap stays flat (replies are written as the batch goes, and the
// daemon stops reading from it) and another client is still served.
func TestReaderThatNeverReadsStaysBounded(t *testing.T) {
	// 2000 gets would be 1 GB of replies if they were accumulated.
	if grown := hostileHeapGrowth(t, []byte(strings.Repeat("get big\r\n", 2000))); grown > 32<<20 {
		t.Fatalf("heap grew %d MB for a client that does not read", grown>>20)
	}
}

// TestBinaryReaderThatNeverReadsStaysBounded is the same for the binary
// protocol, whose replies are written every -R requests.
func TestBinaryReaderThatNeverReadsStaysBounded(t *testing.T) {
	get := protocol.AppendBinaryRequest(nil, protocol.OpGet, nil, []byte("big"), nil, 0, 0)
	if grown := hostileHeapGrowth(t, bytes.Repeat(get, 2000)); grown > 48<<20 {
		t.Fatalf("heap grew %d MB for a binary client that does not read", grown>>20)
	}
}
