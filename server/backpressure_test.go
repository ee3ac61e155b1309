package server

import (
	"bytes"
	"net"
	"runtime"
	"strconv"
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

// TestGrownBuffersGoBack: a read buffer grown for one 32 MB value is
// neither kept alive (by pooled parse scratch pointing into it) nor kept
// from the OS once its client leaves.
func TestGrownBuffersGoBack(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MemoryLimitMB, c.MaxItemSize = 128, 48<<20 })
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapInuse
	c := dial(t, s)
	const size = 32 << 20
	// A cas of a missing key: the value is read whole and nothing is
	// stored (though its slab page stays taken).
	sendValue(t, c, "cas", "big", size)
	if got := c.reply(""); got != "NOT_FOUND\r\n" {
		t.Fatalf("cas of 32 MB: %.40q", got)
	}
	c.nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// No runtime.GC here: an idle daemon runs none either, and it is
		// the server that must give the memory back.
		runtime.ReadMemStats(&m)
		inuse, unreturned := int64(m.HeapInuse)-int64(before), int64(m.HeapIdle)-int64(m.HeapReleased)
		if raceEnabled {
			// The race detector's build keeps slab pages on the heap.
			inuse -= s.store.Stats().TotalMalloced
		}
		if inuse < 8<<20 && unreturned < 16<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the client left: heap in use +%d MB, idle but not returned %d MB", inuse>>20, unreturned>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sendValue sends a set or cas (of CAS 1) of size bytes; the request is
// garbage once it returns.
func sendValue(t *testing.T, c *client, cmd, key string, size int) {
	t.Helper()
	head := cmd + " " + key + " 0 0 " + strconv.Itoa(size)
	if cmd == "cas" {
		head += " 1"
	}
	head += "\r\n"
	req := make([]byte, 0, len(head)+size+2)
	req = append(req, head...)
	req = append(req, bytes.Repeat([]byte{'v'}, size)...)
	req = append(req, "\r\n"...)
	if _, err := c.nc.Write(req); err != nil {
		t.Fatal(err)
	}
}
