package client

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseClusterConfig(t *testing.T) {
	cl, err := ParseClusterConfig([]byte("12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com||11212\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cl.Version != 12 || len(cl.Nodes) != 2 || cl.Nodes[0].IP != "10.82.235.120" || cl.Nodes[1].IP != "" || cl.Nodes[1].Port != 11212 {
		t.Fatalf("%+v", cl)
	}
	nodes, addrs := cl.nodes(), cl.dialAddrs()
	if nodes[0].Addr != "myCluster.pc4ldq.0001.use1.cache.amazonaws.com:11211" || addrs[0] != "10.82.235.120:11211" ||
		addrs[1] != "myCluster.pc4ldq.0002.use1.cache.amazonaws.com:11212" {
		t.Fatalf("nodes %v, dial %v", nodes, addrs)
	}
	for _, bad := range []string{"", "x\nh|i|1", "1\nh|i", "1\nh|i|0", "1\n||11211", "1\nh|i|p"} {
		if _, err := ParseClusterConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if cl, err := ParseClusterConfig([]byte("3\n\n")); err != nil || len(cl.Nodes) != 0 {
		t.Errorf("empty list: %+v %v", cl, err)
	}
}

// configServer answers "config get cluster" as ElastiCache does, with a
// payload the test changes.
type configServer struct {
	addr    string
	mu      sync.Mutex
	payload string
}

func startConfigServer(t *testing.T) *configServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cs := &configServer{addr: l.Addr().String()}
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.TrimSpace(line) != "config get cluster" {
						nc.Write([]byte("ERROR\r\n"))
						continue
					}
					cs.mu.Lock()
					p := cs.payload
					cs.mu.Unlock()
					nc.Write([]byte("CONFIG cluster 0 " + strconv.Itoa(len(p)) + "\r\n" + p + "\r\nEND\r\n"))
				}
			}()
		}
	}()
	return cs
}

func (cs *configServer) set(version int, nodes []*testNode) {
	var parts []string
	for _, n := range nodes {
		// Host "localhost" (what the ring hashes), IP where to dial.
		parts = append(parts, "localhost|127.0.0.1|"+strconv.Itoa(n.port))
	}
	cs.mu.Lock()
	cs.payload = strconv.Itoa(version) + "\n" + strings.Join(parts, " ") + "\n"
	cs.mu.Unlock()
}

// TestDiscovery: the client takes its servers from the configuration
// endpoint, hashes the host names, dials the IPs, and follows a version
// change on refresh, keeping the connections of servers that stay.
func TestDiscovery(t *testing.T) {
	nodes := startNodes(t, 3)
	cs := startConfigServer(t)
	cs.set(1, nodes[:2])
	c := newClient(t, Config{ConfigEndpoint: cs.addr, RefreshInterval: time.Hour})
	ctx := ctxT(t)
	names := func() []string {
		var out []string
		for _, s := range c.Servers() {
			out = append(out, s.Addr+"@"+s.DialAddr)
		}
		return out
	}
	want := func(ns []*testNode) []string {
		var out []string
		for _, n := range ns {
			out = append(out, "localhost:"+strconv.Itoa(n.port)+"@127.0.0.1:"+strconv.Itoa(n.port))
		}
		return out
	}
	if got := names(); strings.Join(got, " ") != strings.Join(want(nodes[:2]), " ") {
		t.Fatalf("servers %v, want %v", got, want(nodes[:2]))
	}
	ring := NewKetama([]Node{{Addr: "localhost:" + strconv.Itoa(nodes[0].port)}, {Addr: "localhost:" + strconv.Itoa(nodes[1].port)}})
	for i := 0; i < 50; i++ {
		k := "d" + strconv.Itoa(i)
		if err := c.Set(ctx, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		if _, ok := rawGet(t, nodes[ring.Pick(k)].addr, k); !ok {
			t.Fatalf("key %q not on the node its host name hashes to", k)
		}
	}
	kept := serverStatus(c, "localhost:"+strconv.Itoa(nodes[0].port))
	// Same version: nothing changes.
	if changed, err := c.Refresh(ctx); err != nil || changed {
		t.Fatalf("refresh without change: %v %v", changed, err)
	}
	cs.set(2, nodes)
	if changed, err := c.Refresh(ctx); err != nil || !changed {
		t.Fatalf("refresh with a new version: %v %v", changed, err)
	}
	if got := names(); strings.Join(got, " ") != strings.Join(want(nodes), " ") {
		t.Fatalf("servers %v, want %v", got, want(nodes))
	}
	if s := serverStatus(c, "localhost:"+strconv.Itoa(nodes[0].port)); s.Idle != kept.Idle || kept.Idle == 0 {
		t.Fatalf("pool of a remaining server not kept: before %+v after %+v", kept, s)
	}
	// A node leaves.
	cs.set(3, nodes[:1])
	if _, err := c.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if len(c.Servers()) != 1 {
		t.Fatalf("after version 3: %v", names())
	}
	if _, err := New(Config{ConfigEndpoint: deadAddr(t), DialTimeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("New with an unreachable endpoint succeeded")
	}
	// The refresh loop runs by itself.
	c2 := newClient(t, Config{ConfigEndpoint: cs.addr, RefreshInterval: 20 * time.Millisecond})
	cs.set(4, nodes)
	deadline := time.Now().Add(2 * time.Second)
	for len(c2.Servers()) != 3 {
		if time.Now().After(deadline) {
			t.Fatal("background refresh did not pick up version 4")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
