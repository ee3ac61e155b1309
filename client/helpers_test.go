package client

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gocached/gocached/server"
)

// testNode is an in-process gocached on a loopback port that can be
// stopped and started again on the same port.
type testNode struct {
	t    testing.TB
	addr string
	port int
	mu   sync.Mutex
	srv  *server.Server
	tune func(*server.Config) // when set, changes the config before each start
}

func startNode(t testing.TB) *testNode { return startNodeWith(t, nil) }

// startNodeWith starts a node whose config tune changes (e.g. for TLS).
func startNodeWith(t testing.TB, tune func(*server.Config)) *testNode {
	t.Helper()
	n := &testNode{t: t, tune: tune}
	n.start(-1)
	t.Cleanup(n.stop)
	return n
}

func startNodes(t testing.TB, k int) []*testNode {
	out := make([]*testNode, k)
	for i := range out {
		out[i] = startNode(t)
	}
	return out
}

func (n *testNode) start(port int) {
	n.t.Helper()
	cfg := server.DefaultConfig()
	cfg.Port = port
	cfg.Listen = []string{"127.0.0.1"}
	cfg.MemoryLimitMB = 16
	cfg.Threads = 2
	if n.tune != nil {
		n.tune(&cfg)
	}
	var s *server.Server
	var err error
	for try := 0; try < 50; try++ {
		if s, err = server.New(cfg, nil); err != nil {
			n.t.Fatal(err)
		}
		if err = s.Listen(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // the old listener's port may linger briefly
	}
	if err != nil {
		n.t.Fatalf("listen on port %d: %v", port, err)
	}
	n.mu.Lock()
	n.srv = s
	n.addr = s.Addrs()[0].String()
	_, p, _ := net.SplitHostPort(n.addr)
	n.port, _ = strconv.Atoi(p)
	n.mu.Unlock()
}

func (n *testNode) stop() {
	n.mu.Lock()
	s := n.srv
	n.srv = nil
	n.mu.Unlock()
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

func (n *testNode) restart() { n.start(n.port) }

func addrsOf(nodes []*testNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.addr
	}
	return out
}

// newClient makes a client closed at test end. Unless the test sets them,
// its timeouts are generous: the race detector on a loaded two-core
// machine can stall a loopback reply for a second.
func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 5 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctxT is a context bounded well within the test's time.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawGet asks one server directly for key; ok=false on a miss.
func rawGet(t testing.TB, addr, key string) (string, bool) {
	t.Helper()
	c, err := New(Config{Servers: []string{addr}, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	it, err := c.Get(context.Background(), key)
	if err == ErrCacheMiss {
		return "", false
	}
	if err != nil {
		t.Fatalf("raw get %q from %s: %v", key, addr, err)
	}
	return string(it.Value), true
}
